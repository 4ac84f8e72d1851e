"""The one place that answers "may this user see or change that?".

Views reach another person's data only through these functions. Anything out of reach is a
404 — never a 403 — so nobody learns that a record exists.

- Admins: every patient.
- Clinicians: patients on their care team.
- Family members: their own learning; a patient's name and assignments only while a consent
  naming them is active (not withdrawn, not expired) and the patient is not discharged.
- Patients: themselves.
"""

from __future__ import annotations

from datetime import date

from flask import abort
from sqlalchemy import Select, and_, exists, or_, select

from lms import clock
from lms.extensions import db
from lms.models import (
    Assignment,
    CareTeamMember,
    Consent,
    FamilyLink,
    LinkState,
    Patient,
    PatientStatus,
    Role,
    User,
)


def parse_id(value: object) -> int:
    """Ids from URLs and forms: anything that is not a sane positive integer is a 404."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        abort(404)
    if number <= 0 or number > 2**31 - 1:
        abort(404)
    return number


# --- staff -------------------------------------------------------------------------------


def caseload(user: User) -> Select:
    """Patients this staff member may see, as a select the caller can filter and paginate."""
    query = select(Patient)
    if user.role == Role.ADMIN:
        return query
    if user.role != Role.CLINICIAN:
        return query.where(False)  # noqa: FBT003 -- nobody else has a caseload
    return query.where(
        exists().where(
            CareTeamMember.patient_id == Patient.id, CareTeamMember.clinician_id == user.id
        )
    )


def patient_for(user: User, patient_id: object) -> Patient:
    """The patient, if on this staff member's caseload (admins: any); otherwise 404."""
    pid = parse_id(patient_id)
    patient = db.session.scalars(caseload(user).where(Patient.id == pid)).first()
    if patient is None:
        abort(404)
    return patient


# --- consent -----------------------------------------------------------------------------


def active_consent_clause(today: date):  # noqa: ANN201 -- a SQL expression
    return and_(
        Consent.revoked_at.is_(None),
        or_(Consent.expires_on.is_(None), Consent.expires_on >= today),
    )


# --- assignments -------------------------------------------------------------------------


def visible_assignments(user: User, today: date | None = None) -> Select:
    """The learner's own open assignments that they may see now.

    A family member's assignments for a patient disappear (suspended, not deleted) the moment
    consent is withdrawn or expires, or the patient is discharged.
    """
    today = today or clock.today()
    query = (
        select(Assignment)
        .join(Patient, Patient.id == Assignment.patient_id)
        .where(Assignment.learner_id == user.id, Assignment.cancelled_at.is_(None))
    )
    if user.role == Role.FAMILY:
        query = query.where(
            Patient.status == PatientStatus.ACTIVE,
            exists().where(
                FamilyLink.patient_id == Assignment.patient_id,
                FamilyLink.user_id == user.id,
                FamilyLink.state == LinkState.ACTIVE,
                Consent.family_link_id == FamilyLink.id,
                active_consent_clause(today),
            ),
        )
    elif user.role == Role.PATIENT:
        query = query.where(Patient.user_id == user.id)
    else:
        query = query.where(False)  # noqa: FBT003 -- staff are not learners of assignments
    return query


def own_patient(user: User) -> Patient | None:
    """A patient's own enrollment record."""
    if user.role != Role.PATIENT:
        return None
    return db.session.scalars(select(Patient).where(Patient.user_id == user.id)).first()
