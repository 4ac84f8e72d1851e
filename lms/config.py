"""Settings, read from the environment with safe development defaults.

Every setting an operator may change is listed in README.md's configuration table.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 -- refused in production
MIN_SECRET_KEY_LENGTH = 32
PROGRAM_NAME = "Family Learning"
DEV_SITE_URL = "http://127.0.0.1:5000"
LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}
DEFAULT_TIMEZONE = "America/New_York"


class ConfigError(RuntimeError):
    """A setting makes it unsafe to start; the message names the setting."""


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def program_timezone(name: object) -> ZoneInfo:
    """The program's time zone (``PROGRAM_TIMEZONE``), or a ``ConfigError`` that names the
    setting: times shown to staff must never silently fall back to another zone."""
    try:
        if not isinstance(name, str):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ConfigError(
            f"PROGRAM_TIMEZONE must be a time zone name from the tz database, such as "
            f"America/New_York or Europe/London, got {name!r}"
        ) from exc


def from_environment(instance_path: str) -> dict:
    """Build the config mapping from environment variables."""
    env = os.environ.get("LMS_ENV", "development").strip().lower()
    if env not in {"development", "production"}:
        raise ConfigError(f"LMS_ENV must be 'development' or 'production', got {env!r}")
    production = env == "production"
    default_db = "sqlite:///" + str(Path(instance_path) / "lms.sqlite3")
    database_url = normalize_database_url(os.environ.get("DATABASE_URL") or default_db)
    redis_url = os.environ.get("REDIS_URL") or None
    return {
        "LMS_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or (None if production else DEV_SECRET_KEY),
        # Earlier SECRET_KEYs, comma-separated, while rotating it: cookies signed and two-step
        # secrets sealed (lms.sealing) under them still open.
        "SECRET_KEY_FALLBACKS": [
            key.strip()
            for key in (os.environ.get("SECRET_KEY_FALLBACKS") or "").split(",")
            if key.strip()
        ],
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Several programs (or a staging copy) may share one Redis: each counts under its own.
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX") or "lms",
        "PROGRAM_NAME": os.environ.get("PROGRAM_NAME", PROGRAM_NAME),
        # Times staff read (the audit log) are shown in this zone; stored times stay UTC.
        "PROGRAM_TIMEZONE": os.environ.get("PROGRAM_TIMEZONE") or DEFAULT_TIMEZONE,
        "COURSES_DIR": os.environ.get("COURSES_DIR")
        or str(Path(__file__).resolve().parent.parent / "courses"),
        # The embedded SQLite default migrates itself so a newcomer never runs a migration;
        # production databases are migrated by the operator (`flask db upgrade`) before deploy.
        "AUTO_MIGRATE": _bool(os.environ.get("AUTO_MIGRATE"), database_url.startswith("sqlite")),
        "SESSION_IDLE_MINUTES": _int("SESSION_IDLE_MINUTES", 30),
        "SESSION_ABSOLUTE_HOURS": _int("SESSION_ABSOLUTE_HOURS", 12),
        # Failed sign-ins are throttled, never turned into a lock someone else can set off:
        # per address; per typed email from one address, with a slower pace after each step;
        # per typed email from everywhere, except on a device that signed in to that account
        # before (a signed "known device" cookie), which has its own allowance.
        "LOGIN_LIMIT_PER_IP": os.environ.get("LOGIN_LIMIT_PER_IP", "30 per 5 minutes"),
        "LOGIN_LIMIT_PER_ACCOUNT_IP": os.environ.get(
            "LOGIN_LIMIT_PER_ACCOUNT_IP", "5 per minute; 10 per 15 minutes; 20 per day"
        ),
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get(
            "LOGIN_LIMIT_PER_ACCOUNT", "20 per hour; 50 per day"
        ),
        "LOGIN_LIMIT_PER_DEVICE": os.environ.get("LOGIN_LIMIT_PER_DEVICE", "10 per 15 minutes"),
        "KNOWN_DEVICE_DAYS": _int("KNOWN_DEVICE_DAYS", 180),
        # Two-step sign-in (TOTP) for clinicians and admins; family members may turn it on.
        "STAFF_MFA_REQUIRED": _bool(os.environ.get("STAFF_MFA_REQUIRED"), production),
        # Sensitive actions ask for the password (and code) again when the last check is older.
        "REAUTH_MINUTES": _int("REAUTH_MINUTES", 10),
        "SESSION_COOKIE_SECURE": _bool(os.environ.get("SESSION_COOKIE_SECURE"), production),
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "NEEDS_HELP_INACTIVE_DAYS": _int("NEEDS_HELP_INACTIVE_DAYS", 7),
        "QUICK_EXIT_URL": os.environ.get("QUICK_EXIT_URL") or "https://www.weather.gov/",
        # How families and patients reach the program, shown on the first sign-in orientation
        # ("How this site works"); when unset, the page tells them to ask their care team.
        "PROGRAM_PHONE": os.environ.get("PROGRAM_PHONE") or None,
        "PROGRAM_HOURS": os.environ.get("PROGRAM_HOURS") or None,
        # A learning-record store for xAPI statements (lms.interop.lrs, `flask xapi push`):
        # unset, nothing is recorded for one. The password is never logged or shown.
        "XAPI_LRS_URL": (os.environ.get("XAPI_LRS_URL") or "").rstrip("/") or None,
        "XAPI_LRS_USERNAME": os.environ.get("XAPI_LRS_USERNAME") or None,
        "XAPI_LRS_PASSWORD": os.environ.get("XAPI_LRS_PASSWORD") or None,
        "XAPI_LRS_TIMEOUT": _int("XAPI_LRS_TIMEOUT", 20),
        # Calls to /api/v1/ per token (a Flask-Limiter string); unset: the API's default.
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT") or None,
        # Refused tokens (401s) per address before its calls get a 429; unset: the default.
        "API_GUESS_LIMIT": os.environ.get("API_GUESS_LIMIT") or None,
        **_mail_settings(),
    }


def _mail_settings() -> dict:
    """Outgoing email and reminders. With no MAIL_SERVER, messages go to the log and to
    files in the instance folder (``MAIL_DIR``) instead: never lost silently."""
    use_tls = _bool(os.environ.get("MAIL_USE_TLS"), False)
    use_ssl = _bool(os.environ.get("MAIL_USE_SSL"), False)
    if use_tls and use_ssl:
        raise ConfigError("MAIL_USE_TLS and MAIL_USE_SSL are exclusive; set only one")
    return {
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int("MAIL_PORT", 465 if use_ssl else (587 if use_tls else 25)),
        "MAIL_USE_TLS": use_tls,
        "MAIL_USE_SSL": use_ssl,
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER")
        or f"{os.environ.get('PROGRAM_NAME', PROGRAM_NAME)} <no-reply@localhost>",
        "MAIL_DIR": os.environ.get("MAIL_DIR") or None,
        "MAIL_TIMEOUT": _int("MAIL_TIMEOUT", 15),
        "MAIL_MAX_ATTEMPTS": _int("MAIL_MAX_ATTEMPTS", 10),
        # Links in emails and invitations always start with this, never with the address a
        # request came in on (a forged Host header must not reach anyone's inbox). Required
        # in production; the development server's address otherwise.
        "SITE_URL": (os.environ.get("SITE_URL") or "").rstrip("/") or None,
        "PASSWORD_RESET_MINUTES": _int("PASSWORD_RESET_MINUTES", 60),
        "REMINDER_DUE_SOON_DAYS": _int("REMINDER_DUE_SOON_DAYS", 2),
        "REMINDER_OVERDUE_REPEAT_DAYS": _int("REMINDER_OVERDUE_REPEAT_DAYS", 7),
        # Overdue, then two weekly repeats: three nudges over two weeks, then silence (the
        # clinician's dashboard flags who needs a word); 0 = no limit.
        "REMINDER_OVERDUE_MAX_REPEATS": _int("REMINDER_OVERDUE_MAX_REPEATS", 2),
    }


def apply_defaults(config) -> None:
    """Settings that follow from others, or that are fixed for safety.

    Flask pre-fills many keys with its own defaults, so "unset" here means None.
    """

    def default(key: str, value: object) -> None:
        if config.get(key) is None:
            config[key] = value

    # Fixed for safety: not overridable.
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure, has no Domain
    # and covers the whole site, so no sibling subdomain can plant or overwrite it.
    config["SESSION_COOKIE_NAME"] = (
        "__Host-lms_session" if config.get("SESSION_COOKIE_SECURE") else "lms_session"
    )
    config["SESSION_COOKIE_DOMAIN"] = None
    config["SESSION_COOKIE_PATH"] = "/"
    default("SITE_URL", DEV_SITE_URL)
    config["REMEMBER_COOKIE_DURATION"] = timedelta(0)
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=config["SESSION_ABSOLUTE_HOURS"])
    # The cookie is written when the session changes (sign-in, the idle clock's once-a-minute
    # refresh, a form's first CSRF token), not re-signed and re-sent on every page: the idle
    # and absolute timeouts are kept inside it (lms.security), not by its expiry.
    config["SESSION_REFRESH_EACH_REQUEST"] = False
    default("MAX_CONTENT_LENGTH", 1 * 1024 * 1024)
    default("MAX_FORM_MEMORY_SIZE", 500 * 1024)
    engine_options: dict = {"pool_pre_ping": True}
    uri = str(config.get("SQLALCHEMY_DATABASE_URI") or "")
    if uri.startswith("postgresql"):
        # The pages' queries are short; PostgreSQL's JIT compiled some of them to machine code
        # first, adding 25-30 ms to the question analysis (docs/performance.md). Added to any
        # options the address carries (connect_args would replace them).
        from sqlalchemy.engine import make_url

        given = make_url(uri).query.get("options") or ""
        if isinstance(given, tuple):
            given = " ".join(given)
        engine_options["connect_args"] = {"options": f"{given} -c jit=off".strip()}
    default("SQLALCHEMY_ENGINE_OPTIONS", engine_options)
    default("RATELIMIT_HEADERS_ENABLED", True)
    # Explicit: Flask-Limiter's one shared extension otherwise keeps the last app's choice, so
    # one app (a test) switching limits off would switch them off for every later app.
    default("RATELIMIT_ENABLED", True)
    default("RATELIMIT_KEY_PREFIX", "lms")
    # Redis down: count in each process's memory (logged) instead of failing every sign-in
    # with a 500; the limits still hold, per app server, until Redis answers again.
    default("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    if str(config.get("RATELIMIT_STORAGE_URI") or "").startswith("redis"):
        # A Redis that hangs is a Redis that is down: no request waits on it for long.
        default("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1})
    config["WTF_CSRF_TIME_LIMIT"] = None  # the session's own lifetime bounds the token
    default("BABEL_DEFAULT_LOCALE", "en")
    default("LANGUAGES", ("en", "es"))
    # Checked here, after any override: an unknown zone refuses to start, naming the setting.
    default("PROGRAM_TIMEZONE", DEFAULT_TIMEZONE)
    program_timezone(config["PROGRAM_TIMEZONE"])


def check_production(config: dict) -> None:
    """Refuse to start in production with an unsafe setting, naming it in one line."""
    if config.get("LMS_ENV") != "production":
        return
    key = config.get("SECRET_KEY")
    if not key:
        raise ConfigError(
            "SECRET_KEY is not set; production needs a random value of 32+ characters"
        )
    if key == DEV_SECRET_KEY:
        raise ConfigError("SECRET_KEY is the development default; set a random production value")
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            f"SECRET_KEY is too short ({len(key)} characters); use at least {MIN_SECRET_KEY_LENGTH}"
        )
    site = config.get("SITE_URL")
    if not site or site == DEV_SITE_URL:
        raise ConfigError(
            "SITE_URL is not set; production needs the public address for links in emails, "
            "e.g. https://learn.example.org"
        )
    if urlsplit(site).scheme != "https" or not urlsplit(site).hostname:
        raise ConfigError(f"SITE_URL must be an https:// address, got {site!r}")
    lrs = config.get("XAPI_LRS_URL")
    if lrs and (urlsplit(lrs).scheme != "https" or not urlsplit(lrs).hostname):
        # Its password travels with every request (basic authentication).
        raise ConfigError("XAPI_LRS_URL must be an https:// address in production")
    if not config.get("REDIS_URL") or str(config.get("RATELIMIT_STORAGE_URI")).startswith("memory"):
        raise ConfigError(
            "REDIS_URL is not set; production needs Redis so every worker and host shares "
            "one count of sign-in attempts"
        )
    if not config.get("SESSION_COOKIE_SECURE"):
        raise ConfigError("SESSION_COOKIE_SECURE is off; production sends cookies over HTTPS only")
    _check_database_tls(config.get("SQLALCHEMY_DATABASE_URI") or "")


def _check_database_tls(url: str) -> None:
    """A PostgreSQL server on another host must be reached over TLS (sslmode=require or
    stricter); a local socket or loopback address carries nothing across a network."""
    if not url.startswith("postgresql"):
        return
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = (parts.hostname or "").strip("[]")
    hosts = {h.strip() for h in (query.get("host") or [host])[0].split(",")}
    if all(h in LOCAL_HOSTS or h.startswith("/") for h in hosts):
        return
    mode = (query.get("sslmode") or [""])[0]
    if mode not in {"require", "verify-ca", "verify-full"}:
        raise ConfigError(
            "DATABASE_URL reaches PostgreSQL on another host without TLS; "
            "add ?sslmode=verify-full (or require)"
        )
