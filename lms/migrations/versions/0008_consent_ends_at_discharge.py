"""consent that ends at discharge

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 10:30:00

- ``consent.ends_at_discharge``: the consent's term is "until I leave the program".
- ``consent.ended_at`` / ``end_reason``: when discharge ended it.

Existing consents with no expiry date were written for an event; the only event the program
knows is discharge, and ending such a consent early is the safer reading, so they are marked
``ends_at_discharge``. Those of patients already discharged are ended at their discharge.
"""

import sqlalchemy as sa
from alembic import op

from lms.models.base import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("consent", recreate="never") as batch:
        batch.add_column(
            sa.Column("ends_at_discharge", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("ended_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("end_reason", sa.String(length=20), nullable=True))
    op.execute("UPDATE consent SET ends_at_discharge = TRUE WHERE expires_on IS NULL")
    op.execute(
        "UPDATE consent SET ended_at = CURRENT_TIMESTAMP, end_reason = 'discharge' "
        "WHERE ends_at_discharge AND revoked_at IS NULL AND superseded_at IS NULL "
        "AND patient_id IN (SELECT id FROM patient WHERE status = 'discharged')"
    )


def downgrade():
    with op.batch_alter_table("consent", recreate="never") as batch:
        batch.drop_column("end_reason")
        batch.drop_column("ended_at")
        batch.drop_column("ends_at_discharge")
