"""Password hashing (argon2) and the password rules (NIST SP 800-63B).

Rules: 12 to 128 characters, any Unicode and spaces, no composition rules; refused when
zxcvbn rates it guessable (score below 3; it rates the first 72 characters, its own limit),
or when it contains the account's email name or the program's name. Each refusal says why
in words a person can act on.
"""

from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_babel import gettext as _
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 128
# zxcvbn refuses (raises on) anything longer; it rates the first 72 characters, which is
# plenty to tell a guessable password from a good one.
ZXCVBN_MAX_LENGTH = 72

_HASHERS = {
    "default": PasswordHasher(),  # argon2id, RFC 9106 low-memory profile
    # Only for the test suite (ARGON2_PROFILE=test): same algorithm, cheap parameters.
    "test": PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
}
# Verifying against this when the account does not exist keeps timing the same either way.
_DUMMY_HASHES = {name: h.hash("not-a-real-password-for-timing") for name, h in _HASHERS.items()}


def _profile() -> str:
    if has_app_context():
        profile = current_app.config.get("ARGON2_PROFILE", "default")
        if profile in _HASHERS and (profile == "default" or current_app.testing):
            return profile
    return "default"


def hash_password(password: str) -> str:
    return _HASHERS[_profile()].hash(_normalize(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    profile = _profile()
    try:
        return _HASHERS[profile].verify(
            password_hash or _DUMMY_HASHES[profile], _normalize(password)
        ) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHERS[_profile()].check_needs_rehash(password_hash)


def _normalize(password: str) -> str:
    # NIST asks for Unicode normalization so the same password typed on two keyboards matches.
    return unicodedata.normalize("NFKC", password)


# Common look-alike substitutions, so "F@mily-L3arning-2026!" is seen as the program's name.
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "l",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
        "+": "t",
    }
)


def _skeleton(text: str) -> str:
    """Lower-case letters only, after undoing look-alike substitutions: separators, digits
    and punctuation between the words of a name do not hide it."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_LEET)
    return "".join(ch for ch in folded if ch.isalpha())


def password_problems(password: str, *, email: str = "", program_name: str = "") -> list[str]:
    """Every reason this password is refused; empty when it is acceptable."""
    problems: list[str] = []
    length = len(_normalize(password))
    if length < MIN_LENGTH:
        problems.append(
            _("Use at least %(min)d characters (this one has %(n)d).", min=MIN_LENGTH, n=length)
        )
        return problems
    if length > MAX_LENGTH:
        problems.append(_("Use at most %(max)d characters.", max=MAX_LENGTH))
        return problems
    lowered = password.casefold()
    local_part = email.split("@")[0].casefold() if email else ""
    if local_part and len(local_part) >= 3 and local_part in lowered:
        problems.append(_("Don't use your email address in your password."))
    program = _skeleton(program_name)
    if program and len(program) >= 4 and program in _skeleton(password) and not problems:
        problems.append(_("Don't use the program's name in your password."))
    if not problems:
        user_inputs = [w for w in (email, local_part, program_name) if w]
        result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=user_inputs)
        if result["score"] < 3:
            problems.append(
                _(
                    "This password is too easy to guess. Try a few unrelated words "
                    "together, like a short sentence only you would think of."
                )
            )
    return problems
