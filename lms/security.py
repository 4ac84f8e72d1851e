"""Sessions: who is logged in, for how long, and safe redirects.

Flask keeps the session in a signed cookie, so a copied cookie would stay valid until it
expires. Each cookie therefore carries the user's ``session_version``; logout, a password
change and deactivation bump it and every earlier cookie of that user is refused.
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf, validate_csrf
from sqlalchemy import bindparam, select
from wtforms import ValidationError

from lms import clock
from lms.extensions import db, login_manager
from lms.models import User

LOGIN_AT = "login_at"
SEEN_AT = "seen_at"
# When the password (and code) were last checked: sensitive actions want this recent.
AUTH_AT = "auth_at"
# Between a right password and the second step: who, since when, where to go after.
PENDING_USER = "pending_user"
PENDING_AT = "pending_at"
PENDING_NEXT = "pending_next"
PENDING_MINUTES = 5
SEEN_AT_RESOLUTION = 60  # seconds


# Built once: every request of a signed-in person runs it (``session.get`` built it anew).
_USER_BY_ID = select(User).where(User.id == bindparam("id"))


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """Accept the cookie only if the user is active and its version is current."""
    user_id, _sep, version = token.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.scalars(_USER_BY_ID, {"id": int(user_id)}).first()
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def _now() -> int:
    return int(clock.utcnow().timestamp())


def start_session(user: User) -> None:
    """A fresh session on login: nothing from before the login survives (no fixation) but
    the language chosen with the switch."""
    language = session.get(LANGUAGE)
    session.clear()
    if language is not None:
        session[LANGUAGE] = language
    login_user(user)
    session.permanent = True
    now = _now()
    session[LOGIN_AT] = now
    session[SEEN_AT] = now
    session[AUTH_AT] = now


# --- the second step of signing in ---------------------------------------------------------


def begin_second_step(user: User, next_url: str) -> None:
    """The password was right; nobody is signed in until the code is too. Only ids and a
    time are kept in the (signed) cookie, and the language of the pages so far (the switch's
    choice, an invitation's)."""
    kept = {key: session[key] for key in (LANGUAGE, INVITATION_LANGUAGE) if key in session}
    session.clear()
    session.update(kept)
    session[PENDING_USER] = user.get_id()
    session[PENDING_AT] = _now()
    session[PENDING_NEXT] = next_url if is_safe_next(next_url) else ""


def pending_user() -> User | None:
    """The user between password and code, if that state is recent and still valid."""
    token = session.get(PENDING_USER)
    at = session.get(PENDING_AT)
    if not isinstance(token, str) or not isinstance(at, int):
        return None
    if _now() - at > PENDING_MINUTES * 60:
        clear_pending()
        return None
    return load_user(token)


def pending_next() -> str:
    value = session.get(PENDING_NEXT)
    return value if isinstance(value, str) and is_safe_next(value) else ""


def clear_pending() -> None:
    for key in (PENDING_USER, PENDING_AT, PENDING_NEXT):
        session.pop(key, None)


# --- re-authentication before sensitive actions ---------------------------------------------


def auth_is_recent() -> bool:
    at = session.get(AUTH_AT)
    limit = current_app.config["REAUTH_MINUTES"] * 60
    return isinstance(at, int) and 0 <= _now() - at <= limit


def mark_reauthenticated() -> None:
    session[AUTH_AT] = _now()


#: Query parameters that hold what a person typed (a name searched for): never carried on
#: into another address, where it would reach the sign-in page's URL and the server's logs.
FREE_TEXT_PARAMS = frozenset({"q"})


def return_address() -> str:
    """This page's address to come back to after signing in, without typed text."""
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in FREE_TEXT_PARAMS]
    return request.path + (("?" + urlencode(kept)) if kept else "")


