"""Break-glass (HIPAA 164.312(a)(2)(ii)), denied-access auditing, the 42 CFR 2.32 notice,
and what the session cookie may carry."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from lms import clock, notices
from lms.extensions import db
from lms.models import AuditEvent, EmergencyAccess
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

REASON = "Her clinician is on leave and the family called about an urgent relapse concern."


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def audit_rows(app, action):
    with app.app_context():
        return db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()


def test_admin_opens_a_patient_only_with_a_reason_for_a_limited_time(app):
    app.config["SESSION_IDLE_MINUTES"] = 120  # so that only the grant's own limit counts
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Riley Breakglass")
    admin = make_user("admin", name="Alex Admin")
    client = signed_in(app, admin)
    assert client.get(f"/clinic/patients/{patient.id}").status_code == 404
    assert audit_rows(app, "patient.denied")[-1].patient_id == patient.id

    short = post_form(
        client, f"/admin/emergency/{patient.id}", {"reason": "need it", "minutes": "60"}
    )
    assert short.status_code == 200 and "20 to 400 characters" in text_of(short)
    with app.app_context():
        assert db.session.scalars(select(EmergencyAccess)).all() == []

    opened = post_form(
        client, f"/admin/emergency/{patient.id}", {"reason": REASON, "minutes": "30"}
    )
    assert opened.headers["Location"] == f"/clinic/patients/{patient.id}"
    page = text_of(client.get(f"/clinic/patients/{patient.id}"))
    assert "Riley Breakglass" in page and "Emergency access" in page
    [grant_row] = audit_rows(app, "emergency_access.opened")
    assert REASON in grant_row.detail and grant_row.actor_id == admin.id
    view = audit_rows(app, "patient.view")[-1]
    assert view.detail.endswith(f"emergency access {grant_row.subject_id}")

    overview = text_of(client.get("/admin/"))
    assert REASON in overview and "Alex Admin" in overview

    clock.advance(timedelta(minutes=31))
    assert client.get(f"/clinic/patients/{patient.id}").status_code == 404
    assert "Riley Breakglass" not in text_of(client.get("/clinic/?status=all"))


def test_emergency_access_can_be_ended_early_and_only_by_its_holder(app):
    clinician = make_user("clinician")
    patient = make_patient(clinician)
    admin, other_admin = make_user("admin"), make_user("admin")
    client = signed_in(app, admin)
    post_form(client, f"/admin/emergency/{patient.id}", {"reason": REASON, "minutes": "60"})
    with app.app_context():
        grant_id = db.session.scalars(select(EmergencyAccess.id)).one()
    other = signed_in(app, other_admin)
    assert other.get(f"/clinic/patients/{patient.id}").status_code == 404
    refused = post_form(other, f"/admin/emergency/{grant_id}/end", {}, form_page="/admin/")
    assert refused.status_code == 404
    ended = post_form(client, f"/admin/emergency/{grant_id}/end", {}, form_page="/admin/")
    assert ended.status_code == 302
    assert client.get(f"/clinic/patients/{patient.id}").status_code == 404
    assert len(audit_rows(app, "emergency_access.ended")) == 1


def test_clinician_probing_other_patients_is_audited_as_denied(app):
    mine, theirs = make_user("clinician"), make_user("clinician")
    other_patient = make_patient(theirs)
    client = signed_in(app, mine)
    for path in (
        f"/clinic/patients/{other_patient.id}",
        f"/clinic/patients/{other_patient.id}/assign",
        f"/clinic/patients/{other_patient.id}/report",
    ):
        assert client.get(path).status_code == 404
    denied = audit_rows(app, "patient.denied")
    assert len(denied) == 3
    assert {(r.actor_id, r.patient_id, r.outcome) for r in denied} == {
        (mine.id, other_patient.id, "denied")
    }


def test_family_page_carries_the_redisclosure_notice_and_the_scope_of_consent(app):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Sam Notice")
    member = make_user("family")
    make_family(patient, member)
    make_assignment(patient, member)
    page = text_of(signed_in(app, member).get("/learn/"))
    assert "Sam Notice" in page
    assert notices.STATEMENT_2 in page
    assert "This record which has been disclosed to you" in page
    assert "Why you can see this" in page and "agreed in writing" in page


def test_family_page_without_consent_has_no_patient_and_no_notice(app):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Sam Hidden")
    member = make_user("family")
    make_family(patient, member, consent="withdrawn")
    make_assignment(patient, member)
    page = text_of(signed_in(app, member).get("/learn/"))
    assert "Sam Hidden" not in page and "Why you can see this" not in page


def test_reports_consent_print_and_csv_carry_statement_1(app):
    clinician = make_user("clinician")
    patient = make_patient(clinician)
    member = make_user("family")
    _link, consent_id = make_family(patient, member)
    make_assignment(patient, member)
    client = signed_in(app, clinician)
    for path in (
        f"/clinic/patients/{patient.id}/report",
        "/clinic/reports",
        f"/clinic/patients/{patient.id}/consents/{consent_id}/print",
    ):
        assert notices.STATEMENT_1 in text_of(client.get(path)).replace("&#39;", "'"), path
    for path in (f"/clinic/patients/{patient.id}/report.csv", "/clinic/reports/caseload.csv"):
        first = next(csv.reader(io.StringIO(text_of(client.get(path)))))
        assert first == ["Notice (42 CFR 2.32): " + notices.STATEMENT_1]


def test_no_patient_or_family_name_reaches_the_session_cookie(app):
    """Control 14: flashed messages travel in the signed (readable) cookie; after the flows
    that name people, the decoded cookie holds ids and tokens only."""
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    clinician = make_user("clinician")
    patient_user = make_user("patient", name="Quinn Patient")
    patient = make_patient(clinician, name="Quinn Patient", user=patient_user)
    member = make_user("family", name="Morgan Relative")
    link, _consent = make_family(patient, member)
    admin = make_user("admin")

    def cookie_text(client) -> str:
        raw = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
        return str(serializer.loads(raw))

    patient_client = signed_in(app, patient_user)
    post_form(
        patient_client, f"/learn/family/{link}/withdraw-consent", {}, form_page="/learn/family"
    )
    admin_client = signed_in(app, admin)
    other = make_user("clinician")
    post_form(
        admin_client,
        f"/admin/caseloads/{patient.id}/add",
        {f"p{patient.id}-clinician_id": str(other.id)},
        form_page="/admin/caseloads",
    )
    for client in (patient_client, admin_client):
        text = cookie_text(client)
        assert "_flashes" in text  # a message is waiting to be shown...
        for name in ("Quinn", "Morgan", "Relative", member.email, patient_user.email):
            assert name not in text  # ...and names nobody
    token = csrf_token(admin_client, "/admin/")
    assert token
