"""The consequences of consent and discharge follow from one rule everywhere: the dashboard,
needs-help flags, the patient page, the patient's own page, reports and reminders."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms import clock
from lms.extensions import db
from lms.models import AuditEvent, Consent, QuizAttempt
from tests.helpers import (
    app_context,
    csrf_token,
    login,
    make_assignment,
    make_family,
    make_patient,
    make_user,
    post_form,
    shown_day,
    smtp_settings,
    text_of,
)


@pytest.fixture
def app_config(app_config, smtp):
    return {**app_config, **smtp_settings(smtp)}


def _failed_twice(user, slug="first-steps"):
    with app_context():
        for n in range(2):
            db.session.add(
                QuizAttempt(
                    user_id=user.id,
                    module_slug=slug,
                    content_version="v",
                    lang="en",
                    submit_token=f"t{n}-{user.id}",
                    score=0.2,
                    correct_count=1,
                    total=5,
                    pass_mark=0.8,
                    passed=False,
                    submitted_at=clock.utcnow() - timedelta(days=1),
                )
            )
        db.session.commit()


def _dashboard_row(client, patient_name):
    page = text_of(client.get("/clinic/"))
    start = page.index(patient_name)
    return page[start : page.index("</tr>", start)]


def test_after_withdrawal_the_dashboard_shows_it_and_flags_nothing_hidden(app, client):
    clinician = make_user("clinician")
    own = make_user("patient")
    patient = make_patient(clinician, name="Riley Example", user=own)
    parent = make_user("family", name="Jordan Parent")
    link_id, _ = make_family(patient, parent)
    make_assignment(patient, parent, due_in_days=-5)  # overdue while consent is in force
    _failed_twice(parent)
    login(client, clinician.email)
    before = _dashboard_row(client, "Riley Example")
    assert "1 overdue" in before and "did not pass" in before  # the flags are real

    # The patient withdraws consent on their own page.
    patient_browser = app.test_client()
    login(patient_browser, own.email)
    response = patient_browser.post(
        f"/learn/family/{link_id}/withdraw-consent",
        data={"csrf_token": csrf_token(patient_browser, "/learn/family")},
    )
    assert response.status_code == 302

    after = _dashboard_row(client, "Riley Example")
    today = shown_day(clock.today())
    assert f"Consent withdrawn {today}" in after  # the member, shown as such, with the date
    assert "(joined)" not in after
    assert "overdue" not in after and "did not pass" not in after
    assert (
        "needs-help"
        not in client.get("/clinic/")
        .get_data(as_text=True)
        .split("Riley Example")[0]
        .rsplit("<tr", 1)[-1]
    )
    assert f"Jordan Parent: consent withdrawn {today}" in after  # the notice
    assert "1 suspended" in after
    with app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "consent.revoked" in actions
    # Only flagged learners can be followed up: "Needs help" lists nobody.
    needs_help = text_of(client.get("/clinic/?show=needs_help"))
    assert "Riley Example" not in needs_help


def test_discharge_ends_program_consents_and_the_withdraw_button(app, client):
    clinician = make_user("clinician")
    own = make_user("patient")
    patient = make_patient(clinician, name="Casey Example", user=own)
    parent = make_user("family", name="Alex Parent")
    link_id, _ = make_family(patient, parent, consent="none")
    login(client, clinician.email)
    url = f"/clinic/patients/{patient.id}/consents/new"
    form_page = client.get(f"{url}?link={link_id}").get_data(as_text=True)
    checkbox = re.search(r'<input[^>]*id="ends_at_discharge"[^>]*>', form_page).group(0)
    assert "checked" in checkbox  # the default: until the patient leaves the program
    data = {
        "family_link": str(link_id),
        "disclosure": "That I am enrolled.",
        "purpose": "Education.",
        "revocation_terms": "Any time.",
        "ends_at_discharge": "y",
        "expires_on": "",
        "expiry_event": "",
        "signed_by": "patient",
        "signature_method": "paper",
        "signed_on": clock.today().isoformat(),
    }
    assert post_form(client, url, data).status_code == 302
    page = text_of(client.get(f"/clinic/patients/{patient.id}"))
    assert "until discharge" in page and "Record withdrawal" in page

    discharge = f"/clinic/patients/{patient.id}/discharge"
    response = post_form(
        client,
        discharge,
        {"discharged_on": clock.today().isoformat()},
        form_page=f"/clinic/patients/{patient.id}",
    )
    assert response.status_code == 302
    page = text_of(client.get(f"/clinic/patients/{patient.id}"))
    assert f"Ended at discharge {shown_day(clock.today())}" in page
    assert "Record withdrawal" not in page
    assert "Record a new consent" not in page  # nobody to share with after discharge
    with app_context():
        consent = db.session.scalars(select(Consent)).one()
        assert consent.state() == "ended" and consent.end_reason == "discharge"
        assert not consent.is_active()
        ended = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "consent.ended")
        ).all()
        assert [e.subject_id for e in ended] == [consent.id]

    # The patient's own page says the same and offers no withdrawal either.
    patient_client = app.test_client()
    login(patient_client, own.email)
    own_page = text_of(patient_client.get("/learn/family"))
    assert "Consent ended when you left the program" in own_page
    assert "Withdraw consent" not in own_page

    patient_browser = app.test_client()
    login(patient_browser, own.email)
    own_page = text_of(patient_browser.get("/learn/family"))
    assert "Consent ended when you left the program" in own_page
    assert "Withdraw consent" not in own_page


def test_a_discharged_patients_family_gets_no_reminder(app, client, runner, smtp):
    clinician = make_user("clinician")
    own = make_user("patient", email="own@example.org")
    patient = make_patient(clinician, name="Drew Example", user=own)
    parent = make_user("family", email="parent@example.org")
    make_family(patient, parent)
    make_assignment(patient, parent, due_in_days=1)
    make_assignment(patient, own, due_in_days=-2)
    login(client, clinician.email)
    post_form(
        client,
        f"/clinic/patients/{patient.id}/discharge",
        {"discharged_on": clock.today().isoformat()},
        form_page=f"/clinic/patients/{patient.id}",
    )
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    assert smtp.messages == []
    assert "Reminders: 0 new, 2 skipped (2 consent or enrolment ended)." in result.output

    # The same people, before discharge, are reminded: the test can see a reminder.
    other = make_patient(clinician, name="Other Example")
    make_family(other, parent)
    make_assignment(other, parent, due_in_days=1)
    result = runner.invoke(args=["reminders", "send"])
    assert "Reminders: 1 new" in result.output
    assert [m.rcpt_tos for m in smtp.messages] == [["parent@example.org"]]
