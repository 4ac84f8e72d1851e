"""follow-ups on needs-help flags

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 12:00:00

- ``follow_up``: a clinician contacted a family about its needs-help flags — whom (the
  patient, or a family member: ``family_link_id``), when, an optional note, the date to look
  again, and the flag keys it covered (``reasons``). Until ``follow_up_on`` those flags are
  set aside on the dashboard (``lms.followups.queries.snoozes``).
"""

import sqlalchemy as sa
from alembic import op

from lms.models.base import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "follow_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("family_link_id", sa.Integer(), nullable=True),
        sa.Column("clinician_id", sa.Integer(), nullable=True),
        sa.Column("contacted_on", sa.Date(), nullable=False),
        sa.Column("follow_up_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_follow_up_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["family_link_id"],
            ["family_link.id"],
            name=op.f("fk_follow_up_family_link_id_family_link"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"],
            ["user.id"],
            name=op.f("fk_follow_up_clinician_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up")),
    )
    op.create_index("ix_follow_up_patient_id", "follow_up", ["patient_id", "id"])


def downgrade():
    op.drop_index("ix_follow_up_patient_id", table_name="follow_up")
    op.drop_table("follow_up")
