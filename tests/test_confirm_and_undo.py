"""Consequential actions ask first, naming what happens to whom; a GET never acts; a
discharge can be undone by re-admission, which reopens readings but never revives consent."""

from __future__ import annotations

import re

from sqlalchemy import select

from lms import clock
from lms.assignments import queries as assignment_q
from lms.extensions import db
from lms.models import Assignment, AuditEvent, Consent, Patient, User
from tests.helpers import (
    app_context,
    login,
    make_assignment,
    make_family,
    make_patient,
    make_user,
    post_form,
    text_of,
)


def _world():
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Robin Example")
    parent = make_user("family", name="Alex Parent")
    link_id, consent_id = make_family(patient, parent)
    with app_context():
        db.session.get(Consent, consent_id).ends_at_discharge = True
        db.session.commit()
    assignment_id = make_assignment(patient, parent, by=clinician)
    return clinician, patient, parent, link_id, consent_id, assignment_id


def _audits(action: str) -> int:
    with app_context():
        return len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_discharge_asks_first_then_readmission_undoes_it(app, client):
    clinician, patient, _parent, _link, consent_id, assignment_id = _world()
    login(client, clinician.email)
    url = f"/clinic/patients/{patient.id}/discharge"
    page = text_of(client.get(url))
    assert "Discharge Robin Example?" in page
    assert "no longer see anything about the patient: Alex Parent." in page
    assert "1 consent that lasts until discharge will end." in page
    assert "1 reading not yet done will be paused" in page
    with app_context():
        assert db.session.get(Patient, patient.id).is_active  # asking changed nothing
    assert _audits("discharge.form_view") == 1

    done = post_form(client, url, {"discharged_on": clock.today().isoformat()})
    assert done.status_code == 302
    patient_page = text_of(client.get(f"/clinic/patients/{patient.id}"))
    assert "Re-admit patient…" in patient_page and "Discharge patient…" not in patient_page

    readmit = f"/clinic/patients/{patient.id}/readmit"
    ask = text_of(client.get(readmit))
    assert "Consents that ended at discharge stay ended" in ask
    for _ in range(2):  # a double click re-admits once
        assert post_form(client, readmit, {}).status_code == 302
    assert _audits("patient.readmitted") == 1
    with app_context():
        assert db.session.get(Patient, patient.id).is_active
        assert db.session.get(Patient, patient.id).discharged_on is None
        consent = db.session.get(Consent, consent_id)
        assert consent.state() == "ended" and not consent.is_active()
        [row] = assignment_q.for_patient(patient.id)
        # Reopened for the patient's care, but still hidden from the family: no consent.
        assert row.assignment.id == assignment_id
        assert row.status == "suspended_no_consent"
    assert "Record a new consent" in text_of(client.get(f"/clinic/patients/{patient.id}"))


def test_a_bad_discharge_date_keeps_the_question_open(app, client):
    clinician, patient, *_ = _world()
    login(client, clinician.email)
    url = f"/clinic/patients/{patient.id}/discharge"
    response = post_form(client, url, {"discharged_on": "31/12/2026"})
    assert response.status_code == 400
    assert "Enter a date as YYYY-MM-DD" in text_of(response)
    with app_context():
        assert db.session.get(Patient, patient.id).is_active


def test_withdrawal_and_cancel_ask_first_and_name_who(app, client):
    clinician, patient, _parent, link_id, consent_id, assignment_id = _world()
    login(client, clinician.email)
    withdraw = f"/clinic/patients/{patient.id}/family/{link_id}/withdraw-consent"
    page = text_of(client.get(withdraw))
    assert "withdrew consent for Alex Parent?" in page
    assert "1 reading given to them will be paused" in page
    cancel = f"/clinic/assignments/{assignment_id}/cancel"
    ask = text_of(client.get(cancel))
    assert "for Alex Parent?" in ask and "What they have read so far is kept." in ask
    with app_context():  # asking changed nothing
        assert db.session.get(Consent, consent_id).is_active()
        assert db.session.get(Assignment, assignment_id).cancelled_at is None
    assert post_form(client, cancel, {}).status_code == 302
    assert post_form(client, withdraw, {}).status_code == 302
    with app_context():
        assert not db.session.get(Consent, consent_id).is_active()
        assert db.session.get(Assignment, assignment_id).cancelled_at is not None
    assert "already cancelled" in text_of(client.get(cancel))


