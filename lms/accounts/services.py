"""Account actions: authenticate, change password. Each writes its audit row."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from lms import audit, clock
from lms.accounts.passwords import hash_password, needs_rehash, verify_password
from lms.extensions import db
from lms.models import User, normalize_email
from lms.problems import Problem
from lms.security import end_all_sessions


class AccountTurnedOff(Problem):
    """The right password for an account an administrator turned off."""


def authenticate(email: str, password: str) -> User | None:
    """Check an email and password; the user, or None.

    Every attempt costs the same whatever the outcome: one account lookup, one argon2
    verification (against a dummy hash when the account is unknown or inactive) and one audit
    row, so neither the answer nor its timing tells whether an account exists. Throttling
    lives in front of this (``lms.accounts.throttle``), keyed by what was typed, for the same
    reason. Nothing here can lock an account: a lock anyone can trigger is a denial of
    service against the owner.
    """
    user = db.session.scalars(User.by_email(email)).first()
    usable = user is not None and user.active
    # The real hash for every existing account, a dummy for unknown ones: the same work.
    password_ok = verify_password(user.password_hash if user is not None else None, password)
    if user is not None and not user.active and password_ok:
        # The right password proves the person owns the account: tell them what to do.
        audit.record(
            "login.failure",
            subject=user,
            outcome="failure",
            detail="inactive account, right password",
        )
        raise AccountTurnedOff(
            _l("Your account is turned off. Please contact your program’s administrator.")
        )
    if not (usable and password_ok):
        if user is None:
            # No account: log the attempt without keeping what was typed as an email.
            audit.record("login.failure", outcome="failure", detail="unknown account")
        else:
            audit.record(
                "login.failure",
                subject=user,
                outcome="failure",
                detail="wrong password" if user.active else "inactive account",
            )
        return None
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    return user


def password_verified(user: User) -> None:
    """The password was right and a second step (a code) is still to come."""
    audit.record("login.password_ok", actor=user, subject=user, detail="code still needed")


def complete_login(user: User, *, method: str = "password") -> None:
    """Every step passed: record the sign-in (the caller starts the session)."""
    user.last_login_at = clock.utcnow()
    audit.record("login.success", actor=user, subject=user, detail=method)


def logout(user: User) -> None:
    end_all_sessions(user)
    audit.record("logout", actor=user, subject=user)


def change_password(user: User, new_password: str, *, actor: User | None = None) -> None:
    """Set a new password and end every other session of this user."""
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    audit.record("account.password_changed", actor=actor or user, subject=user)


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
        return None
    outbox_id = queue_password_reset(user)
    audit.record(
        "password.reset_requested",
        subject=user,
        detail=None if outbox_id else "email already sent in the last few minutes",
    )
    return outbox_id


def reset_password(user: User, new_password: str) -> None:
    """Set the password from a reset link: every session ends and the link stops working."""
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
    return True


def request_email_change(user: User, new_email: str) -> int | None:
    """Send a confirmation link to the new address; nothing changes until it is used.

    When the address already belongs to an account nothing is sent, but the caller answers
    exactly the same, so the form cannot be used to find out who has an account."""
    from lms.mail.messages import queue_email_change

    new_email = normalize_email(new_email)
    taken = db.session.scalars(User.by_email(new_email)).first() is not None
    outbox_id = None
    if not taken:
        user.pending_email = new_email  # an earlier link, for another address, stops working
        outbox_id = queue_email_change(user)
    audit.record(
        "account.email_change_requested",
        actor=user,
        subject=user,
        outcome="failure" if taken else "success",
        detail="address already in use" if taken else None,
    )
    return outbox_id


class EmailTakenError(ValueError):
    pass


def confirm_email_change(user: User) -> int | None:
    """Switch the sign-in email (from the confirmation link) and tell the old address; the
    old address's notice id is returned for sending. Every session ends: the person signs
    in again with the new address."""
    from sqlalchemy.exc import IntegrityError

    from lms.mail.messages import queue_email_changed_notice

    old_email = user.email
    user.email = normalize_email(user.pending_email or "")
    user.pending_email = None
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise EmailTakenError(user.email) from None
    end_all_sessions(user)
    notice_id = queue_email_changed_notice(user, old_email)
    audit.record("account.email_changed", actor=user, subject=user)
    return notice_id
