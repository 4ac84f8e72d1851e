"""The front door, health check and role home pages."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import text

from lms import security
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
    """Public, for load balancers: says whether the database answers, and nothing else."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return jsonify(status="error", database="unavailable"), 503
    return jsonify(status="ok", database="ok")


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
