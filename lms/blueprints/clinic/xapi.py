"""Clinic pages: xAPI exports (registered on the clinic blueprint).

One learner's statements, and every learner of the caseload over a span of days, as a JSON
array of xAPI 1.0.3 statements (``lms.interop.xapi`` builds and validates them). Exports ask
for the password again like the CSV exports, and each is audited (``xapi.export``, with how
many statements, never their content) in the request's transaction, before the body is sent.
"""

from __future__ import annotations

import json

from flask import Response, abort, request
from flask_login import current_user

from lms import access, audit, insight
from lms.blueprints.clinic.routes import bp
from lms.errors import render_error
from lms.interop import xapi
from lms.models import User
from lms.problems import Problem
from lms.security import recent_auth_required


def _me() -> User:
    return current_user._get_current_object()


def _json(statements: list[dict], filename: str) -> Response:
    body = json.dumps(statements, ensure_ascii=False, separators=(",", ":"))
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/patients/<patient_id>/learners/<learner_id>/xapi")
@recent_auth_required()
def learner_xapi(patient_id: str, learner_id: str):
    """One learner's statements (all of them, or ``from``/``to`` days). 404 unless the patient
    is on the caseload and the learner is theirs by the drill-down's rule
    (``insight.learner_of``); dates that are not two YYYY-MM-DD days at most a year apart are a
    400 page saying what to change."""
    patient = access.patient_for(_me(), patient_id)
    found = insight.learner_of(patient, access.parse_id(learner_id))
    if found is None:
        abort(404)
    person, _relationship = found
    span = None
    if request.args.get("from") or request.args.get("to"):
        try:
            span = xapi.parse_range(request.args.get("from"), request.args.get("to"))
        except Problem as exc:
            return render_error(400, str(exc))
    statements = xapi.statements_for(
        [person.id], span.start if span else None, span.end if span else None
    )
    days = f", {span.first} to {span.last}" if span else ""
    audit.record(
        "xapi.export",
        subject=person,
        patient_id=patient.id,
        detail=f"learner xapi, {len(statements)} statements{days}",
    )
    return _json(statements, f"xapi-learner-{person.id}.json")


@bp.route("/xapi")
@recent_auth_required()
def xapi_export():
    """Every learner of the caseload (patients, and family members by the drill-down's rule)
    over ``from``..``to`` (days in the program's zone, both included, at most 366): missing or
    bad dates are a 400 page saying what to change."""
    try:
        span = xapi.parse_range(request.args.get("from"), request.args.get("to"))
    except Problem as exc:
        return render_error(400, str(exc))
    learners = xapi.caseload_learners(_me())
    statements = xapi.statements_for(learners, span.start, span.end)
    audit.record(
        "xapi.export",
        detail=(
            f"caseload xapi, {span.first} to {span.last}, "
            f"{len(learners)} learners, {len(statements)} statements"
        ),
    )
    return _json(statements, f"xapi-{span.first}-{span.last}.json")
