"""cover for a colleague: a care-team membership with an end date

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 10:00:00

- ``care_team.ends_on``: the last day a clinician covering for an away colleague may see the
  patient; empty for a permanent member (every existing row).
- ``care_team.covering_for_id``: the colleague they cover for.

The columns are added in place, never by rebuilding the table on SQLite (as in 0013). SQLite
adds a column's reference to "user" only inline, and SQLAlchemy reads no ON DELETE back from
an inline reference, so ``covering_for_id`` is a plain reference (no ON DELETE) on both
databases; accounts are deactivated, never deleted.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

FK = "fk_care_team_covering_for_id_user"


def upgrade():
    op.add_column("care_team", sa.Column("ends_on", sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE care_team ADD COLUMN covering_for_id INTEGER "
            f'CONSTRAINT {FK} REFERENCES "user" (id)'
        )
    else:
        op.add_column("care_team", sa.Column("covering_for_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FK, "care_team", "user", ["covering_for_id"], ["id"])


def downgrade():
    # Covers would become permanent memberships without their end date: they go.
    op.execute("DELETE FROM care_team WHERE ends_on IS NOT NULL")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(FK, "care_team", type_="foreignkey")
    op.drop_column("care_team", "covering_for_id")
    op.drop_column("care_team", "ends_on")
