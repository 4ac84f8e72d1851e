"""Extensions, created unbound and bound to the app in ``create_app``."""

import flask
from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman as _Talisman
from flask_wtf import CSRFProtect as _CSRFProtect
from sqlalchemy import MetaData

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class CSRFProtect(_CSRFProtect):
    """Flask-WTF's CSRF check, where a malformed Referer on an HTTPS post is refused like any
    foreign one. Flask-WTF compares ports with ``urlparse(...).port``, which raises ValueError
    for ``https://localhost:port.evil.example/`` or a port past 65535: an error page."""

    def protect(self, apply_exemptions=False):
        try:
            return super().protect(apply_exemptions=apply_exemptions)
        except ValueError:
            self._error_response("The referrer does not match the host.")


# Objects stay loaded after a commit: a page rendered after its audit row is written does not
# reload every row one query at a time (lms.uow commits once per request).
db = SQLAlchemy(
    metadata=MetaData(naming_convention=NAMING), session_options={"expire_on_commit": False}
)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


class Talisman(_Talisman):
    """Flask-Talisman, with its headers built once. It looks up a view's own options three
    times per request and writes the Content-Security-Policy string anew for each response;
    no view here has options of its own, so the headers depend only on whether the request
    came over HTTPS (HSTS), and are kept per that answer. A view given its own options
    (``@talisman(...)``) turns the shortcut off for the whole app."""

    _kept: dict[bool, list[tuple[str, str]]] = {}
    _views_checked = False
    _views_have_options = False

    def init_app(self, app, **kwargs):
        super().init_app(app, **kwargs)
        # One instance serves every app made in this process (tests make many): the last
        # app's settings apply, as with Flask-Talisman itself, and nothing kept survives them.
        self._views_checked = False
        self._kept = {}

    def _plain(self) -> bool:
        if not self._views_checked:
            views = flask.current_app.view_functions.values()
            self._views_have_options = any(hasattr(v, "talisman_view_options") for v in views)
            self._views_checked = True
        return not self._views_have_options

    def _force_https(self):
        if self._plain() and not self.force_https:
            return None
        return super()._force_https()

    def _make_nonce(self):
        if self._plain() and not self.content_security_policy_nonce_in:
            return None
        return super()._make_nonce()

    def _set_response_headers(self, response):
        if not self._plain() or self.content_security_policy_nonce_in:
            return super()._set_response_headers(response)
        secure = flask.request.is_secure or (
            flask.request.headers.get("X-Forwarded-Proto", "http") == "https"
        )
        headers = self._kept.get(secure)
        if headers is None:
            probe = flask.Response()
            super()._set_response_headers(probe)
            headers = self._kept[secure] = [
                (name, value) for name, value in probe.headers.items() if name not in _PROBE
            ]
        for name, value in headers:
            response.headers[name] = value
        return response


_PROBE = frozenset(flask.Response().headers.keys())  # what an empty response has anyway
talisman = Talisman()


def client_ip() -> str:
    """The client's address (behind ``TRUSTED_PROXIES`` load balancers, from ProxyFix)."""
    return get_remote_address() or request.remote_addr or "unknown"


limiter = Limiter(key_func=client_ip)


@limiter.request_filter
def _endpoint_has_no_limits() -> bool:
    """Only some views are limited (sign-in, codes, resets, invitations: each with its own
    ``@limiter.limit``); no default or application-wide limits are set. Every other request
    skips Flask-Limiter's per-request resolution of limits (a tenth of a reading page's time),
    decided once per endpoint. A limited view is never skipped: its qualified name is in the
    limiter's own set of marked views."""
    from flask_limiter.util import get_qualified_name

    app = flask.current_app
    if app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION"):
        return False
    endpoint = flask.request.endpoint or ""
    known = app.extensions.setdefault("lms_unlimited_endpoints", {})
    answer = known.get(endpoint)
    if answer is None:
        view = app.view_functions.get(endpoint)
        answer = known[endpoint] = view is not None and (
            get_qualified_name(view) not in limiter._marked_for_limiting
            and not limiter.limit_manager.has_hints(endpoint)
        )
    return answer
