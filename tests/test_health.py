"""``/healthz`` answered in front of the app (lms.health): the same answer and headers as the
app's own, for the price of a database ping."""

from __future__ import annotations

import shutil

import pytest
import redis
from flask import request_started

from lms.extensions import db
from tests.helpers import production_config, redis_available

SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Permissions-Policy",
    "Cache-Control",
)


def test_later_health_checks_carry_the_first_answers_headers(client):
    first = client.get("/healthz")
    again = client.get("/healthz")
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json() == {"status": "ok", "database": "ok"}
    for name in SECURITY_HEADERS:
        assert again.headers[name] == first.headers[name], name
    assert again.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in again.headers
    assert int(again.headers["Content-Length"]) == len(again.get_data())


def test_the_answer_is_given_without_the_app(client, app):
    client.get("/healthz")  # the first goes through the app; its headers are kept
    seen = []
    with request_started.connected_to(lambda sender, **kw: seen.append(1), app):
        assert client.get("/healthz").status_code == 200
        assert seen == []  # Flask never started a request: no session, limiter or commit
        client.get("/auth/login")
        assert seen == [1]  # (the signal itself is heard)


def test_head_has_no_body(client):
    client.get("/healthz")
    response = client.head("/healthz")
    assert response.status_code == 200
    assert response.get_data() == b""


def test_other_methods_and_query_strings_go_to_the_app(client, app):
    client.get("/healthz")
    seen = []
    with request_started.connected_to(lambda sender, **kw: seen.append(1), app):
        assert client.post("/healthz").status_code in (400, 405)
        assert client.get("/healthz?x=1").status_code == 200
    assert len(seen) == 2


def test_a_database_gone_after_the_first_check_answers_503(make_app, tmp_path):
    folder = tmp_path / "db"
    folder.mkdir()
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'h.sqlite3'}")
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    shutil.rmtree(folder)
    with app.app_context():
        db.engine.dispose()  # pooled connections would still answer
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unavailable"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "sqlite" not in response.get_data(as_text=True)
    folder.mkdir()
    assert client.get("/healthz").status_code == 200  # back as soon as it answers


@pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379")
def test_https_and_http_each_keep_their_own_headers(make_app):
    app = make_app(**production_config(SECRET_KEY="x" * 40))
    client = app.test_client()
    for _ in range(2):
        secure = client.get("/healthz", base_url="https://lms.example")
        assert "max-age=31536000" in secure.headers["Strict-Transport-Security"]
        plain = client.get("/healthz", base_url="http://10.0.0.5")
        assert plain.status_code == 200  # the load balancer's plain-HTTP check
        assert "Strict-Transport-Security" not in plain.headers


def test_without_redis_the_answer_is_degraded_but_the_instance_stays(make_app):
    """REDIS_URL set and nothing answering there: the app still serves (limits fall back to
    each worker's memory), so 200, but the answer says so, the same through the app (the
    first check) and in front of it (every later one); the reason stays out of the answer."""
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    client = app.test_client()
    for _ in range(2):
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.get_json() == {
            "status": "degraded",
            "database": "ok",
            "redis": "unavailable",
        }
        assert "127.0.0.1" not in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"


def test_without_the_database_redis_does_not_make_it_well(make_app):
    app = make_app(
        SQLALCHEMY_DATABASE_URI="postgresql://nobody@127.0.0.1:1/none",
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


@pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379")
def test_with_redis_answering_both_are_ok(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:6379/0")
    client = app.test_client()
    first, again = client.get("/healthz"), client.get("/healthz")
    for response in (first, again):
        assert response.status_code == 200
        assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert first.get_data() == again.get_data()


@pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379")
def test_redis_is_asked_at_most_every_few_seconds_and_a_change_is_seen(make_app, monkeypatch):
    """Checks coming fast reuse the last Redis answer (a health check costs a database ping,
    not a second round trip too); after REDIS_RECHECK_SECONDS Redis is asked again."""
    from lms import health

    now = [1000.0]
    monkeypatch.setattr(health.time, "monotonic", lambda: now[0])
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    client = app.test_client()
    assert client.get("/healthz").get_json()["status"] == "degraded"
    # Redis comes back (the client now points at a live one): not asked again yet...
    app.extensions["lms_health_redis"] = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    now[0] += health.REDIS_RECHECK_SECONDS / 2
    assert client.get("/healthz").get_json()["status"] == "degraded"
    # ...then asked, and seen.
    now[0] += health.REDIS_RECHECK_SECONDS
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok", "redis": "ok"}
