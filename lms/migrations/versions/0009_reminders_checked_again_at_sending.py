"""reminders are checked again when sent

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 12:00:00

- ``outbox.assignment_id``: the assignment a reminder is about (backfilled from the dedupe
  key ``reminder:<assignment id>:<stage>`` of reminders not yet sent).
- ``outbox.dropped_at`` / ``drop_reason``: a message that was no longer wanted when its turn
  came (consent withdrawn, patient discharged, reading completed …) and was never sent.
"""

import sqlalchemy as sa
from alembic import op

from lms.models.base import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("assignment_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("dropped_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("drop_reason", sa.String(length=40), nullable=True))
        batch.create_foreign_key(
            "fk_outbox_assignment_id_assignment",
            "assignment",
            ["assignment_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_outbox_assignment_id", ["assignment_id"])
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("dedupe_key", sa.String),
        sa.column("assignment_id", sa.Integer),
        sa.column("sent_at", UTCDateTime()),
    )
    assignment = sa.table("assignment", sa.column("id", sa.Integer))
    bind = op.get_bind()
    known = set(bind.execute(sa.select(assignment.c.id)).scalars())
    pending = bind.execute(
        sa.select(outbox.c.id, outbox.c.dedupe_key).where(
            outbox.c.dedupe_key.like("reminder:%"), outbox.c.sent_at.is_(None)
        )
    ).all()
    for row_id, key in pending:
        part = key.split(":")[1] if key.count(":") == 2 else ""
        if part.isdigit() and int(part) in known:
            bind.execute(
                outbox.update().where(outbox.c.id == row_id).values(assignment_id=int(part))
            )


def downgrade():
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_assignment_id")
        batch.drop_constraint("fk_outbox_assignment_id_assignment", type_="foreignkey")
        batch.drop_column("drop_reason")
        batch.drop_column("dropped_at")
        batch.drop_column("assignment_id")
