"""Reading education sessions: attendance, the sessions a staff member sees, patients' material."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from lms import access
from lms.extensions import db
from lms.models import (
    Attendance,
    AttendanceStatus,
    EducationSession,
    Patient,
    PatientStatus,
    Role,
    User,
)

#: The words every page uses for each attendance status, in the order the form offers them.
ATTENDANCE_LABELS: Mapping[AttendanceStatus, object] = {
    AttendanceStatus.PRESENT: _l("Present"),
    AttendanceStatus.ABSENT: _l("Absent"),
    AttendanceStatus.EXCUSED: _l("Excused"),
}
#: What the session form may send for a patient ("" = not in this group).
ATTENDANCE_VALUES = frozenset(status.value for status in AttendanceStatus)
#: The attendance rate counts the sessions a patient was expected at: excused is neither.
RATE_COUNTS = frozenset({AttendanceStatus.PRESENT, AttendanceStatus.ABSENT})
#: Who gets a session's material: those who were there, and those excused (to catch up).
MATERIAL_FOR = frozenset({AttendanceStatus.PRESENT, AttendanceStatus.EXCUSED})
#: A voided session (logged by mistake) is kept, but counts nowhere.
NOT_VOIDED = EducationSession.voided_at.is_(None)


def attendance_label(status: str) -> str:
    return str(ATTENDANCE_LABELS[AttendanceStatus(status)])


def attendance_rate(statuses) -> float | None:
    """Share of expected sessions attended, or None when none was expected."""
    counted = [status for status in statuses if status in RATE_COUNTS]
    if not counted:
        return None
    return counted.count(AttendanceStatus.PRESENT) / len(counted)


def gets_material(status: str) -> bool:
    """Whether a patient with this attendance may review the session's material: the Python
    twin of ``MATERIAL_FOR`` in ``session_material_for``, for the clinician's session page."""
    return status in MATERIAL_FOR


def material_recipients(row: EducationSession) -> set[int]:
    """The patients who may review this session's material (none once it is voided): the
    Python twin of ``session_material_for``, for the clinician's session page."""
    if row.is_voided:
        return set()
    return {item.patient_id for item in row.attendance if gets_material(item.status)}


def patients_for_form(user: User, row: EducationSession | None = None) -> list[Patient]:
    """The patients the session form lists: the active patients on this staff member's
    caseload and, when correcting ``row``, those on it whose attendance it already records
    (discharged since, say), so that the form never drops them."""
    listed = Patient.status == PatientStatus.ACTIVE
    if row is not None:
        in_session = select(Attendance.patient_id).where(Attendance.session_id == row.id)
        listed = or_(listed, Patient.id.in_(in_session))
    return list(
        db.session.scalars(access.caseload(user).where(listed).order_by(Patient.display_name))
    )


def attendance_for(patient_id: int):
    """The patient's sessions (not voided), newest first, with their attendance rate."""
    rows = db.session.execute(
        select(EducationSession, Attendance.status)
        .join(Attendance, Attendance.session_id == EducationSession.id)
        .where(Attendance.patient_id == patient_id, NOT_VOIDED)
        .options(selectinload(EducationSession.modules))
        .order_by(EducationSession.held_on.desc())
    ).all()
    return rows, attendance_rate(status for _s, status in rows)


def sessions_visible(user: User, *, with_voided: bool = False) -> Select:
    """The sessions a staff member may open: their own (admins: all). Voided sessions only
    when asked for (their own page, the list's "show voided" filter)."""
    query = select(EducationSession).options(
        selectinload(EducationSession.modules), selectinload(EducationSession.attendance)
    )
    if user.role != Role.ADMIN:
        query = query.where(EducationSession.created_by_id == user.id)
    if not with_voided:
        query = query.where(NOT_VOIDED)
    return query.order_by(EducationSession.held_on.desc(), EducationSession.id.desc())


def session_for(user: User, session_id: int) -> EducationSession | None:
    """One session, voided or not, if this staff member may open it (``sessions_visible``)."""
    return db.session.scalars(
        sessions_visible(user, with_voided=True).where(EducationSession.id == session_id)
    ).first()


def session_material_for(patient_user: User) -> list[tuple[EducationSession, AttendanceStatus]]:
    """The one rule for a patient's session material: every session (not voided) that lists
    them as present or excused (``MATERIAL_FOR``), newest first, with their attendance (so the
    page can say an excused patient may catch up)."""
    return [
        (row, status)
        for row, status in db.session.execute(
            select(EducationSession, Attendance.status)
            .join(Attendance, Attendance.session_id == EducationSession.id)
            .join(Patient, Patient.id == Attendance.patient_id)
            .where(
                Patient.user_id == patient_user.id,
                Attendance.status.in_(sorted(MATERIAL_FOR)),
                NOT_VOIDED,
            )
            .options(selectinload(EducationSession.modules))
            .order_by(EducationSession.held_on.desc(), EducationSession.id.desc())
        )
    ]
