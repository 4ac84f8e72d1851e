"""Sessions: who is logged in, for how long, and safe redirects.

Flask keeps the session in a signed cookie, so a copied cookie would stay valid until it
expires. Each cookie therefore carries the user's ``session_version``; logout, a password
change and deactivation bump it and every earlier cookie of that user is refused.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from lms import clock
from lms.extensions import db, login_manager
from lms.models import User

LOGIN_AT = "login_at"
SEEN_AT = "seen_at"
SEEN_AT_RESOLUTION = 60  # seconds


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """Accept the cookie only if the user is active and its version is current."""
    user_id, _sep, version = token.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def start_session(user: User) -> None:
    """A fresh session on login: nothing from before the login survives (no fixation)."""
    session.clear()
    login_user(user)
    session.permanent = True
    now = int(clock.utcnow().timestamp())
    session[LOGIN_AT] = now
    session[SEEN_AT] = now


def end_all_sessions(user: User) -> None:
    """Invalidate every cookie this user holds, on every device."""
    user.session_version = (user.session_version or 0) + 1


def end_this_session() -> None:
    logout_user()
    session.clear()


def enforce_timeouts():  # noqa: ANN201 -- a Flask before_request hook
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
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return redirect(url_for("auth.login"))
    if now - seen_at >= SEEN_AT_RESOLUTION:
        # Refresh the idle clock once a minute, not on every request, so most responses
        # do not have to send a new cookie.
        session[SEEN_AT] = now
    return None


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
