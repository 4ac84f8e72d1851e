"""private notes and worksheet answers

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27 16:00:00

- ``practice_note``: a learner's notepad ("questions for my next family session"). Private
  to its author; ``shared_at`` set while the author shares it with the care team, ``asked_at``
  once it was asked. Read newest first per learner (``ix_practice_note_user_id``).
- ``worksheet_answers``: one row per learner, module slug and worksheet key, holding every
  answer as one JSON object (field key → text). One row rather than one per field because a
  worksheet is saved as a whole, read as a whole (the form, the print view), and its fields
  come from content that can change: an answer to a field later removed stays in the object,
  kept but not shown, with no rows to orphan. The unique constraint makes two saves at once
  update the same row. ``module_version`` is the module file's hash at the last save.

New tables only: nothing existing is rebuilt.
"""

import sqlalchemy as sa
from alembic import op

from lms.models.base import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "practice_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.String(length=1000), nullable=False),
        sa.Column("shared_at", UTCDateTime(), nullable=True),
        sa.Column("asked_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_practice_note_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_note")),
    )
    op.create_index("ix_practice_note_user_id", "practice_note", ["user_id", "id"])
    op.create_table(
        "worksheet_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("module_slug", sa.String(length=100), nullable=False),
        sa.Column("worksheet_key", sa.String(length=100), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("module_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_worksheet_answers_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worksheet_answers")),
        sa.UniqueConstraint(
            "user_id",
            "module_slug",
            "worksheet_key",
            name=op.f("uq_worksheet_answers_user_id"),
        ),
    )


def downgrade():
    op.drop_table("worksheet_answers")
    op.drop_index("ix_practice_note_user_id", table_name="practice_note")
    op.drop_table("practice_note")
