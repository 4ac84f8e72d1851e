"""invitations carry their language

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27 15:00:00

- ``invitation.locale``: the language the clinician chose for the invitation ("en", "es"). The
  email, the invitation page and the new account's language follow it. Invitations made
  before it have none: they were written in the program's default language.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("invitation", sa.Column("locale", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("invitation") as batch:
        batch.drop_column("locale")
