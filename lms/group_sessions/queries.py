"""Reading education sessions: attendance, the sessions a staff member sees, patients' material."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from lms.extensions import db
from lms.models import (
    Attendance,
    AttendanceStatus,
    EducationSession,
    Patient,
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


def attendance_label(status: str) -> str:
    return str(ATTENDANCE_LABELS[AttendanceStatus(status)])


def attendance_rate(statuses) -> float | None:
    """Share of expected sessions attended, or None when none was expected."""
    counted = [status for status in statuses if status in RATE_COUNTS]
    if not counted:
        return None
    return counted.count(AttendanceStatus.PRESENT) / len(counted)


def attendance_for(patient_id: int):
    rows = db.session.execute(
        select(EducationSession, Attendance.status)
        .join(Attendance, Attendance.session_id == EducationSession.id)
        .where(Attendance.patient_id == patient_id)
        .options(selectinload(EducationSession.modules))
        .order_by(EducationSession.held_on.desc())
    ).all()
    return rows, attendance_rate(status for _s, status in rows)


def sessions_visible(user: User) -> Select:
    query = select(EducationSession).options(
        selectinload(EducationSession.modules), selectinload(EducationSession.attendance)
    )
    if user.role != Role.ADMIN:
        query = query.where(EducationSession.created_by_id == user.id)
    return query.order_by(EducationSession.held_on.desc(), EducationSession.id.desc())


def session_material_for(patient_user: User):
    """Modules covered in the sessions this patient attended, newest session first."""
    return (
        db.session.execute(
            select(EducationSession)
            .join(Attendance, Attendance.session_id == EducationSession.id)
            .join(Patient, Patient.id == Attendance.patient_id)
            .where(
                Patient.user_id == patient_user.id, Attendance.status == AttendanceStatus.PRESENT
            )
            .options(selectinload(EducationSession.modules))
            .order_by(EducationSession.held_on.desc())
        )
        .scalars()
        .all()
    )
