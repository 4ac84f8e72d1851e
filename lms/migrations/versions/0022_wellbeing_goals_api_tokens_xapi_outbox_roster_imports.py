"""wellbeing check-ins, learning goals, API tokens, the xAPI outbox, roster imports

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-27 20:15:00

- ``wellbeing_check``: one WHO-5 check-in (five items, 0–5 each) or one skipped offer, per
  person; read per person by time (``ix_wellbeing_check_user_id``); ``submit_token`` unique,
  so a form sent twice records once.
- ``learning_goal``: a goal a clinician set for one learner of a patient's family (or the
  patient): the readings (slugs, one per line), what counts ("finish" or "pass"), a target day.
- ``api_token``: personal access tokens for staff integrations, a SHA-256 of the secret only.
- ``xapi_outbox``: xAPI statements waiting for a learning-record store; ``statement_id``
  unique.
- ``roster_import``: an uploaded roster between its preview and being applied.
- ``patient.email``: the patient's own email from the roster.

New tables and one new nullable column: nothing existing is rebuilt.
"""

import sqlalchemy as sa
from alembic import op

from lms.models.base import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def _fk(table, column, target, ondelete):
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade():
    op.add_column("patient", sa.Column("email", sa.String(length=254), nullable=True))

    op.create_table(
        "wellbeing_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("occasion", sa.String(length=16), nullable=False),
        *(sa.Column(f"item{n}", sa.SmallInteger(), nullable=True) for n in range(1, 6)),
        sa.Column("skipped_at", UTCDateTime(), nullable=True),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("submit_token", sa.String(length=64), nullable=False),
        _fk("wellbeing_check", "user_id", "user", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wellbeing_check")),
        sa.UniqueConstraint("submit_token", name=op.f("uq_wellbeing_check_submit_token")),
    )
    op.create_index("ix_wellbeing_check_user_id", "wellbeing_check", ["user_id", "taken_at"])

    op.create_table(
        "learning_goal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("modules", sa.Text(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("target_on", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_by_id", sa.Integer(), nullable=True),
        _fk("learning_goal", "patient_id", "patient", "CASCADE"),
        _fk("learning_goal", "learner_id", "user", "CASCADE"),
        _fk("learning_goal", "created_by_id", "user", "SET NULL"),
        _fk("learning_goal", "cancelled_by_id", "user", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_goal")),
    )
    op.create_index("ix_learning_goal_patient_id", "learning_goal", ["patient_id", "target_on"])
    op.create_index(op.f("ix_learning_goal_learner_id"), "learning_goal", ["learner_id"])

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        _fk("api_token", "user_id", "user", "CASCADE"),
        _fk("api_token", "created_by_id", "user", "SET NULL"),
        _fk("api_token", "revoked_by_id", "user", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_index(op.f("ix_api_token_user_id"), "api_token", ["user_id"])

    op.create_table(
        "xapi_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xapi_outbox")),
        sa.UniqueConstraint("statement_id", name=op.f("uq_xapi_outbox_statement_id")),
    )
    op.create_index("ix_xapi_outbox_unsent", "xapi_outbox", ["sent_at", "id"])

    op.create_table(
        "roster_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("applied_at", UTCDateTime(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        _fk("roster_import", "created_by_id", "user", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_import")),
    )


def downgrade():
    op.drop_table("roster_import")
    op.drop_index("ix_xapi_outbox_unsent", table_name="xapi_outbox")
    op.drop_table("xapi_outbox")
    op.drop_index(op.f("ix_api_token_user_id"), table_name="api_token")
    op.drop_table("api_token")
    op.drop_index(op.f("ix_learning_goal_learner_id"), table_name="learning_goal")
    op.drop_index("ix_learning_goal_patient_id", table_name="learning_goal")
    op.drop_table("learning_goal")
    op.drop_index("ix_wellbeing_check_user_id", table_name="wellbeing_check")
    op.drop_table("wellbeing_check")
    # A plain DROP COLUMN (SQLite 3.35+): a batch rebuild would rename the table's constraints.
    op.drop_column("patient", "email")
