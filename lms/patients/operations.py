"""Enrolment: enrol a patient, link family members, discharge (and what discharge ends)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from lms import audit, submissions
from lms.consent import operations as consent_ops
from lms.extensions import db
from lms.models import (
    CareTeamMember,
    FamilyLink,
    LinkState,
    Patient,
    PatientStatus,
    User,
    normalize_email,
)


def enroll_patient(
    clinician: User,
    *,
    display_name: str,
    record_number: str | None,
    enrolled_on: date,
    submit_token: str | None = None,
) -> Patient:
    """Enroll onto this clinician's caseload. The same form sent twice (a double click)
    enrolls once: both get the first one's patient (``lms.submissions``)."""
    once = submissions.claim(clinician, submit_token, "patient.enroll")
    if once.earlier and (earlier := db.session.get(Patient, once.result or 0)) is not None:
        return earlier
    patient = Patient(
        display_name=display_name.strip(),
        record_number=(record_number or "").strip() or None,
        enrolled_on=enrolled_on,
        status=PatientStatus.ACTIVE,
        created_by_id=clinician.id,
    )
    patient.care_team.append(CareTeamMember(clinician_id=clinician.id))
    db.session.add(patient)
    db.session.flush()
    audit.record("patient.enrolled", actor=clinician, subject=patient, patient_id=patient.id)
    submissions.finish(once, patient.id)
    return patient


def add_family_member(
    clinician: User,
    patient: Patient,
    *,
    display_name: str,
    email: str,
    relationship: str,
    submit_token: str | None = None,
) -> FamilyLink:
    """Link a family member by email (the caller commits). The same person twice, or the
    same form sent twice at once, is one link."""
    once = submissions.claim(clinician, submit_token, "family.add")
    if once.earlier and (earlier := db.session.get(FamilyLink, once.result or 0)) is not None:
        return earlier
    lock_patient(patient)
    email = normalize_email(email)
    for link in patient.family_links:
        if link.email == email and link.state != LinkState.REMOVED:
            submissions.finish(once, link.id)
            return link  # the same person again: one link
    link = FamilyLink(
        patient_id=patient.id,
        display_name=display_name.strip(),
        email=email,
        relationship_kind=relationship,
        state=LinkState.INVITED,
    )
    db.session.add(link)
    db.session.flush()
    audit.record(
        "family.added",
        actor=clinician,
        subject=link,
        patient_id=patient.id,
        detail=f"relationship={relationship}",
    )
    submissions.finish(once, link.id)
    return link


def lock_patient(patient: Patient) -> None:
    """Serialize changes to one patient's family and assignments: on PostgreSQL the row is
    locked until commit; SQLite has one writer at a time anyway."""
    db.session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())


def discharge(clinician: User, patient: Patient, on: date) -> bool:
    """Family access to anything about the patient ends; consents that last "until the
    program ends" end with it (``consent.operations.end_at_discharge``); every assignment not
    done is suspended and nobody is reminded (``assignments.status``); every record is kept.
    Returns False if the patient was already discharged: a double click discharges and
    audits once."""
    discharged = db.session.execute(
        update(Patient)
        .where(Patient.id == patient.id, Patient.status == PatientStatus.ACTIVE)
        .values(status=PatientStatus.DISCHARGED, discharged_on=on)
    )
    if discharged.rowcount != 1:
        return False  # already done (a double click): nothing to write
    audit.record("patient.discharged", actor=clinician, subject=patient, patient_id=patient.id)
    consent_ops.end_at_discharge(clinician, patient.id)
    return True
