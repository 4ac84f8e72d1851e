"""Logging a group education session: what was covered and who attended."""

from __future__ import annotations

from datetime import date

from lms import access, audit, submissions
from lms.content import get_library
from lms.extensions import db
from lms.models import Attendance, EducationSession, Patient, SessionModule, User


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
    on_caseload = set(db.session.scalars(access.caseload(clinician).with_only_columns(Patient.id)))
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
