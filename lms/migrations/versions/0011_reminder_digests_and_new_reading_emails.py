"""reminder digests and new-reading emails name the readings they are about

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 09:00:00

- ``outbox_reading``: which readings (assignment, stage) an email is about — the readings a
  reminder digest (one email per person per run) covers, or those a "new reading" email
  announces. ``(assignment_id, stage)`` is unique: a stage of one reading is covered once.
  Backfilled from the dedupe keys ``reminder:<assignment id>:<stage>`` of the one-reading
  reminders recorded before, so nobody is reminded again of a stage they already were.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox_reading",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignment.id"],
            name=op.f("fk_outbox_reading_assignment_id_assignment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_outbox_reading_outbox_id_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("outbox_id", "assignment_id", name=op.f("pk_outbox_reading")),
        sa.UniqueConstraint("assignment_id", "stage", name=op.f("uq_outbox_reading_assignment_id")),
    )
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("dedupe_key", sa.String),
    )
    covered = sa.table(
        "outbox_reading",
        sa.column("outbox_id", sa.Integer),
        sa.column("assignment_id", sa.Integer),
        sa.column("stage", sa.String),
    )
    assignment = sa.table("assignment", sa.column("id", sa.Integer))
    bind = op.get_bind()
    known = set(bind.execute(sa.select(assignment.c.id)).scalars())
    rows = []
    for row_id, key in bind.execute(
        sa.select(outbox.c.id, outbox.c.dedupe_key).where(outbox.c.dedupe_key.like("reminder:%"))
    ):
        parts = key.split(":")
        if len(parts) != 3:
            continue
        _kind, part, stage = parts
        if part.isdigit() and int(part) in known and stage and len(stage) <= 20:
            rows.append({"outbox_id": row_id, "assignment_id": int(part), "stage": stage})
    if rows:
        bind.execute(covered.insert(), rows)


def downgrade():
    op.drop_table("outbox_reading")
