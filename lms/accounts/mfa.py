"""Two-step sign-in: time-based one-time codes (TOTP, RFC 6238) with pyotp, a QR code drawn
locally with segno (nothing leaves the site), and single-use recovery codes kept as hashes.

Rules, each in one place here:
- Staff must use it when ``STAFF_MFA_REQUIRED`` is on (production's default); anyone may turn
  it on for themselves (``required_for`` / ``needed_at_login``).
- A code is accepted once: the time step of the last accepted code is stored and only a later
  step passes, through a conditional UPDATE, so two requests racing with the same code cannot
  both win (``verify_code``).
- A recovery code works once and is compared by hash only.
- The secrets are sealed at rest (``lms.sealing``, through the column type); a code accepted
  seals its secret again under the current ``SECRET_KEY`` (``verify_code``), which is what
  moves secrets off a ``SECRET_KEY_FALLBACKS`` key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm.attributes import flag_modified

from lms import audit, clock, sealing
from lms.extensions import db
from lms.models import RecoveryCode, User
from lms.security import end_all_sessions

RECOVERY_CODE_COUNT = 10
# No look-alike characters (0/o, 1/l/i): codes get copied from paper.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_GROUPS = 3
_RECOVERY_GROUP_LEN = 4
# Accept the previous and the next 30-second step too: phone clocks drift.
VALID_WINDOW = 1


def required_for(user: User) -> bool:
    """Staff must use two-step sign-in when the setting is on."""
    return bool(current_app.config.get("STAFF_MFA_REQUIRED")) and user.is_staff


def needed_at_login(user: User) -> bool:
    return user.mfa_enabled or required_for(user)


# --- setting up ----------------------------------------------------------------------------


def pending_secret(user: User) -> str:
    """The secret being set up for this user, made (and kept) on first use so that reloading
    the page shows the same QR code."""
    if not user.totp_pending_secret:
        user.totp_pending_secret = pyotp.random_base32()
    return user.totp_pending_secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["PROGRAM_NAME"]
    )


def qr_data_uri(uri: str) -> str:
    """The otpauth:// link as a QR code image (an SVG ``data:`` URI made here, never by a
    remote service; the page's CSP allows ``img-src data:``)."""
    return segno.make(uri, error="m").svg_data_uri(
        scale=5, border=2, dark="#1b1b1b", light="#ffffff"
    )


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def confirm_setup(user: User, code: str) -> list[str] | None:
    """Turn two-step sign-in on if ``code`` matches the pending secret; the new recovery
    codes (shown once), or None when the code is wrong."""
    secret = user.totp_pending_secret
    if not secret:
        return None
    counter = _matching_counter(secret, code)
    if counter is None:
        audit.record("mfa.setup_failed", actor=user, subject=user, outcome="failure")
        return None
    user.totp_secret = secret
    user.totp_pending_secret = None
    user.totp_last_counter = counter
    user.mfa_enabled_at = clock.utcnow()
    codes = _new_recovery_codes(user)
    audit.record("mfa.enabled", actor=user, subject=user)
    return codes


def regenerate_recovery_codes(user: User) -> list[str]:
    codes = _new_recovery_codes(user)
    audit.record("mfa.recovery_codes_renewed", actor=user, subject=user)
    return codes


def disable(user: User, *, actor: User | None) -> None:
    """Turn two-step sign-in off (the user's own choice, or a reset after a lost phone by an
    admin or, with ``actor=None``, the operator's command). A reset signs the user out
    everywhere."""
    user.totp_secret = None
    user.totp_pending_secret = None
    user.totp_last_counter = None
    user.mfa_enabled_at = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    if actor is None or actor.id != user.id:
        end_all_sessions(user)
        audit.record(
            "mfa.reset", actor=actor, subject=user, detail=None if actor else "operator command"
        )
    else:
        audit.record("mfa.disabled", actor=user, subject=user)


def remaining_recovery_codes(user: User) -> int:
    return db.session.scalar(
        select(func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )


# --- checking a code -----------------------------------------------------------------------


def normalize_code(code: str) -> str:
    return re.sub(r"[\s-]", "", (code or "")).lower()[:64]


def looks_like_totp(code: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{6}", normalize_code(code)))


def verify_code(user: User, code: str) -> str | None:
    """Check a 6-digit code or a recovery code for a user with two-step sign-in on.

    Returns "code" or "recovery code" when accepted (the caller commits), None otherwise. A
    code that was already used (same or earlier time step) is refused.
    """
    if not user.totp_secret:
        return None
    cleaned = normalize_code(code)
    if looks_like_totp(cleaned):
        counter = _matching_counter(user.totp_secret, cleaned)
        if counter is None:
            return None
        claimed = db.session.execute(
            update(User)
            .where(
                User.id == user.id,
                or_(User.totp_last_counter.is_(None), User.totp_last_counter < counter),
            )
            .values(totp_last_counter=counter)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            return None  # replayed: this code (or a later one) was already used
        flag_modified(user, "totp_secret")  # sealed again, under the current key
        return "code"
    if len(cleaned) == _RECOVERY_GROUPS * _RECOVERY_GROUP_LEN:
        used = db.session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == _hash_recovery(cleaned),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=clock.utcnow())
            .execution_options(synchronize_session=False)
        )
        if used.rowcount == 1:
            return "recovery code"
    return None


def _matching_counter(secret: str, code: str) -> int | None:
    """The time step whose code equals ``code`` within the allowed drift, or None."""
    cleaned = normalize_code(code)
    if not looks_like_totp(cleaned) or secret == sealing.UNREADABLE:
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(clock.utcnow())
    for counter in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(counter), cleaned):
            return counter
    return None


def _hash_recovery(cleaned: str) -> str:
    # Recovery codes carry about 59 random bits (12 of 31 symbols): a plain hash of one
    # cannot be reversed by guessing.
    return hashlib.sha256(cleaned.encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(
            secrets.choice(_RECOVERY_ALPHABET)
            for _ in range(_RECOVERY_GROUPS * _RECOVERY_GROUP_LEN)
        )
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash_recovery(raw)))
        codes.append(
            "-".join(
                raw[i : i + _RECOVERY_GROUP_LEN] for i in range(0, len(raw), _RECOVERY_GROUP_LEN)
            )
        )
    return codes
