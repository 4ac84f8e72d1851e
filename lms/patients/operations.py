"""Enrolment: enrol a patient, link family members, discharge (and what discharge ends),
re-admission."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update

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
from lms.problems import DuplicateRecordNumber


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
    record_number = (record_number or "").strip() or None
    if record_number is not None:
        _refuse_duplicate_record(clinician, record_number)
    patient = Patient(
        display_name=display_name.strip(),
        record_number=record_number,
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


def _refuse_duplicate_record(clinician: User, record_number: str) -> None:
    """Record numbers are unique in the program (compared without case or spaces)."""
    from flask_babel import lazy_gettext as _l

    from lms import access

    key = "".join(record_number.split()).lower()
    normalized = func.lower(func.replace(Patient.record_number, " ", ""))
    candidates = db.session.scalars(
        select(Patient).where(normalized == key).order_by(Patient.id)
    ).all()
    if not candidates:
        return
    existing = candidates[0]
    visible = db.session.scalars(
        access.caseload(clinician).where(Patient.id == existing.id)
    ).first()
    if visible is not None:
        raise DuplicateRecordNumber(
            _l(
                "Record number %(n)s is already used for %(name)s, on your caseload. Open their "
                "page instead of enrolling them again.",
                n=record_number,
                name=existing.display_name,
            ),
            existing.id,
        )
    raise DuplicateRecordNumber(
        _l(
            "Record number %(n)s is already used for another patient of the program. Check the "
            "number, or ask an administrator to add you to that patient's care team.",
            n=record_number,
        ),
        None,
    )


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


@dataclass(frozen=True)
class DischargeEffects:
    """What discharging this patient now would do, for the page that asks first."""

    family_losing_access: tuple[str, ...]  # names of family members who see something now
    consents_ending: int  # consents in force that last "until the program ends"
    readings_paused: int  # assignments not done, which discharge suspends


def discharge_effects(patient: Patient, today: date) -> DischargeEffects:
    from lms.assignments import queries as assignment_q
    from lms.consent import queries as consent_q

    family = consent_q.family_consents(patient, today)
    rows = assignment_q.for_patient(patient.id, today)
    return DischargeEffects(
        family_losing_access=tuple(
            row.link.display_name
            for row in family
            if row.standing.in_force and row.link.state == LinkState.ACTIVE
        ),
        consents_ending=sum(
            1 for row in family if row.may_withdraw and row.standing.until_discharge
        ),
        readings_paused=sum(1 for row in rows if row.is_open),
    )


def readmit(clinician: User, patient: Patient) -> bool:
    """Undo a discharge (a mistake, or the patient returns to the program). Readings that
    discharge paused open again. Consents that ended with the discharge stay ended: a patient
    agrees to share again by a new consent, never by an undo. Returns False if the patient
    was not discharged (a double click re-admits and audits once)."""
    readmitted = db.session.execute(
        update(Patient)
        .where(Patient.id == patient.id, Patient.status == PatientStatus.DISCHARGED)
        .values(status=PatientStatus.ACTIVE, discharged_on=None)
    )
    if readmitted.rowcount != 1:
        return False
    audit.record("patient.readmitted", actor=clinician, subject=patient, patient_id=patient.id)
    return True
