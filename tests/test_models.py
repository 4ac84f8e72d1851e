"""Typed status columns: read back as their enums, and a value the enum does not know is
refused before it is stored (a typo would otherwise be skipped silently by every count)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from lms import clock
from lms.extensions import db
from lms.models import (
    Attendance,
    AttendanceStatus,
    EducationSession,
    FamilyLink,
    LinkState,
    Patient,
    PatientStatus,
    Role,
    User,
)
from tests.helpers import app_context, make_family, make_patient, make_user


def test_status_columns_read_back_as_enums(app):
    clinician = make_user("clinician")
    patient = make_patient(clinician)
    make_family(patient, make_user("family"))
    with app_context():
        row = EducationSession(held_on=clock.today(), title="Coping", facilitator="Dr. E")
        row.attendance.append(Attendance(patient_id=patient.id, status="present"))
        db.session.add(row)
        db.session.commit()
        db.session.expire_all()
        assert db.session.scalars(select(Attendance)).one().status is AttendanceStatus.PRESENT
        assert db.session.get(Patient, patient.id).status is PatientStatus.ACTIVE
        assert db.session.get(User, clinician.id).role is Role.CLINICIAN
        assert db.session.scalars(select(FamilyLink)).one().state is LinkState.ACTIVE
        # Stored as the plain value: the schema and earlier rows are unchanged.
        assert db.session.execute(text("SELECT status FROM attendance")).scalar() == "present"


@pytest.mark.parametrize("value", ["presnt", "PRESENT", ""])
def test_an_unknown_attendance_status_is_refused(app, value):
    patient = make_patient(make_user("clinician"))
    with app_context():
        row = EducationSession(held_on=clock.today(), title="Coping", facilitator="Dr. E")
        row.attendance.append(Attendance(patient_id=patient.id, status=value))
        db.session.add(row)
        with pytest.raises(StatementError, match="is not a valid AttendanceStatus"):
            db.session.flush()
        db.session.rollback()
        assert db.session.scalars(select(Attendance)).all() == []
