"""``/api/v1/``: read-only JSON for staff integrations, opened by a personal access token.

Every call: the limits (Flask-Limiter, before anything else: calls per token, and refused
tokens per address), then the token (``lms.interop.tokens.authenticate``: a 401 problem for a
missing, unknown, expired or revoked token, or one whose account is deactivated — the same
answer for each), then the view (the two together are ``limited`` and ``token_required``), then
one audit row (``api.call``: the endpoint, the token, the patient asked for, the outcome),
committed with the request. A patient the token does not reach is a 404, the same as one that
does not exist. Only ``/api/v1/openapi.json`` is open without a token: it holds no data.
"""

from __future__ import annotations

import functools
import json
from datetime import date, datetime

from flask import Blueprint, Response, current_app, g, request, url_for
from flask.sessions import SessionInterface
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from lms import audit, clock, insight
from lms.assignments import queries as assignment_q
from lms.assignments.status import AssignmentStatus
from lms.blueprints.api import PREFIX, under_api
from lms.blueprints.api.openapi import document
from lms.blueprints.api.problems import ApiProblem, from_http_error, problem
from lms.errors import OTHER_FORMATS
from lms.extensions import client_ip, csrf, db, limiter
from lms.interop import tokens
from lms.models import ApiToken, Assignment, Patient, QuizAttempt
from lms.wellbeing import queries as wellbeing_q

bp = Blueprint("api", __name__, url_prefix=PREFIX)
# No cookie authenticates here (``NoSessionHere``), so there is no cross-site request to
# forge; and every route is a GET.
csrf.exempt(bp)

DEFAULT_PER_PAGE, MAX_PER_PAGE = 25, 100
MAX_PAGE = 100_000
DEFAULT_RATE_LIMIT = "120 per minute"
#: Refused tokens (401s) from one address before every call from it gets a 429 for a while.
DEFAULT_GUESS_LIMIT = "20 per 10 minutes"


# --- the session cookie is not read here ---------------------------------------------------


class NoSessionHere:
    """The app's session interface, except under ``/api/v1/``: there the session is empty
    whatever cookie came (so it signs nobody in, and the idle timeout has nothing to act on)
    and nothing is saved (so no response sets a cookie)."""

    def __init__(self, inner: SessionInterface) -> None:
        self.inner = inner

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def open_session(self, app, request_):
        if under_api(request_.path):
            return self.inner.session_class()
        return self.inner.open_session(app, request_)

    def save_session(self, app, session, response) -> None:
        if under_api(request.path):
            return None
        return self.inner.save_session(app, session, response)


@bp.record_once
def _install(state) -> None:
    state.app.session_interface = NoSessionHere(state.app.session_interface)
    # Addresses under /api/v1/ that match no route (or not for this method) never reach this
    # blueprint's error handlers: the app's error handler answers them as problems too.
    state.app.extensions.setdefault(OTHER_FORMATS, []).append((PREFIX, from_http_error))


# --- rate limit, token, audit ----------------------------------------------------------------


def _bearer() -> str | None:
    auth = request.authorization
    if auth is None or auth.type != "bearer" or not auth.token:
        return None
    return auth.token


def _rate_key() -> str:
    """Calls are counted per token (its hash, never the secret), or per address without one.
    The count comes before the token is checked, so guessing is limited too."""
    secret = _bearer()
    if secret:
        return "api-token:" + tokens.hash_secret(secret)[:32]
    return "api-address:" + client_ip()


def _rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT") or DEFAULT_RATE_LIMIT


def _guess_limit() -> str:
    return current_app.config.get("API_GUESS_LIMIT") or DEFAULT_GUESS_LIMIT


def _guess_key() -> str:
    return "api-guess:" + client_ip()


def _refused(response: Response) -> bool:
    """A token was sent and refused (calls without one are counted by the rate limit)."""
    return response.status_code == 401 and _bearer() is not None


