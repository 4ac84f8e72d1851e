"""Slowing down password guessing without letting anyone lock someone else out.

NIST SP 800-63B 5.2.2 asks for a limit on failed attempts; OWASP's "device cookie" pattern
keeps that limit from becoming a denial of service against the account's owner:

- per address (``LOGIN_LIMIT_PER_IP``): one machine cannot spray many accounts;
- per typed email from one address (``LOGIN_LIMIT_PER_ACCOUNT_IP``): a staircase of limits
  (a few a minute, fewer per quarter hour, fewer per day) slows one guesser down more and
  more;
- per typed email from everywhere (``LOGIN_LIMIT_PER_ACCOUNT``): a guesser spread over many
  addresses is slowed too — but a browser that signed in to that account before carries a
  signed "known device" cookie and is exempt from both per-email limits, with an allowance of
  its own (``LOGIN_LIMIT_PER_DEVICE``). So the owner, from their own phone or computer,
  always gets in with the right password, however hard the account is being attacked.

Only failures count. Every key is made from what was typed, never from whether an account
exists, so a real and an unknown email are slowed down identically and answer the same 429.
All counts live in the limiter's storage (Redis in production, shared by every worker).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from lms.extensions import client_ip
from lms.models import normalize_email

DEVICE_SALT = "lms.known-device"
MAX_ACCOUNTS_PER_DEVICE = 5


def device_cookie_name() -> str:
    secure = current_app.config.get("SESSION_COOKIE_SECURE")
    return "__Host-lms_device" if secure else "lms_device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=DEVICE_SALT)


def _email_tag(email: str) -> str:
    """A keyed fingerprint of an email: the cookie proves which accounts signed in here
    without holding anyone's address."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"device|" + normalize_email(email).encode(), hashlib.sha256).hexdigest()[
        :32
    ]


def _device() -> dict | None:
    if "_lms_device" in g:
        return g._lms_device
    raw = request.cookies.get(device_cookie_name())
    data = None
    if raw and len(raw) < 2048:
        max_age = current_app.config["KNOWN_DEVICE_DAYS"] * 86400
        try:
            loaded = _serializer().loads(raw, max_age=max_age)
        except BadSignature:  # also SignatureExpired
            loaded = None
        if (
            isinstance(loaded, dict)
            and isinstance(loaded.get("n"), str)
            and isinstance(loaded.get("e"), list)
        ):
            data = loaded
    g._lms_device = data
    return data


def typed_email() -> str:
    return normalize_email(request.form.get("email", ""))[:254]


def known_device() -> bool:
    """This browser signed in to the account now being tried before."""
    device = _device()
    return device is not None and _email_tag(typed_email()) in device["e"]


def remember_device(response: Response, email: str) -> None:
    """After a complete sign-in: mark this browser as known for this account."""
    device = _device() or {"n": secrets.token_urlsafe(12), "e": []}
    tags = [t for t in device["e"] if t != _email_tag(email)] + [_email_tag(email)]
    token = _serializer().dumps({"n": device["n"], "e": tags[-MAX_ACCOUNTS_PER_DEVICE:]})
    response.set_cookie(
        device_cookie_name(),
        token,
        max_age=current_app.config["KNOWN_DEVICE_DAYS"] * 86400,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Strict",
        path="/",
    )


# --- limiter keys and conditions (used by lms.blueprints.auth.routes) ---------------------


def ip_key() -> str:
    return "ip:" + client_ip()


def account_ip_key() -> str:
    return f"acct-ip:{typed_email()}|{client_ip()}"


def account_key() -> str:
    return "acct:" + typed_email()


def device_key() -> str:
    device = _device()
    return "device:" + (device["n"] if device else "none")


def failed(response: Response) -> bool:
    """Only failed attempts count: a success redirects; a 5xx is the site's fault."""
    return response.status_code != 302 and response.status_code < 500


def not_known_device() -> bool:
    return not known_device()
