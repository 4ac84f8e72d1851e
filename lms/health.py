"""``/healthz`` at the cost of a database ping, not of a page.

Load balancers ask every few seconds, anonymously; the answer is whether the database answers,
and nothing else. Through Flask a health check paid for everything a page needs — the request
hooks, the session cookie, the rate limiter's context, the security headers built anew, a
commit — three times the cost of a bare Flask request. ``HealthCheck`` sits in front of the
app: the first health check of each scheme (http, https) goes through the whole app
(``core.healthz``) and its headers are kept — the same security headers, ``no-store``, HSTS over
HTTPS in production — then every later one pings the database through the engine's pool and
answers with those headers. Anything else (another method, a query string) goes to the app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from flask import Flask

PATH = "/healthz"
#: Headers that belong to one answer, never reused.
_PER_ANSWER = frozenset({"content-length", "date", "set-cookie"})

logger = logging.getLogger(__name__)


def _body(ok: bool) -> bytes:
    # The same JSON core.healthz answers (Flask's jsonify: sorted keys, compact, a newline).
    if ok:
        return b'{"database":"ok","status":"ok"}\n'
    return b'{"database":"unavailable","status":"error"}\n'


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
        ok = self._database_answers()
        body = _body(ok)
        start_response(
            "200 OK" if ok else "503 SERVICE UNAVAILABLE",
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
