"""Signing in and out: messages, throttling, lockout, CSRF, safe redirects."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lms.extensions import db
from lms.models import AuditEvent
from tests.helpers import PASSWORD, csrf_token, login, logout, make_user, post_form, text_of


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_login_page_has_labelled_fields(client):
    page = text_of(client.get("/auth/login"))
    assert '<label for="email">' in page
    assert '<label for="password">' in page
    assert 'name="csrf_token"' in page


def test_login_success_redirects_home_and_audits(app, client):
    user = make_user("family")
    response = login(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/home"
    assert client.get("/auth/account").status_code == 200
    assert "login.success" in actions(app)


def test_staff_go_to_staff_home(client):
    user = make_user("clinician")
    assert login(client, user.email).headers["Location"] == "/staff"


def test_email_is_case_insensitive(client):
    user = make_user("family", email="mixed@example.org")
    assert login(client, "  MIXED@Example.ORG ").status_code == 302
    assert user.email == "mixed@example.org"


def test_wrong_password_and_unknown_email_say_the_same(app, client):
    user = make_user("family")
    wrong = text_of(login(client, user.email, "not the right password at all"))
    unknown = text_of(login(client, "nobody@example.org", "not the right password at all"))
    message = "That email and password don&#39;t match our records"
    assert message in wrong and message in unknown
    strip = lambda page: page.split('name="csrf_token"')[0]  # noqa: E731
    assert strip(wrong).replace(user.email, "X") == strip(unknown).replace(
        "nobody@example.org", "X"
    )
    assert actions(app).count("login.failure") == 2


def test_inactive_account_cannot_sign_in_and_is_told_whom_to_ask(client):
    """The right password proves ownership, so the person learns what to do; a wrong one
    gets the same answer as for any account, so nothing tells whether it exists."""
    user = make_user("family", active=False)
    response = login(client, user.email)
    assert response.status_code == 200
    assert "Your account is turned off. Please contact your program" in text_of(response)
    assert client.get("/learn/").status_code == 302  # not signed in
    wrong = login(client, user.email, "not the password at all")
    assert "don&#39;t match our records" in text_of(wrong)
    assert "turned off" not in text_of(wrong)


def test_unknown_account_is_throttled_like_a_real_one(client):
    user = make_user("family")
    for _ in range(5):
        login(client, user.email, "wrong password number one")
        login(client, "ghost@example.org", "wrong password number one")
    real = login(client, user.email, "wrong password number one")
    ghost = login(client, "ghost@example.org", "wrong password number one")
    assert real.status_code == ghost.status_code == 429
    assert "signing in is paused" in text_of(real)
    assert "signing in is paused" in text_of(ghost)
    # The same page but for the language switch's CSRF token, which carries a timestamp.
    token = re.compile(r'name="csrf_token" value="[^"]*"')
    assert token.sub("", text_of(real)) == token.sub("", text_of(ghost))


def test_ip_limit_applies_across_accounts(app, client):
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per minute"
    for n in range(3):
        assert login(client, f"someone{n}@example.org", "wrong password").status_code == 200
    response = login(client, "someone-else@example.org", "wrong password")
    assert response.status_code == 429
    assert "try again in" in text_of(response)


def test_logout_is_post_only(client):
    user = make_user("family")
    login(client, user.email)
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/auth/account").status_code == 200


def test_logout_ends_session_and_audits(app, client):
    user = make_user("family")
    login(client, user.email)
    response = logout(client)
    assert response.status_code == 302
    assert client.get("/auth/account").status_code == 302
    assert "logout" in actions(app)


def test_csrf_missing_or_wrong_is_400_and_records_nothing(app, client):
    user = make_user("family")
    missing = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert missing.status_code == 400
    assert "Nothing was saved" in text_of(missing)
    csrf_token(client, "/auth/login")  # a session with a real token exists now
    wrong = client.post(
        "/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert wrong.status_code == 400
    assert "login.success" not in actions(app)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "\\/\\/evil.example",
        "http:/evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "///evil.example",
        " //evil.example",
        "%2F%2Fevil.example",
    ],
)
def test_open_redirect_payloads_are_refused(client, target):
    user = make_user("family")
    token = csrf_token(client, "/auth/login")
    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": PASSWORD, "next": target, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/home"


def test_next_on_this_site_is_followed(client):
    user = make_user("family")
    token = csrf_token(client, "/auth/login")
    response = client.post(
        "/auth/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": "/auth/account",
            "csrf_token": token,
        },
    )
    assert response.headers["Location"] == "/auth/account"


def test_login_required_pages_send_to_login_with_next(client):
    response = client.get("/auth/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_double_submit_of_login_form_signs_in_once(app, client):
    user = make_user("family")
    token = csrf_token(client, "/auth/login")
    data = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    first = client.post("/auth/login", data=data)
    second = client.post("/auth/login", data=data)
    assert first.status_code == second.status_code == 302
    assert actions(app).count("login.success") == 1


def test_post_form_helper_works_for_account(client):
    user = make_user("family")
    login(client, user.email)
    response = post_form(client, "/auth/account", {"prefs-locale": "es", "prefs-submit": "Save"})
    assert response.status_code == 302
    assert 'lang="es"' in text_of(client.get("/auth/account"))


def _redis_available() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_available(), reason="needs Redis on 127.0.0.1:6379")
def test_limits_are_shared_across_workers_through_redis(make_app):
    """Two app instances (two gunicorn workers) see one count when REDIS_URL is set."""
    import uuid

    url = "redis://127.0.0.1:6379/15"  # a database of its own for the tests
    # Counts of their own (a fresh key prefix), never emptying the database: other tests (in
    # other pytest-xdist workers) keep theirs there at the same time.
    shared = {
        "RATELIMIT_STORAGE_URI": url,
        "RATELIMIT_KEY_PREFIX": "lms-test-" + uuid.uuid4().hex[:12],
        "LOGIN_LIMIT_PER_IP": "2 per minute",
    }
    worker_a = make_app(**shared)
    worker_b = make_app(**shared)
    client_a, client_b = worker_a.test_client(), worker_b.test_client()
    assert login(client_a, "x1@example.org", "wrong password").status_code == 200
    assert login(client_b, "x2@example.org", "wrong password").status_code == 200
    assert login(client_a, "x3@example.org", "wrong password").status_code == 429
    assert login(client_b, "x4@example.org", "wrong password").status_code == 429
    # Counted under this app's own key prefix, whichever app this process made first: a
    # program sharing the Redis (or another test run) never counts these sign-ins.
    import redis

    keys = redis.Redis.from_url(url).keys(f"LIMITS:LIMITER/{shared['RATELIMIT_KEY_PREFIX']}/*")
    assert keys, "the limiter ignored RATELIMIT_KEY_PREFIX"
