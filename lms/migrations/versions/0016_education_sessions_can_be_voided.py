"""education sessions logged by mistake can be voided

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 12:00:00

- ``education_session.voided_at`` / ``void_reason`` / ``voided_by_id``: a session logged by
  mistake is kept with when, by whom and why it was voided; its attendance no longer counts.

The columns are added in place, never by rebuilding the table on SQLite: dropping the old
"education_session" would delete its modules and attendance (ON DELETE CASCADE). SQLite adds
a column's reference to "user" only inline, and SQLAlchemy reads no ON DELETE back from an
inline reference, so ``voided_by_id`` is a plain reference (no ON DELETE) on both databases,
as in 0013; accounts are deactivated, never deleted.
"""

import sqlalchemy as sa
from alembic import op

from lms.models.base import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

FK_NAME = "fk_education_session_voided_by_id_user"


def upgrade():
    op.add_column("education_session", sa.Column("voided_at", UTCDateTime(), nullable=True))
    op.add_column(
        "education_session", sa.Column("void_reason", sa.String(length=300), nullable=True)
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE education_session ADD COLUMN voided_by_id INTEGER "
            f'CONSTRAINT {FK_NAME} REFERENCES "user" (id)'
        )
    else:
        op.add_column("education_session", sa.Column("voided_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FK_NAME, "education_session", "user", ["voided_by_id"], ["id"])


def downgrade():
    # Without its columns a voided session cannot be told apart from a real one, and its
    # attendance would count again: voided sessions go, with their modules and attendance
    # (deleted here rather than by cascade, which SQLite applies only with foreign keys on).
    op.execute(
        "DELETE FROM attendance WHERE session_id IN "
        "(SELECT id FROM education_session WHERE voided_at IS NOT NULL)"
    )
    op.execute(
        "DELETE FROM session_module WHERE session_id IN "
        "(SELECT id FROM education_session WHERE voided_at IS NOT NULL)"
    )
    op.execute("DELETE FROM education_session WHERE voided_at IS NOT NULL")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(FK_NAME, "education_session", type_="foreignkey")
    for column in ("voided_by_id", "void_reason", "voided_at"):
        op.drop_column("education_session", column)
