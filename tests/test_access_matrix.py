"""Deny by default: every route × every role has an explicit, tested outcome.

Walks ``app.url_map``. A route missing from RULES fails ``test_every_route_has_a_decision``,
so a new page cannot ship without someone deciding who may open it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms import clock, create_app
from lms.extensions import db
from lms.group_sessions.operations import log_session
from lms.invitations import operations as invitation_ops
from lms.learning import operations as learning
from lms.models import EmergencyAccess, QuizAttempt
from tests.conftest import _test_config
from tests.helpers import (
    csrf_token,
    login,
    make_assignment,
    make_family,
    make_patient,
    make_user,
)

ROLES = (
    "anonymous",
    "family_active",
    "family_withdrawn",
    "family_expired",
    "patient",
    "clinician_on",
    "clinician_off",
    "admin",
)
SIGNED_IN = set(ROLES) - {"anonymous"}
STAFF_ON = {"clinician_on", "admin"}
STAFF = {"clinician_on", "clinician_off", "admin"}

# Who may use each endpoint. "public" means anyone, signed in or not.
RULES: dict[str, set[str] | str] = {
    "static": "public",
    "core.index": "public",
    "core.healthz": "public",
    "auth.login": "public",
    "auth.forgot": "public",
    "auth.reset": "public",  # a signed, single-use link; an invalid one is a 400
    "auth.reminders_off": "public",  # a signed link from a reminder email
    "auth.confirm_email": "public",  # a signed link sent to a new email address
    "invite.accept": "public",
    "core.home": SIGNED_IN,
    "core.staff_home": STAFF,
    "auth.logout": "public",
    "auth.mfa": "public",  # only does something between a right password and the code
    "auth.mfa_setup": "public",  # likewise (and signed in, with the password just confirmed)
    "auth.account": SIGNED_IN,
    "auth.security": SIGNED_IN,
    "auth.confirm": SIGNED_IN,
    "learn.index": SIGNED_IN,
    "learn.library": SIGNED_IN,
    "learn.module": SIGNED_IN,
    "learn.mark_read": SIGNED_IN,
    "learn.check": SIGNED_IN,
    "learn.print_view": SIGNED_IN,
    "learn.progress": SIGNED_IN,
    "learn.media": SIGNED_IN,
    "learn.attempt": {"family_active"},  # the attempt's owner only
    "learn.family": {"patient"},
    "learn.withdraw": {"patient"},
    "clinic.caseload": STAFF,
    "clinic.enroll": STAFF,
    "clinic.patient": STAFF_ON,
    "clinic.add_family": STAFF_ON,
    "clinic.new_consent": STAFF_ON,
    "clinic.print_consent": STAFF_ON,
    "clinic.revoke_consent": STAFF_ON,
    "clinic.invite": STAFF_ON,
    "clinic.invitation": STAFF_ON,
    "clinic.patient_login": STAFF_ON,
    "clinic.assign": STAFF_ON,
    "clinic.cancel_assignment": STAFF_ON,
    "clinic.discharge": STAFF_ON,
    "clinic.learner": STAFF_ON,
    "clinic.items": STAFF,
    "clinic.sessions": STAFF,
    "clinic.new_session": STAFF,
    "clinic.session_detail": {"clinician_on", "admin"},  # its author, and admins
    "clinic.reports": STAFF,
    "clinic.caseload_csv": STAFF,
    "clinic.patient_csv": STAFF_ON,
    "clinic.patient_report": STAFF_ON,
    "clinic.program_report": {"admin"},
}
ADMIN_PREFIX = "admin."  # every admin route: admins only


def decision(endpoint: str):
    if endpoint.startswith(ADMIN_PREFIX):
        return {"admin"}
    return RULES.get(endpoint)


@dataclass
class World:
    ids: dict
    users: dict


def build_world(app) -> World:
    with app.app_context():
        clinician_on = make_user("clinician")
        clinician_off = make_user("clinician")
        admin = make_user("admin")
        patient_user = make_user("patient")
        fam = {state: make_user("family") for state in ("active", "withdrawn", "expired")}
        patient = make_patient(clinician_on, name="Matrix Patient", user=patient_user)
        make_patient(clinician_off, name="Elsewhere")
        consent_ids = {}
        link_ids = {}
        for state, user in fam.items():
            link_ids[state], consent_ids[state] = make_family(patient, user, consent=state)
        # Admins reach a patient only through emergency access with a reason.
        grant = EmergencyAccess(
            user_id=admin.id,
            patient_id=patient.id,
            reason="Matrix test: the care team cannot be reached.",
            expires_at=clock.utcnow() + timedelta(hours=1),
        )
        db.session.add(grant)
        db.session.commit()
        assignment_id = make_assignment(patient, fam["active"], by=clinician_on)
        module = app.extensions["lms_library"].module("first-steps")
        answers = {q.id: q.correct_indices for q in module.quiz.questions}
        learning.submit_attempt(fam["active"], module, answers, "matrix-token")
        attempt_id = db.session.scalars(select(QuizAttempt.id)).one()
        invitation_id = invitation_ops.create_patient_login(
            clinician_on, patient, "matrix.login@example.org"
        ).invitation.id
        session_row = log_session(
            clinician_on,
            held_on=clock.today(),
            title="Matrix group",
            facilitator="C",
            module_slugs=["first-steps"],
            attendance={patient.id: "present"},
        )
        db.session.commit()  # operations leave the commit to the request or command
        users = {
            "family_active": fam["active"],
            "family_withdrawn": fam["withdrawn"],
            "family_expired": fam["expired"],
            "patient": patient_user,
            "clinician_on": clinician_on,
            "clinician_off": clinician_off,
            "admin": admin,
        }
        ids = {
            "patient_id": patient.id,
            "consent_id": consent_ids["active"],
            "link_id": link_ids["active"],
            "grant_id": grant.id,
            "assignment_id": assignment_id,
            "attempt_id": attempt_id,
            "learner_id": fam["active"].id,
            "session_id": session_row.id,
            "invitation_id": invitation_id,
            "user_id": clinician_on.id,
            "slug": "first-steps",
            "key": "what-a-trigger-is",
            "course": "test-course",
            "filename": "images/dot.png",
            "token": "not-a-token",
        }
        return World(ids=ids, users={k: u.email for k, u in users.items()})


def url_for_rule(rule, ids) -> str:
    url = rule.rule
    for arg in rule.arguments:
        value = ids.get(arg, 1)
        url = url.replace(f"<{arg}>", str(value))
        for converter in ("id", "int", "path", "string"):
            url = url.replace(f"<{converter}:{arg}>", str(value))
    return url


def _rules():
    app = create_app(_test_config("sqlite://"))
    return sorted((r for r in app.url_map.iter_rules()), key=lambda r: (r.endpoint, r.rule))


ALL_RULES = _rules()
# Static files (CSS, icons) carry no data; test_static_is_public covers them.
PAGE_RULES = [r for r in ALL_RULES if r.endpoint != "static"]


def test_every_route_has_a_decision():
    missing = [r.endpoint for r in ALL_RULES if decision(r.endpoint) is None]
    assert missing == [], f"routes without an access decision: {missing}"


def test_static_is_public(client):
    response = client.get("/static/css/app.css")
    response.close()  # a file response holds the file open until closed
    assert response.status_code == 200


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("rule", PAGE_RULES, ids=lambda r: f"{r.endpoint}:{r.rule}")
def test_access_matrix(app, role, rule):
    world = build_world(app)
    client = app.test_client()
    if role != "anonymous":
        assert login(client, world.users[role]).status_code == 302
    url = url_for_rule(rule, world.ids)
    allowed = decision(rule.endpoint)
    if "GET" in rule.methods:
        response = client.get(url)
    else:
        token = csrf_token(client, "/auth/login" if role == "anonymous" else "/auth/account")
        response = client.post(url, data={"csrf_token": token})
    response.close()
    location = response.headers.get("Location", "")
    if allowed == "public":
        assert response.status_code not in (403, 404, 500) or rule.endpoint == "invite.accept"
        assert response.status_code != 500
        return
    if role == "anonymous":
        assert response.status_code == 302 and location.startswith("/auth/login"), (
            f"{url}: anonymous got {response.status_code}"
        )
        return
    if role in allowed:
        assert response.status_code not in (403, 404, 500), f"{url}: {role} refused"
        assert not location.startswith("/auth/login"), f"{url}: {role} sent to login"
    else:
        assert response.status_code == 404, f"{url}: {role} got {response.status_code}"
