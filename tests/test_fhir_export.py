"""The FHIR export: every resource is built and read back by ``fhir.resources`` (R4B), the
demo caseload's bundle holds what the health record needs, a consent's status follows the one
consent rule, an assignment's the one status rule, references resolve inside the bundle, and
the download is the caseload's only, audited, with a file name that names nobody.

SQLite and, with ``TEST_DATABASE_URL``, PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import event, select

from lms import clock, demo
from lms.assignments.status import AssignmentStatus
from lms.consent import operations as consent_ops
from lms.extensions import db
from lms.interop import fhir
from lms.models import (
    Assignment,
    AuditEvent,
    Consent,
    FamilyLink,
    ModuleProgress,
    Patient,
    Relationship,
    User,
    WellbeingCheck,
)
from lms.wellbeing import who5
from tests.helpers import (
    login,
    make_assignment,
    make_family,
    make_patient,
    make_user,
    text_of,
)

DEMO_PASSWORD = "demo orchard lantern 2026"


# --- helpers -----------------------------------------------------------------------------


def round_trip(bundle: Bundle) -> Bundle:
    """Serialise with the library, parse it back, and check every resource on its own too:
    each entry's resource, read by the model class its ``resourceType`` names, equals the one
    built."""
    text = fhir.to_json(bundle)
    parsed = Bundle.model_validate_json(text)
    assert parsed == bundle
    assert parsed.model_dump_json() == text
    for built, entry in zip(bundle.entry or [], parsed.entry or [], strict=True):
        kind = built.resource.get_resource_type()
        model = get_fhir_model_class(kind)
        again = model.model_validate(json.loads(entry.resource.model_dump_json()))
        assert type(again) is type(built.resource) and again == built.resource, kind
    return parsed


def resources(bundle: Bundle, kind: str) -> list:
    return [e.resource for e in bundle.entry or [] if e.resource.get_resource_type() == kind]


def references(value) -> list[str]:
    """Every ``reference`` in a resource's JSON, at any depth."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                found.append(item)
            else:
                found.extend(references(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(references(item))
    return found


def assert_references_resolve(bundle: Bundle) -> None:
    """Relative references resolve against each entry's fullUrl base to another entry."""
    full_urls = [entry.fullUrl for entry in bundle.entry]
    assert len(full_urls) == len(set(full_urls)), "each resource once"
    present = {f"{e.resource.get_resource_type()}/{e.resource.id}" for e in bundle.entry}
    for entry in bundle.entry:
        assert entry.fullUrl.endswith(
            f"/fhir/{entry.resource.get_resource_type()}/{entry.resource.id}"
        )
        for reference in references(json.loads(entry.resource.model_dump_json())):
            assert reference in present, f"{entry.fullUrl} points at missing {reference}"


def consent_status(patient_id: int) -> list[str]:
    patient = db.session.get(Patient, patient_id)
    return [c.status for c in resources(fhir.patient_bundle(patient), "Consent")]


def checkin(user_id: int, items, *, lang: str = "en", skipped: bool = False, days_ago: int = 0):
    row = WellbeingCheck(
        user_id=user_id,
        occasion="start",
        lang=lang,
        submit_token=f"t-{user_id}-{days_ago}-{skipped}-{lang}",
        taken_at=clock.utcnow() - timedelta(days=days_ago),
    )
    if skipped:
        row.skipped_at = clock.utcnow()
    else:
        row.item1, row.item2, row.item3, row.item4, row.item5 = items
    db.session.add(row)
    db.session.flush()
    return row


def export_rows(detail_like: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == "fhir.export")
    if detail_like:
        query = query.where(AuditEvent.detail.like(detail_like))
    return list(db.session.scalars(query))


# --- vocabularies ------------------------------------------------------------------------


def test_every_relationship_consent_state_and_status_has_a_code():
    assert set(fhir.RELATIONSHIP_CODES) == set(Relationship)
    assert set(fhir.CONSENT_STATUS) == {
        "active",
        "withdrawn",
        "replaced",
        "ended",
        "expired",
        "entered_in_error",
    }
    assert set(fhir.CONSENT_STATUS.values()) <= {"active", "inactive", "entered-in-error"}
    # Overdue alone depends on whether the learner started; every other status has one.
    assert set(fhir.TASK_STATUS) | {AssignmentStatus.OVERDUE} == set(AssignmentStatus)


# --- the demo caseload -------------------------------------------------------------------


def test_demo_caseload_bundle_round_trips_and_holds_the_record(ctx):
    users = demo.build(DEMO_PASSWORD)
    db.session.commit()
    clinician = users["clinician@example.org"]
    family = users["family@example.org"]
    # One more check-in of the demo family member, in Spanish, and one offer skipped.
    checkin(family.id, (1, 1, 2, 1, 1), lang="es", days_ago=1)
    checkin(family.id, (), skipped=True, days_ago=14)
    db.session.commit()

    bundle = fhir.caseload_bundle(clinician)
    parsed = round_trip(bundle)
    assert parsed.type == "collection"
    assert {
        "Organization",
        "Patient",
        "RelatedPerson",
        "Consent",
        "Task",
        "Practitioner",
        "Questionnaire",
        "QuestionnaireResponse",
    } <= fhir.resource_types(bundle)
    assert_references_resolve(bundle)
    security = {(c.system, c.code) for c in bundle.meta.security}
    assert (fhir.V3_ACT, "42CFRPart2") in security and (fhir.V3_ACT, "NORDSCLCD") in security

    # The clinician's three patients, not clinician2's.
    records = {
        p.identifier[0].value
        for p in resources(bundle, "Patient")
        if p.identifier[0].use == "usual"
    }
    assert records == {"DEMO-1", "DEMO-2", "DEMO-3"}
    assert "Alex Rivera" not in fhir.to_json(bundle)

    # Jamie Chen's withdrawn consent is inactive; Sam's and Riley's are active.
    by_patient = {c.patient.reference: c.status for c in resources(bundle, "Consent")}
    jamie = db.session.scalars(select(Patient).where(Patient.record_number == "DEMO-3")).one()
    assert by_patient[f"Patient/patient-{jamie.id}"] == "inactive"
    assert sorted(by_patient.values()) == ["active", "active", "inactive"]

    # One response per check-in taken (the skipped offer is not exported), oldest first.
    taken = db.session.scalars(
        select(WellbeingCheck)
        .where(WellbeingCheck.user_id == family.id, WellbeingCheck.skipped_at.is_(None))
        .order_by(WellbeingCheck.taken_at)
    ).all()
    responses = sorted(resources(bundle, "QuestionnaireResponse"), key=lambda r: r.authored)
    assert [r.identifier.value for r in responses] == [str(c.id) for c in taken]
    assert [r.item[-1].answer[0].valueInteger for r in responses] == [c.score for c in taken]
    assert responses[-1].language == "es" and responses[-1].item[-1].answer[0].valueInteger == 24
    assert responses[-1].item[0].text == who5.item_texts("es")[0]
    (questionnaire,) = resources(bundle, "Questionnaire")
    assert {r.questionnaire for r in responses} == {questionnaire.url}


def test_a_patient_with_no_family_and_no_consent_exports(ctx):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Solo Patient")
    bundle = round_trip(fhir.patient_bundle(patient))
    assert fhir.resource_types(bundle) == {"Organization", "Patient"}
    (resource,) = resources(bundle, "Patient")
    assert resource.name[0].text == "Solo Patient" and resource.active is True
    assert_references_resolve(bundle)


def test_voided_patients_are_never_exported(ctx):
    clinician = make_user("clinician")
    kept = make_patient(clinician, name="Kept Patient")
    voided = make_patient(clinician, name="Voided Duplicate", status="voided")
    discharged = make_patient(clinician, name="Gone Home", status="discharged")
    bundle = round_trip(fhir.caseload_bundle(clinician))
    ids = {p.id for p in resources(bundle, "Patient")}
    assert ids == {f"patient-{kept.id}", f"patient-{discharged.id}"}
    assert "Voided Duplicate" not in fhir.to_json(bundle)
    assert [p.active for p in resources(bundle, "Patient")] == [True, False]
    assert resources(fhir.patient_bundle(voided), "Patient") == []


# --- consents ----------------------------------------------------------------------------


def test_consent_status_follows_withdrawal_and_entered_in_error(ctx):
    clinician = make_user("clinician")
    family = make_user("family")
    patient = make_patient(clinician)
    link_id, _consent_id = make_family(patient, family)
    assert consent_status(patient.id) == ["active"]

    link = db.session.get(FamilyLink, link_id)
    assert consent_ops.withdraw_consent(clinician, link) == 1
    db.session.commit()
    assert consent_status(patient.id) == ["inactive"]

    again = Consent(
        patient_id=patient.id,
        family_link_id=link_id,
        program_name="Test program",
        recipient_name=family.display_name,
        signature_method="paper",
        signed_on=clock.today(),
    )
    db.session.add(again)
    db.session.commit()
    assert consent_status(patient.id) == ["inactive", "active"]
    assert consent_ops.mark_entered_in_error(clinician, again, "Signed for the wrong person")
    db.session.commit()
    assert consent_status(patient.id) == ["inactive", "entered-in-error"]


@pytest.mark.parametrize("state", ["expired", "withdrawn"])
def test_an_expired_or_withdrawn_consent_is_inactive(ctx, state):
    clinician = make_user("clinician")
    patient = make_patient(clinician)
    make_family(patient, make_user("family"), consent=state)
    assert consent_status(patient.id) == ["inactive"]


def test_consent_maps_the_part_2_elements(ctx):
    clinician = make_user("clinician")
    family = make_user("family", name="Robin Example")
    patient = make_patient(clinician, name="Minor Patient")
    link_id, consent_id = make_family(patient, family, relationship="parent_of_minor")
    consent = db.session.get(Consent, consent_id)
    consent.signed_by = "representative"
    consent.representative_name = "Lee Guardian"
    consent.representative_capacity = "legal guardian"
    consent.purpose = "So my mother can <help> at home"
    db.session.commit()

    bundle = round_trip(fhir.patient_bundle(db.session.get(Patient, patient.id)))
    (resource,) = resources(bundle, "Consent")
    assert resource.scope.coding[0].code == "patient-privacy"
    assert (resource.category[0].coding[0].system, resource.category[0].coding[0].code) == (
        "http://loinc.org",
        "59284-0",
    )
    assert resource.patient.reference == f"Patient/patient-{patient.id}"
    assert resource.dateTime == consent.signed_on
    assert resource.performer[0].display == "Lee Guardian (legal guardian)"
    assert resource.organization[0].reference == "Organization/program"
    assert resource.policyRule.coding[0].code == "42CFRPart2"
    assert resource.policy[0].uri.endswith("section-2.31")
    provision = resource.provision
    assert provision.type == "permit"
    assert provision.period.start == consent.signed_on
    assert provision.period.end == consent.expires_on
    (actor,) = provision.actor
    assert actor.role.coding[0].code == "IRCP"
    assert actor.reference.reference == f"RelatedPerson/relatedperson-{link_id}"
    assert provision.purpose[0].code == "TREAT"
    assert provision.code[0].text == consent.disclosure
    # The patient's own words in the narrative, escaped.
    assert "So my mother can &lt;help&gt; at home" in resource.text.div
    (person,) = resources(bundle, "RelatedPerson")
    assert person.relationship[0].coding[0].code == "PRN"
    assert person.telecom[0].value == family.email


# --- assignments -------------------------------------------------------------------------


def test_tasks_follow_the_one_status_rule(ctx):
    clinician = make_user("clinician", name="Dr Assigning")
    family = make_user("family")
    patient_user = make_user("patient")
    patient = make_patient(clinician, user=patient_user)
    link_id, _ = make_family(patient, family)
    waiting = make_assignment(patient, family, "first-steps", due_in_days=7, by=clinician)
    late = make_assignment(patient, family, "no-check", due_in_days=-2, by=clinician)
    own = make_assignment(patient, patient_user, "first-steps", due_in_days=None)
    cancelled = make_assignment(patient, patient_user, "no-check", due_in_days=3, by=clinician)
    db.session.get(Assignment, cancelled).cancelled_at = clock.utcnow()
    started = clock.utcnow() - timedelta(days=3)
    db.session.add_all(
        [
            ModuleProgress(user_id=family.id, module_slug="no-check", started_at=started),
            ModuleProgress(
                user_id=patient_user.id,
                module_slug="first-steps",
                started_at=started,
                completed_at=clock.utcnow(),
                completed_version="v-test",
            ),
        ]
    )
    db.session.commit()

    bundle = round_trip(fhir.patient_bundle(db.session.get(Patient, patient.id)))
    tasks = {t.id: t for t in resources(bundle, "Task")}
    assert tasks[f"task-{waiting}"].status == "requested"
    assert tasks[f"task-{waiting}"].businessStatus.coding[0].code == "not_started"
    assert tasks[f"task-{waiting}"].restriction.period.end == clock.today() + timedelta(days=7)
    assert tasks[f"task-{waiting}"].owner.reference == f"RelatedPerson/relatedperson-{link_id}"
    assert tasks[f"task-{waiting}"].for_fhir.reference == f"Patient/patient-{patient.id}"
    assert tasks[f"task-{waiting}"].instantiatesUri.endswith("/learn/modules/first-steps")
    assert tasks[f"task-{waiting}"].intent == "order"

    assert tasks[f"task-{late}"].status == "in-progress"  # started, and past its due date
    assert tasks[f"task-{late}"].businessStatus.coding[0].code == "overdue"
    assert tasks[f"task-{late}"].executionPeriod.start == started
    assert tasks[f"task-{late}"].executionPeriod.end is None

    done = tasks[f"task-{own}"]
    assert done.status == "completed" and done.owner.reference == f"Patient/patient-{patient.id}"
    assert done.executionPeriod.end is not None
    assert done.output[0].valueCanonical.endswith("/learn/modules/first-steps|v-test")
    assert done.requester is None and done.restriction is None

    assert tasks[f"task-{cancelled}"].status == "cancelled"
    (practitioner,) = resources(bundle, "Practitioner")
    assert practitioner.name[0].text == "Dr Assigning"
    assert tasks[f"task-{waiting}"].requester.reference == f"Practitioner/{practitioner.id}"
    assert_references_resolve(bundle)

    # Withdrawal suspends the family member's open readings: on hold.
    consent_ops.withdraw_consent(clinician, db.session.get(FamilyLink, link_id))
    db.session.commit()
    bundle = fhir.patient_bundle(db.session.get(Patient, patient.id))
    tasks = {t.id: t for t in resources(bundle, "Task")}
    assert tasks[f"task-{waiting}"].status == "on-hold"
    assert tasks[f"task-{waiting}"].businessStatus.coding[0].code == "suspended_no_consent"


# --- wellbeing ---------------------------------------------------------------------------


def test_questionnaire_response_per_taken_checkin(ctx):
    clinician = make_user("clinician")
    family = make_user("family")
    patient = make_patient(clinician)
    link_id, _ = make_family(patient, family)
    taken = checkin(family.id, (5, 4, 3, 2, 1))
    checkin(family.id, (), skipped=True, days_ago=3)
    db.session.commit()

    bundle = round_trip(fhir.patient_bundle(db.session.get(Patient, patient.id)))
    (response,) = resources(bundle, "QuestionnaireResponse")
    assert response.status == "completed"
    assert response.subject.reference == f"RelatedPerson/relatedperson-{link_id}"
    assert response.source.reference == response.subject.reference
    assert response.authored == taken.taken_at
    assert [i.linkId for i in response.item] == [*who5.LINK_IDS, "score"]
    assert [i.answer[0].valueCoding.code for i in response.item[:5]] == ["5", "4", "3", "2", "1"]
    assert response.item[0].answer[0].valueCoding.display == "All of the time"
    assert response.item[-1].answer[0].valueInteger == who5.score((5, 4, 3, 2, 1)) == 60
    (questionnaire,) = resources(bundle, "Questionnaire")
    assert [i.linkId for i in questionnaire.item] == [*who5.LINK_IDS, "score"]
    assert questionnaire.url == response.questionnaire
    assert questionnaire.copyright == who5.CITATION


# --- a fixed number of queries -----------------------------------------------------------


def _statements(app, work) -> int:
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return len(seen)


def test_the_caseload_bundle_reads_a_fixed_number_of_queries(app, ctx):
    clinician = make_user("clinician")

    def family_of_one():
        member = make_user("family")
        patient = make_patient(clinician)
        make_family(patient, member)
        make_assignment(patient, member, by=clinician)
        checkin(member.id, (2, 2, 2, 2, 2))
        db.session.commit()

    def export():
        db.session.expire_all()
        me = db.session.get(User, clinician.id)
        fhir.caseload_bundle(me)

    family_of_one()
    small = _statements(app, export)
    for _ in range(3):
        family_of_one()
    assert _statements(app, export) == small


# --- the downloads -----------------------------------------------------------------------


FILENAME = re.compile(r'^attachment; filename="(patient-\d+-fhir|caseload-fhir-[\d-]+)\.json"$')


def test_patient_download_is_audited_and_names_nobody(app, client):
    clinician = make_user("clinician")
    family = make_user("family")
    patient = make_patient(clinician, name="Quinn Private")
    with app.app_context():
        row = db.session.get(Patient, patient.id)
        row.record_number = "MRN-4471"
        db.session.commit()
    make_family(patient, family)
    login(client, clinician.email)
    response = client.get(f"/clinic/patients/{patient.id}/fhir")
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    disposition = response.headers["Content-Disposition"]
    assert FILENAME.match(disposition) and disposition.endswith(f'"patient-{patient.id}-fhir.json"')
    assert "Quinn" not in disposition and "MRN" not in disposition
    assert "no-store" in response.headers["Cache-Control"]
    bundle = Bundle.model_validate_json(response.get_data())
    (resource,) = resources(bundle, "Patient")
    assert resource.identifier[0].value == "MRN-4471"
    with app.app_context():
        (audit_row,) = export_rows()
        assert audit_row.patient_id == patient.id and audit_row.detail == "patient bundle"
        assert audit_row.actor_id == clinician.id


def test_another_clinicians_patient_is_404_and_recorded(app, client):
    mine = make_user("clinician")
    theirs = make_user("clinician")
    patient = make_patient(theirs)
    login(client, mine.email)
    assert client.get(f"/clinic/patients/{patient.id}/fhir").status_code == 404
    with app.app_context():
        assert export_rows() == []
        denied = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "patient.denied")
        ).all()
        assert [d.patient_id for d in denied] == [patient.id]


