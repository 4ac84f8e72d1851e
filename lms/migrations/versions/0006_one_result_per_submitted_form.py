"""one result per submitted form: one-time form tokens, one open assignment per module

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 09:00:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from lms.models import AuditEvent

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

assignment = sa.table(
    "assignment",
    sa.column("id", sa.Integer),
    sa.column("learner_id", sa.Integer),
    sa.column("patient_id", sa.Integer),
    sa.column("module_slug", sa.String),
    sa.column("cancelled_at", sa.DateTime(timezone=True)),
)


def upgrade():
    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("result", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_submission_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission")),
        sa.UniqueConstraint("user_id", "token", name=op.f("uq_submission_user_id")),
    )
    _close_duplicate_open_assignments()
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.create_index(
            "uq_assignment_open",
            ["learner_id", "patient_id", "module_slug"],
            unique=True,
            sqlite_where=sa.text("cancelled_at IS NULL"),
            postgresql_where=sa.text("cancelled_at IS NULL"),
        )


def _close_duplicate_open_assignments():
    """Double submits before this version could leave the same module open twice for one
    learner and patient. Keep the first, cancel the others, so the unique index can be built.
    Each cancellation gets an audit row, written through the ORM like every audit row (so
    whatever the model does on a flush, such as linking rows into a chain, happens here too).
    """
    bind = op.get_bind()
    now = datetime.now(UTC)
    kept: dict[tuple, int] = {}
    rows = bind.execute(
        sa.select(
            assignment.c.id,
            assignment.c.learner_id,
            assignment.c.patient_id,
            assignment.c.module_slug,
        )
        .where(assignment.c.cancelled_at.is_(None))
        .order_by(assignment.c.id)
    ).all()
    session = Session(bind=bind)
    for row in rows:
        key = (row.learner_id, row.patient_id, row.module_slug)
        if key not in kept:
            kept[key] = row.id
            continue
        bind.execute(
            assignment.update()
            .where(assignment.c.id == row.id)
            .values(cancelled_at=now.replace(tzinfo=None) if _sqlite(bind) else now)
        )
        session.add(
            AuditEvent(
                at=now,
                action="assignment.cancelled",
                subject_type="assignment",
                subject_id=row.id,
                patient_id=row.patient_id,
                outcome="success",
                detail=f"duplicate of assignment {kept[key]}, closed by migration 0006",
            )
        )
    session.flush()
    session.close()


def _sqlite(bind) -> bool:
    return bind.dialect.name == "sqlite"  # stores times as naive UTC, as the app does


def downgrade():
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_assignment_open",
            sqlite_where=sa.text("cancelled_at IS NULL"),
            postgresql_where=sa.text("cancelled_at IS NULL"),
        )
    op.drop_table("submission")
