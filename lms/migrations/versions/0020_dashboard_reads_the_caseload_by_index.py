"""the dashboard reads the caseload by index

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27 18:30:00

- ``ix_module_progress_user_activity`` (``module_progress``: user, last activity): the
  dashboard's last activity of each learner on the caseload is read from the index alone,
  never from the progress rows themselves (``lms.insight``).
- PostgreSQL only, ``st_quiz_attempt_module_version``: extended statistics on
  ``quiz_attempt`` (module, content version), which always go together. Without them the
  planner multiplies the two columns' selectivities, guesses that a question analysis keeps
  one attempt in twenty instead of nearly all, and sorts answers on disk where a hash table
  would do (``lms.insight.item_analysis``). Statistics change no result, only plans.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

STATISTICS = "st_quiz_attempt_module_version"


def upgrade():
    op.create_index(
        "ix_module_progress_user_activity",
        "module_progress",
        ["user_id", "last_activity_at"],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            sa.text(
                f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (dependencies, mcv) "
                "ON module_slug, content_version FROM quiz_attempt"
            )
        )
        op.execute(sa.text("ANALYZE quiz_attempt"))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text(f"DROP STATISTICS IF EXISTS {STATISTICS}"))
    op.drop_index("ix_module_progress_user_activity", table_name="module_progress")