def test_caseload_download_counts_its_patients(app, client):
    clinician = make_user("clinician")
    other = make_user("clinician")
    mine = [make_patient(clinician, name=f"Mine {n}") for n in range(2)]
    make_patient(other, name="Not Mine")
    login(client, clinician.email)
    response = client.get("/clinic/fhir")
    assert response.status_code == 200
    assert FILENAME.match(response.headers["Content-Disposition"])
    bundle = Bundle.model_validate_json(response.get_data())
    assert {p.id for p in resources(bundle, "Patient")} == {f"patient-{p.id}" for p in mine}
    assert "Not Mine" not in text_of(response)
    with app.app_context():
        assert [r.detail for r in export_rows()] == ["caseload bundle, 2 patients"]


def test_families_cannot_download_and_a_stale_sign_in_is_asked_again(app, client):
    clinician = make_user("clinician")
    family = make_user("family")
    patient = make_patient(clinician)
    make_family(patient, family)
    login(client, family.email)
    assert client.get("/clinic/fhir").status_code == 404
    assert client.get(f"/clinic/patients/{patient.id}/fhir").status_code == 404

    staff = app.test_client()
    login(staff, clinician.email)
    clock.advance(timedelta(minutes=11))
    response = staff.get(f"/clinic/patients/{patient.id}/fhir")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/confirm")
    with app.app_context():
        assert export_rows() == []


def test_patient_page_and_report_link_to_the_export(app, client):
    clinician = make_user("clinician")
    patient = make_patient(clinician)
    login(client, clinician.email)
    page = text_of(client.get(f"/clinic/patients/{patient.id}"))
    assert f'href="/clinic/patients/{patient.id}/fhir"' in page
    assert "Download for the health record (FHIR)" in page
    assert 'href="/clinic/fhir"' in text_of(client.get("/clinic/reports"))
