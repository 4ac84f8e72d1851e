"""Admin pages for bringing patients in from the program's roster (``lms.patients.roster``):
upload a CSV, read its preview line by line, then apply it once.

Registered on the admin blueprint (admins only; anyone else gets 404). Addresses carry the
import's id only, never a name or a record number. Importing patients is a sensitive action:
every page asks for the password again when the last check is old.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SubmitField

from lms import audit, submissions
from lms.blueprints.admin.routes import bp
from lms.errors import render_error
from lms.extensions import db
from lms.forms import BaseForm, OnceForm
from lms.models import RosterImport, User
from lms.patients import roster
from lms.problems import Problem
from lms.security import recent_auth_required


class RosterUploadForm(BaseForm):
    file = FileField(
        _l("Roster file (CSV)"),
        description=_l(
            "A CSV file saved from your spreadsheet as “CSV UTF-8”, at most 1 MB and "
            "2,000 patients. Nothing changes until you have checked the preview and applied it."
        ),
        render_kw={"accept": ".csv,text/csv"},
    )
    submit = SubmitField(_l("Upload and preview"))


class RosterApplyForm(OnceForm):
    """The form behind "Apply N changes" (its button is written by the page, which knows N)."""


def _me() -> User:
    return current_user._get_current_object()


def _import_or_404(import_id: int) -> RosterImport:
    row = db.session.get(RosterImport, import_id)
    if row is None:
        abort(404)
    return row


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    """A file over the request limit is refused before any view reads it; on the roster page
    the message says what to do about it (elsewhere in the admin area, the usual page)."""
    if request.endpoint == "admin.roster_upload":
        return render_error(
            413,
            _(
                "The file is larger than 1 MB. Split the roster into smaller files of at most "
                "%(n)d patients each and upload them one at a time.",
                n=roster.MAX_LINES,
            ),
        )
    return render_error(413)


@bp.route("/roster", methods=["GET", "POST"])
@recent_auth_required()
def roster_upload():
    """Upload a roster: it is read and kept for its preview; nothing about a patient changes
    until it is applied. A file that cannot be read is explained beside the field."""
    form = RosterUploadForm()
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        if upload is None:
            form.file.errors = [_("Choose the roster file to upload.")]
        else:
            with upload.stream:  # a large upload is spooled to a temporary file
                data = upload.stream.read(roster.MAX_BYTES + 1)
            try:
                row, _plan = roster.record_upload(_me(), upload.filename, data)
            except roster.RosterFileProblem as exc:
                form.file.errors = [str(exc)]
            else:
                return redirect(url_for("admin.roster_import", import_id=row.id))
        status = 400
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "admin/roster.html",
            form=form,
            imports=roster.imports_listed(),
            summary_of=roster.summary_of,
            max_lines=roster.MAX_LINES,
        ),
        status,
    )


@bp.route("/roster/<id:import_id>")
@recent_auth_required()
def roster_import(import_id: int):
    """The preview of an import not applied yet (planned against the records as they are
    now), or the result of one applied. Audited as ``roster.view`` with the counts only."""
    row = _import_or_404(import_id)
    plan = roster.plan_for(row)
    counts = plan.counts if plan is not None else roster.summary_of(row)
    audit.record(
        "roster.view",
        subject=row,
        detail=" ".join(f"{action}={counts[action]}" for action in roster.ACTIONS),
    )
    return render_template(
        "admin/roster_import.html",
        row=row,
        plan=plan,
        counts=counts,
        form=RosterApplyForm(),
        keep_hours=roster.KEEP_HOURS,
    )


@bp.route("/roster/<id:import_id>/apply", methods=["POST"])
@recent_auth_required()
def roster_apply(import_id: int):
    """Apply a previewed import once: the same form sent twice, or two administrators at
    once, apply it once (a one-time token, then a conditional UPDATE on ``applied_at``)."""
    row = _import_or_404(import_id)
    form = RosterApplyForm()
    if not form.validate_on_submit():
        flash(_("This form expired. Please try again."), "error")
        return redirect(url_for("admin.roster_import", import_id=row.id))
    once = submissions.claim(_me(), form.submit_token.data, "roster.apply")
    if once.earlier:
        return redirect(url_for("admin.roster_import", import_id=row.id))
    try:
        applied, counts = roster.apply_import(_me(), row)
    except Problem as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.roster_import", import_id=row.id))
    submissions.finish(once, row.id)
    if applied:
        flash(
            _(
                "Roster applied. Patients added: %(create)d. Patients updated: %(update)d.",
                create=counts["create"],
                update=counts["update"],
            )
        )
    return redirect(url_for("admin.roster_import", import_id=row.id))
