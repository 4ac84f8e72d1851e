"""Secrets kept in the database sealed: the two-step sign-in (TOTP) secrets.

A TOTP secret read from a stolen backup or a copied table would let someone make the codes of
a member of staff; sealed, the row holds nothing usable without the app's ``SECRET_KEY``,
which never lives in the database. Sealing is Fernet (AES-128-CBC with an HMAC-SHA256, from
``cryptography``) under a key derived from ``SECRET_KEY`` with HKDF-SHA256 for this one
purpose, so the key that signs cookies is not the key that seals secrets.

Rotating ``SECRET_KEY``: put the old value in ``SECRET_KEY_FALLBACKS`` (Flask reads it for the
session cookie too); a secret sealed under any of them opens, and ``mfa`` seals it again under
the current key the next time its owner signs in with a code. A secret that opens under none
of them (the key changed without the old one kept) reads as ``UNREADABLE``: no code matches
it, the owner signs in with a recovery code or has two-step sign-in reset, and it is logged.

Stored form: ``PREFIX`` then the Fernet token. A value without the prefix (from before
migration 0023) is read as it is.
"""

from __future__ import annotations

import base64
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

PREFIX = "fernet:"
#: What a sealed secret reads as when no key opens it: never a valid TOTP secret.
UNREADABLE = "!unreadable"
_INFO = b"lms: two-step sign-in secrets at rest, v1"

logger = logging.getLogger(__name__)


def _derive(secret_key: str | bytes) -> bytes:
    raw = secret_key.encode() if isinstance(secret_key, str) else secret_key
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(raw)
    return base64.urlsafe_b64encode(key)


@lru_cache(maxsize=8)
def _fernet(secret_keys: tuple[str | bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_derive(key)) for key in secret_keys])


def _keys() -> tuple[str | bytes, ...]:
    config = current_app.config
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or ()
    return (config["SECRET_KEY"], *fallbacks)


def seal(plain: str) -> str:
    """``plain`` sealed under the current ``SECRET_KEY``."""
    return PREFIX + _fernet(_keys()).encrypt(plain.encode()).decode()


def unseal(stored: str) -> str:
    """The secret a stored value holds (``UNREADABLE`` when no key opens it)."""
    if not stored.startswith(PREFIX):
        return stored  # from before sealing
    try:
        return _fernet(_keys()).decrypt(stored[len(PREFIX) :].encode()).decode()
    except (InvalidToken, ValueError):
        logger.warning(
            "a two-step sign-in secret could not be opened with SECRET_KEY or its fallbacks"
        )
        return UNREADABLE
