"""failed checks are found from an index

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27 19:00:00

- ``ix_quiz_attempt_failed`` (``quiz_attempt``: learner, module, where the attempt did not
  pass): the dashboard's "did not pass twice" flag counts a caseload's failed attempts from
  this partial index alone, then probes each candidate for a pass (``lms.insight``), instead
  of grouping every attempt of every learner on the caseload.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_quiz_attempt_failed",
        "quiz_attempt",
        ["user_id", "module_slug"],
        sqlite_where=sa.text("NOT passed"),
        postgresql_where=sa.text("NOT passed"),
    )


def downgrade():
    op.drop_index("ix_quiz_attempt_failed", table_name="quiz_attempt")
