"""Care teams: who has a patient on their caseload, moving a caseload, and covering for a
colleague who is away.

A membership is permanent, or a cover with a last day (``CareTeamMember.ends_on``); whether
it gives access today is ``lms.access.current_member_clause``. A cover is temporary, so it
never counts as the clinician who keeps a patient cared for: removing the last permanent
clinician is refused, and deactivating one needs a successor, even while a cover runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lms import access, audit, clock, dates, submissions
from lms.extensions import db
from lms.models import (
    CareTeamMember,
    CaseloadMove,
    Patient,
    PatientStatus,
    Role,
    User,
)
from lms.problems import FieldProblems, Problem

#: A cover lasts at most this many days from today: longer absences are a caseload move.
MAX_COVER_DAYS = 90


def patients_with_care_teams(status: str) -> list[Patient]:
    """Patients with their current care team (ended covers left out)."""
    query = select(Patient).options(
        selectinload(Patient.care_team.and_(access.current_member_clause())).options(
            selectinload(CareTeamMember.clinician), selectinload(CareTeamMember.covering_for)
        )
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


def _team_ids(patient_id: int, *, permanent: bool = False) -> set[int]:
    """Clinicians on the care team today (an ended cover is not); ``permanent``: only those
    who stay, not covers."""
    query = select(CareTeamMember.clinician_id).where(
        CareTeamMember.patient_id == patient_id,
        CareTeamMember.ends_on.is_(None) if permanent else access.current_member_clause(),
    )
    return set(db.session.scalars(query))


def _membership(patient_id: int, clinician_id: int) -> CareTeamMember | None:
    """The row, whatever its state: one per clinician and patient (a unique constraint)."""
    return db.session.scalars(
        select(CareTeamMember).where(
            CareTeamMember.patient_id == patient_id, CareTeamMember.clinician_id == clinician_id
        )
    ).first()


def _longer(ends_on: date | None, than: date | None) -> bool:
    """Whether a membership until ``ends_on`` lasts longer than one until ``than`` (None:
    permanent, longer than any date)."""
    if than is None:
        return False
    return ends_on is None or ends_on > than


def _join(
    patient_id: int,
    clinician_id: int,
    *,
    ends_on: date | None = None,
    covering_for_id: int | None = None,
) -> bool:
    """Make the clinician a member until ``ends_on`` (None: permanently), never shortening
    what they have: a permanent membership stays, a later end date wins, an ended cover is
    renewed. Returns whether anything changed."""
    member = _membership(patient_id, clinician_id)
    if member is None:
        db.session.add(
            CareTeamMember(
                patient_id=patient_id,
                clinician_id=clinician_id,
                ends_on=ends_on,
                covering_for_id=covering_for_id if ends_on is not None else None,
            )
        )
        return True
    ended = not access.is_current_member(member)
    if not ended and not _longer(ends_on, member.ends_on):
        return False
    member.ends_on = ends_on
    member.covering_for_id = covering_for_id if ends_on is not None else None
    if ended:
        member.added_at = clock.utcnow()
    return True


def add_to_care_team(actor: User, patient: Patient, clinician_id: int | None) -> bool:
    """Add an active clinician for good (one covering until a date stays on, permanently).
    Returns False if they were already a permanent member."""
    clinician = _active_clinician(clinician_id)
    _lock_patient(patient)
    if not _join(patient.id, clinician.id):
        return False
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
    """Take a clinician (active or not) off a care team; never the last permanent one of an
    active patient, who would then have nobody (a cover ends on its own)."""
    _lock_patient(patient)
    member = db.session.scalars(
        select(CareTeamMember).where(
            CareTeamMember.patient_id == patient.id,
            CareTeamMember.clinician_id == clinician_id,
            access.current_member_clause(),
        )
    ).first()
    if member is None:
        raise Problem(_("That clinician is not on this patient's care team."))
    if (
        patient.is_active
        and member.ends_on is None
        and not _team_ids(patient.id, permanent=True) - {member.clinician_id}
    ):
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
    """Every patient (active or discharged) on whose care team this clinician is today."""
    return list(
        db.session.scalars(
            select(Patient)
            .join(CareTeamMember, CareTeamMember.patient_id == Patient.id)
            .where(CareTeamMember.clinician_id == clinician_id, access.current_member_clause())
            .order_by(func.lower(Patient.display_name), Patient.id)
        )
    )


def move_preview(from_id: int | None, to_id: int | None) -> tuple[User, User, list[Patient]]:
    """Who would move, for the page that asks first."""
    source, target = _move_ends(from_id, to_id)
    return source, target, caseload_of(source.id)


def move_caseload(actor: User, from_id: int | None, to_id: int | None) -> CaseloadMove:
    """Every patient of clinician A goes to clinician B: B is added where missing, A is
    removed. All or nothing; the result says exactly what to undo. Where A was only covering,
    B takes that cover with its end date; where B was covering, B stays for good."""
    source, target = _move_ends(from_id, to_id)
    members = list(
        db.session.scalars(
            select(CareTeamMember)
            .where(CareTeamMember.clinician_id == source.id, access.current_member_clause())
            .order_by(CareTeamMember.patient_id)
            .with_for_update()
        )
    )
    added = []
    for member in members:
        patient_id = member.patient_id
        was_on = target.id in _team_ids(patient_id)
        if member.ends_on is None:
            changed = _join(patient_id, target.id)
        else:
            changed = _join(
                patient_id,
                target.id,
                ends_on=member.ends_on,
                covering_for_id=member.covering_for_id,
            )
        if not was_on:
            added.append(patient_id)
        if changed:
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
        if _join(patient_id, target.id):
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
    deactivating them would leave these patients with nobody. A colleague covering until a
    date does not count (ended or not: the cover stops, the patient would then have nobody)."""
    other_active = (
        select(CareTeamMember.id)
        .join(User, User.id == CareTeamMember.clinician_id)
        .where(
            CareTeamMember.patient_id == Patient.id,
            CareTeamMember.clinician_id != clinician_id,
            CareTeamMember.ends_on.is_(None),
            User.active.is_(True),
        )
        .exists()
    )
    mine = (
        select(CareTeamMember.id)
        .where(
            CareTeamMember.patient_id == Patient.id,
            CareTeamMember.clinician_id == clinician_id,
            access.current_member_clause(),
        )
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
    """Add ``to_id`` (an active clinician) to each of these patients' care teams for good (a
    cover they had becomes permanent), saying in the audit row whose patients they were.
    Returns how many were added."""
    target = _active_clinician(to_id)
    if target.id == from_id:
        raise Problem(_("Choose another clinician to take these patients."))
    added = 0
    for patient in patients:
        _lock_patient(patient)
        if not _join(patient.id, target.id):
            continue
        audit.record(
            "care_team.added",
            actor=actor,
            subject=patient,
            patient_id=patient.id,
            detail=f"clinician={target.id}; handed over from clinician={from_id}",
        )
        added += 1
    return added


# --- covering for a colleague who is away ----------------------------------------------------


def cover_end_problem(ends_on: date | None, today: date | None = None) -> str | None:
    """Why this last day of a cover cannot be used, or None: it is required, today or later,
    at most ``MAX_COVER_DAYS`` days ahead (a longer absence is a caseload move)."""
    today = today or clock.today()
    if ends_on is None:
        return _("Enter the last day of the cover, as YYYY-MM-DD.")
    if ends_on < today:
        return _("The last day of the cover can't be in the past. Choose today or a later day.")
    if ends_on > today + timedelta(days=MAX_COVER_DAYS):
        return _(
            "A cover lasts at most %(days)d days, until %(date)s. For a longer absence, move "
            "the caseload instead.",
            days=MAX_COVER_DAYS,
            date=dates.day_text(today + timedelta(days=MAX_COVER_DAYS)),
        )
    return None


#: What a cover does to one patient's care team.
COVER_ADDS = "adds"  # the colleague joins until the date
COVER_EXTENDS = "extends"  # they were covering until an earlier date (or their cover ended)
COVER_PERMANENT = "permanent"  # already a permanent member: nothing changes
COVER_LATER = "later"  # already covering until that date or later: nothing changes


@dataclass
class CoverChange:
    patient: Patient
    what: str
    #: The colleague's last day on this care team after the cover (None: permanent).
    until: date | None

    @property
    def changes(self) -> bool:
        return self.what in (COVER_ADDS, COVER_EXTENDS)


@dataclass
class CoverPlan:
    away: User
    colleague: User
    ends_on: date
    changes: list[CoverChange]

    @property
    def patients(self) -> list[Patient]:
        return [c.patient for c in self.changes]

    @property
    def changing(self) -> int:
        return sum(1 for c in self.changes if c.changes)


def cover_plan(away_id: int | None, colleague_id: int | None, ends_on: date | None) -> CoverPlan:
    """What covering would do, patient by patient, for the page that asks first (writes
    nothing). The away clinician's active patients are those on their caseload today; where
    they are themselves only covering, the colleague's cover ends when theirs does."""
    away = db.session.get(User, away_id) if away_id else None
    if away is None or away.role != Role.CLINICIAN:
        raise FieldProblems({"away": [_("Choose the clinician who is away.")]})
    try:
        colleague = _active_clinician(colleague_id)
    except Problem as exc:
        raise FieldProblems({"colleague": [str(exc)]}) from None
    if colleague.id == away.id:
        raise FieldProblems({"colleague": [_("Choose a colleague other than the one away.")]})
    problem = cover_end_problem(ends_on)
    if problem:
        raise FieldProblems({"ends_on": [problem]})
    theirs = db.session.execute(
        select(Patient, CareTeamMember.ends_on)
        .join(CareTeamMember, CareTeamMember.patient_id == Patient.id)
        .where(
            CareTeamMember.clinician_id == away.id,
            access.current_member_clause(),
            Patient.status == PatientStatus.ACTIVE,
        )
        .order_by(func.lower(Patient.display_name), Patient.id)
    ).all()
    mine = {
        m.patient_id: m
        for m in db.session.scalars(
            select(CareTeamMember).where(
                CareTeamMember.clinician_id == colleague.id,
                CareTeamMember.patient_id.in_([p.id for p, _end in theirs]),
            )
        )
    }
    changes = []
    for patient, away_until in theirs:
        until = ends_on if away_until is None else min(ends_on, away_until)
        member = mine.get(patient.id)
        if member is None:
            changes.append(CoverChange(patient, COVER_ADDS, until))
        elif not access.is_current_member(member):
            changes.append(CoverChange(patient, COVER_EXTENDS, until))
        elif member.ends_on is None:
            changes.append(CoverChange(patient, COVER_PERMANENT, None))
        elif member.ends_on >= until:
            changes.append(CoverChange(patient, COVER_LATER, member.ends_on))
        else:
            changes.append(CoverChange(patient, COVER_EXTENDS, until))
    return CoverPlan(away=away, colleague=colleague, ends_on=ends_on, changes=changes)


def add_cover(
    actor: User,
    away_id: int | None,
    colleague_id: int | None,
    ends_on: date | None,
    *,
    submit_token: str | None = None,
) -> int:
    """The colleague joins the care team of every active patient of the away clinician
    until ``ends_on`` (inclusive): a permanent member stays permanent, an existing cover keeps
    the later end date. One ``care_team.cover_added`` row per patient changed. Returns how
    many care teams changed; the same form sent twice covers once (``lms.submissions``)."""
    once = submissions.claim(actor, submit_token, "care_team.cover")
    if once.earlier and once.result is not None:
        return once.result  # an identical submit did it; one refused earlier did nothing
    plan = cover_plan(away_id, colleague_id, ends_on)
    changed = 0
    for change in plan.changes:
        _lock_patient(change.patient)
        if not _join(
            change.patient.id,
            plan.colleague.id,
            ends_on=change.until,
            covering_for_id=plan.away.id,
        ):
            continue
        changed += 1
        audit.record(
            "care_team.cover_added",
            actor=actor,
            subject=change.patient,
            patient_id=change.patient.id,
            detail=(
                f"clinician={plan.colleague.id}; covering for clinician={plan.away.id} "
                f"until {change.until.isoformat()}"
            ),
        )
    _flush_care_teams()
    submissions.finish(once, changed)
    return changed


def end_cover(actor: User, patient: Patient, clinician_id: int | None) -> bool:
    """End a cover today, before its date: from now on it gives no access (its last day
    becomes yesterday). Returns False when there is no cover running (already ended, a
    double click, or a permanent member, who is removed instead)."""
    today = clock.today()
    ended = db.session.execute(
        update(CareTeamMember)
        .where(
            CareTeamMember.patient_id == patient.id,
            CareTeamMember.clinician_id == clinician_id,
            CareTeamMember.ends_on.is_not(None),
            CareTeamMember.ends_on >= today,
        )
        .values(ends_on=today - timedelta(days=1))
        .execution_options(synchronize_session="fetch")
    )
    if ended.rowcount != 1:
        return False
    audit.record(
        "care_team.cover_ended",
        actor=actor,
        subject=patient,
        patient_id=patient.id,
        detail=f"clinician={clinician_id}; ended early",
    )
    return True
