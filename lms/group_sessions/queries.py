"""Reading education sessions: attendance, the sessions a staff member sees, patients' material."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from lms.extensions import db
from lms.models import (
    Attendance,
    EducationSession,
    Patient,
    Role,
    User,
)


def attendance_for(patient_id: int):
    rows = db.session.execute(
        select(EducationSession, Attendance.status)
        .join(Attendance, Attendance.session_id == EducationSession.id)
        .where(Attendance.patient_id == patient_id)
        .options(selectinload(EducationSession.modules))
        .order_by(EducationSession.held_on.desc())
    ).all()
    counted = [status for _s, status in rows if status in ("present", "absent")]
    rate = (counted.count("present") / len(counted)) if counted else None
    return rows, rate


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
            .where(Patient.user_id == patient_user.id, Attendance.status == "present")
            .options(selectinload(EducationSession.modules))
            .order_by(EducationSession.held_on.desc())
        )
        .scalars()
        .all()
    )
