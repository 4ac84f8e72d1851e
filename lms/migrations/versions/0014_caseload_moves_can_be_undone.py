"""caseload moves are kept so they can be undone

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 13:00:00

- ``caseload_move``: who moved whose patients to whom, which patients, and which care teams
  the new clinician joined by the move, so that moving back restores exactly those.
"""

import sqlalchemy as sa
from alembic import op

from lms.models.base import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "caseload_move",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_clinician_id", sa.Integer(), nullable=False),
        sa.Column("to_clinician_id", sa.Integer(), nullable=False),
        sa.Column("moved", sa.String(length=4000), nullable=False),
        sa.Column("added", sa.String(length=4000), nullable=False),
        sa.Column("moved_by_id", sa.Integer(), nullable=True),
        sa.Column("moved_at", UTCDateTime(), nullable=False),
        sa.Column("undone_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_clinician_id"],
            ["user.id"],
            name=op.f("fk_caseload_move_from_clinician_id_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_clinician_id"],
            ["user.id"],
            name=op.f("fk_caseload_move_to_clinician_id_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["moved_by_id"],
            ["user.id"],
            name=op.f("fk_caseload_move_moved_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caseload_move")),
    )


def downgrade():
    op.drop_table("caseload_move")
