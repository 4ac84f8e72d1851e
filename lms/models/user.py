"""Accounts."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, select, true
from sqlalchemy.orm import Mapped, mapped_column

from lms import clock
from lms.extensions import db
from lms.models.base import SealedString, StrEnumColumn, UTCDateTime


class Role(enum.StrEnum):
    ADMIN = "admin"
    CLINICIAN = "clinician"
    PATIENT = "patient"
    FAMILY = "family"

    @property
    def is_staff(self) -> bool:
        return self in (Role.ADMIN, Role.CLINICIAN)


def normalize_email(email: str) -> str:
    """Emails are unique case-insensitively: store and compare them lower-cased and trimmed."""
    return (email or "").strip().lower()


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(StrEnumColumn(Role, 16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(8))
    # The zone dates and times are shown in (a tz database name); none means the program's.
    timezone: Mapped[str | None] = mapped_column(String(64))
    # When a learner saw the first sign-in orientation (who the care team is, privacy, quick
    # exit); none until then, so it is shown once and can be opened again from the home page.
    oriented_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Due-date reminder emails; turned off on the account page or from any reminder's link.
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Bumped on logout, password change and deactivation: every cookie carries the version it
    # was issued under, so all earlier cookies of this user stop working at once.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # Two-step sign-in (TOTP, RFC 6238). ``totp_pending_secret`` holds a secret being set up
    # until its first code is confirmed; ``totp_last_counter`` is the time step of the last
    # accepted code, so no code works twice. Both secrets are sealed at rest (``SealedString``,
    # ``lms.sealing``): a copy of the table holds no code-making secret.
    totp_secret: Mapped[str | None] = mapped_column("totp_secret_sealed", SealedString())
    totp_pending_secret: Mapped[str | None] = mapped_column("totp_pending_sealed", SealedString())
    totp_last_counter: Mapped[int | None] = mapped_column(BigInteger)
    mfa_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A new sign-in address waiting for its confirmation link to be opened; kept here so the
    # link itself carries no address (links end up in logs).
    pending_email: Mapped[str | None] = mapped_column(String(254))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=clock.utcnow, onupdate=clock.utcnow
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"

    # Flask-Login: the cookie holds "id:session_version", never anything about a patient.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_staff(self) -> bool:
        return self.role_enum.is_staff

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def mfa_enabled(self) -> bool:
        return self.totp_secret is not None

    @staticmethod
    def by_email(email: str):
        return select(User).where(User.email == normalize_email(email))


class RecoveryCode(db.Model):
    """A single-use code for signing in without the authenticator app; only a hash is kept."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
