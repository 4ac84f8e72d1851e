"""Family education for an intensive outpatient program."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flask import Flask, request, session
from sqlalchemy import event
from sqlalchemy.engine import Engine

from lms import config as settings
from lms.extensions import babel, csrf, db, limiter, login_manager, migrate, talisman

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")

CSP = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys, let readers and a writer work together, wait on locks."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL never corrupts the database; a power cut may lose the last commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def select_locale() -> str | None:
    from flask import has_request_context

    if not has_request_context():
        return None  # commands and e-mails outside a request use the default
    from lms.security import choose_locale

    return choose_locale()  # the one rule: account, switch, invitation, browser


def create_app(config: dict | None = None) -> Flask:
    """Build the app. Tests choose their settings only through ``config``."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(settings.from_environment(app.instance_path))
    if config:
        app.config.update(config)
    app.config["SQLALCHEMY_DATABASE_URI"] = settings.normalize_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    settings.apply_defaults(app.config)
    settings.check_production(app.config)

    from lms import health

    health.init_app(app)  # before ProxyFix: it sees the scheme the client used
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    _init_extensions(app)
    from lms.inputs import IdConverter

    app.url_map.converters["id"] = IdConverter  # before any route that uses <id:...>
    _register_blueprints(app)
    _register_hooks(app)
    __import__("lms.static_files", fromlist=["init_app"]).init_app(app)  # fingerprinted names

    from lms import errors

    errors.register(app)

    from lms.cli import register as register_cli

    register_cli(app)

    from lms import content

    content.init_app(app)

    if app.config["AUTO_MIGRATE"]:
        from flask_migrate import upgrade

        with app.app_context():
            upgrade(directory=MIGRATIONS)
    return app


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    babel.init_app(app, locale_selector=select_locale)
    _install_request_cached_gettext(app)
    # Flask-Limiter keeps the first app's key prefix for good (``_key_prefix or config``):
    # each app's own RATELIMIT_KEY_PREFIX must decide where its counts live, or two programs
    # (or two test runs) sharing one Redis would count each other's sign-ins.
    limiter._key_prefix = app.config["RATELIMIT_KEY_PREFIX"]
    # Likewise its "storage is down, use memory" state: each app starts with its own storage.
    limiter._storage_dead = False
    limiter.init_app(app)
    production = app.config["LMS_ENV"] == "production"
    talisman.init_app(
        app,
        force_https=False,  # done in _register_hooks, towards SITE_URL (not the Host header)
        strict_transport_security=production,
        strict_transport_security_max_age=31536000,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        content_security_policy=CSP,
        # Nothing leaves the site; same-site form posts carry a Referer, which Flask-WTF
        # requires over HTTPS (WTF_CSRF_SSL_STRICT). "no-referrer" made every HTTPS post fail.
        referrer_policy="same-origin",
        frame_options="DENY",
        permissions_policy={"geolocation": "()", "camera": "()", "microphone": "()"},
    )
    import lms.audit.chain
    import lms.models
    import lms.security  # noqa: F401 -- registers the user loader


def _install_request_cached_gettext(app: Flask) -> None:
    """Templates call ``_()`` dozens of times per page; Flask-Babel looks the translations up
    anew on every call. Look them up once per request instead (same newstyle callables, so
    autoescaping and formatting are unchanged)."""
    from flask import g, has_app_context
    from flask_babel import get_translations

    def translations():
        if not has_app_context():
            return get_translations()
        cached = g.get("_lms_translations")
        if cached is None:
            cached = g._lms_translations = get_translations()
        return cached

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )


def _register_blueprints(app: Flask) -> None:
    from lms.blueprints.admin.routes import bp as admin_bp
    from lms.blueprints.api.routes import bp as api_bp
    from lms.blueprints.auth.routes import bp as auth_bp
    from lms.blueprints.clinic.routes import bp as clinic_bp
    from lms.blueprints.core.routes import bp as core_bp
    from lms.blueprints.invite.routes import bp as invite_bp
    from lms.blueprints.learn.routes import bp as learn_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(learn_bp)
    app.register_blueprint(clinic_bp)
    app.register_blueprint(invite_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)  # /api/v1/: bearer tokens only, no session cookie


def _register_hooks(app: Flask) -> None:
    from lms import uow

    # One commit per request, after the view (registered first: it runs last of all).
    app.after_request(uow.commit_request)
    from lms.security import enforce_timeouts, require_https

    app.before_request(require_https)
    app.before_request(enforce_timeouts)

    @app.after_request
    def close_unsent_file(response):
        # On a 304 (conditional GET of a static file) Werkzeug drops the opened file without
        # closing it; a browser revalidating the favicon on every page leaked a descriptor.
        if response.status_code == 304 and hasattr(response.response, "close"):
            response.response.close()
            response.response = []
        return response

    @app.after_request
    def no_store(response):
        # Pages may hold health information: never keep them in a shared or back-button cache.
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    from lms import fragments, notices

    app.jinja_env.globals["notices"] = notices
    # Parts of pages that are the same for every reader, rendered once per language; and
    # addresses built once (lms.fragments).
    app.jinja_env.globals["fragment"] = fragments.fragment
    app.jinja_env.globals["url_for"] = fragments.url_for
    # Templates only display a status; its words and weight come from the one rule.
    from lms.assignments import status as assignment_status

    app.jinja_env.globals["status_label"] = assignment_status.label
    app.jinja_env.globals["status_tone"] = assignment_status.TONES.get
    from lms.group_sessions import queries as session_queries

    app.jinja_env.globals["attendance_label"] = session_queries.attendance_label
    from lms import dates
    from lms.audit.log import local_time_text

    # Times and days people read are in their own zone (their setting, else the program's):
    # "Nov 27, 2026, 9:14 AM EST" on staff records; "Tue, Dec 1" and "Tue, Dec 1, 9:14 AM
    # EST" on learners' pages (lms.dates).
    app.jinja_env.filters["local_time"] = lambda at: local_time_text(at, dates.zone_for())
    app.jinja_env.filters["day"] = lambda value, year=False: dates.day_text(value, year=year)
    app.jinja_env.filters["moment"] = lambda at: dates.time_text(at)
    app.jinja_env.globals["attendance_choices"] = session_queries.ATTENDANCE_LABELS

    @app.context_processor
    def inject():
        from flask_babel import get_locale

        return {
            "lang": str(get_locale() or "en"),
            "program_name": app.config["PROGRAM_NAME"],
            "session_active": bool(session.get("_user_id")),
        }
