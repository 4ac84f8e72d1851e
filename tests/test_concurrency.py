"""Ten identical submits at the same moment record once, and every one gets a calm answer.

A double click, a phone resending on a bad connection, an impatient second tap: the same
rendered form arrives several times at once. Each test here signs in once, reads the form
once (one CSRF token, one one-time ``submit_token``), then ten threads behind a barrier post
the identical request through their own test clients sharing that session cookie, with real
commits. Asserted: one row where one was meant, no answer of 500 or more, the same redirect
for all ten. On SQLite writers take turns (WAL and a busy timeout are set); on PostgreSQL the
nine later ones wait on the first one's unique claim, then read its result.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms import clock
from lms.extensions import db
from lms.models import (
    Assignment,
    AuditEvent,
    EducationSession,
    FamilyLink,
    Invitation,
    Outbox,
    Patient,
    QuizAttempt,
    SectionRead,
    User,
)
from tests.forms import form_data
from tests.helpers import (
    app_context,
    login,
    make_assignment,
    make_family,
    make_invited_link,
    make_patient,
    make_user,
    text_of,
)

N = 10
COOKIE = "lms_session"
STRONG_PASSWORD = "violet harbours hum under slow copper rain"


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def at_once(app, client, url: str, data: dict, n: int = N) -> list[tuple[int, str]]:
    """Post ``data`` to ``url`` from ``n`` threads at the same moment, all with ``client``'s
    session cookie. Returns (status, Location) per thread."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    barrier = threading.Barrier(n)
    results: list[tuple[int, str] | None] = [None] * n
    errors: list[BaseException] = []

    def post(i: int) -> None:
        other = app.test_client()
        other.set_cookie(COOKIE, cookie.value)
        try:
            barrier.wait(timeout=30)
            response = other.post(url, data=data)
            results[i] = (response.status_code, response.headers.get("Location", ""))
            response.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    assert errors == []
    return [r for r in results if r is not None]


def assert_calm(results: list[tuple[int, str]]) -> str:
    """Every answer is the same redirect, none an error. Returns where they all went."""
    assert len(results) == N
    assert all(status < 500 for status, _ in results), results
    assert {status for status, _ in results} == {302}, results
    locations = {location for _, location in results}
    assert len(locations) == 1, results
    return locations.pop()


def count(model, *where) -> int:
    with app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_count(action: str) -> int:
    return count(AuditEvent, AuditEvent.action == action)


@pytest.fixture
def clinician():
    return make_user("clinician", name="Casey Clinician")


@pytest.fixture
def patient(clinician):
    return make_patient(clinician, name="Sam Example")


@pytest.fixture
def staff_client(app, clinician):
    return signed_in(app, clinician)


def two_learners(patient) -> list[User]:
    learners = [make_user("family"), make_user("family")]
    for learner in learners:
        make_family(patient, learner)
    return learners


# --- clinic ----------------------------------------------------------------------------------


def test_enrolling_a_patient(app, staff_client):
    url = "/clinic/patients/new"
    data = form_data(
        staff_client,
        url,
        url,
        display_name="Robin Once",
        record_number="R-1",
        enrolled_on=clock.today().isoformat(),
    )
    location = assert_calm(at_once(app, staff_client, url, data))
    assert count(Patient, Patient.display_name == "Robin Once") == 1
    assert audit_count("patient.enrolled") == 1
    with app_context():
        patient_id = db.session.scalars(select(Patient.id)).one()
    assert location == f"/clinic/patients/{patient_id}"


def test_adding_a_family_member(app, staff_client, patient):
    page = f"/clinic/patients/{patient.id}"
    url = f"{page}/family"
    data = form_data(
        staff_client,
        page,
        url,
        display_name="Pat Parent",
        email="pat.parent@example.org",
        relationship="parent",
    )
    assert assert_calm(at_once(app, staff_client, url, data)) == page
    assert count(FamilyLink, FamilyLink.email == "pat.parent@example.org") == 1
    assert audit_count("family.added") == 1


@pytest.mark.parametrize(
    ("what", "rows"), [("module:first-steps", 2), ("path:test-path", 4)], ids=["module", "path"]
)
def test_assigning_to_two_people(app, staff_client, patient, what, rows):
    learners = two_learners(patient)
    url = f"/clinic/patients/{patient.id}/assign"
    data = form_data(
        staff_client,
        url,
        url,
        what=what,
        learners=[str(learner.id) for learner in learners],
        due_on=(clock.today() + timedelta(days=7)).isoformat(),
        spread_days="7",
        note="",
    )
    assert assert_calm(at_once(app, staff_client, url, data)) == f"/clinic/patients/{patient.id}"
    assert count(Assignment) == rows
    assert audit_count("assignment.created") == rows


def test_inviting_a_family_member(app, staff_client, patient):
    link_id = make_invited_link(patient.id)  # with consent: nobody is invited without it
    url = f"/clinic/patients/{patient.id}/invite"
    data = form_data(staff_client, url, url, family_link=str(link_id))
    location = assert_calm(at_once(app, staff_client, url, data))
    assert count(Invitation) == 1
    assert count(Outbox) == 1  # one email, not ten
    assert audit_count("invite.sent") == 1
    # The link itself waits in the session of the browser whose submit made it; the page
    # says where it went to everyone else.
    # Without a mail server here, the page says so plainly (and offers the link to copy).
    page = text_of(staff_client.get(location))
    assert "was not emailed to chris@example.org: this site has no mail server set up" in page


def test_creating_a_patient_login(app, staff_client, patient):
    page = f"/clinic/patients/{patient.id}"
    url = f"{page}/patient-login"
    data = form_data(staff_client, page, url, **{"login-email": "sam@example.org"})
    assert_calm(at_once(app, staff_client, url, data))
    assert count(Invitation, Invitation.email == "sam@example.org") == 1
    assert count(Outbox) == 1
    assert audit_count("invite.sent") == 1


