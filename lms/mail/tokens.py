"""Signed links in emails: password reset (single use, expiring) and reminders off.

A reset token carries the user id and a keyed fingerprint of the password hash and the session
version: setting a new password (or signing out everywhere) changes both, so a used link stops
working at once. Its age is checked against ``lms.clock`` so tests can move time forward.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, TimestampSigner, URLSafeSerializer, URLSafeTimedSerializer

from lms import clock
from lms.extensions import db
from lms.models import User

RESET_SALT = "lms.password-reset"
REMINDERS_OFF_SALT = "lms.reminders-off"
EMAIL_CHANGE_SALT = "lms.email-change"
EMAIL_CHANGE_MINUTES = 24 * 60


class _ClockSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(clock.utcnow().timestamp())


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=RESET_SALT, signer=_ClockSigner
    )


def _fingerprint(user: User) -> str:
    material = f"{user.id}|{user.password_hash or ''}|{user.session_version}|{user.email}"
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()[:24]


def reset_token(user: User) -> str:
    return _reset_serializer().dumps({"u": user.id, "f": _fingerprint(user)})


def user_for_reset_token(token: str) -> User | None:
    """The user this reset link is for, or None if it is forged, expired or already used."""
    max_age = current_app.config["PASSWORD_RESET_MINUTES"] * 60
    try:
        data = _reset_serializer().loads(token or "", max_age=max_age)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = db.session.get(User, data["u"])
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(str(data.get("f", "")), _fingerprint(user)):
        return None
    return user


def _off_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=REMINDERS_OFF_SALT)


def reminders_off_token(user: User) -> str:
    return _off_serializer().dumps(user.id)


def user_for_reminders_off_token(token: str) -> User | None:
    try:
        user_id = _off_serializer().loads(token or "")
    except BadSignature:
        return None
    if not isinstance(user_id, int):
        return None
    return db.session.get(User, user_id)


def _email_change_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=EMAIL_CHANGE_SALT, signer=_ClockSigner
    )


def _email_change_fingerprint(user: User) -> str:
    material = f"{_fingerprint(user)}|{user.pending_email or ''}"
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()[:24]


def email_change_token(user: User) -> str:
    """A link for the new address (``user.pending_email``): it proves the person can read
    mail there. It carries no address, and stops working once used, once another address is
    asked for, or once the password changes."""
    return _email_change_serializer().dumps({"u": user.id, "f": _email_change_fingerprint(user)})


def email_change_for_token(token: str) -> User | None:
    """The user whose pending address this valid, unused, unexpired link confirms."""
    try:
        data = _email_change_serializer().loads(token or "", max_age=EMAIL_CHANGE_MINUTES * 60)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = db.session.get(User, data["u"])
    if user is None or not user.active or not user.pending_email:
        return None
    if not hmac.compare_digest(str(data.get("f", "")), _email_change_fingerprint(user)):
        return None
    return user
