"""The read-only API (/api/v1/) and its access tokens: who a token reaches, what refuses it,
paging, one audit row per call, the rate limit, no cookie either way, the OpenAPI document,
and the admin pages that make and revoke tokens."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from lms import clock
from lms.extensions import db
from lms.interop import tokens
from lms.models import ApiToken, AuditEvent, FamilyLink, User, WellbeingCheck
from lms.security import AUTH_AT
from tests.helpers import (
    PASSWORD,
    csrf_token,
    login,
    make_assignment,
    make_family,
    make_patient,
    make_user,
    text_of,
)
from tests.test_concurrency import at_once

PROBLEM = "application/problem+json"


# --- builders --------------------------------------------------------------------------------


def make_token(admin, scope="program", user=None, days=30, name="Integration") -> tuple[int, str]:
    with _ctx():
        row, secret = tokens.create_token(
            db.session.get(User, admin.id),
            name,
            scope,
            db.session.get(User, user.id) if user else None,
            days,
        )
        db.session.commit()
        return row.id, secret


def _ctx():
    from tests.helpers import app_context

    return app_context()


def call(client, path, secret=None, **kwargs):
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return client.get(path, headers=headers, **kwargs)


def api_rows(app) -> list[AuditEvent]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "api.call").order_by(AuditEvent.id)
            )
        )
        db.session.expunge_all()
        return rows


@pytest.fixture
def admin(app):
    return make_user("admin", name="Alex Admin")


@pytest.fixture
def clinician(app):
    return make_user("clinician", name="Casey Clinician")


@pytest.fixture
def other_clinician(app):
    return make_user("clinician", name="Olive Other")


# --- tokens ----------------------------------------------------------------------------------


def test_only_the_hash_of_the_secret_is_kept(app, admin):
    token_id, secret = make_token(admin)
    assert secret.startswith("iop_") and len(secret) > 40
    with app.app_context():
        row = db.session.get(ApiToken, token_id)
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert row.prefix == secret[:12]
        stored = [str(getattr(row, c.key)) for c in ApiToken.__table__.columns]
        assert not any(secret in value for value in stored)
        details = " ".join(e.detail or "" for e in db.session.scalars(select(AuditEvent)))
        assert secret not in details and secret[:12] not in details
        created = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "api_token.created")
        ).one()
        assert created.subject_id == token_id and created.actor_id == admin.id


@pytest.mark.parametrize(
    ("scope", "days", "field"),
    [
        ("caseload", 30, "clinician"),
        ("program", 0, "days"),
        ("program", 366, "days"),
        ("x", 5, "scope"),
    ],
)
def test_token_rules(app, admin, scope, days, field):
    from lms.problems import FieldProblems

    with app.app_context(), pytest.raises(FieldProblems) as refused:
        tokens.create_token(db.session.get(User, admin.id), "Name", scope, None, days)
    assert field in refused.value.errors


def test_a_caseload_token_needs_an_active_clinician(app, admin):
    from lms.problems import FieldProblems

    gone = make_user("clinician", active=False)
    family = make_user("family")
    for who in (gone, family, admin):
        with app.app_context(), pytest.raises(FieldProblems) as refused:
            tokens.create_token(
                db.session.get(User, admin.id), "Name", "caseload", db.session.get(User, who.id), 9
            )
        assert "clinician" in refused.value.errors


def _deactivate(user):
    with _ctx():
        db.session.get(User, user.id).active = False
        db.session.commit()


def _revoke(admin, token_id):
    with _ctx():
        assert tokens.revoke_token(
            db.session.get(User, admin.id), db.session.get(ApiToken, token_id)
        )
        db.session.commit()


@pytest.mark.parametrize("why", ["revoked", "expired", "unknown", "owner deactivated", "none"])
def test_a_token_that_does_not_work_is_a_401_the_same_for_every_reason(
    app, client, admin, clinician, why
):
    make_patient(clinician)
    token_id, secret = make_token(admin, "caseload", clinician)
    assert call(client, "/api/v1/patients", secret).status_code == 200
    if why == "revoked":
        _revoke(admin, token_id)
    elif why == "expired":
        clock.advance(timedelta(days=30, seconds=1))
    elif why == "unknown":
        secret = secret[:-2] + ("AA" if not secret.endswith("AA") else "BB")
    elif why == "owner deactivated":
        _deactivate(clinician)
    else:
        secret = None
    response = call(client, "/api/v1/patients", secret)
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert body["status"] == 401 and body["title"] == "Unauthorized"
    assert "Bearer" in body["detail"]
    assert "data" not in body
    assert "Set-Cookie" not in response.headers


def test_revoking_twice_revokes_once(app, admin):
    token_id, _secret = make_token(admin)
    _revoke(admin, token_id)
    with app.app_context():
        again = tokens.revoke_token(
            db.session.get(User, admin.id), db.session.get(ApiToken, token_id)
        )
        db.session.commit()
        assert again is False
        count = select(func.count()).where(AuditEvent.action == "api_token.revoked")
        assert db.session.scalar(count) == 1


def test_a_caseload_token_reaches_that_caseload_only(
    app, client, admin, clinician, other_clinician
):
    mine = make_patient(clinician, name="Mine")
    theirs = make_patient(other_clinician, name="Theirs")
    _token_id, secret = make_token(admin, "caseload", clinician)
    listed = call(client, "/api/v1/patients", secret).get_json()
    assert [p["id"] for p in listed["data"]] == [mine.id]
    assert listed["data"][0]["name"] == "Mine"
    assert call(client, f"/api/v1/patients/{mine.id}", secret).status_code == 200
    for suffix in ("", "/assignments", "/attempts", "/wellbeing"):
        other = call(client, f"/api/v1/patients/{theirs.id}{suffix}", secret)
        missing = call(client, f"/api/v1/patients/999999{suffix}", secret)
        assert other.status_code == missing.status_code == 404
        assert other.mimetype == PROBLEM
        assert other.get_json() == missing.get_json()
        assert "Theirs" not in text_of(other)


def test_a_program_token_sees_every_patient_but_voided_ones(
    app, client, admin, clinician, other_clinician
):
    one = make_patient(clinician, name="One")
    two = make_patient(other_clinician, name="Two")
    gone = make_patient(other_clinician, name="Gone", status="discharged")
    make_patient(clinician, name="Duplicate", status="voided")
    _token_id, secret = make_token(admin)
    listed = call(client, "/api/v1/patients", secret).get_json()
    assert [p["id"] for p in listed["data"]] == [one.id, two.id, gone.id]
    assert listed["total"] == 3
    assert {p["status"] for p in listed["data"]} == {"active", "discharged"}


def test_a_clinician_leaving_the_care_team_takes_the_patient_out_of_reach(
    app, client, admin, clinician
):
    from lms.models import CareTeamMember

    patient = make_patient(clinician)
    _token_id, secret = make_token(admin, "caseload", clinician)
    assert call(client, f"/api/v1/patients/{patient.id}", secret).status_code == 200
    with app.app_context():
        for member in db.session.scalars(select(CareTeamMember)):
            db.session.delete(member)
        db.session.commit()
    assert call(client, f"/api/v1/patients/{patient.id}", secret).status_code == 404


# --- paging -----------------------------------------------------------------------------------


def test_paging_follows_next_links_to_the_end(app, client, admin, clinician):
    ids = [make_patient(clinician, name=f"P{n}").id for n in range(5)]
    _token_id, secret = make_token(admin)
    seen, path, pages = [], "/api/v1/patients?per_page=2", 0
    while path:
        body = call(client, path, secret).get_json()
        assert body["per_page"] == 2 and body["total"] == 5
        assert len(body["data"]) <= 2
        seen += [p["id"] for p in body["data"]]
        path = body["next"]
        pages += 1
    assert seen == ids and pages == 3
    past = call(client, "/api/v1/patients?page=9&per_page=2", secret).get_json()
    assert past["data"] == [] and past["next"] is None and past["page"] == 9
    default = call(client, "/api/v1/patients", secret).get_json()
    assert default["per_page"] == 25 and default["page"] == 1 and default["next"] is None
    assert call(client, "/api/v1/patients?per_page=100", secret).status_code == 200


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=x", "page"),
        ("page=1.5", "page"),
        ("page=%C2%B2", "page"),
        ("page=", "page"),
        ("page=100001", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=99999999999999999999", "per_page"),
    ],
)
def test_bad_paging_is_a_400_naming_the_parameter(app, client, admin, clinician, query, name):
    patient = make_patient(clinician)
    _token_id, secret = make_token(admin)
    for path in ("/api/v1/patients", f"/api/v1/patients/{patient.id}/attempts"):
        response = call(client, f"{path}?{query}", secret)
        assert response.status_code == 400, query
        assert response.mimetype == PROBLEM
        assert f"'{name}'" in response.get_json()["detail"]


# --- what each endpoint says ------------------------------------------------------------------


def test_patient_detail_lists_family_members(app, client, admin, clinician):
    patient = make_patient(clinician, name="Pat")
    family = make_user("family", name="Fran Family")
    make_family(patient, family, relationship="sibling")
    _token_id, secret = make_token(admin, "caseload", clinician)
    body = call(client, f"/api/v1/patients/{patient.id}", secret).get_json()
    assert body["name"] == "Pat" and body["status"] == "active"
    assert body["enrolled_on"] == clock.today().isoformat()
    [member] = body["family"]
    assert member["user_id"] == family.id and member["name"] == "Fran Family"
    assert member["relationship"] == "sibling" and member["state"] == "active"


def test_assignments_carry_the_status_of_the_one_rule(app, client, admin, clinician):
    from lms.assignments import queries as assignment_q

    patient = make_patient(clinician)
    family = make_user("family")
    make_family(patient, family)
    overdue = make_assignment(patient, family, "first-steps", due_in_days=-2)
    later = make_assignment(patient, family, "no-check", due_in_days=5)
    _token_id, secret = make_token(admin)
    data = call(client, f"/api/v1/patients/{patient.id}/assignments", secret).get_json()["data"]
    by_id = {row["id"]: row for row in data}
    assert by_id[overdue]["status"] == "overdue"
    assert by_id[later]["status"] == "not_started"
    assert by_id[later]["due_on"] == (clock.today() + timedelta(days=5)).isoformat()
    assert by_id[overdue]["module"] == "first-steps" and by_id[overdue]["learner_id"] == family.id
    with app.app_context():
        expected = {r.assignment.id: str(r.status) for r in assignment_q.for_patient(patient.id)}
    assert {k: v["status"] for k, v in by_id.items()} == expected


def _attempt(app, user, token):
    from lms.learning import operations as learning

    with app.app_context():
        module = app.extensions["lms_library"].module("first-steps")
        answers = {q.id: q.correct_indices for q in module.quiz.questions}
        learning.submit_attempt(db.session.get(User, user.id), module, answers, token)
        db.session.commit()


def test_attempts_are_those_of_the_patients_learners(app, client, admin, clinician):
    patient = make_patient(clinician)
    family, removed, stranger = make_user("family"), make_user("family"), make_user("family")
    make_family(patient, family)
    make_family(patient, removed)
    with app.app_context():
        link = db.session.scalars(select(FamilyLink).where(FamilyLink.user_id == removed.id)).one()
        link.state = "removed"
        db.session.commit()
    for who, token in ((family, "a1"), (removed, "a2"), (stranger, "a3")):
        _attempt(app, who, token)
    _token_id, secret = make_token(admin)
    data = call(client, f"/api/v1/patients/{patient.id}/attempts", secret).get_json()["data"]
    assert [a["learner_id"] for a in data] == [family.id]
    assert data[0]["passed"] is True and data[0]["module"] == "first-steps"
    assert data[0]["correct"] == data[0]["total"] > 0


def test_wellbeing_lists_family_members_scores(app, client, admin, clinician):
    patient = make_patient(clinician)
    family, stranger = make_user("family"), make_user("family")
    make_family(patient, family, relationship="partner")
    with app.app_context():
        now = clock.utcnow()
        rows = [
            WellbeingCheck(
                user_id=family.id,
                occasion="start",
                submit_token="w1",
                item1=3,
                item2=3,
                item3=2,
                item4=2,
                item5=2,
                taken_at=now - timedelta(days=30),
            ),
            WellbeingCheck(
                user_id=family.id,
                occasion="interval",
                submit_token="w2",
                skipped_at=now - timedelta(days=2),
                taken_at=now - timedelta(days=2),
            ),
            WellbeingCheck(
                user_id=family.id,
                occasion="interval",
                submit_token="w3",
                item1=1,
                item2=1,
                item3=1,
                item4=1,
                item5=1,
                taken_at=now,
            ),
            WellbeingCheck(
                user_id=stranger.id,
                occasion="start",
                submit_token="w4",
                item1=5,
                item2=5,
                item3=5,
                item4=5,
                item5=5,
                taken_at=now,
            ),
        ]
        db.session.add_all(rows)
        db.session.commit()
    _token_id, secret = make_token(admin)
    data = call(client, f"/api/v1/patients/{patient.id}/wellbeing", secret).get_json()["data"]
    assert [(c["score"], c["occasion"]) for c in data] == [(48, "start"), (20, "interval")]
    assert {c["user_id"] for c in data} == {family.id}
    assert data[0]["relationship"] == "partner"


# --- every call ------------------------------------------------------------------------------


def test_each_call_writes_one_audit_row(app, client, admin, clinician):
    patient = make_patient(clinician)
    token_id, secret = make_token(admin, "caseload", clinician)
    calls = [
        (f"/api/v1/patients/{patient.id}/assignments", secret, "success", patient.id),
        ("/api/v1/patients", secret, "success", None),
        ("/api/v1/patients/424242", secret, "denied", 424242),
        ("/api/v1/patients?page=0", secret, "denied", None),
        ("/api/v1/patients", None, "denied", None),
    ]
    for path, key, outcome, patient_id in calls:
        before = len(api_rows(app))
        call(client, path, key)
        rows = api_rows(app)
        assert len(rows) == before + 1, path
        row = rows[-1]
        assert row.outcome == outcome and row.patient_id == patient_id
        if key:
            assert row.actor_id == clinician.id and row.subject_id == token_id
            assert f"token={token_id}" in row.detail
        else:
            assert row.actor_id is None
    assert len(api_rows(app)) == len(calls)
    # The OpenAPI document is not a call on anyone's data.
    client.get("/api/v1/openapi.json")
    assert len(api_rows(app)) == len(calls)


def test_last_used_is_noted_at_most_once_a_minute(app, client, admin):
    token_id, secret = make_token(admin)

    def last_used():
        with app.app_context():
            return clock.aware(db.session.get(ApiToken, token_id).last_used_at)

    assert last_used() is None
    call(client, "/api/v1/patients", secret)
    first = last_used()
    assert first is not None
    clock.advance(timedelta(seconds=30))
    call(client, "/api/v1/patients", secret)
    assert last_used() == first
    clock.advance(timedelta(seconds=31))
    call(client, "/api/v1/patients", secret)
    assert last_used() > first


def test_too_many_calls_get_a_429_problem(app, make_app, admin):
    limited = make_app(API_RATE_LIMIT="3 per minute")
    client = limited.test_client()
    _token_id, secret = make_token(admin)
    _other_id, other = make_token(admin, name="Another")
    for _ in range(3):
        assert call(client, "/api/v1/patients", secret).status_code == 200
    refused = call(client, "/api/v1/patients", secret)
    assert refused.status_code == 429
    assert refused.mimetype == PROBLEM
    assert refused.get_json()["status"] == 429
    assert int(refused.headers["Retry-After"]) > 0
    # Counted per token: another token goes on.
    assert call(client, "/api/v1/patients", other).status_code == 200


def test_refused_tokens_from_one_address_are_limited(app, make_app, admin):
    """A made-up token has a rate count of its own, so guessing is limited per address: after
    API_GUESS_LIMIT refused tokens, every call from that address gets a 429 (a good token
    too), while other addresses, and calls that send no token, are not counted."""
    limited = make_app(API_GUESS_LIMIT="3 per minute")
    guesser = limited.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    neighbour = limited.test_client()
    neighbour.environ_base["REMOTE_ADDR"] = "203.0.113.8"
    _token_id, secret = make_token(admin)
    for _ in range(5):  # no token at all: not a guess
        assert call(guesser, "/api/v1/patients").status_code == 401
    assert call(guesser, "/api/v1/patients", secret).status_code == 200  # nor a good token
    for n in range(3):
        assert call(guesser, "/api/v1/patients", f"made-up-{n}").status_code == 401
    for token in ("made-up-4", secret):
        refused = call(guesser, "/api/v1/patients", token)
        assert refused.status_code == 429
        assert refused.mimetype == PROBLEM
        assert 0 < int(refused.headers["Retry-After"]) <= 60  # the window of the limit
    assert call(neighbour, "/api/v1/patients", secret).status_code == 200
    assert call(neighbour, "/api/v1/patients", "made-up-5").status_code == 401
    # The throttled call with a good token is audited under that token.
    assert f"token={_token_id} " in api_rows(app)[-3].detail


def test_a_session_cookie_alone_opens_nothing_and_no_answer_sets_a_cookie(
    app, client, admin, clinician
):
    patient = make_patient(clinician)
    assert login(client, clinician.email, PASSWORD).status_code == 302
    assert client.get("/clinic/").status_code == 200  # the session works for pages
    for path in ("/api/v1/patients", f"/api/v1/patients/{patient.id}"):
        response = client.get(path)
        assert response.status_code == 401
        assert "Set-Cookie" not in response.headers
    _token_id, secret = make_token(admin)
    # Signed in and with a token: the token decides; the session is neither read nor renewed,
    # even long after the idle timeout would have signed the person out of a page.
    clock.advance(timedelta(hours=20))
    for path in (
        "/api/v1/patients",
        f"/api/v1/patients/{patient.id}/wellbeing",
        "/api/v1/patients/999",
        "/api/v1/nowhere",
        "/api/v1/openapi.json",
    ):
        response = call(client, path, secret)
        assert response.status_code in (200, 404), path
        assert "Set-Cookie" not in response.headers, path
        assert "Cookie" not in response.headers.get("Vary", ""), path
    assert response.mimetype == "application/json"


def test_errors_under_the_api_are_problems_and_elsewhere_pages(app, client, admin):
    _token_id, secret = make_token(admin)
    for method, path, status in (
        ("post", "/api/v1/patients", 405),
        ("delete", "/api/v1/patients/1", 405),
        ("get", "/api/v1/patients/abc", 404),
        ("get", "/api/v1/patients/0", 404),
        ("get", "/api/v1/elsewhere", 404),
    ):
        response = getattr(client, method)(path, headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == status, path
        assert response.mimetype == PROBLEM
        assert response.get_json()["status"] == status
    assert "GET" in client.post("/api/v1/patients").headers["Allow"]
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"


# --- the OpenAPI document --------------------------------------------------------------------


def test_the_openapi_document_is_valid_and_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"


def test_every_api_route_is_in_the_document_and_nothing_else(app):
    from lms.blueprints.api.openapi import document

    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            assert path.startswith("/api/v1/")
            routed.add(
                (path.removeprefix("/api/v1"), frozenset(rule.methods - {"HEAD", "OPTIONS"}))
            )
    doc = document()
    documented = {(path, frozenset(m.upper() for m in ops)) for path, ops in doc["paths"].items()}
    assert routed == documented
    for path, ops in doc["paths"].items():
        for name in re.findall(r"{(\w+)}", path):
            params = [p.get("$ref", "").rsplit("/", 1)[-1] for p in ops["get"]["parameters"]]
            assert name in params, (path, name)


# --- admin pages -------------------------------------------------------------------------------


@pytest.fixture
def as_admin(app, client, admin):
    assert login(client, admin.email).status_code == 302
    return client


def _new_form(client) -> dict:
    page = text_of(client.get("/admin/tokens/new"))
    submit = re.search(r'name="submit_token"[^>]*value="([^"]+)"', page).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return {"csrf_token": token, "submit_token": submit}


def test_admin_makes_a_token_and_sees_the_secret_once(app, as_admin, clinician):
    listing = as_admin.get("/admin/tokens")
    assert listing.status_code == 200 and "No tokens yet." in text_of(listing)
    form = {
        **_new_form(as_admin),
        "name": "Records system",
        "scope": "caseload",
        "clinician": str(clinician.id),
        "days": "90",
    }
    made = as_admin.post("/admin/tokens/new", data=form)
    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    secret = re.search(r"iop_[A-Za-z0-9_-]+", text_of(made)).group(0)
    assert "shown only this once" in text_of(made)
    # Not in a cookie, an address, the list or a later page.
    assert secret not in (made.headers.get("Set-Cookie") or "")
    assert secret not in (made.headers.get("Location") or "")
    with app.test_request_context():
        serializer = app.session_interface.get_signing_serializer(app)
    cookie = as_admin.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert secret not in str(serializer.loads(cookie.value))
    listing = text_of(as_admin.get("/admin/tokens"))
    assert "Records system" in listing and secret not in listing
    assert secret[:12] in listing and "Casey Clinician" in listing
    # The secret works, for that clinician's caseload.
    mine = make_patient(clinician, name="On the caseload")
    response = as_admin.get("/api/v1/patients", headers={"Authorization": f"Bearer {secret}"})
    assert [p["id"] for p in response.get_json()["data"]] == [mine.id]


def test_the_same_form_sent_twice_makes_one_token(app, as_admin):
    form = {
        **_new_form(as_admin),
        "name": "Reports",
        "scope": "program",
        "clinician": "0",
        "days": "30",
    }
    first = as_admin.post("/admin/tokens/new", data=form)
    second = as_admin.post("/admin/tokens/new", data=form)
    assert first.status_code == second.status_code == 200
    assert "iop_" in text_of(first)
    assert "iop_" not in text_of(second)
    assert "This form was sent twice" in text_of(second)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 1
        created = select(func.count()).where(AuditEvent.action == "api_token.created")
        assert db.session.scalar(created) == 1


def test_ten_identical_token_forms_at_once_make_one_token(app, as_admin):
    form = {
        **_new_form(as_admin),
        "name": "Reports",
        "scope": "program",
        "clinician": "0",
        "days": "30",
    }
    results = at_once(app, as_admin, "/admin/tokens/new", form)
    assert {status for status, _ in results} == {200}, results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 1
        created = select(func.count()).where(AuditEvent.action == "api_token.created")
        assert db.session.scalar(created) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "Give the token a name"),
        ({"scope": "caseload", "clinician": "0"}, "Choose an active clinician"),
        ({"clinician": "abc"}, "Choose an active clinician"),
        ({"days": "0"}, "from 1 to 365"),
        ({"days": "366"}, "from 1 to 365"),
        ({"days": "lots"}, "from 1 to 365"),
        ({"scope": "everything"}, "Not a valid choice"),
    ],
)
def test_a_bad_form_is_a_message_beside_the_field(app, as_admin, change, message):
    form = {
        **_new_form(as_admin),
        "name": "Reports",
        "scope": "program",
        "clinician": "0",
        "days": "30",
        **change,
    }
    response = as_admin.post("/admin/tokens/new", data=form)
    assert response.status_code == 200
    assert message in text_of(response)
    assert "iop_" not in text_of(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_making_a_token_asks_for_the_password_again_when_it_is_old(app, as_admin):
    with as_admin.session_transaction() as session:
        session[AUTH_AT] = session[AUTH_AT] - 24 * 3600
    response = as_admin.get("/admin/tokens/new")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/confirm")


def test_revoking_asks_first_and_a_double_click_revokes_once(app, as_admin, admin):
    token_id, secret = make_token(admin, name="Old export")
    page = as_admin.get(f"/admin/tokens/{token_id}/revoke")
    assert page.status_code == 200 and "Revoke the token" in text_of(page)
    # Only looking at the question changes nothing.
    assert (
        as_admin.get("/api/v1/patients", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 200
    )
    token = csrf_token(as_admin, f"/admin/tokens/{token_id}/revoke")
    for _ in range(2):
        done = as_admin.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token})
        assert done.status_code == 302 and done.headers["Location"].endswith("/admin/tokens")
    assert (
        as_admin.get("/api/v1/patients", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 401
    )
    with app.app_context():
        revoked = select(func.count()).where(AuditEvent.action == "api_token.revoked")
        assert db.session.scalar(revoked) == 1
    assert "Revoked" in text_of(as_admin.get("/admin/tokens"))
    assert as_admin.get("/admin/tokens/999/revoke").status_code == 404


@pytest.mark.parametrize("role", ["clinician", "family", "patient"])
def test_everyone_but_admins_gets_404(app, client, admin, role):
    token_id, _secret = make_token(admin)
    person = make_user(role)
    assert login(client, person.email).status_code == 302
    for path in ("/admin/tokens", "/admin/tokens/new", f"/admin/tokens/{token_id}/revoke"):
        assert client.get(path).status_code == 404
    token = csrf_token(client, "/auth/account")
    assert (
        client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token}).status_code
        == 404
    )
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None


def test_the_admin_overview_links_to_tokens(as_admin):
    assert "/admin/tokens" in text_of(as_admin.get("/admin/"))