def recent_auth_required(back: str | None = None):
    """Sensitive actions (creating or deactivating staff, moving caseloads, exports, one's own
    password, email and two-step settings, emergency access) need the password (and code)
    checked within ``REAUTH_MINUTES``; otherwise ask again, then come back. A GET returns to
    itself; a POST returns to ``back`` (an endpoint) or its own address, with nothing done."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if current_user.is_authenticated and not auth_is_recent():
                if request.method == "GET":
                    target = return_address()
                else:
                    target = url_for(back) if back else request.path
                    flash(_("For your safety, please confirm it's you. Nothing was changed yet."))
                return redirect(url_for("auth.confirm", next=target))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def require_https():
    """Production answers over HTTPS only: plain HTTP is sent to the same path on
    ``SITE_URL`` (never to the Host header, which the client controls). The load balancer's
    health check may use plain HTTP."""
    if current_app.config["LMS_ENV"] != "production" or request.is_secure:
        return None
    if request.endpoint == "core.healthz":
        return None
    return redirect(current_app.config["SITE_URL"] + request.full_path.rstrip("?"), code=308)


def end_all_sessions(user: User) -> None:
    """Invalidate every cookie this user holds, on every device."""
    user.session_version = (user.session_version or 0) + 1


def end_this_session() -> None:
    """Sign out; only the language chosen with the switch stays (it names nobody)."""
    language = session.get(LANGUAGE)
    logout_user()
    session.clear()
    if language is not None:
        session[LANGUAGE] = language


def enforce_timeouts():
    """Sign out after the idle timeout or the absolute lifetime, whichever comes first."""
    if request.endpoint in (None, "static", "core.healthz"):
        return None
    if not current_user.is_authenticated:
        return None
    now = int(clock.utcnow().timestamp())
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"]).total_seconds()
    absolute = timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"]).total_seconds()
    login_at = session.get(LOGIN_AT)
    seen_at = session.get(SEEN_AT)
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        expired = True
    else:
        expired = now - seen_at > idle or now - login_at > absolute
    if expired:
        end_this_session()
        flash(_("You were signed out to keep your information private. Please sign in again."))
        if request.method == "GET":
            return redirect(url_for("auth.login", next=return_address()))
        return redirect(url_for("auth.login"))
    if now - seen_at >= SEEN_AT_RESOLUTION:
        # Refresh the idle clock once a minute, not on every request, so most responses
        # do not have to send a new cookie.
        session[SEEN_AT] = now
    return None


#: The session key of the quick exit's own token. The no-JavaScript quick exit is a link
#: (a GET that signs out), so its token travels in a URL and may reach an access log: it is
#: kept apart from the CSRF token that protects every form, and it can only sign out.
EXIT_KEY = "quick_exit"


def quick_exit_url() -> str:
    """The neutral site the quick exit leaves for (``QUICK_EXIT_URL``)."""
    return current_app.config.get("QUICK_EXIT_URL") or "https://www.weather.gov/"


def exit_token() -> str:
    """A token bound to this session for the quick exit's sign-out link."""
    return generate_csrf(token_key=EXIT_KEY)


def exit_token_valid(token: object) -> bool:
    if not isinstance(token, str) or not token:
        return False
    try:
        validate_csrf(token, token_key=EXIT_KEY, time_limit=None)
    except ValidationError:
        return False
    return True


def keep_alive() -> None:
    """The reader asked to stay signed in: restart the idle clock now, whatever
    ``SEEN_AT_RESOLUTION`` would have waited for."""
    session[SEEN_AT] = _now()


