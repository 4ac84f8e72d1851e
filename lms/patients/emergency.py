"""Emergency (break-glass) access: opened with a reason, for a limited time, audited."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms import access, audit, clock
from lms.extensions import db
from lms.models import (
    EmergencyAccess,
    Patient,
    User,
)
from lms.problems import FieldProblems, Problem


def open_emergency_access(
    actor: User, patient: Patient, *, reason: str, minutes: int
) -> EmergencyAccess:
    """Open one patient's records to this administrator, outside every care team, for a
    limited time; the reason goes into the audit log (HIPAA 164.312(a)(2)(ii)). An open grant
    for the same patient is extended rather than duplicated (a double click)."""
    if not actor.is_admin:
        raise Problem(_("Only administrators can use emergency access."))
    reason = " ".join((reason or "").split())
    if len(reason) < 20:
        raise FieldProblems({"reason": [_("Write the reason in 20 to 400 characters.")]})
    now = clock.utcnow()
    expires = now + timedelta(minutes=minutes)
    grant = access.emergency_grant(actor, patient.id)
    if grant is None:
        grant = EmergencyAccess(
            user_id=actor.id, patient_id=patient.id, reason=reason[:400], expires_at=expires
        )
        db.session.add(grant)
    else:
        grant.expires_at = max(grant.expires_at, expires)
    db.session.flush()
    audit.record(
        "emergency_access.opened",
        actor=actor,
        subject=grant,
        patient_id=patient.id,
        detail=f"{minutes} min; reason: {reason[:400]}",
    )
    return grant


def end_emergency_access(actor: User, grant: EmergencyAccess) -> bool:
    if grant.user_id != actor.id or not grant.is_open():
        return False
    grant.ended_at = clock.utcnow()
    audit.record("emergency_access.ended", actor=actor, subject=grant, patient_id=grant.patient_id)
    return True


def recent_emergency_access(days: int = 30) -> list[EmergencyAccess]:
    """Every grant of the last ``days`` days, newest first, for the admin overview."""
    since = clock.utcnow() - timedelta(days=days)
    return list(
        db.session.scalars(
            select(EmergencyAccess)
            .where(EmergencyAccess.opened_at >= since)
            .options(selectinload(EmergencyAccess.user), selectinload(EmergencyAccess.patient))
            .order_by(EmergencyAccess.opened_at.desc())
        )
    )
