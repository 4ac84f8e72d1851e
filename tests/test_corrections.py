"""Mistakes can be corrected, and every correction is audited with the names of the fields it
changed, never their values: a patient's details, a family member's details, a consent
entered in error (kept, struck through, no longer in force), a duplicate enrolment voided
(kept, listed nowhere). The same form sent twice records once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lms import clock
from lms.consent import queries as consent_q
from lms.extensions import db
from lms.invitations import operations as invitation_ops
from lms.models import AuditEvent, Consent, FamilyLink, Invitation, Patient, Role, User
from lms.patients import operations as patient_ops
from tests.forms import form_data
from tests.helpers import (
    app_context,
    csrf_token,
    login,
    make_assignment,
    make_family,
    make_invited_link,
    make_patient,
    make_user,
    post_form,
    text_of,
)
from tests.test_concurrency import assert_calm, at_once


def _audits(action: str) -> list[AuditEvent]:
    with app_context():
        return list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def _errors_beside(page: str, field_id: str) -> str:
    """The error list rendered beside one field (``_macros/forms.html``)."""
    match = re.search(rf'<ul class="errors" id="{field_id}-error">(.*?)</ul>', page, re.S)
    return match.group(1) if match else ""


def _post_twice(client, url: str, data: dict):
    """The same rendered form sent twice (one CSRF token), as a double click does."""
    token = csrf_token(client, url)
    return [client.post(url, data={**data, "csrf_token": token}) for _ in range(2)]


# --- a patient's details ------------------------------------------------------------------


def test_editing_a_patient_is_audited_with_the_names_of_the_fields_only(app, client):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Robin Exampel")
    login(client, clinician.email)
    url = f"/clinic/patients/{patient.id}/edit"
    assert "Edit details" in text_of(client.get(f"/clinic/patients/{patient.id}"))
    page = text_of(client.get(url))
    assert 'value="Robin Exampel"' in page
    assert len(_audits("patient_edit.form_view")) == 1

    data = {
        "display_name": "Robin Example",
        "record_number": "MRN 2002",
        "enrolled_on": patient.enrolled_on.isoformat(),
    }
    first, second = _post_twice(client, url, data)
    assert first.status_code == second.status_code == 302
    with app_context():
        saved = db.session.get(Patient, patient.id)
        assert (saved.display_name, saved.record_number) == ("Robin Example", "MRN 2002")
    [row] = _audits("patient.edited")  # the second submit found nothing left to change
    assert row.detail == "fields=display_name,record_number"
    assert row.patient_id == patient.id
    assert "Robin" not in row.detail and "2002" not in row.detail
    assert "Robin Example" in text_of(client.get(f"/clinic/patients/{patient.id}"))


def test_a_record_number_another_patient_has_is_refused_beside_the_field(app, client):
    clinician = make_user("clinician")
    first = make_patient(clinician, name="First Enrolled")
    second = make_patient(clinician, name="Second Enrolled")
    with app_context():
        db.session.get(Patient, first.id).record_number = "MRN 1001"
        db.session.get(Patient, second.id).record_number = "MRN 1002"
        db.session.commit()
    login(client, clinician.email)
    url = f"/clinic/patients/{second.id}/edit"
    refused = post_form(
        client, url, {"display_name": "", "record_number": "mrn1001", "enrolled_on": "2026-13-01"}
    )
    assert refused.status_code == 400
    page = text_of(refused)
    # Every refusal at once, each beside its own field.
    assert "already used for First Enrolled" in _errors_beside(page, "record_number")
    assert "This field is required." in _errors_beside(page, "display_name")
    assert "YYYY-MM-DD" in _errors_beside(page, "enrolled_on")
    assert f'href="/clinic/patients/{first.id}"' in page  # the clinician may open them
    with app_context():
        assert db.session.get(Patient, second.id).record_number == "MRN 1002"
    assert _audits("patient.edited") == []

    # Their own number, written differently, is theirs to keep.
    kept = post_form(
        client,
        url,
        {
            "display_name": "Second Enrolled",
            "record_number": "mrn 1002",
            "enrolled_on": second.enrolled_on.isoformat(),
        },
    )
    assert kept.status_code == 302
    [row] = _audits("patient.edited")
    assert row.detail == "fields=record_number"


def test_a_record_number_on_someone_elses_caseload_names_nobody(app, client):
    elsewhere = make_patient(make_user("clinician"), name="Elsewhere Person")
    with app_context():
        db.session.get(Patient, elsewhere.id).record_number = "MRN 7"
        db.session.commit()
    clinician = make_user("clinician")
    mine = make_patient(clinician, name="Mine")
    login(client, clinician.email)
    refused = post_form(
        client,
        f"/clinic/patients/{mine.id}/edit",
        {"display_name": "Mine", "record_number": "MRN 7", "enrolled_on": "2026-01-05"},
    )
    page = text_of(refused)
    assert "already used for another patient" in _errors_beside(page, "record_number")
    assert "Elsewhere Person" not in page


# --- a family member's details ------------------------------------------------------------


def test_editing_an_invited_family_member_ends_the_invitation_to_the_old_email(app, client):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Sam Example")
    link_id = make_invited_link(patient.id, "chirs@example.org", name="Chris Example")
    make_invited_link(patient.id, "dana@example.org", name="Dana Example")
    with app_context():
        invitation_ops._new_invitation(
            db.session.get(User, clinician.id),
            db.session.get(Patient, patient.id),
            email="chirs@example.org",
            role=Role.FAMILY,
            link=db.session.get(FamilyLink, link_id),
        )
        db.session.commit()
    login(client, clinician.email)
    url = f"/clinic/patients/{patient.id}/family/{link_id}/edit"
    page = text_of(client.get(url))
    assert 'value="chirs@example.org"' in page and "invitation already sent" in page
    assert len(_audits("family_edit.form_view")) == 1

    clash = post_form(
        client,
        url,
        {"display_name": "Chris Example", "email": "Dana@Example.org", "relationship": "partner"},
    )
    assert clash.status_code == 400
    assert "already has this email" in _errors_beside(text_of(clash), "email")

    data = {"display_name": "Chris Example", "email": "chris@example.org", "relationship": "spouse"}
    first, second = _post_twice(client, url, data)
    assert first.status_code == second.status_code == 302
    with app_context():
        link = db.session.get(FamilyLink, link_id)
        assert (link.email, link.relationship_kind) == ("chris@example.org", "spouse")
        [invitation] = db.session.scalars(select(Invitation)).all()
        assert invitation.revoked_at is not None  # it went to the mistyped address
    [row] = _audits("family.edited")
    assert row.detail.startswith("fields=email,relationship")
    assert "chris" not in row.detail and "spouse" not in row.detail


def test_a_joined_family_members_email_is_theirs_and_not_editable(app, client):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Sam Example")
    member = make_user("family", name="Alex Parent", email="alex@example.org")
    link_id, _consent = make_family(patient, member)
    login(client, clinician.email)
    url = f"/clinic/patients/{patient.id}/family/{link_id}/edit"
    page = text_of(client.get(url))
    assert 'name="email"' not in page
    assert "has joined, so this email can’t be changed here" in page
    assert "not the email they sign in with" in page

    response = post_form(
        client,
        url,
        {"display_name": "Alex Parent-Smith", "email": "new@example.org", "relationship": "parent"},
    )
    assert response.status_code == 302
    with app_context():
        link = db.session.get(FamilyLink, link_id)
        assert (link.display_name, link.email) == ("Alex Parent-Smith", "alex@example.org")
    [row] = _audits("family.edited")
    assert row.detail == "fields=display_name"


def test_the_rule_refuses_a_joined_members_email_even_without_the_form(app, ctx):
    clinician = make_user("clinician")
    patient = make_patient(clinician)
    link_id, _consent = make_family(patient, make_user("family"))
    link = db.session.get(FamilyLink, link_id)
    problems = patient_ops.family_edit_problems(link, email="other@example.org")
    assert "has joined" in str(problems["email"][0])
    assert patient_ops.family_edit_problems(link, email=link.email.upper()) == {}


# --- a consent entered in error ------------------------------------------------------------


def test_a_consent_entered_in_error_stops_counting_and_is_shown_struck_through(app, client):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Sam Example")
    family = make_user("family", name="Alex Parent")
    link_id, consent_id = make_family(patient, family)
    make_assignment(patient, family)
    family_client = app.test_client()
    login(family_client, family.email)
    assert "Sam Example" in text_of(family_client.get("/learn/"))

    login(client, clinician.email)
    patient_page = text_of(client.get(f"/clinic/patients/{patient.id}"))
    assert "Entered in error…" in patient_page
    url = f"/clinic/patients/{patient.id}/consents/{consent_id}/entered-in-error"
    ask = text_of(client.get(url))
    assert "Alex Parent will at once stop seeing anything about Sam Example" in ask
    assert len(_audits("consent_error.form_view")) == 1
    with app_context():
        assert db.session.get(Consent, consent_id).is_active()  # asking changed nothing

    missing = post_form(client, url, {"reason": "   "})
    assert missing.status_code == 400
    assert "Say why" in _errors_beside(text_of(missing), "reason")
    too_long = post_form(client, url, {"reason": "x" * 301})
    assert "300 characters" in _errors_beside(text_of(too_long), "reason")

    reason = "Signed for the wrong family member"
    first, second = _post_twice(client, url, {"reason": reason})
    assert first.status_code == second.status_code == 302
    [row] = _audits("consent.entered_in_error")  # once, and without the reason
    assert (row.subject_id, row.patient_id, row.detail) == (consent_id, patient.id, None)

    with app_context():
        consent = db.session.get(Consent, consent_id)
        assert consent.state() == "entered_in_error" and not consent.is_active()
        assert consent.error_reason == reason and consent.error_by_id == clinician.id
        assert consent_q.standing(consent).label == "Entered in error"
        assert consent_q.has_consent_in_force(db.session.get(FamilyLink, link_id)) is False
    # The family member no longer sees the patient.
    assert "Sam Example" not in text_of(family_client.get("/learn/"))

    # Kept, struck through, with the reason, on the patient page and the print view.
    patient_page = text_of(client.get(f"/clinic/patients/{patient.id}"))
    assert re.search(
        r"<del>Consent signed [A-Z][a-z]{2}, [A-Z][a-z]{2} \d{1,2}(, \d{4})?</del>", patient_page
    )
    assert reason in patient_page
    assert "Record a new consent" in patient_page
    printed = text_of(client.get(f"/clinic/patients/{patient.id}/consents/{consent_id}/print"))
    assert "<del>" in printed and "Entered in error on" in printed and reason in printed


def test_a_consent_entered_in_error_is_not_withdrawn_expired_or_replaced_later(app, ctx):
    """The other consent actions leave it as it is: no withdrawal row, no expiry row, and a
    new consent does not mark it replaced."""
    from lms.consent import operations as consent_ops

    clinician = make_user("clinician")
    patient = make_patient(clinician)
    link_id, consent_id = make_family(patient, make_user("family"))
    consent = db.session.get(Consent, consent_id)
    assert consent_ops.mark_entered_in_error(clinician, consent, "Recorded twice")
    assert not consent_ops.mark_entered_in_error(clinician, consent, "Recorded twice")
    db.session.commit()
    assert consent_ops.withdraw_consent(clinician, db.session.get(FamilyLink, link_id)) == 0
    consent = db.session.get(Consent, consent_id)
    assert consent.revoked_at is None and consent.state() == "entered_in_error"
    consent.expires_on = clock.today().replace(year=clock.today().year - 1)
    db.session.commit()
    assert consent_ops.log_expired_consents(patient.id) == 0


# --- a duplicate enrolment ------------------------------------------------------------------


def test_voiding_is_refused_while_anything_is_recorded_and_says_what(app, client):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Sam Example")
    make_family(patient, make_user("family"))
    make_family(patient, make_user("family"), consent="none")
    login(client, clinician.email)
    url = f"/clinic/patients/{patient.id}/void"
    page = text_of(client.get(url))
    assert "It has 2 family members and 1 consent: correct those records instead." in page
    assert 'name="reason"' not in page  # nothing to fill in
    assert len(_audits("void.form_view")) == 1
    refused = post_form(client, url, {"reason": "Enrolled twice"}, form_page="/auth/account")
    assert refused.status_code == 400
    assert "correct those records instead" in text_of(refused)
    with app_context():
        assert db.session.get(Patient, patient.id).status == "active"
    assert _audits("patient.voided") == []


def test_a_voided_enrolment_is_kept_listed_nowhere_and_says_so(app, client):
    clinician = make_user("clinician")
    kept = make_patient(clinician, name="Sam Example")
    make_assignment(kept, make_user("family"))
    duplicate = make_patient(clinician, name="Sam Exampel")
    with app_context():
        db.session.get(Patient, duplicate.id).record_number = "MRN 5"
        db.session.commit()
    login(client, clinician.email)
    assert "Sam Exampel" in text_of(client.get("/clinic/"))
    url = f"/clinic/patients/{duplicate.id}/void"
    ask = text_of(client.get(url))
    assert 'name="reason"' in ask and "enrolled twice by mistake" in ask

    missing = post_form(client, url, {"reason": ""})
    assert missing.status_code == 400
    assert "Say why" in _errors_beside(text_of(missing), "reason")

    first, second = _post_twice(client, url, {"reason": "Enrolled twice; the other one is right"})
    assert first.status_code == second.status_code == 302
    [row] = _audits("patient.voided")
    assert (row.patient_id, row.detail) == (duplicate.id, None)
    with app_context():
        voided = db.session.get(Patient, duplicate.id)
        assert voided.status == "voided" and voided.voided_by_id == clinician.id
        assert voided.void_reason == "Enrolled twice; the other one is right"

    page = text_of(client.get(f"/clinic/patients/{duplicate.id}"))
    assert "This enrolment was voided on" in page and "the other one is right" in page
    assert "Edit details" not in page and "Re-admit" not in page
    for listing in ("/clinic/", "/clinic/?status=discharged", "/clinic/reports"):
        shown = text_of(client.get(listing))
        assert "Sam Exampel" not in shown, listing
    assert "Sam Example" in text_of(client.get("/clinic/reports"))  # the real one stays
    assert "Sam Exampel" not in text_of(client.get("/clinic/sessions/new"))
    # Its record number is free for the right enrolment.
    freed = post_form(
        client,
        f"/clinic/patients/{kept.id}/edit",
        {"display_name": "Sam Example", "record_number": "MRN 5", "enrolled_on": "2026-01-05"},
    )
    assert freed.status_code == 302
    # A voided record's details are kept as they were.
    assert "kept as they were" in text_of(client.get(f"/clinic/patients/{duplicate.id}/edit"))


def test_the_void_blockers_name_each_kind_of_record(app, ctx):
    clinician = make_user("clinician")
    own = make_user("patient")
    patient = make_patient(clinician, user=own)
    family = make_user("family")
    make_family(patient, family)
    make_assignment(patient, family)
    blockers = patient_ops.void_blockers(db.session.get(Patient, patient.id))
    assert (blockers.family_members, blockers.consents, blockers.assignments) == (1, 1, 1)
    assert blockers.logins == 1 and blockers.attendance == 0
    assert blockers.message == (
        "It has 1 family member, 1 consent, 1 reading assigned and a login or login "
        "invitation: correct those records instead."
    )
    empty = patient_ops.void_blockers(make_patient(clinician))
    assert not empty.any and empty.message == ""


# --- the same form sent ten times at once ---------------------------------------------------


@pytest.mark.parametrize("correction", ["edit_patient", "edit_family", "consent_error", "void"])
def test_ten_identical_corrections_at_once_record_once(app, client, correction):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Sam Example")
    page = f"/clinic/patients/{patient.id}"
    if correction == "edit_patient":
        url, action = f"{page}/edit", "patient.edited"
        values = {"display_name": "Sam Examples", "record_number": "MRN 9"}
        values["enrolled_on"] = patient.enrolled_on.isoformat()
    elif correction == "edit_family":
        link_id = make_invited_link(patient.id, "chirs@example.org", name="Chris Example")
        url, action = f"{page}/family/{link_id}/edit", "family.edited"
        values = {"display_name": "Chris", "email": "chris@example.org", "relationship": "sibling"}
    elif correction == "consent_error":
        _link, consent_id = make_family(patient, make_user("family"))
        url, action = f"{page}/consents/{consent_id}/entered-in-error", "consent.entered_in_error"
        values = {"reason": "Recorded twice"}
    else:
        url, action = f"{page}/void", "patient.voided"
        values = {"reason": "Enrolled twice"}
    login(client, clinician.email)
    data = form_data(client, url, url, **values)
    assert assert_calm(at_once(app, client, url, data)) == page
    assert len(_audits(action)) == 1


def test_a_voided_enrolment_is_in_no_list_even_under_everyone(app, client):
    from lms.models import Patient, PatientStatus
    from tests.helpers import login, make_patient, make_user

    clinician = make_user("clinician")
    make_patient(clinician, name="Kept Patient")
    voided = make_patient(clinician, name="Enrolled Twice")
    with app.app_context():
        db.session.get(Patient, voided.id).status = PatientStatus.VOIDED
        db.session.commit()
    login(client, clinician.email)
    everyone = client.get("/clinic/?status=all").get_data(as_text=True)
    assert "Kept Patient" in everyone and "Enrolled Twice" not in everyone
