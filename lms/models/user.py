"""Accounts."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Integer, String, select, true
from sqlalchemy.orm import Mapped, mapped_column

from lms import clock
from lms.extensions import db
from lms.models.base import UTCDateTime


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
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(8))
    # Due-date reminder emails; turned off on the account page or from any reminder's link.
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Bumped on logout, password change and deactivation: every cookie carries the version it
    # was issued under, so all earlier cookies of this user stop working at once.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
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

    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > clock.utcnow()

    @staticmethod
    def by_email(email: str):  # noqa: ANN205 -- returns a Select
        return select(User).where(User.email == normalize_email(email))
