"""the order each attempt showed the options in

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 12:30:00

- ``quiz_answer.shown_order``: options are shuffled per attempt; each answer keeps the order
  the learner saw ("2,0,3,1", option ids), so a review shows the learner's own page. Earlier
  attempts showed the file order and keep NULL.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("quiz_answer", recreate="never") as batch:
        batch.add_column(sa.Column("shown_order", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("quiz_answer", recreate="never") as batch:
        batch.drop_column("shown_order")
