"""Error pages in the site's layout, for every error a person can meet. Never a traceback."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from lms.extensions import db


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Something was wrong with that request"), _("Please go back and try again.")),
        403: (_("Not allowed"), _("You don't have permission to do that.")),
        404: (
            _("Page not found"),
            _("We couldn't find that page. It may have moved, or the link may be incomplete."),
        ),
        405: (_("That didn't work"), _("This page can't be used that way. Please go back.")),
        413: (
            _("Too much to send"),
            _("What you sent is too large. Please shorten it and try again."),
        ),
        429: (_("Too many tries"), _("Please wait a few minutes, then try again.")),
        500: (
            _("Something went wrong on our side"),
            _("It's not your fault. Please try again in a few minutes."),
        ),
    }


def _retry_minutes() -> int | None:
    from lms.extensions import limiter

    try:
        current = limiter.current_limit
    except Exception:
        return None
    if current is None:
        return None
    import math
    import time

    # The limiter keeps real time (not lms.clock). Its ``reset_at`` is rounded up to the next
    # whole second plus one, which turns "60 seconds" into "2 minutes"; the window's own
    # reset time is exact. Whole minutes, rounded up, never less than one.
    reset = current.window[0]
    return max(1, math.ceil((reset - time.time()) / 60))


def render_error(code: int, message: str | None = None):
    title, default_message = _messages().get(code, _messages()[500])
    headers = {}
    if code == 429:
        minutes = _retry_minutes() or 15
        message = ngettext(
            "For your safety, this is paused. Please try again in %(num)d minute.",
            "For your safety, this is paused. Please try again in %(num)d minutes.",
            minutes,
        )
        if request.endpoint == "auth.login":
            message = ngettext(
                "For your safety, signing in is paused. Please try again in %(num)d minute.",
                "For your safety, signing in is paused. Please try again in %(num)d minutes.",
                minutes,
            )
        headers["Retry-After"] = str(minutes * 60)
    return (
        render_template(
            "errors/error.html", code=code, title=title, message=message or default_message
        ),
        code,
        headers,
    )


def _record_denied() -> None:
    """Everything out of a person's reach is a 404; a signed-in person's 404 on an address
    naming a record is audited as a denied access (``access.record_denied``)."""
    from flask_login import current_user

    from lms import access

    if current_user.is_authenticated:
        access.record_denied(current_user, request.endpoint, request.view_args)


#: ``app.extensions`` key: (path prefix, responder) pairs of areas whose errors are not pages,
#: registered by that area (the API's blueprint), so this module imports none of them.
OTHER_FORMATS = "lms_error_formats"


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        from flask import redirect
        from flask_login import current_user

        if request.endpoint == "auth.login" and current_user.is_authenticated:
            # A double-clicked sign-in: the first click already signed the person in.
            from lms.security import home_for

            return redirect(home_for(current_user))
        return render_error(
            400,
            _(
                "This form had expired or was sent twice. Nothing was saved. "
                "Please go back, reload the page and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        for prefix, respond in app.extensions.get(OTHER_FORMATS, ()):
            # An address of an area that answers in another format (the API's problem
            # documents) that matched no route, or not for this method.
            if request.path == prefix or request.path.startswith(prefix + "/"):
                return respond(error)
        code = error.code or 500
        if code == 404:
            _record_denied()
        if code not in _messages():
            code = 400 if 400 <= code < 500 else 500
        return render_error(code)

    @app.errorhandler(Exception)
    def unhandled(error: Exception):
        db.session.rollback()
        current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return render_error(500)
