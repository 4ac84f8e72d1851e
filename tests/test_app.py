"""The app itself: configuration, health check, headers, error pages, passwords, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from lms import create_app
from lms.accounts.passwords import password_problems
from lms.config import DEV_SECRET_KEY, ConfigError
from lms.extensions import db
from lms.models import AuditEvent, User
from tests.conftest import PG_URL
from tests.helpers import login, make_user, production_config, redis_available, text_of

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_unreachable(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"
    assert "127.0.0.1" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("secret", "fragment"),
    [
        (None, "SECRET_KEY is not set"),
        (DEV_SECRET_KEY, "development default"),
        ("short-secret", "too short"),
    ],
)
def test_production_refuses_weak_secret(app_config, secret, fragment):
    with pytest.raises(ConfigError, match=fragment):
        create_app({**app_config, **production_config(SECRET_KEY=secret)})


def test_production_refusal_is_one_line_and_non_zero(tmp_path):
    env = {
        **os.environ,
        "LMS_ENV": "production",
        "SECRET_KEY": "",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379")
def test_production_starts_with_strong_secret(make_app):
    app = make_app(**production_config(SECRET_KEY="x" * 40))
    # HSTS is sent over HTTPS (behind the load balancer, TRUSTED_PROXIES makes that visible).
    response = app.test_client().get("/healthz", base_url="https://lms.example")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_security_headers(client):
    response = client.get("/auth/login")
    csp = response.headers["Content-Security-Policy"]
    for part in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert part in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Same-origin: nothing leaves the site, and HTTPS form posts carry the Referer that
    # Flask-WTF's strict check needs.
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in text_of(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # development only


def test_signed_in_pages_are_not_cached(client):
    user = make_user("family")
    login(client, user.email)
    assert client.get("/auth/account").headers["Cache-Control"] == "no-store"


def test_no_inline_script_in_layout(client):
    page = text_of(client.get("/auth/login"))
    assert "<script>" not in page and "onclick" not in page


@pytest.mark.parametrize("path", ["/nope", "/auth/nope/deeper"])
def test_404_page_in_layout(client, path):
    response = client.get(path)
    assert response.status_code == 404
    page = text_of(response)
    assert "Page not found" in page and "988" in page


def test_405_page(client):
    response = client.put("/auth/login")
    assert response.status_code == 405
    assert "can&#39;t be used that way" in text_of(response)


def test_413_page(client):
    response = client.post("/auth/login", data={"email": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "too large" in text_of(response)


def test_500_page_hides_traceback(app):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    page = text_of(response)
    assert "secret internals" not in page and "Traceback" not in page
    assert "Something went wrong on our side" in page


def test_layout_accessibility_basics(client):
    page = text_of(client.get("/auth/login"))
    assert 'class="skip-link" href="#main"' in page
    assert "<main" in page and "<header" in page and "<footer" in page
    assert 'name="viewport"' in page
    assert "1-800-662-4357" in page and 'href="tel:988"' in page


def test_locale_from_browser_then_user_setting(app, client):
    page = text_of(client.get("/auth/login", headers={"Accept-Language": "es-MX,es;q=0.9"}))
    assert 'lang="es"' in page
    user = make_user("family")
    with app.app_context():
        db.session.get(User, user.id).locale = "en"
        db.session.commit()
    login(client, user.email)
    page = text_of(client.get("/auth/account", headers={"Accept-Language": "es"}))
    assert 'lang="en"' in page


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short pass", "at least 12"),
        ("x" * 129, "at most 128"),
        ("password123456", "too easy to guess"),
        ("qwertyuiopasdf", "too easy to guess"),
        ("pat.taylor likes long walks 9", "email address"),
        ("my family learning space 77", "program"),
    ],
)
def test_password_rules_refuse_with_reason(password, reason):
    problems = password_problems(
        password, email="pat.taylor@example.org", program_name="Family Learning"
    )
    assert problems and reason in problems[0]


@pytest.mark.parametrize(
    "password",
    [
        "blue kettle sings at dawn",
        "ñandú corre rápido 42 ☀",
        "   spaces   are fine here  ",
        "the brown fox jumps over a lazy dog while the rain falls 2026 ok",
    ],
)
def test_password_rules_accept(password):
    assert (
        password_problems(password, email="pat@example.org", program_name="Family Learning") == []
    )


def test_users_create_from_stdin(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "clinician",
            "--email",
            "New@Example.org",
            "--name",
            "New Clinician",
            "--password-stdin",
        ],
        input="orchard lantern quietly hums 8\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert (user.email, user.role) == ("new@example.org", "clinician")
        assert db.session.scalars(select(AuditEvent.action)).all() == ["account.created"]


def test_users_create_refuses_weak_password_and_duplicates(app, runner):
    weak = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "family",
            "--email",
            "a@example.org",
            "--name",
            "A",
            "--password-stdin",
        ],
        input="password\n",
    )
    assert weak.exit_code != 0 and "at least 12" in weak.output
    args = [
        "users",
        "create",
        "--role",
        "family",
        "--email",
        "a@example.org",
        "--name",
        "A",
        "--password-stdin",
    ]
    assert runner.invoke(args=args, input="orchard lantern quietly hums 8\n").exit_code == 0
    again = runner.invoke(args=args, input="orchard lantern quietly hums 8\n")
    assert again.exit_code != 0 and "already exists" in again.output


def test_users_create_prompts(app, runner):
    result = runner.invoke(
        args=["users", "create", "--role", "admin", "--email", "b@example.org", "--name", "B"],
        input="orchard lantern quietly hums 8\norchard lantern quietly hums 8\n",
    )
    assert result.exit_code == 0, result.output


def test_demo_is_idempotent_and_prints_accounts(app, runner):
    first = runner.invoke(args=["demo", "--password", "demo orchard lantern 2026"])
    assert first.exit_code == 0, first.output
    for email in (
        "admin@example.org",
        "clinician@example.org",
        "clinician2@example.org",
        "patient@example.org",
        "family@example.org",
    ):
        assert email in first.output
    assert "demo orchard lantern 2026" in first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        assert db.session.scalar(select(db.func.count(User.id))) == 6
    password = second.output.split("Password: ")[1].split()[0]
    assert login(app.test_client(), "clinician@example.org", password).status_code == 302


def test_audit_rows_cannot_be_changed(app, ctx):
    from lms import audit

    audit.record("test.event")
    db.session.commit()
    for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.scalar(select(AuditEvent.action)) == "test.event"


def test_conditional_get_of_a_static_file_closes_it(client):
    """A 304 must not leave the file open (filterwarnings=error turns a leak into a failure)."""
    import gc

    first = client.get("/static/favicon.svg")
    etag = first.headers["ETag"]
    first.close()
    again = client.get("/static/favicon.svg", headers={"If-None-Match": etag})
    assert again.status_code == 304
    del again
    gc.collect()


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: TEST_DATABASE_URL is not set")
def test_postgresql_connections_run_without_jit_and_keep_the_address_options(app):
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert db.session.scalar(text("SHOW jit")) == "off"
        # The suite's address carries its own search_path option: still in force.
        assert db.session.scalar(text("SHOW search_path")).startswith("t")
