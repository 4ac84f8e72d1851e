"""two-step sign-in, consent replacement, emergency access; no more account lockout

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 06:00:00

- ``user``: TOTP secret, pending secret, last accepted time step, enabled date, an email
  address waiting for confirmation; the lockout
  columns go (a lock anyone could trigger was a denial of service; throttling replaced it).
- ``recovery_code``: single-use codes, hashed.
- ``consent``: ``superseded_at`` / ``superseded_by_id``; of several active consents for one
  family member, all but the newest are marked replaced, so one withdrawal ends access.
- ``emergency_access``: break-glass grants with their reason and time limit.
"""

import sqlalchemy as sa
from alembic import op

from lms.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    # Never recreate "user" on SQLite: dropping the old copy of a table that others reference
    # ON DELETE CASCADE (assignments, progress, attempts…) would delete their rows with it.
    # Adding and dropping plain columns in place needs SQLite 3.35 or newer.
    with op.batch_alter_table("user", recreate="never") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("totp_pending_secret", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("totp_last_counter", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("mfa_enabled_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("pending_email", sa.String(length=254), nullable=True))
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")

    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name="fk_recovery_code_user_id_user", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_recovery_code"),
    )
    op.create_index("ix_recovery_code_user_id", "recovery_code", ["user_id"])

    with op.batch_alter_table("consent") as batch:
        batch.add_column(sa.Column("superseded_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("superseded_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_consent_superseded_by_id_consent",
            "consent",
            ["superseded_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _supersede_older_active_consents()

    op.create_table(
        "emergency_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name="fk_emergency_access_patient_id_patient",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name="fk_emergency_access_user_id_user", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_emergency_access"),
    )
    op.create_index(
        "ix_emergency_access_user_patient", "emergency_access", ["user_id", "patient_id"]
    )
    op.create_index("ix_emergency_access_expires_at", "emergency_access", ["expires_at"])


def _supersede_older_active_consents():
    """Before this revision a renewed consent left the older one active; keep the newest."""
    from lms import clock

    conn = op.get_bind()
    consent = sa.table(
        "consent",
        sa.column("id", sa.Integer()),
        sa.column("family_link_id", sa.Integer()),
        sa.column("revoked_at", UTCDateTime()),
        sa.column("superseded_at", UTCDateTime()),
        sa.column("superseded_by_id", sa.Integer()),
    )
    rows = conn.execute(
        sa.select(consent.c.id, consent.c.family_link_id)
        .where(consent.c.revoked_at.is_(None))
        .order_by(consent.c.id.desc())
    ).all()
    newest: dict[int, int] = {}
    now = clock.utcnow()
    for consent_id, link_id in rows:
        if link_id not in newest:
            newest[link_id] = consent_id
            continue
        conn.execute(
            sa.update(consent)
            .where(consent.c.id == consent_id)
            .values(superseded_at=now, superseded_by_id=newest[link_id])
        )


def downgrade():
    op.drop_index("ix_emergency_access_expires_at", table_name="emergency_access")
    op.drop_index("ix_emergency_access_user_patient", table_name="emergency_access")
    op.drop_table("emergency_access")
    with op.batch_alter_table("consent") as batch:
        batch.drop_constraint("fk_consent_superseded_by_id_consent", type_="foreignkey")
        batch.drop_column("superseded_by_id")
        batch.drop_column("superseded_at")
    op.drop_index("ix_recovery_code_user_id", table_name="recovery_code")
    op.drop_table("recovery_code")
    with op.batch_alter_table("user", recreate="never") as batch:
        batch.add_column(sa.Column("locked_until", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.drop_column("pending_email")
        batch.drop_column("mfa_enabled_at")
        batch.drop_column("totp_last_counter")
        batch.drop_column("totp_pending_secret")
        batch.drop_column("totp_secret")
