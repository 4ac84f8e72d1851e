"""``/healthz`` at the cost of a database ping, not of a page.

Load balancers ask every few seconds, anonymously; the answer is whether the database answers
and, where ``REDIS_URL`` is set, whether Redis does (``answer``: the one rule for both ways of
answering). Without the database nothing works: 503 ``error``. Without Redis the app still
serves, but each worker counts sign-in and API limits in its own memory: 200 ``degraded``, so
the load balancer keeps the instance and monitoring can still see it.

Through Flask a health check paid for everything a page needs — the request
hooks, the session cookie, the rate limiter's context, the security headers built anew, a
commit — three times the cost of a bare Flask request. ``HealthCheck`` sits in front of the
app: the first health check of each scheme (http, https) goes through the whole app
(``core.healthz``) and its headers are kept — the same security headers, ``no-store``, HSTS over
HTTPS in production — then every later one pings the database through the engine's pool and
answers with those headers. Anything else (another method, a query string) goes to the app.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable

from flask import Flask

PATH = "/healthz"
#: Headers that belong to one answer, never reused.
_PER_ANSWER = frozenset({"content-length", "date", "set-cookie"})

logger = logging.getLogger(__name__)


#: Seconds a Redis ping may take before Redis counts as unavailable.
REDIS_TIMEOUT = 0.5
#: Seconds a Redis answer stands for in this process: load balancers ask every few seconds,
#: and a health check should cost a database ping, not a second round trip as well.
REDIS_RECHECK_SECONDS = 2.0


def answer(database_ok: bool, redis_ok: bool | None) -> tuple[int, bytes]:
    """The health check's status code and JSON body (sorted keys, compact, a newline, as
    Flask's jsonify writes it). ``redis_ok`` is None where no Redis is configured."""
    body = {"database": "ok" if database_ok else "unavailable"}
    if redis_ok is not None:
        body["redis"] = "ok" if redis_ok else "unavailable"
    if not database_ok:
        body["status"], code = "error", 503
    elif redis_ok is False:
        body["status"], code = "degraded", 200
    else:
        body["status"], code = "ok", 200
    return code, (json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n").encode()


def redis_answers(app: Flask) -> bool | None:
    """Whether ``REDIS_URL``'s server answers a ping (None when none is set), asked at most
    once per ``REDIS_RECHECK_SECONDS`` in a process; the client is made once per app, with
    short timeouts, and the reason of a failure stays in the log."""
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    now = time.monotonic()
    asked_at, answered = app.extensions.get("lms_health_redis_answer", (None, None))
    if asked_at is not None and now - asked_at < REDIS_RECHECK_SECONDS:
        return answered
    answered = _ping(app, url)
    app.extensions["lms_health_redis_answer"] = (now, answered)
    return answered


def _ping(app: Flask, url: str) -> bool:
    client = app.extensions.get("lms_health_redis")
    if client is None:
        import redis

        client = app.extensions["lms_health_redis"] = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        )
    try:
        client.ping()
    except Exception as exc:  # any failure is "unavailable"
        logger.warning("health check: Redis did not answer (%s)", type(exc).__name__)
        return False
    return True


class HealthCheck:
    """WSGI middleware answering ``GET /healthz`` (and HEAD) with a database ping."""

    def __init__(self, wsgi_app: Callable, app: Flask):
        self.wsgi_app = wsgi_app
        self.app = app
        self._engine = None
        self._headers: dict[str, list[tuple[str, str]]] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if (
            environ.get("PATH_INFO") != PATH
            or environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
            or environ.get("QUERY_STRING")
        ):
            return self.wsgi_app(environ, start_response)
        # Talisman sends HSTS when the request or a proxy's X-Forwarded-Proto says HTTPS.
        scheme = environ.get("wsgi.url_scheme", "http") + (
            "+forwarded-https" if environ.get("HTTP_X_FORWARDED_PROTO") == "https" else ""
        )
        headers = self._headers.get(scheme)
        if headers is None:
            return self._through_the_app(scheme, environ, start_response)
        code, body = answer(self._database_answers(), redis_answers(self.app))
        start_response(
            "200 OK" if code == 200 else "503 SERVICE UNAVAILABLE",
            [*headers, ("Content-Length", str(len(body)))],
        )
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _through_the_app(self, scheme: str, environ: dict, start_response: Callable):
        """The whole app answers; its headers are kept for this scheme when it said "ok"."""

        def keep(status: str, headers: list[tuple[str, str]], exc_info=None):
            names = {name.lower() for name, _value in headers}
            if status.startswith("200") and "set-cookie" not in names:
                self._headers[scheme] = [
                    (name, value) for name, value in headers if name.lower() not in _PER_ANSWER
                ]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, keep)

    def _database_answers(self) -> bool:
        try:
            if self._engine is None:
                from lms.extensions import db

                with self.app.app_context():
                    self._engine = db.engine
            with self._engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except Exception as exc:  # any failure is "unavailable"; the reason stays out of the answer
            logger.warning("health check: the database did not answer (%s)", type(exc).__name__)
            return False
        return True


def init_app(app: Flask) -> None:
    """Put the health check in front of the app (inside any ProxyFix installed later, so the
    scheme it sees is the client's)."""
    app.wsgi_app = HealthCheck(app.wsgi_app, app)