def test_logging_a_group_session(app, staff_client, patient):
    url = "/clinic/sessions/new"
    data = form_data(
        staff_client,
        url,
        url,
        held_on=clock.today().isoformat(),
        title="Tuesday group",
        facilitator="Casey",
        modules=["first-steps"],
        **{f"attendance-{patient.id}": "present"},
    )
    location = assert_calm(at_once(app, staff_client, url, data))
    assert count(EducationSession) == 1
    assert audit_count("session.logged") == 1
    assert audit_count("attendance.recorded") == 1
    with app_context():
        session_id = db.session.scalars(select(EducationSession.id)).one()
    assert location == f"/clinic/sessions/{session_id}"


def test_cancelling_an_assignment(app, staff_client, clinician, patient):
    learner = two_learners(patient)[0]
    assignment_id = make_assignment(patient, learner, by=clinician)
    page = f"/clinic/patients/{patient.id}"
    url = f"/clinic/assignments/{assignment_id}/cancel"
    data = form_data(staff_client, url, url)  # the page that asks first holds the form
    assert assert_calm(at_once(app, staff_client, url, data)) == page
    assert audit_count("assignment.cancelled") == 1
    assert count(Assignment, Assignment.cancelled_at.is_not(None)) == 1


def test_discharging(app, staff_client, patient):
    page = f"/clinic/patients/{patient.id}"
    url = f"{page}/discharge"
    data = form_data(staff_client, url, url, discharged_on=clock.today().isoformat())
    assert assert_calm(at_once(app, staff_client, url, data)) == page
    assert audit_count("patient.discharged") == 1
    assert count(Patient, Patient.status == "discharged") == 1


# --- admin -----------------------------------------------------------------------------------


def test_creating_a_staff_account(app):
    admin = signed_in(app, make_user("admin"))
    url = "/admin/staff"
    data = form_data(
        admin,
        url,
        url,
        email="new.clinician@example.org",
        display_name="New Clinician",
        role="clinician",
        password=STRONG_PASSWORD,
    )
    assert assert_calm(at_once(app, admin, url, data)) == url
    assert count(User, User.email == "new.clinician@example.org") == 1
    assert audit_count("account.created") == 1


# --- learning --------------------------------------------------------------------------------


def test_submitting_a_knowledge_check(app, patient):
    learner = two_learners(patient)[0]
    client = signed_in(app, learner)
    url = "/learn/modules/first-steps/check"
    data = form_data(
        client, url, url, **{"q-pick-one": "0", "q-pick-many": ["0", "1"], "q-true-false": "0"}
    )
    location = assert_calm(at_once(app, client, url, data))
    assert count(QuizAttempt) == 1
    with app_context():
        attempt_id = db.session.scalars(select(QuizAttempt.id)).one()
    assert location == f"/learn/modules/first-steps/attempts/{attempt_id}"


def test_marking_a_section_read(app, patient):
    learner = two_learners(patient)[0]
    client = signed_in(app, learner)
    page = "/learn/modules/first-steps?section=what-a-trigger-is"
    url = "/learn/modules/first-steps/sections/what-a-trigger-is/read"
    data = form_data(client, page, url)
    location = assert_calm(at_once(app, client, url, data))
    assert location == "/learn/modules/first-steps?section=one-skill-to-try"
    assert count(SectionRead) == 1


# --- consent ---------------------------------------------------------------------------------


def test_withdrawing_consent(app, staff_client, patient):
    """Before: ten identical withdrawals at once wrote four audit rows on PostgreSQL."""
    from lms.models import Consent

    member = make_user("family")
    link, _consent = make_family(patient, member)
    page = f"/clinic/patients/{patient.id}"
    url = f"{page}/family/{link}/withdraw-consent"
    data = form_data(staff_client, url, url)
    assert_calm(at_once(app, staff_client, url, data))
    assert audit_count("consent.revoked") == 1
    assert count(Consent, Consent.revoked_at.is_not(None)) == 1


def test_recording_a_consent(app, staff_client, patient):
    """A second copy of the same consent would replace the first; ten at once record one."""
    from lms.models import Consent

    link_id = make_invited_link(patient.id, consent=False)
    from tests.test_clinic import consent_data

    url = f"/clinic/patients/{patient.id}/consents/new"
    data = {**form_data(staff_client, url, url), **consent_data(link_id)}
    assert data["submit_token"]  # the form's one-time token, sent by all ten
    assert_calm(at_once(app, staff_client, url, data))
    assert count(Consent) == 1
    assert audit_count("consent.recorded") == 1
    assert audit_count("consent.superseded") == 0


def test_the_same_two_step_code_at_once_signs_in_once(app):
    """Ten posts of one code between password and session: one sign-in, nine refusals."""
    import pyotp

    from tests.helpers import PASSWORD, csrf_token

    member = make_user("family")
    secret = pyotp.random_base32()
    with app_context():
        user = db.session.get(User, member.id)
        user.totp_secret = secret
        user.mfa_enabled_at = clock.utcnow()
        db.session.commit()
    client = app.test_client()
    token = csrf_token(client, "/auth/login")
    step = client.post(
        "/auth/login", data={"email": member.email, "password": PASSWORD, "csrf_token": token}
    )
    assert step.headers["Location"] == "/auth/code"
    data = {"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(client, "/auth/code")}
    results = at_once(app, client, "/auth/code", data)
    assert all(status < 500 for status, _ in results), results
    assert sorted(status for status, _ in results) == [200] * (N - 1) + [302], results
    assert audit_count("login.success") == 1
