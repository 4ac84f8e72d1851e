"""reading is recorded when read; a learner's time zone; first sign-in orientation

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27 15:00:00

- ``user.timezone``: the zone a person's dates and times are shown in (none: the program's).
- ``user.oriented_at``: when a learner saw the first sign-in orientation.
- A module's progress row is now made by reading a section or trying its check, never by
  opening it. Rows that only remembered where a learner had looked (nothing read, no try,
  not completed) made a module "In progress" for a learner who had only browsed; they are
  removed, so those modules show as "Not started" again. Nothing that was read or tried is
  touched. The downgrade cannot bring them back and has no need to: they held no progress.
"""

import sqlalchemy as sa
from alembic import op

from lms.models.base import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("user", sa.Column("timezone", sa.String(length=64), nullable=True))
    op.add_column("user", sa.Column("oriented_at", UTCDateTime(), nullable=True))
    op.execute(
        "DELETE FROM module_progress WHERE sections_read = 0 AND best_score IS NULL "
        "AND passed_at IS NULL AND completed_at IS NULL"
    )


def downgrade():
    # Dropped in place (never by rebuilding "user", which would cascade on SQLite).
    for column in ("oriented_at", "timezone"):
        op.drop_column("user", column)
