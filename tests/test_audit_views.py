"""Every staff page that shows patient or family data writes an audit row (HIPAA
164.312(b)), including the forms that list a patient's family, the session pages that list
patients, and each view's own action name, so the log says what was seen."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms import clock
from lms.extensions import db
from lms.group_sessions.operations import log_session
from lms.models import AuditEvent, User
from tests.helpers import app_context, login, make_family, make_patient, make_user


@pytest.fixture
def world(app):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Morgan Example")
    make_family(patient, make_user("family", name="Sky Parent"))
    with app_context():
        session_row = log_session(
            db.session.get(User, clinician.id),
            held_on=clock.today(),
            title="Coping skills",
            facilitator="Dr. Example",
            module_slugs=["first-steps"],
            attendance={patient.id: "present"},
        )
        db.session.commit()
        session_id = session_row.id
    return clinician, patient, session_id


PAGES = [
    ("/clinic/patients/{p}/consents/new", "consent.form_view", True),
    ("/clinic/patients/{p}/invite", "invite.form_view", True),
    ("/clinic/patients/{p}/assign", "assignment.form_view", True),
    ("/clinic/sessions/new", "session.form_view", False),
    ("/clinic/sessions/{s}", "session.view", False),
    ("/clinic/patients/{p}", "patient.view", True),
]


@pytest.mark.parametrize(("path", "action", "about_patient"), PAGES)
def test_staff_page_with_patient_data_is_audited(app, client, world, path, action, about_patient):
    clinician, patient, session_id = world
    login(client, clinician.email)
    url = path.format(p=patient.id, s=session_id)
    response = client.get(url)
    assert response.status_code == 200
    assert "Morgan Example" in response.get_data(as_text=True)  # the page shows patient data
    with app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
    assert len(rows) == 1, f"{url} wrote no {action} audit row"
    assert rows[0].actor_id == clinician.id
    if about_patient:
        assert rows[0].patient_id == patient.id


def _denials(action: str) -> list[AuditEvent]:
    with app_context():
        return list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def test_a_refused_record_is_audited_with_the_route_and_the_id_asked_for(app, client, world):
    """Another clinician's education session, an assignment, a consent of a patient not on
    the caseload: each answers 404 like a page that does not exist, and each leaves one
    ``access.denied`` row naming the route and the ids (HIPAA 164.312(b))."""
    _clinician, patient, session_id = world
    stranger = make_user("clinician", email="stranger@example.org")
    login(client, stranger.email)
    asked = [
        (f"/clinic/sessions/{session_id}", f"route=clinic.session_detail session_id={session_id}"),
        (
            f"/clinic/patients/{patient.id}/consents/7/print",
            None,  # the patient is decided first: patient.denied, not a second row
        ),
        ("/clinic/patients/not-a-number", "route=clinic.patient patient_id=not-a-number"),
    ]
    for url, _detail in asked:
        assert client.get(url).status_code == 404, url
    denied = _denials("access.denied")
    assert [row.detail for row in denied] == [d for _u, d in asked if d]
    assert all(row.actor_id == stranger.id and row.outcome == "denied" for row in denied)
    [patient_denied] = _denials("patient.denied")
    assert patient_denied.patient_id == patient.id and patient_denied.actor_id == stranger.id


def test_a_mistyped_address_or_a_visitor_writes_no_denial(app, client, world):
    """Only access decisions are audited: a path that names no record, or anyone not signed
    in, is an ordinary 'page not found'."""
    clinician, _patient, session_id = world
    assert client.get(f"/clinic/sessions/{session_id}").status_code in (302, 404)
    login(client, clinician.email)
    assert client.get("/clinic/no-such-page").status_code == 404
    assert _denials("access.denied") == []
