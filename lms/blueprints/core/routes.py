"""The front door, health check and role home pages."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import text

from lms import health, security
from lms.extensions import db

bp = Blueprint("core", __name__)


@bp.route("/")
def index():
    """Public. Sends a visitor to sign in, and a signed-in user to their home."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.is_staff:
        return redirect(url_for("core.staff_home"))
    return redirect(url_for("core.home"))


@bp.route("/healthz")
def healthz():
    """Public, for load balancers: whether the database (and Redis, where it is set) answers,
    and nothing else (``lms.health.answer``, which the health check in front of the app
    gives too)."""
    try:
        db.session.execute(text("SELECT 1"))
        database_ok = True
    except Exception:
        db.session.rollback()
        database_ok = False
    code, body = health.answer(database_ok, health.redis_answers(current_app))
    return Response(body, status=code, mimetype="application/json")


@bp.route("/home")
@login_required
def home():
    """Any signed-in user: their starting page (learners: their learning)."""
    if current_user.is_staff:
        return redirect(url_for("core.staff_home"))
    return redirect(url_for("learn.index"))


@bp.route("/staff")
@login_required
def staff_home():
    """Staff only (others get 404): the staff starting page."""
    if not current_user.is_staff:
        abort(404)
    return redirect(url_for("clinic.caseload"))


@bp.app_context_processor
def language_switch():
    """What the language switch on every page needs: the other languages, and this page's
    address to come back to."""
    return {
        "switch_languages": security.language_names,
        "switch_back_to": security.language_return_path,
    }


@bp.route("/language", methods=["POST"])
def set_language():
    """Public (CSRF-checked): the language switch. Keeps the choice on this device and, for
    a signed-in person, in their account; then back to the page it was used on (a local
    path only, else the front door)."""
    back = security.language_back(request.form.get("back"))
    chosen = security.supported_language(request.form.get("lang"))
    if chosen is None:
        flash(_("That language is not available here. Nothing was changed."), "error")
        return redirect(back)
    security.remember_language(chosen)
    return redirect(back)
