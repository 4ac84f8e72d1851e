"""The one place that answers "may this user see or change that?".

Views reach another person's data only through these functions. Anything out of reach is a
404 — never a 403 — so nobody learns that a record exists.

- Clinicians: patients on their care team (a cover for an away colleague through its last
  day, ``current_member_clause``).
- Admins: a patient only through emergency (break-glass) access they opened, with a reason,
  for a limited time (``EmergencyAccess``); program-wide figures without names otherwise.
- Family members: their own learning; a patient's name and assignments only while a consent
  naming them is active (not withdrawn, not expired) and the patient is not discharged.
- Patients: themselves.
"""

from __future__ import annotations

import re
from datetime import date

from flask import abort, g
from sqlalchemy import Select, and_, exists, or_, select

from lms import clock
from lms.consent.queries import in_force_clause
from lms.extensions import db
from lms.inputs import MAX_ID
from lms.models import (
    Assignment,
    CareTeamMember,
    Consent,
    EmergencyAccess,
    FamilyLink,
    LinkState,
    Patient,
    PatientStatus,
    Role,
    User,
)

_ID = re.compile(r"[1-9][0-9]{0,9}")


def parse_id(value: object) -> int:
    """Ids from URLs and forms, by the same rule as the ``<id:...>`` URL converter
    (``lms.inputs.IdConverter``): ASCII digits, no leading zero, 1 to 2**31-1; anything else
    (``٣``, ``+3``, ``007``, ``1.5``) is a 404."""
    text = str(value) if value is not None else ""
    if not _ID.fullmatch(text):
        abort(404)
    number = int(text)
    if number > MAX_ID:
        abort(404)
    return number


# --- staff -------------------------------------------------------------------------------


def open_emergency_clause(user_id: int, now):
    return and_(
        EmergencyAccess.user_id == user_id,
        EmergencyAccess.ended_at.is_(None),
        EmergencyAccess.expires_at > now,
    )


def current_member_clause(today: date | None = None):
    """The one rule of a care-team membership that gives access now: permanent (no
    ``ends_on``), or covering for a colleague through ``ends_on`` inclusive. An ended cover
    stays as a row (what it was is kept) but gives nothing."""
    today = today or clock.today()
    return or_(CareTeamMember.ends_on.is_(None), CareTeamMember.ends_on >= today)


def is_current_member(member: CareTeamMember, today: date | None = None) -> bool:
    """``current_member_clause`` for a loaded row."""
    return member.ends_on is None or member.ends_on >= (today or clock.today())


def caseload(user: User) -> Select:
    """Patients this staff member may see, as a select the caller can filter and paginate."""
    query = select(Patient)
    if user.role == Role.ADMIN:
        return query.where(
            exists().where(
                EmergencyAccess.patient_id == Patient.id,
                open_emergency_clause(user.id, clock.utcnow()),
            )
        )
    if user.role != Role.CLINICIAN:
        return query.where(False)
    return query.where(
        exists().where(
            CareTeamMember.patient_id == Patient.id,
            CareTeamMember.clinician_id == user.id,
            current_member_clause(),
        )
    )


def patient_for(user: User, patient_id: object, *, audit: str | None = None) -> Patient:
    """The patient, if on this staff member's caseload; otherwise 404 (and a denied audit row,
    so probing other patients' ids shows in the log). ``audit`` names the view row to write
    when access is given (``"patient.view"``): deciding access and recording it happen in one
    call, so a page cannot show the patient and forget the row. Under emergency access the
    grant is kept in ``g.emergency_access`` for the page's banner and the audit rows."""
    from lms import audit as audit_log

    pid = parse_id(patient_id)
    patient = db.session.scalars(caseload(user).where(Patient.id == pid)).first()
    if patient is None:
        audit_log.record("patient.denied", actor=user, patient_id=pid, outcome="denied")
        g.denial_recorded = True
        abort(404)
    if user.role == Role.ADMIN:
        g.emergency_access = emergency_grant(user, patient.id)
    if audit is not None:
        audit_log.record(audit, actor=user, subject=patient, patient_id=patient.id)
    return patient


def record_denied(user: User, endpoint: str | None, view_args: dict | None) -> None:
    """A signed-in person was answered 404 on a page that names a record (an id in its
    address): one ``access.denied`` row with the route and the ids asked for (HIPAA
    164.312(b)), unless the decision already wrote a more precise one (``patient.denied``).
    Addresses without an id (a mistyped path) are not access decisions and write nothing."""
    if g.get("denial_recorded") or not endpoint or not view_args:
        return
    asked = " ".join(f"{name}={str(value)[:40]}" for name, value in sorted(view_args.items()))
    from lms import audit as audit_log

    audit_log.record(
        "access.denied", actor=user, outcome="denied", detail=f"route={endpoint} {asked}"
    )
    g.denial_recorded = True


def emergency_grant(user: User, patient_id: int) -> EmergencyAccess | None:
    """The open emergency access of this admin to this patient, if any."""
    return db.session.scalars(
        select(EmergencyAccess)
        .where(
            EmergencyAccess.patient_id == patient_id,
            open_emergency_clause(user.id, clock.utcnow()),
        )
        .order_by(EmergencyAccess.expires_at.desc())
    ).first()


# --- assignments -------------------------------------------------------------------------


def family_sees_patient(patient_id, user_id: int, today: date):
    """The one rule of what a family member sees about a patient (their readings, their
    goals): the patient is in the program and a consent naming them is in force through an
    active link. For a query joined to ``Patient`` on ``patient_id`` (a column)."""
    return and_(
        Patient.status == PatientStatus.ACTIVE,
        exists().where(
            FamilyLink.patient_id == patient_id,
            FamilyLink.user_id == user_id,
            FamilyLink.state == LinkState.ACTIVE,
            Consent.family_link_id == FamilyLink.id,
            in_force_clause(today),
        ),
    )


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
        query = query.where(family_sees_patient(Assignment.patient_id, user.id, today))
    elif user.role == Role.PATIENT:
        query = query.where(Patient.user_id == user.id)
    else:
        query = query.where(False)
    return query


def consents_in_force_for(user: User, today: date | None = None) -> list[Consent]:
    """The consents through which this family member sees something about a patient now
    (same rule as ``visible_assignments``), with their patient loaded: the page explains
    what each patient agreed to share (42 CFR 2.32(b))."""
    if user.role != Role.FAMILY:
        return []
    today = today or clock.today()
    from sqlalchemy.orm import contains_eager

    return list(
        db.session.scalars(
            select(Consent)
            .join(FamilyLink, FamilyLink.id == Consent.family_link_id)
            .join(Patient, Patient.id == Consent.patient_id)
            .where(
                FamilyLink.user_id == user.id,
                FamilyLink.state == LinkState.ACTIVE,
                Patient.status == PatientStatus.ACTIVE,
                in_force_clause(today),
            )
            .options(contains_eager(Consent.family_link), contains_eager(Consent.patient))
            .order_by(Consent.id)
        )
    )


def own_patient(user: User) -> Patient | None:
    """A patient's own enrollment record."""
    if user.role != Role.PATIENT:
        return None
    return db.session.scalars(select(Patient).where(Patient.user_id == user.id)).first()