def idle_seconds() -> int:
    return int(timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"]).total_seconds())


def idle_seconds_left() -> int | None:
    """Seconds until the idle timeout signs this session out, counted from the idle clock
    the server keeps (which may lag a page load by up to ``SEEN_AT_RESOLUTION``); None when
    nobody is signed in."""
    if not current_user.is_authenticated:
        return None
    seen_at = session.get(SEEN_AT)
    if not isinstance(seen_at, int):
        return 0
    return max(0, idle_seconds() - (_now() - seen_at))


def is_safe_next(target: str | None) -> bool:
    """Only paths on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not isinstance(target, str):
        return False
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str) -> str:
    return target if is_safe_next(target) else default


def home_for(user: User) -> str:
    """Where a signed-in person starts: staff on their dashboard, learners on their home."""
    if user.is_staff:
        return url_for("core.staff_home")
    return url_for("core.home")


# --- the language of the pages ------------------------------------------------------------

#: The language chosen with the switch on this device (``en``, ``es``): kept in the session
#: across signing in and out. It says nothing about anyone.
LANGUAGE = "lang"
#: The language of the invitation opened on this device (chosen by the clinician), until
#: someone signs in.
INVITATION_LANGUAGE = "invitation_lang"
#: Each language's name in its own words ("English", "Español"): never translated, so someone
#: who cannot read the page still finds their own language.
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


def supported_language(value: object) -> str | None:
    """``value`` if it is one of the program's languages (``LANGUAGES``), else None."""
    if isinstance(value, str) and value in current_app.config["LANGUAGES"]:
        return value
    return None


def language_names() -> list[tuple[str, str]]:
    """The program's languages (``LANGUAGES``), each with its name in its own words."""
    return [(code, LANGUAGE_NAMES.get(code, code)) for code in current_app.config["LANGUAGES"]]


def default_language() -> str:
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def choose_locale() -> str:
    """The one rule for the language of a page: the signed-in person's account setting
    (``User.locale``), else the choice made with the language switch, else the language of
    the invitation being accepted (before sign-in), else the browser's ``Accept-Language``,
    else the program's default."""
    if current_user and current_user.is_authenticated:
        if chosen := supported_language(current_user.locale):
            return chosen
    for key in (LANGUAGE, INVITATION_LANGUAGE):
        if chosen := supported_language(session.get(key)):
            return chosen
    return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or (
        default_language()
    )


def _locale_changed() -> None:
    """Make the rest of this request use the language just decided."""
    from flask import g
    from flask_babel import refresh

    refresh()
    g.pop("_lms_translations", None)  # lms._install_request_cached_gettext's cache


def remember_language(lang: str) -> None:
    """The person chose ``lang`` with the switch: this device keeps it, and a signed-in
    person's account setting becomes it (audited like any change of their settings)."""
    session[LANGUAGE] = lang
    if current_user.is_authenticated and current_user.locale != lang:
        from lms import audit

        current_user.locale = lang
        audit.record("account.preferences_changed", subject=current_user)
    _locale_changed()


def use_invitation_language(lang: str | None) -> None:
    """The invitation page: its language (chosen by the clinician) comes before the
    browser's, here and on the sign-in page after it."""
    if supported_language(lang) and session.get(INVITATION_LANGUAGE) != lang:
        session[INVITATION_LANGUAGE] = lang
        _locale_changed()


def language_choice() -> str | None:
    """The language chosen with the switch on this device, if any."""
    return supported_language(session.get(LANGUAGE))


def language_return_path() -> str:
    """The path the language switch brings the person back to: this page's, or, for a page
    that only answers a POST, the front door. Only the path: nothing typed into the address
    (a search, a filter) is written into the page."""
    rule = request.url_rule
    if request.method == "GET" or (rule is not None and "GET" in (rule.methods or ())):
        return request.path
    return url_for("core.index")


def language_back(path: object) -> str:
    """Where the switch returns: the page it was used on — as the browser's same-site
    ``Referer`` names it, when that is the same path (so ``?section=`` is kept), without typed
    text — else the path the form carried; a local path only, else the front door."""
    if not isinstance(path, str) or not is_safe_next(path):
        return url_for("core.index")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path == path and referrer.query:
        kept = [
            (k, v)
            for k, v in parse_qsl(referrer.query, keep_blank_values=True)
            if k not in FREE_TEXT_PARAMS
        ]
        target = path + (("?" + urlencode(kept)) if kept else "")
        if is_safe_next(target):
            return target
    return path
