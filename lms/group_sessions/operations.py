"""Logging a group education session (what was covered and who attended), correcting it,
and voiding one logged by mistake."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from lms import access, audit, clock, submissions
from lms.content import get_library
from lms.extensions import db
from lms.models import (
    Attendance,
    AttendanceStatus,
    EducationSession,
    Patient,
    SessionModule,
    User,
)
from lms.problems import FieldProblems, Problem

VOID_REASON_MAX = 300
VOIDED = _l("This session was voided, so it is kept as it was.")


def held_on_problems(held_on: date) -> list:
    """What is wrong with a session's date (a session is logged after it happens; a day of
    leeway for time zones)."""
    if held_on > clock.today() + timedelta(days=1):
        return [_l("A session is logged after it happens.")]
    return []


def _caseload_ids(clinician: User) -> set[int]:
    return set(db.session.scalars(access.caseload(clinician).with_only_columns(Patient.id)))


def log_session(
    clinician: User,
    *,
    held_on: date,
    title: str,
    facilitator: str,
    module_slugs: list[str],
    attendance: dict[int, str],
    submit_token: str | None = None,
) -> EducationSession:
    """Save the session; attendance only for patients on this clinician's caseload.
    The same form sent twice (a double click) saves once (``lms.submissions``)."""
    once = submissions.claim(clinician, submit_token, "session.log")
    if once.earlier and (earlier := db.session.get(EducationSession, once.result or 0)):
        return earlier
    library = get_library()
    row = EducationSession(
        held_on=held_on,
        title=title.strip(),
        facilitator=facilitator.strip(),
        created_by_id=clinician.id,
    )
    for position, slug in enumerate(s for s in module_slugs if s in library):
        row.modules.append(SessionModule(module_slug=slug, position=position))
    on_caseload = _caseload_ids(clinician)
    for patient_id, status in attendance.items():
        if patient_id in on_caseload:
            row.attendance.append(Attendance(patient_id=patient_id, status=status))
    db.session.add(row)
    db.session.flush()
    audit.record(
        "session.logged",
        actor=clinician,
        subject=row,
        detail=f"{len(row.attendance)} attendance records",
    )
    for item in row.attendance:
        audit.record(
            "attendance.recorded",
            actor=clinician,
            subject=row,
            patient_id=item.patient_id,
            detail=item.status,
        )
    submissions.finish(once, row.id)
    return row


def _lock_unless_voided(row: EducationSession) -> None:
    """Serialize changes to one session, then read it again as it is now: a write that
    changes nothing takes the row lock on PostgreSQL and the write lock on SQLite (a locking
    read would not, there), so of two identical edits the second sees the first's changes.
    A session voided meanwhile is refused (``Problem``)."""
    locked = db.session.execute(
        update(EducationSession)
        .where(EducationSession.id == row.id, EducationSession.voided_at.is_(None))
        .values(voided_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(row)
    if locked.rowcount != 1:
        raise Problem(VOIDED)


def edit_session(
    actor: User,
    row: EducationSession,
    *,
    held_on: date,
    title: str,
    facilitator: str,
    module_slugs: list[str],
    attendance: Mapping[int, str],
) -> tuple[str, ...]:
    """Correct a session: its date, title, facilitator, modules and the attendance of the
    patients in ``attendance`` (``""`` = not in this group) who are on the actor's caseload;
    everyone else's attendance is left as it is. Changes only what differs, so the same form
    sent again changes nothing. Returns the names of the fields changed, audited as
    ``session.edited`` with those names only (and one ``attendance.changed`` row, without
    the value, per patient whose attendance changed). A voided session is kept as it was."""
    if row.is_voided:
        raise Problem(VOIDED)
    if problems := held_on_problems(held_on):
        raise FieldProblems({"held_on": problems})
    _lock_unless_voided(row)
    changed: list[str] = []
    wanted = {"held_on": held_on, "title": title.strip(), "facilitator": facilitator.strip()}
    changes = {name: value for name, value in wanted.items() if getattr(row, name) != value}
    if changes:
        db.session.execute(
            update(EducationSession)
            .where(EducationSession.id == row.id, EducationSession.voided_at.is_(None))
            .values(**changes)
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(row)
        changed.extend(changes)
    if _set_modules(row, module_slugs):
        changed.append("modules")
    moved = _set_attendance(row, attendance, _caseload_ids(actor))
    if moved:
        changed.append("attendance")
    if not changed:
        return ()
    db.session.flush()
    audit.record("session.edited", actor=actor, subject=row, detail="fields=" + ",".join(changed))
    for patient_id in moved:
        audit.record("attendance.changed", actor=actor, subject=row, patient_id=patient_id)
    return tuple(changed)


def _set_modules(row: EducationSession, module_slugs: list[str]) -> bool:
    """The session's modules become those chosen; a module no longer in the library (which
    the form cannot offer) stays. True if anything changed."""
    library = get_library()
    kept = [m.module_slug for m in row.modules if m.module_slug not in library]
    wanted = list(dict.fromkeys([*(s for s in module_slugs if s in library), *kept]))
    if {m.module_slug for m in row.modules} == set(wanted):
        return False
    for item in [m for m in row.modules if m.module_slug not in wanted]:
        row.modules.remove(item)
    have = {m.module_slug: m for m in row.modules}
    for position, slug in enumerate(wanted):
        if slug in have:
            have[slug].position = position
        else:
            row.modules.append(SessionModule(module_slug=slug, position=position))
    return True


def _set_attendance(
    row: EducationSession, attendance: Mapping[int, str], on_caseload: set[int]
) -> list[int]:
    """Attendance as chosen for the patients named (on the caseload only). Returns the ids of
    the patients whose attendance was added, changed or removed."""
    current = {item.patient_id: item for item in row.attendance}
    moved = []
    for patient_id, value in attendance.items():
        if patient_id not in on_caseload:
            continue
        status = AttendanceStatus(value) if value else None
        item = current.get(patient_id)
        if item is None and status is not None:
            row.attendance.append(Attendance(patient_id=patient_id, status=status))
        elif item is not None and status is None:
            row.attendance.remove(item)
        elif item is not None and item.status != status:
            item.status = status
        else:
            continue
        moved.append(patient_id)
    return moved


def void_session(actor: User, row: EducationSession, reason: str) -> bool:
    """A session logged by mistake is voided: kept with when, by whom and why, shown as voided
    on its own page, in no list, and its attendance counts nowhere (attendance rates,
    patients' session material: ``queries.NOT_VOIDED``). The condition is in the UPDATE, so
    the same form sent twice voids and audits once (False the second time). The reason stays
    on the session, never in the audit log."""
    reason = (reason or "").strip()
    if not reason:
        raise FieldProblems({"reason": [_l("Say why this session is a mistake.")]})
    if len(reason) > VOID_REASON_MAX:
        raise FieldProblems(
            {"reason": [_l("Keep it to %(n)d characters or fewer.", n=VOID_REASON_MAX)]}
        )
    voided = db.session.execute(
        update(EducationSession)
        .where(EducationSession.id == row.id, EducationSession.voided_at.is_(None))
        .values(voided_at=clock.utcnow(), voided_by_id=actor.id, void_reason=reason)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(row)
    if voided.rowcount != 1:
        return False  # already voided (the same form sent twice)
    audit.record(
        "session.voided",
        actor=actor,
        subject=row,
        detail=f"{len(row.attendance)} attendance records",
    )
    return True