def limited(view):
    """A view's two limits, both counted before the token is checked (so the view's token
    check must be inside them: ``token_required`` under ``limited``): its calls per token
    (or per address without one), and the refused tokens per address. A made-up token has
    a call count of its own, so the second limit is what stops guessing: it counts only the
    calls whose token is refused (``deduct_when``), and once reached it refuses every call
    from that address, good token or not, until the window has passed."""
    view = limiter.limit(_guess_limit, key_func=_guess_key, deduct_when=_refused)(view)
    return limiter.limit(_rate_limit, key_func=_rate_key)(view)


def token_required(view):
    """The view runs with a working token in ``g.api_token``; else a 401 problem."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        token = tokens.authenticate(_bearer())
        if token is None:
            return problem(401)
        g.api_token = token
        return view(*args, **kwargs)

    return checked


@bp.after_request
def _audit(response: Response) -> Response:
    """One audit row per call, whatever its answer; the OpenAPI document is not a call."""
    if request.endpoint == "api.openapi":
        return response
    token: ApiToken | None = g.get("api_token")
    if token is None and response.status_code == 429:
        token = tokens.by_secret(_bearer())  # refused before its check: still named
    patient_id = (request.view_args or {}).get("patient_id")
    status = response.status_code
    outcome = "success" if status < 400 else ("failure" if status >= 500 else "denied")
    detail = f"{request.method} {request.endpoint} status={status}"
    if token is not None:
        detail += f" token={token.id} scope={token.scope}"
    if status < 400 and g.get("api_count") is not None:
        detail += f" rows={g.api_count}"
    audit.record(
        "api.call",
        actor=token.user if token is not None else None,
        subject_type="api_token",
        subject_id=token.id if token is not None else None,
        patient_id=patient_id if isinstance(patient_id, int) else None,
        outcome=outcome,
        detail=detail,
    )
    return response


@bp.errorhandler(ApiProblem)
def _api_problem(error: ApiProblem):
    return problem(error.status, error.detail)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return from_http_error(error)


@bp.errorhandler(Exception)
def _unhandled(error: Exception):
    db.session.rollback()
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return problem(500)


# --- reading what was asked -----------------------------------------------------------------


def _whole_number(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or not low <= int(raw) <= high:
        raise ApiProblem(400, f"'{name}' must be a whole number from {low} to {high}.")
    return int(raw)


def _paging() -> tuple[int, int]:
    return (
        _whole_number("page", 1, 1, MAX_PAGE),
        _whole_number("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE),
    )


def _json(body: object) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


def _page(query: Select, shape, *, options=()) -> Response:
    """One page of ``query`` (ordered), each row made into JSON by ``shape``, with the total
    and the address of the next page (a path: never built from the Host header)."""
    page, per_page = _paging()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(
        query.options(*options).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return _page_of([shape(row) for row in rows], total or 0, page, per_page)


def _page_of(data: list, total: int, page: int, per_page: int) -> Response:
    g.api_count = len(data)
    more = page * per_page < total
    args = {**(request.view_args or {}), "page": page + 1, "per_page": per_page}
    return _json(
        {
            "data": data,
            "page": page,
            "per_page": per_page,
            "total": total,
            "next": url_for(request.endpoint, **args) if more else None,
        }
    )


def _patient(patient_id: int) -> Patient:
    """The patient, if this token reaches them; otherwise a 404 like a patient who does not
    exist."""
    patient = db.session.scalars(
        tokens.patients_query(g.api_token)
        .where(Patient.id == patient_id)
        .options(selectinload(Patient.family_links))
    ).first()
    if patient is None:
        raise ApiProblem(404, "No patient with this id is reachable with this token.")
    return patient


# --- what a row looks like ------------------------------------------------------------------


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _moment(value: datetime | None) -> str | None:
    value = clock.aware(value)
    return value.isoformat(timespec="seconds") if value is not None else None


def _patient_summary(patient: Patient) -> dict:
    return {
        "id": patient.id,
        "name": patient.display_name,
        "record_number": patient.record_number,
        "status": str(patient.status),
        "enrolled_on": _day(patient.enrolled_on),
        "discharged_on": _day(patient.discharged_on),
    }


def _patient_detail(patient: Patient) -> dict:
    return {
        **_patient_summary(patient),
        "family": [
            {
                "id": link.id,
                "user_id": link.user_id,
                "name": link.display_name,
                "relationship": str(link.relationship_kind),
                "state": str(link.state),
            }
            for link in patient.family_links
        ],
    }


def _assignment(row: assignment_q.Row) -> dict:
    a, progress = row.assignment, row.progress
    return {
        "id": a.id,
        "learner_id": a.learner_id,
        "module": a.module_slug,
        "path": a.path_slug,
        "assigned_at": _moment(a.assigned_at),
        "due_on": _day(a.due_on),
        "status": str(row.status),
        "completed_at": (
            _moment(progress.completed_at)
            if progress is not None
            and row.status in (AssignmentStatus.COMPLETED, AssignmentStatus.COMPLETED_EARLIER)
            else None
        ),
        "cancelled_at": _moment(a.cancelled_at),
    }


def _attempt(attempt: QuizAttempt) -> dict:
    return {
        "id": attempt.id,
        "learner_id": attempt.user_id,
        "module": attempt.module_slug,
        "content_version": attempt.content_version,
        "score": round(attempt.score, 4),
        "correct": attempt.correct_count,
        "total": attempt.total,
        "pass_mark": attempt.pass_mark,
        "passed": attempt.passed,
        "submitted_at": _moment(attempt.submitted_at),
    }


# --- endpoints ------------------------------------------------------------------------------


@bp.get("/openapi.json")
@limited
def openapi():
    """The OpenAPI 3.1 document of this API: public, it holds no data."""
    return _json(document())


@bp.get("/patients")
@limited
@token_required
def patients():
    """The patients this token reaches, by id."""
    return _page(tokens.patients_query(g.api_token).order_by(Patient.id), _patient_summary)


@bp.get("/patients/<id:patient_id>")
@limited
@token_required
def patient(patient_id: int):
    """One patient, with their family members (ids, names, relationship, link state)."""
    return _json(_patient_detail(_patient(patient_id)))


@bp.get("/patients/<id:patient_id>/assignments")
@limited
@token_required
def patient_assignments(patient_id: int):
    """Readings given for this patient's care, with their status by the one rule
    (``lms.assignments.status``) and due dates, in the order they were given."""
    patient = _patient(patient_id)
    query, _expression, _progress = assignment_q.status_select()
    query = query.where(Assignment.patient_id == patient.id).order_by(Assignment.id)
    page, per_page = _paging()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = assignment_q.rows(query.limit(per_page).offset((page - 1) * per_page))
    return _page_of([_assignment(row) for row in rows], total or 0, page, per_page)


@bp.get("/patients/<id:patient_id>/attempts")
@limited
@token_required
def patient_attempts(patient_id: int):
    """Knowledge-check attempts of this patient's learners — the patient and family members
    not removed, as the clinician's learner drill-down shows them (``insight.learners_of``)
    — newest first."""
    learners = sorted(insight.learners_of(_patient(patient_id)))
    query = (
        select(QuizAttempt)
        .where(QuizAttempt.user_id.in_(learners))
        .order_by(QuizAttempt.submitted_at.desc(), QuizAttempt.id.desc())
    )
    return _page(query, _attempt)


@bp.get("/patients/<id:patient_id>/wellbeing")
@limited
@token_required
def patient_wellbeing(patient_id: int):
    """WHO-5 check-ins (0–100) of this patient's family members, by whose scores staff may
    see (``lms.wellbeing.queries``), oldest first; skipped offers are not check-ins."""
    patient = _patient(patient_id)
    relationship = {
        link.user_id: str(link.relationship_kind)
        for link in patient.family_links
        if link.user_id is not None
    }
    checkins = wellbeing_q.checkins_for(
        wellbeing_q.family_user_ids(select(Patient.id).where(Patient.id == patient.id))
    )
    checkins.sort(key=lambda c: (clock.aware(c.taken_at), c.id))
    page, per_page = _paging()
    shown = checkins[(page - 1) * per_page : page * per_page]
    data = [
        {
            "id": c.id,
            "user_id": c.user_id,
            "relationship": relationship.get(c.user_id),
            "occasion": c.occasion,
            "score": c.score,
            "taken_at": _moment(c.taken_at),
        }
        for c in shown
    ]
    return _page_of(data, len(checkins), page, per_page)
