"""The clinical workflow: caseloads, consent, invitations, assignments, withdrawal, audit."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms import clock
from lms.extensions import db
from lms.models import Assignment, AuditEvent, Consent, FamilyLink, Invitation, Patient, User
from tests.forms import form_data
from tests.helpers import (
    csrf_token,
    login,
    make_assignment,
    make_family,
    make_patient,
    make_user,
    post_form,
    text_of,
)


def audit_actions(app, patient_id=None) -> list[str]:
    with app.app_context():
        query = select(AuditEvent.action).order_by(AuditEvent.id)
        if patient_id is not None:
            query = query.where(AuditEvent.patient_id == patient_id)
        return list(db.session.scalars(query))


@pytest.fixture
def clinician(client):
    user = make_user("clinician", name="Casey Clinician")
    login(client, user.email)
    return user


@pytest.fixture
def patient(clinician):
    return make_patient(clinician, name="Sam Example")


def signed_in(app, user):
    other = app.test_client()
    assert login(other, user.email).status_code == 302
    return other


# --- caseload and access ------------------------------------------------------------------


def test_caseload_shows_only_own_patients(app, client, clinician, patient):
    other_clinician = make_user("clinician")
    make_patient(other_clinician, name="Someone Else")
    page = text_of(client.get("/clinic/"))
    assert "Sam Example" in page and "Someone Else" not in page


def test_admin_sees_no_patient_without_emergency_access(app, clinician, patient):
    admin = signed_in(app, make_user("admin"))
    assert "Sam Example" not in text_of(admin.get("/clinic/?status=all"))
    assert admin.get(f"/clinic/patients/{patient.id}").status_code == 404


def test_patient_page_is_audited(app, client, clinician, patient):
    page = text_of(client.get(f"/clinic/patients/{patient.id}"))
    assert "Sam Example" in page
    assert "patient.view" in audit_actions(app, patient.id)


@pytest.mark.parametrize("bad", ["0", "-1", "99999999999", "abc", "1.5", "%20"])
def test_bad_or_foreign_patient_ids_are_404(app, client, clinician, patient, bad):
    assert client.get(f"/clinic/patients/{bad}").status_code == 404


def test_other_caseload_is_404(app, patient):
    other = signed_in(app, make_user("clinician"))
    assert other.get(f"/clinic/patients/{patient.id}").status_code == 404
    assert other.get(f"/clinic/patients/{patient.id}/assign").status_code == 404


@pytest.mark.parametrize("role", ["family", "patient"])
def test_non_staff_get_404_on_clinic(app, patient, role):
    other = signed_in(app, make_user(role))
    assert other.get("/clinic/").status_code == 404
    assert other.get(f"/clinic/patients/{patient.id}").status_code == 404


# --- enrolment -------------------------------------------------------------------------------


def test_enroll_creates_patient_on_caseload_and_audits(app, client, clinician):
    data = {
        "display_name": "New Person",
        "record_number": "MRN-9",
        "enrolled_on": clock.today().isoformat(),
        "role": "admin",
        "created_by_id": "999",
    }
    response = post_form(client, "/clinic/patients/new", data)
    assert response.status_code == 302
    with app.app_context():
        created = db.session.scalars(select(Patient)).one()
        assert created.created_by_id == clinician.id  # forged field ignored
        assert [m.clinician_id for m in created.care_team] == [clinician.id]
    assert "patient.enrolled" in audit_actions(app)


def test_enroll_double_submit_records_once(app, client, clinician):
    url = "/clinic/patients/new"
    data = form_data(client, url, url, display_name="Twice", enrolled_on=clock.today().isoformat())
    first = client.post(url, data=data)
    second = client.post(url, data=data)  # the same rendered form: a double click
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert len(db.session.scalars(select(Patient)).all()) == 1


def test_two_patients_with_the_same_name_are_two_enrolments(app, client, clinician):
    """Only the same rendered form counts as a repeat: two people may share a name."""
    for _ in range(2):
        post_form(
            client,
            "/clinic/patients/new",
            {"display_name": "Alex Kim", "enrolled_on": clock.today().isoformat()},
        )
    with app.app_context():
        assert len(db.session.scalars(select(Patient)).all()) == 2


def test_enroll_missing_name_keeps_input_and_explains(client, clinician):
    response = post_form(
        client,
        "/clinic/patients/new",
        {"display_name": "", "record_number": "KEEP-ME", "enrolled_on": "not-a-date"},
    )
    page = text_of(response)
    assert response.status_code == 200
    assert "KEEP-ME" in page and 'class="error-summary"' in page


# --- family, consent, invitation -------------------------------------------------------------


def add_family(client, patient, email="parent@example.org", name="Pat Parent"):
    return post_form(
        client,
        f"/clinic/patients/{patient.id}/family",
        {"display_name": name, "email": email, "relationship": "parent"},
        form_page=f"/clinic/patients/{patient.id}",
    )


def link_id(app, email="parent@example.org"):
    with app.app_context():
        return db.session.scalars(select(FamilyLink.id).where(FamilyLink.email == email)).one()


def consent_data(link, **overrides):
    data = {
        "family_link": str(link),
        "disclosure": "That I am enrolled.",
        "purpose": "Education.",
        "revocation_terms": "Any time.",
        "expires_on": (clock.today() + timedelta(days=90)).isoformat(),
        "expiry_event": "",
        "signed_by": "patient",
        "representative_name": "",
        "representative_capacity": "",
        "signature_method": "paper",
        "signed_on": clock.today().isoformat(),
    }
    data.update(overrides)
    return data


def test_record_consent_and_print_it(app, client, clinician, patient):
    add_family(client, patient)
    link = link_id(app)
    url = f"/clinic/patients/{patient.id}/consents/new"
    response = post_form(client, url, consent_data(link))
    assert response.status_code == 302
    with app.app_context():
        consent = db.session.scalars(select(Consent)).one()
        assert consent.recorded_by_id == clinician.id and consent.is_active()
        consent_id = consent.id
    page = text_of(client.get(f"/clinic/patients/{patient.id}/consents/{consent_id}/print"))
    for element in (
        "Sam Example",
        "Pat Parent",
        "That I am enrolled.",
        "Education.",
        "Any time.",
        "Date signed",
        "42 CFR Part 2",
    ):
        assert element in page
    assert {"family.added", "consent.recorded", "consent.print"} <= set(
        audit_actions(app, patient.id)
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"expires_on": "", "expiry_event": ""}, "Say when the consent ends"),
        ({"expires_on": "2000-01-01"}, "in the past"),
        ({"signed_by": "representative"}, "enter the representative&#39;s name"),
    ],
)
def test_consent_refusals_explain(app, client, clinician, patient, overrides, message):
    add_family(client, patient)
    response = post_form(
        client,
        f"/clinic/patients/{patient.id}/consents/new",
        consent_data(link_id(app), **overrides),
    )
    assert response.status_code == 200
    assert message in text_of(response)
    with app.app_context():
        assert db.session.scalars(select(Consent)).all() == []


def test_consent_for_another_patients_family_member_is_404(app, client, clinician, patient):
    other_patient = make_patient(clinician, name="Other")
    add_family(client, patient, email="mine@example.org")
    add_family(client, other_patient, email="other@example.org")
    response = post_form(
        client,
        f"/clinic/patients/{patient.id}/consents/new",
        consent_data(link_id(app, "other@example.org")),
        form_page=f"/clinic/patients/{other_patient.id}",
    )
    assert response.status_code == 200
    assert "Not a valid choice" in text_of(response)
    with app.app_context():
        assert db.session.scalars(select(Consent)).all() == []


def invite_link(app, client, patient, email="parent@example.org", *, consent=True):
    """Record the patient's consent for this person (nobody is invited without it), then
    invite them; the path of the link shown once."""
    if consent:
        recorded = post_form(
            client,
            f"/clinic/patients/{patient.id}/consents/new",
            consent_data(link_id(app, email)),
        )
        assert recorded.status_code == 302
    response = post_form(
        client, f"/clinic/patients/{patient.id}/invite", {"family_link": str(link_id(app, email))}
    )
    assert response.status_code == 302
    shown = client.get(response.headers["Location"])
    match = re.search(r'value="(http[^"]+/invite/[^"]+)"', text_of(shown))
    assert match
    # The link starts with SITE_URL (never the request's host).
    assert match.group(1).startswith(app.config["SITE_URL"] + "/invite/")
    return "/invite/" + match.group(1).split("/invite/", 1)[1]


def accept(client, path, email="parent@example.org", password="a calm evening walk 42"):  # noqa: S107 -- a test password
    return post_form(
        client,
        path,
        {"email": email, "display_name": "Pat", "password": password, "confirm": password},
    )


def test_invitation_accept_creates_family_account(app, client, clinician, patient):
    add_family(client, patient)
    path = invite_link(app, client, patient)
    with app.app_context():
        stored = db.session.scalars(select(Invitation)).one()
        assert path.rsplit("/", 1)[1] not in (stored.token_hash,)  # only the hash is stored
        assert stored.expires_at - stored.created_at == timedelta(days=7)
    family = app.test_client()
    page = text_of(family.get(path))
    assert "Sam Example" not in page  # the link does not name the patient
    response = accept(family, path)
    assert response.status_code == 302 and response.headers["Location"] == "/learn/"
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "parent@example.org")).one()
        assert user.role == "family"
        link = db.session.scalars(select(FamilyLink)).one()
        assert (link.user_id, link.state) == (user.id, "active")
    assert {"invite.sent", "invite.accepted"} <= set(audit_actions(app, patient.id))


def test_invitation_ignores_forged_role_and_patient(app, client, clinician, patient):
    add_family(client, patient)
    path = invite_link(app, client, patient)
    other = make_patient(make_user("clinician"), name="Other Patient")
    response = post_form(
        app.test_client(),
        path,
        {
            "email": "parent@example.org",
            "display_name": "Pat",
            "role": "admin",
            "patient_id": str(other.id),
            "password": "a calm evening walk 42",
            "confirm": "a calm evening walk 42",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "parent@example.org")).one()
        assert user.role == "family"
        links = db.session.scalars(select(FamilyLink).where(FamilyLink.user_id == user.id)).all()
        assert [link.patient_id for link in links] == [patient.id]


def test_invitation_wrong_email_reuse_and_expiry(app, client, clinician, patient):
    add_family(client, patient)
    path = invite_link(app, client, patient)
    family = app.test_client()
    wrong = accept(family, path, email="someone.else@example.org")
    assert "different email address" in text_of(wrong)
    assert accept(family, path).status_code == 302
    again = app.test_client().get(path)
    assert again.status_code == 410 and "already been used" in text_of(again)
    add_family(client, patient, email="late@example.org", name="Late Person")
    late = invite_link(app, client, patient, email="late@example.org")
    clock.advance(timedelta(days=8))
    expired = app.test_client().get(late)
    assert expired.status_code == 410 and "expired" in text_of(expired)
    assert app.test_client().get("/invite/not-a-real-token").status_code == 410


def test_invitation_weak_password_explains(app, client, clinician, patient):
    add_family(client, patient)
    path = invite_link(app, client, patient)
    response = accept(app.test_client(), path, password="password1234")
    assert response.status_code == 200 and "too easy to guess" in text_of(response)


# --- assignments ------------------------------------------------------------------------------


def test_assign_path_spreads_due_dates_and_double_submit_records_once(
    app, client, clinician, patient
):
    family = make_user("family")
    make_family(patient, family)
    token = csrf_token(client, f"/clinic/patients/{patient.id}/assign")
    first_due = clock.today() + timedelta(days=3)
    data = {
        "what": "path:test-path",
        "learners": [str(family.id)],
        "due_on": first_due.isoformat(),
        "spread_days": "7",
        "note": "Before Tuesday",
        "assigned_by_id": "999",
        "csrf_token": token,
    }
    assert client.post(f"/clinic/patients/{patient.id}/assign", data=data).status_code == 302
    client.post(f"/clinic/patients/{patient.id}/assign", data=data)
    with app.app_context():
        rows = db.session.scalars(select(Assignment).order_by(Assignment.due_on)).all()
        assert [(r.module_slug, r.due_on) for r in rows] == [
            ("first-steps", first_due),
            ("no-check", first_due + timedelta(days=7)),
        ]
        assert all(r.assigned_by_id == clinician.id and r.path_slug == "test-path" for r in rows)
    assert audit_actions(app, patient.id).count("assignment.created") == 2


def test_assign_refuses_forged_learner_and_module(app, client, clinician, patient):
    stranger = make_user("family")
    url = f"/clinic/patients/{patient.id}/assign"
    response = post_form(
        client, url, {"what": "module:first-steps", "learners": [str(stranger.id)]}
    )
    assert response.status_code == 200
    response = post_form(client, url, {"what": "module:does-not-exist", "learners": []})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalars(select(Assignment)).all() == []


def test_family_dashboard_shows_assignments_due_and_overdue(app, clinician, patient):
    family = make_user("family")
    make_family(patient, family)
    make_assignment(patient, family, "first-steps", due_in_days=-2)
    make_assignment(patient, family, "no-check", due_in_days=5)
    page = text_of(signed_in(app, family).get("/learn/"))
    assert "Overdue" in page and "First steps" in page and "No check here" in page
    assert "0 of 2 done" in page and "To support Sam Example" in page


def test_cancel_assignment(app, client, clinician, patient):
    family = make_user("family")
    make_family(patient, family)
    aid = make_assignment(patient, family)
    response = post_form(
        client, f"/clinic/assignments/{aid}/cancel", {}, form_page=f"/clinic/patients/{patient.id}"
    )
    assert response.status_code == 302
    home = text_of(signed_in(app, family).get("/learn/"))
    # Gone from the learner's readings (the library's starter list may still offer it).
    assert "Readings from your care team" not in home and "Up next" not in home
    assert "Nothing has been given to you to read yet" in home
    assert "assignment.cancelled" in audit_actions(app, patient.id)
    other = signed_in(app, make_user("clinician"))
    token = csrf_token(other, "/clinic/")
    assert (
        other.post(f"/clinic/assignments/{aid}/cancel", data={"csrf_token": token}).status_code
        == 404
    )


# --- consent withdrawal, expiry, discharge ----------------------------------------------------


def test_patient_withdraws_consent_effective_next_request(app, clinician):
    patient_user = make_user("patient")
    patient = make_patient(clinician, name="Sam Example", user=patient_user)
    family = make_user("family")
    link, _consent_id = make_family(patient, family)
    make_assignment(patient, family)
    family_client = signed_in(app, family)
    assert "Sam Example" in text_of(family_client.get("/learn/"))
    patient_client = signed_in(app, patient_user)
    page = text_of(patient_client.get("/learn/family"))
    assert family.display_name in page and "Consent active" in page
    response = post_form(
        patient_client,
        f"/learn/family/{link}/withdraw-consent",
        {},
        form_page="/learn/family",
    )
    assert response.status_code == 302
    after = text_of(family_client.get("/learn/"))
    # Nothing about the patient or the reading given for them; the same neutral page a new
    # family member sees (nothing says that a consent was withdrawn).
    assert "Sam Example" not in after and "To support" not in after
    assert "Readings from your care team" not in after and "Up next" not in after
    assert "Nothing has been given to you to read yet" in after
    with app.app_context():
        assert db.session.scalars(select(Assignment)).one().cancelled_at is None  # suspended
    assert "consent.revoked" in audit_actions(app, patient.id)
    staff_page = text_of(signed_in(app, clinician).get(f"/clinic/patients/{patient.id}"))
    assert "Withdrawn" in staff_page
    assert "Suspended: no active consent" in staff_page


def test_patient_cannot_withdraw_someone_elses_consent(app, clinician):
    patient_user = make_user("patient")
    make_patient(clinician, user=patient_user)
    other_patient = make_patient(clinician, name="Other")
    link, _consent_id = make_family(other_patient, make_user("family"))
    client = signed_in(app, patient_user)
    response = post_form(
        client, f"/learn/family/{link}/withdraw-consent", {}, form_page="/learn/family"
    )
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["patient", "clinician"])
def test_withdrawal_after_a_renewal_ends_every_consent(app, client, clinician, who):
    """Finding: after a consent was renewed, withdrawing "the" consent left the older one
    active and the family member still saw the patient. A renewal now replaces the older
    consent, and a withdrawal ends every consent in force for that person."""
    patient_user = make_user("patient")
    patient = make_patient(clinician, name="Sam Example", user=patient_user)
    family = make_user("family")
    link, first_id = make_family(patient, family)
    make_assignment(patient, family)
    renewed = post_form(
        client,
        f"/clinic/patients/{patient.id}/consents/new",
        consent_data(link, expires_on=(clock.today() + timedelta(days=200)).isoformat()),
    )
    assert renewed.status_code == 302
    with app.app_context():
        first = db.session.get(Consent, first_id)
        assert first.state() == "replaced" and first.superseded_by_id is not None
        in_force = [c for c in db.session.scalars(select(Consent)) if c.is_active()]
        assert len(in_force) == 1
    family_client = signed_in(app, family)
    assert "Sam Example" in text_of(family_client.get("/learn/"))
    if who == "patient":
        response = post_form(
            signed_in(app, patient_user),
            f"/learn/family/{link}/withdraw-consent",
            {},
            form_page="/learn/family",
        )
    else:
        response = post_form(
            client,
            f"/clinic/patients/{patient.id}/family/{link}/withdraw-consent",
            {},
            form_page=f"/clinic/patients/{patient.id}",
        )
    assert response.status_code == 302
    with app.app_context():
        assert [c for c in db.session.scalars(select(Consent)) if c.is_active()] == []
    after = text_of(family_client.get("/learn/"))
    assert "Sam Example" not in after and "To support" not in after


def test_consent_active_rule_agrees_in_python_and_sql(app, ctx, clinician):
    """``Consent.is_active`` and ``consent_q.in_force_clause`` are one rule in two forms."""
    from lms.consent import queries as consent_q

    patient = make_patient(clinician)
    states = ("active", "withdrawn", "expired", "none")
    for state in states:
        make_family(patient, make_user("family"), consent=state)
    replaced = db.session.scalars(select(Consent).order_by(Consent.id)).first()  # the active one
    replaced.superseded_at = clock.utcnow()
    # Entered in error, on its own and on top of each other state.
    for state in ("active", "withdrawn", "expired"):
        make_family(patient, make_user("family"), consent=state)
    in_error = db.session.scalars(select(Consent).order_by(Consent.id.desc()).limit(3)).all()
    for consent in in_error:
        consent.error_at = clock.utcnow()
    db.session.commit()
    _link, in_force_id = make_family(patient, make_user("family"), consent="active")
    today = clock.today()
    in_python = {c.id for c in db.session.scalars(select(Consent)) if c.is_active(today)}
    in_sql = set(db.session.scalars(select(Consent.id).where(consent_q.in_force_clause(today))))
    assert in_python == in_sql == {in_force_id}
    assert len(db.session.scalars(select(Consent)).all()) == 7
    assert {c.state(today) for c in in_error} == {"entered_in_error"}


def test_invitation_needs_consent_and_stops_when_it_is_withdrawn(app, client, clinician, patient):
    add_family(client, patient)
    refused = post_form(
        client,
        f"/clinic/patients/{patient.id}/invite",
        {"family_link": str(link_id(app))},
    )
    assert "Record consent" in text_of(refused)
    with app.app_context():
        assert db.session.scalars(select(Invitation)).all() == []
    path = invite_link(app, client, patient)
    post_form(
        client,
        f"/clinic/patients/{patient.id}/family/{link_id(app)}/withdraw-consent",
        {},
        form_page=f"/clinic/patients/{patient.id}",
    )
    visitor = app.test_client()
    response = visitor.get(path)
    assert response.status_code == 410
    assert "contact the care team" in text_of(response)
    token = csrf_token(visitor, "/auth/login")
    password = "a calm evening walk 42"
    posted = visitor.post(
        path,
        data={
            "email": "parent@example.org",
            "display_name": "Pat",
            "password": password,
            "confirm": password,
            "csrf_token": token,
        },
    )
    assert posted.status_code == 410
    with app.app_context():
        assert db.session.scalars(select(User).where(User.role == "family")).all() == []


def test_consent_expiry_by_clock_hides_patient(app, clinician, patient):
    family = make_user("family")
    make_family(patient, family)
    make_assignment(patient, family)
    client = signed_in(app, family)
    assert "Sam Example" in text_of(client.get("/learn/"))
    clock.advance(timedelta(days=91))
    assert "Sam Example" not in text_of(signed_in(app, family).get("/learn/"))
    staff = signed_in(app, clinician)
    assert "Expired" in text_of(staff.get(f"/clinic/patients/{patient.id}"))
    assert "consent.expired" in audit_actions(app, patient.id)


def test_discharge_ends_family_access_and_keeps_records(app, client, clinician, patient):
    family = make_user("family")
    make_family(patient, family)
    make_assignment(patient, family)
    response = post_form(
        client,
        f"/clinic/patients/{patient.id}/discharge",
        {"discharged_on": clock.today().isoformat()},
        form_page=f"/clinic/patients/{patient.id}",
    )
    assert response.status_code == 302
    assert "Sam Example" not in text_of(signed_in(app, family).get("/learn/"))
    with app.app_context():
        assert db.session.scalars(select(Assignment)).one() is not None
        assert db.session.get(Patient, patient.id).status == "discharged"
    assert "patient.discharged" in audit_actions(app, patient.id)


def test_an_invitation_link_is_shown_once_then_where_it_went(app, client, clinician, patient):
    add_family(client, patient)
    post_form(client, f"/clinic/patients/{patient.id}/consents/new", consent_data(link_id(app)))
    response = post_form(
        client, f"/clinic/patients/{patient.id}/invite", {"family_link": str(link_id(app))}
    )
    page = response.headers["Location"]
    assert page.startswith(f"/clinic/patients/{patient.id}/invitations/")
    first = text_of(client.get(page))
    assert re.search(r'value="http[^"]+/invite/[^"]+"', first)
    again = text_of(client.get(page))
    assert "/invite/" not in again
    assert "emailed to parent@example.org" in again
    other = signed_in(app, make_user("clinician"))
    assert other.get(page).status_code == 404  # not on their caseload
    elsewhere = make_patient(clinician, name="Someone Else")
    invitation_id = page.rsplit("/", 1)[1]
    wrong = f"/clinic/patients/{elsewhere.id}/invitations/{invitation_id}"
    assert client.get(wrong).status_code == 404  # not this patient's invitation


def test_the_patient_login_form_offers_the_email_from_the_roster(app, client, patient):
    page = f"/clinic/patients/{patient.id}"

    def login_field() -> str:
        return re.search(r'<input[^>]*name="login-email"[^>]*>', text_of(client.get(page))).group(0)

    assert "@" not in login_field()  # no email on record: the field is empty
    with app.app_context():
        db.session.get(Patient, patient.id).email = "sam.example@example.org"
        db.session.commit()
    assert 'value="sam.example@example.org"' in login_field()


def test_a_new_patient_login_invitation_replaces_the_last(app, client, clinician, patient):
    paths = []
    for _ in range(2):
        response = post_form(
            client,
            f"/clinic/patients/{patient.id}/patient-login",
            {"login-email": "sam@example.org"},
            form_page=f"/clinic/patients/{patient.id}",
        )
        shown = text_of(client.get(response.headers["Location"]))
        url = re.search(r'value="(http[^"]+/invite/[^"]+)"', shown).group(1)
        paths.append("/invite/" + url.split("/invite/", 1)[1])
    old, new = paths
    assert app.test_client().get(old).status_code == 410
    assert app.test_client().get(new).status_code == 200
