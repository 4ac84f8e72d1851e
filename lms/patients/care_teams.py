"""Care teams: who has a patient on their caseload, and moving a caseload."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lms import audit, clock
from lms.extensions import db
from lms.models import (
    CareTeamMember,
    CaseloadMove,
    Patient,
    PatientStatus,
    Role,
    User,
)
from lms.problems import Problem


def patients_with_care_teams(status: str) -> list[Patient]:
    query = select(Patient).options(
        selectinload(Patient.care_team).selectinload(CareTeamMember.clinician)
    )
    if status in (PatientStatus.ACTIVE, PatientStatus.DISCHARGED):
        query = query.where(Patient.status == status)
    else:  # "everyone" still leaves out enrolments voided as duplicates
        query = query.where(Patient.status != PatientStatus.VOIDED)
    return list(db.session.scalars(query.order_by(func.lower(Patient.display_name), Patient.id)))


def _active_clinician(clinician_id: int | None) -> User:
    user = db.session.get(User, clinician_id) if clinician_id else None
    if user is None or user.role != Role.CLINICIAN or not user.active:
        raise Problem(_("Choose an active clinician."))
    return user


def _lock_patient(patient: Patient) -> None:
    """Serialize care-team changes to one patient (PostgreSQL; SQLite has one writer)."""
    db.session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())


def _team_ids(patient_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(CareTeamMember.clinician_id).where(CareTeamMember.patient_id == patient_id)
        )
    )


def add_to_care_team(actor: User, patient: Patient, clinician_id: int | None) -> bool:
    """Add an active clinician. Returns False if they were already on the team."""
    clinician = _active_clinician(clinician_id)
    _lock_patient(patient)
    if clinician.id in _team_ids(patient.id):
        return False
    db.session.add(CareTeamMember(patient_id=patient.id, clinician_id=clinician.id))
    audit.record(
        "care_team.added",
        actor=actor,
        subject=patient,
        patient_id=patient.id,
        detail=f"clinician={clinician.id}",
    )
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # added by someone else at the same moment
        return False
    return True


def remove_from_care_team(actor: User, patient: Patient, clinician_id: int | None) -> None:
    """Take a clinician (active or not) off a care team; never the last one of an active
    patient, who would then have nobody."""
    _lock_patient(patient)
    member = db.session.scalars(
        select(CareTeamMember).where(
            CareTeamMember.patient_id == patient.id, CareTeamMember.clinician_id == clinician_id
        )
    ).first()
    if member is None:
        raise Problem(_("That clinician is not on this patient's care team."))
    if patient.is_active and len(_team_ids(patient.id)) <= 1:
        raise Problem(
            _(
                "%(name)s is the only clinician on this active patient's care team. "
                "Add another clinician first.",
                name=member.clinician.display_name,
            )
        )
    db.session.delete(member)
    audit.record(
        "care_team.removed",
        actor=actor,
        subject=patient,
        patient_id=patient.id,
        detail=f"clinician={member.clinician_id}",
    )


def _move_ends(from_id: int | None, to_id: int | None) -> tuple[User, User]:
    source = db.session.get(User, from_id) if from_id else None
    if source is None or source.role != Role.CLINICIAN:
        raise Problem(_("Choose the clinician whose patients should move."))
    target = _active_clinician(to_id)
    if source.id == target.id:
        raise Problem(_("Choose two different clinicians."))
    return source, target


def caseload_of(clinician_id: int) -> list[Patient]:
    """Every patient (active or discharged) on whose care team this clinician is."""
    return list(
        db.session.scalars(
            select(Patient)
            .join(CareTeamMember, CareTeamMember.patient_id == Patient.id)
            .where(CareTeamMember.clinician_id == clinician_id)
            .order_by(func.lower(Patient.display_name), Patient.id)
        )
    )


def move_preview(from_id: int | None, to_id: int | None) -> tuple[User, User, list[Patient]]:
    """Who would move, for the page that asks first."""
    source, target = _move_ends(from_id, to_id)
    return source, target, caseload_of(source.id)


def move_caseload(actor: User, from_id: int | None, to_id: int | None) -> CaseloadMove:
    """Every patient of clinician A goes to clinician B: B is added where missing, A is
    removed. All or nothing; the result says exactly what to undo."""
    source, target = _move_ends(from_id, to_id)
    members = list(
        db.session.scalars(
            select(CareTeamMember)
            .where(CareTeamMember.clinician_id == source.id)
            .order_by(CareTeamMember.patient_id)
            .with_for_update()
        )
    )
    added = []
    for member in members:
        patient_id = member.patient_id
        if target.id not in _team_ids(patient_id):
            db.session.add(CareTeamMember(patient_id=patient_id, clinician_id=target.id))
            added.append(patient_id)
            audit.record(
                "care_team.added",
                actor=actor,
                subject=member.patient,
                patient_id=patient_id,
                detail=f"clinician={target.id}",
            )
        db.session.delete(member)
        audit.record(
            "care_team.removed",
            actor=actor,
            subject=member.patient,
            patient_id=patient_id,
            detail=f"clinician={source.id}",
        )
    move = CaseloadMove(
        from_clinician_id=source.id,
        to_clinician_id=target.id,
        moved=",".join(str(m.patient_id) for m in members),
        added=",".join(str(pid) for pid in added),
        moved_by_id=actor.id,
        moved_at=clock.utcnow(),
    )
    db.session.add(move)
    _flush_care_teams()
    audit.record(
        "caseload.moved",
        actor=actor,
        subject=move,
        detail=f"{len(members)} patients from clinician={source.id} to clinician={target.id}",
    )
    return move


def move_back(actor: User, move: CaseloadMove) -> int:
    """Undo ``move`` for exactly its patients: the first clinician returns to each care
    team, and the second leaves only those it joined by the move; B's own patients, and any
    patient not in the move, stay as they are. Returns how many patients moved back; 0 when
    the move was already undone (a double click undoes once)."""
    undone = db.session.execute(
        update(CaseloadMove)
        .where(CaseloadMove.id == move.id, CaseloadMove.undone_at.is_(None))
        .values(undone_at=clock.utcnow())
    )
    if undone.rowcount != 1:
        return 0
    # Back from B to A. A may have been deactivated since (the usual reason for a move):
    # undoing restores the teams as they were, so A need not be active.
    source = db.session.get(User, move.to_clinician_id)
    target = db.session.get(User, move.from_clinician_id)
    added = set(CaseloadMove.ids(move.added))
    count = 0
    for patient_id in CaseloadMove.ids(move.moved):
        patient = db.session.get(Patient, patient_id)
        if patient is None:
            continue
        _lock_patient(patient)
        team = _team_ids(patient_id)
        if target.id not in team:
            db.session.add(CareTeamMember(patient_id=patient_id, clinician_id=target.id))
            audit.record(
                "care_team.added",
                actor=actor,
                subject=patient,
                patient_id=patient_id,
                detail=f"clinician={target.id}; move undone",
            )
        if patient_id in added and source.id in team:
            member = db.session.scalars(
                select(CareTeamMember).where(
                    CareTeamMember.patient_id == patient_id,
                    CareTeamMember.clinician_id == source.id,
                )
            ).one()
            db.session.delete(member)
            audit.record(
                "care_team.removed",
                actor=actor,
                subject=patient,
                patient_id=patient_id,
                detail=f"clinician={source.id}; move undone",
            )
        count += 1
    _flush_care_teams()
    audit.record("caseload.move_undone", actor=actor, subject=move, detail=f"{count} patients")
    return count


def _flush_care_teams() -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Problem(
            _("Another change to these care teams happened at the same moment. Try again.")
        ) from None


def patients_only_with(clinician_id: int) -> list[Patient]:
    """Active patients for whom this clinician is the only active clinician on the care team:
    deactivating them would leave these patients with nobody."""
    other_active = (
        select(CareTeamMember.id)
        .join(User, User.id == CareTeamMember.clinician_id)
        .where(
            CareTeamMember.patient_id == Patient.id,
            CareTeamMember.clinician_id != clinician_id,
            User.active.is_(True),
        )
        .exists()
    )
    mine = (
        select(CareTeamMember.id)
        .where(CareTeamMember.patient_id == Patient.id, CareTeamMember.clinician_id == clinician_id)
        .exists()
    )
    return list(
        db.session.scalars(
            select(Patient)
            .where(Patient.status == PatientStatus.ACTIVE, mine, ~other_active)
            .order_by(func.lower(Patient.display_name), Patient.id)
        )
    )


def hand_over(actor: User, patients: list[Patient], from_id: int, to_id: int | None) -> int:
    """Add ``to_id`` (an active clinician) to each of these patients' care teams, saying in
    the audit row whose patients they were. Returns how many were added."""
    target = _active_clinician(to_id)
    if target.id == from_id:
        raise Problem(_("Choose another clinician to take these patients."))
    added = 0
    for patient in patients:
        _lock_patient(patient)
        if target.id in _team_ids(patient.id):
            continue
        db.session.add(CareTeamMember(patient_id=patient.id, clinician_id=target.id))
        audit.record(
            "care_team.added",
            actor=actor,
            subject=patient,
            patient_id=patient.id,
            detail=f"clinician={target.id}; handed over from clinician={from_id}",
        )
        added += 1
    return added
