"""Clinic pages: a path given to a learner, handled as one unit (cancel, restore)."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _

from lms import access
from lms.assignments import operations as assignment_ops
from lms.assignments import queries as assignment_q
from lms.blueprints.clinic.forms import ActionForm
from lms.blueprints.clinic.routes import _ask_first, _me, bp
from lms.content import get_library


def _group(patient, learner_id: str, path_slug: str) -> assignment_q.PathGroup:
    """The path group of this patient's learner, or 404."""
    learner = access.parse_id(learner_id)
    groups, _singles = assignment_q.units_for_patient(patient.id)
    for group in groups:
        if group.learner_id == learner and group.path_slug == path_slug:
            return group
    abort(404)


def _title(path_slug: str) -> str:
    path = get_library().path(path_slug)
    return path.title if path else path_slug


@bp.route(
    "/patients/<patient_id>/learners/<learner_id>/paths/<path_slug>/cancel",
    methods=["GET", "POST"],
)
def cancel_path(patient_id: str, learner_id: str, path_slug: str):
    """Asks first, naming the readings; then cancels every one still open."""
    patient = access.patient_for(_me(), patient_id)
    group = _group(patient, learner_id, path_slug)
    return _ask_first(
        patient,
        act=lambda: assignment_ops.cancel_path(_me(), patient, group.learner_id, path_slug),
        done=lambda n: _("%(n)d readings of the path cancelled. You can restore them.", n=n),
        audit_as="path_cancel.form_view",
        subject=patient,
        template="clinic/confirm_cancel_path.html",
        group=group,
        title=_title(path_slug),
        library=get_library(),
    )


@bp.route(
    "/patients/<patient_id>/learners/<learner_id>/paths/<path_slug>/restore", methods=["POST"]
)
def restore_path(patient_id: str, learner_id: str, path_slug: str):
    """Undo the path's last cancellation (no question asked: it takes nothing away)."""
    patient = access.patient_for(_me(), patient_id)
    group = _group(patient, learner_id, path_slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    count = assignment_ops.restore_path(_me(), patient, group.learner_id, path_slug)
    if count:
        flash(_("%(n)d readings of the path restored.", n=count))
    return redirect(url_for("clinic.patient", patient_id=patient.id))
