"""Data builders and small HTTP helpers shared by the tests."""

from __future__ import annotations

import contextlib
import functools
import html
import re

from flask import has_app_context

from lms.extensions import db
from lms.models import User
from lms.passwords import hash_password

PASSWORD = "correct horse battery staple 42"
_counter = {"n": 0}

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@functools.cache
def _hash(password: str) -> str:
    return hash_password(password)


# Set by the ``app`` fixture. HTTP tests must not hold an app context open while they make
# requests (Flask would reuse it, and with it ``g`` and the session, across requests), so
# builders open a short one of their own and hand back detached, fully loaded objects.
CURRENT = {"app": None}


@contextlib.contextmanager
def app_context():
    if has_app_context():
        yield
        return
    with CURRENT["app"].app_context():
        yield


def detached(*objects):
    for obj in objects:
        db.session.refresh(obj)
        db.session.expunge(obj)
    return objects[0] if len(objects) == 1 else objects


def make_user(
    role: str = "family",
    *,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    active: bool = True,
) -> User:
    _counter["n"] += 1
    n = _counter["n"]
    outside = not has_app_context()
    with app_context():
        user = User(
            email=(email or f"{role}{n}@example.org").lower(),
            display_name=name or f"{role.title()} {n}",
            role=role,
            active=active,
            password_hash=_hash(password),
        )
        db.session.add(user)
        db.session.commit()
        return detached(user) if outside else user


def csrf_token(client, path: str) -> str:
    response = client.get(path)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path} (status {response.status_code})"
    return html.unescape(match.group(1))


def post_form(client, path: str, data: dict, *, form_page: str | None = None, **kwargs):
    """POST like a browser: fetch the form page first for its CSRF token."""
    token = csrf_token(client, form_page or path)
    return client.post(path, data={**data, "csrf_token": token}, **kwargs)


def login(client, email: str, password: str = PASSWORD, **kwargs):
    return post_form(client, "/auth/login", {"email": email, "password": password}, **kwargs)


def logout(client):
    return post_form(client, "/auth/logout", {}, form_page="/auth/account")


def text_of(response) -> str:
    return response.get_data(as_text=True)
