"""Account actions: authenticate, lock out, change password. Each writes its audit row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import update

from lms import audit, clock
from lms.extensions import db
from lms.models import User, normalize_email
from lms.passwords import hash_password, needs_rehash, verify_password
from lms.security import end_all_sessions


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None and self.locked_until is None


def authenticate(email: str, password: str) -> LoginResult:
    """Check a login. Unknown email and wrong password look the same to the caller."""
    user = db.session.scalars(User.by_email(email)).first()
    if user is not None and user.is_locked():
        audit.record("login.locked", subject=user, outcome="denied")
        db.session.commit()
        return LoginResult(None, locked_until=user.locked_until)
    if user is None or not user.active or not verify_password(user.password_hash, password):
        _record_failure(user, email)
        db.session.commit()
        if user is not None and user.is_locked():
            return LoginResult(None, locked_until=user.locked_until)
        return LoginResult(None)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = clock.utcnow()
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    audit.record("login.success", actor=user, subject=user)
    db.session.commit()
    return LoginResult(user)


def _record_failure(user: User | None, email: str) -> None:
    if user is None:
        # No account: log the attempt without keeping what was typed as an email.
        audit.record("login.failure", outcome="failure", detail="unknown account")
        return
    # One UPDATE, so two failed attempts at once on two workers both count.
    db.session.execute(
        update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
    )
    db.session.refresh(user)
    audit.record(
        "login.failure",
        subject=user,
        outcome="failure",
        detail="inactive account" if not user.active else "wrong password",
    )
    if user.failed_logins >= current_app.config["LOGIN_LOCKOUT_FAILURES"]:
        minutes = current_app.config["LOGIN_LOCKOUT_MINUTES"]
        user.locked_until = clock.utcnow() + timedelta(minutes=minutes)
        user.failed_logins = 0
        audit.record("account.lockout", subject=user, outcome="denied", detail=f"{minutes} min")


def logout(user: User) -> None:
    end_all_sessions(user)
    audit.record("logout", actor=user, subject=user)
    db.session.commit()


def change_password(user: User, new_password: str, *, actor: User | None = None) -> None:
    """Set a new password and end every other session of this user."""
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    audit.record("account.password_changed", actor=actor or user, subject=user)
    db.session.commit()


def create_user(
    *, email: str, display_name: str, role: str, password: str | None, actor: User | None = None
) -> User:
    user = User(
        email=normalize_email(email),
        display_name=display_name.strip(),
        role=role,
        password_hash=hash_password(password) if password else None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("account.created", actor=actor, subject=user, detail=f"role={role}")
    return user


def set_active(user: User, active: bool, *, actor: User | None = None) -> None:
    """Deactivating ends every session of that user at once."""
    user.active = active
    if not active:
        end_all_sessions(user)
    audit.record(
        "account.deactivated" if not active else "account.reactivated", actor=actor, subject=user
    )


def request_password_reset(email: str) -> int | None:
    """Record a reset email for an active account; for anyone else, only an audit row.

    The caller answers the same either way and sends the returned outbox id after this
    commit (``lms.mail.outbox.send_now``).
    """
    from lms.mail.messages import queue_password_reset

    user = db.session.scalars(User.by_email(email)).first()
    if user is None or not user.active:
        audit.record(
            "password.reset_requested",
            subject=user,
            outcome="failure",
            detail="unknown account" if user is None else "inactive account",
        )
        db.session.commit()
        return None
    outbox_id = queue_password_reset(user)
    audit.record(
        "password.reset_requested",
        subject=user,
        detail=None if outbox_id else "email already sent in the last few minutes",
    )
    db.session.commit()
    return outbox_id


def reset_password(user: User, new_password: str) -> None:
    """Set the password from a reset link: every session ends, the link stops working, and a
    lockout from forgotten-password attempts is lifted."""
    user.failed_logins = 0
    user.locked_until = None
    audit.record("password.reset", actor=user, subject=user)
    change_password(user, new_password)


def set_reminders(user: User, enabled: bool, *, via: str) -> bool:
    """Turn due-date reminder emails on or off. Returns whether anything changed."""
    if bool(user.reminders_enabled) == enabled:
        return False
    user.reminders_enabled = enabled
    audit.record(
        "account.reminders_on" if enabled else "account.reminders_off",
        actor=user,
        subject=user,
        detail=via,
    )
    db.session.commit()
    return True
