"""Demo data for trying the product. Idempotent: running it again updates, never duplicates."""

from __future__ import annotations

from lms.auth import services
from lms.extensions import db
from lms.models import User
from lms.passwords import hash_password


def ensure_user(email: str, name: str, role: str, password_hash: str) -> User:
    user = db.session.scalars(User.by_email(email)).first()
    if user is None:
        user = services.create_user(email=email, display_name=name, role=role, password=None)
    user.display_name = name
    user.role = role
    user.active = True
    user.password_hash = password_hash
    user.failed_logins = 0
    user.locked_until = None
    return user


def build(password: str) -> dict[str, User]:
    from lms.cli import DEMO_ACCOUNTS

    password_hash = hash_password(password)
    users = {
        email: ensure_user(email, name, role.value, password_hash)
        for email, name, role in DEMO_ACCOUNTS
    }
    db.session.commit()
    return users
