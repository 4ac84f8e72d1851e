"""corrections: a consent entered in error, a voided duplicate enrolment

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 12:00:00

- ``consent.error_at`` / ``error_reason`` / ``error_by_id``: a consent recorded by mistake is
  marked "entered in error" with a reason. It is kept, and never counts as in force.
- ``patient.voided_at`` / ``void_reason`` / ``voided_by_id``: a patient enrolled twice by
  mistake, before anything was recorded for them, is kept with status "voided" (a new value
  of the VARCHAR ``patient.status``, so no change to that column) and the reason why.

The columns are added in place, never by rebuilding the table on SQLite: dropping the old
"patient" would delete every row that references it ON DELETE CASCADE (care teams, family,
consents…), and dropping the old "consent" would empty every ``superseded_by_id`` (its own
ON DELETE SET NULL). SQLite adds a column's reference to "user" only inline, and SQLAlchemy
reads no ON DELETE back from an inline reference, so ``error_by_id`` and ``voided_by_id`` are
plain references (no ON DELETE) on both databases; accounts are deactivated, never deleted.
"""

import sqlalchemy as sa
from alembic import op

from lms.models.base import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _add_user_reference(table: str, column: str) -> None:
    name = f"fk_{table}_{column}_user"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN {column} INTEGER CONSTRAINT {name} "
            'REFERENCES "user" (id)'
        )
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(name, table, "user", [column], ["id"])


def upgrade():
    op.add_column("consent", sa.Column("error_at", UTCDateTime(), nullable=True))
    op.add_column("consent", sa.Column("error_reason", sa.String(length=300), nullable=True))
    _add_user_reference("consent", "error_by_id")
    op.add_column("patient", sa.Column("voided_at", UTCDateTime(), nullable=True))
    op.add_column("patient", sa.Column("void_reason", sa.String(length=300), nullable=True))
    _add_user_reference("patient", "voided_by_id")


def downgrade():
    # A voided enrolment cannot be told apart from a live one without its columns: those rows
    # go back to "discharged" (kept, listed among patients who left, never in force).
    op.execute(
        "UPDATE patient SET status = 'discharged', discharged_on = enrolled_on "
        "WHERE status = 'voided'"
    )
    for table, columns in (
        ("patient", ("voided_by_id", "void_reason", "voided_at")),
        ("consent", ("error_by_id", "error_reason", "error_at")),
    ):
        if op.get_bind().dialect.name != "sqlite":
            op.drop_constraint(f"fk_{table}_{columns[0]}_user", table, type_="foreignkey")
        for column in columns:
            op.drop_column(table, column)