def test_a_record_number_is_enrolled_once(app, client):
    """The same record number (ignoring case and spaces) is refused beside its field; the
    clinician who has that patient is pointed to them, another learns nothing about who."""
    clinician = make_user("clinician")
    make_patient(clinician, name="First Enrolled")
    with app_context():
        first = db.session.scalars(select(Patient)).one()
        first.record_number = "MRN 1001"
        db.session.commit()
        first_id = first.id
    login(client, clinician.email)
    data = {"display_name": "Again", "record_number": "mrn1001", "enrolled_on": "2026-11-02"}
    refused = post_form(client, "/clinic/patients/new", data)
    assert refused.status_code == 200  # the form again, as for any refused enrolment
    page = text_of(refused)
    assert "is already used for First Enrolled, on your caseload" in page
    assert f'href="/clinic/patients/{first_id}"' in page

    other = make_user("clinician", email="other.clinician@example.org")
    other_client = app.test_client()
    login(other_client, other.email)
    page = text_of(post_form(other_client, "/clinic/patients/new", data))
    assert "already used for another patient of the program" in page
    assert "First Enrolled" not in page and f"/clinic/patients/{first_id}" not in page
    with app_context():
        assert len(db.session.scalars(select(Patient)).all()) == 1


def test_the_family_report_is_fit_for_the_chart(app, client):
    """Program, patient, who prepared it and when, a summary per learner, then every row."""
    clinician, patient, _parent, *_ = _world()
    with app_context():
        db.session.get(Patient, patient.id).record_number = "MRN-77"
        db.session.commit()
    login(client, clinician.email)
    page = text_of(client.get(f"/clinic/patients/{patient.id}/report"))
    head = page[page.index('<dl class="report-head">') : page.index("</dl>")]
    assert app.config["PROGRAM_NAME"] in head and "Robin Example" in head and "MRN-77" in head
    assert clinician.display_name in head and re.search(r"\d{4}, \d{1,2}:\d\d [AP]M E[SD]T", head)
    summary = page[page.index("Readings per learner") : page.index("Every reading")]
    assert re.search(r"Alex Parent</th><td>1</td><td>0</td><td>0</td><td>0</td>", summary)


def test_a_cancelled_reading_can_be_restored_once(app, client):
    clinician, patient, parent, _link, _consent, assignment_id = _world()
    login(client, clinician.email)
    cancel = f"/clinic/assignments/{assignment_id}/cancel"
    assert post_form(client, cancel, {}).status_code == 302
    restore = f"/clinic/assignments/{assignment_id}/restore"
    page = f"/clinic/patients/{patient.id}"
    assert f'action="{restore}"' in text_of(client.get(page))
    for _ in range(2):  # a double click restores once
        assert post_form(client, restore, {}, form_page=page).status_code == 302
    assert _audits("assignment.restored") == 1
    with app_context():
        assert db.session.get(Assignment, assignment_id).cancelled_at is None

    # Cancelled, then given again: restoring the old one would make two; it says why not.
    assert post_form(client, cancel, {}).status_code == 302
    again = make_assignment(patient, parent, by=clinician)
    response = post_form(client, restore, {}, form_page=page, follow_redirects=True)
    assert "given to them again since" in text_of(response)
    with app_context():
        assert db.session.get(Assignment, assignment_id).cancelled_at is not None
        assert db.session.get(Assignment, again).cancelled_at is None


def test_a_path_is_one_unit_cancelled_and_restored_together(app, client):
    from lms.assignments import operations as assignment_ops

    clinician, patient, parent, _link, _consent, single = _world()
    with app_context():
        # The world's own reading of "first-steps" is cancelled: the path gives it again.
        db.session.get(Assignment, single).cancelled_at = clock.utcnow()
        assignment_ops.assign(
            db.session.get(User, clinician.id),
            db.session.get(Patient, patient.id),
            module_slugs=["first-steps", "no-check"],
            learners=[db.session.get(User, parent.id)],
            path_slug="test-path",
            first_due=clock.today(),
            spread_days=7,
            note=None,
        )
        db.session.commit()
    login(client, clinician.email)
    page = text_of(client.get(f"/clinic/patients/{patient.id}"))
    assert '<details class="path-group">' in page and "Test path" in page
    base = f"/clinic/patients/{patient.id}/learners/{parent.id}/paths/test-path"
    ask = text_of(client.get(f"{base}/cancel"))
    assert "Cancel “Test path” for Alex Parent?" in ask and "No check here" in ask
    for _ in range(2):
        assert post_form(client, f"{base}/cancel", {}).status_code == 302
    assert _audits("path.cancelled") == 1
    with app_context():
        open_path = db.session.scalars(
            select(Assignment).where(
                Assignment.path_slug == "test-path", Assignment.cancelled_at.is_(None)
            )
        ).all()
    assert open_path == []
    page_url = f"/clinic/patients/{patient.id}"
    assert post_form(client, f"{base}/restore", {}, form_page=page_url).status_code == 302
    with app_context():
        restored = db.session.scalars(
            select(Assignment).where(
                Assignment.path_slug == "test-path", Assignment.cancelled_at.is_(None)
            )
        ).all()
    assert len(restored) == 2 and _audits("path.restored") == 1
    assert (
        client.get(
            f"/clinic/patients/{patient.id}/learners/{parent.id}/paths/nope/cancel"
        ).status_code
        == 404
    )
