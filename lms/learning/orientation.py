"""The first sign-in orientation ("How this site works") for families and patients.

Shown on the home page until the learner says "Got it" (``User.oriented_at``), and always
reachable from it. It names the care team and how to reach the program, says plainly what the
learner will and will not see and what the care team sees, and how quick exit works.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lms import access, clock
from lms.extensions import db
from lms.models import CareTeamMember, Role, User


@dataclass(frozen=True)
class Guide:
    role: str
    care_team: tuple[str, ...]  # clinicians' names
    patient_names: tuple[str, ...]  # for a family member: whom they support (consent in force)
    phone: str | None
    hours: str | None


def is_for(user: User) -> bool:
    """The orientation is written for families and patients (staff have their own pages)."""
    return user.role in (Role.FAMILY, Role.PATIENT)


def needed(user: User) -> bool:
    """Families and patients see the orientation until they have read it once."""
    return is_for(user) and user.oriented_at is None


def mark_seen(user: User) -> None:
    if user.oriented_at is None:
        user.oriented_at = clock.utcnow()


def guide_for(user: User) -> Guide:
    """Who the care team is: for a family member, the clinicians of the patients whose consent
    is in force now (none otherwise: nothing about a patient without consent); for a
    patient, their own."""
    patient_ids: list[int] = []
    names: list[str] = []
    if user.role == Role.FAMILY:
        for consent in access.consents_in_force_for(user):
            if consent.patient_id not in patient_ids:
                patient_ids.append(consent.patient_id)
                names.append(consent.patient.display_name)
    elif user.role == Role.PATIENT:
        own = access.own_patient(user)
        if own is not None:
            patient_ids.append(own.id)
    care_team: list[str] = []
    if patient_ids:
        members = db.session.scalars(
            select(CareTeamMember)
            .where(
                CareTeamMember.patient_id.in_(patient_ids),
                CareTeamMember.covering_for_id.is_(None),
                access.current_member_clause(),
            )
            .options(joinedload(CareTeamMember.clinician))
            .order_by(CareTeamMember.id)
        )
        for member in members:
            if member.clinician.active and member.clinician.display_name not in care_team:
                care_team.append(member.clinician.display_name)
    return Guide(
        role=str(user.role),
        care_team=tuple(care_team),
        patient_names=tuple(names),
        phone=current_app.config.get("PROGRAM_PHONE"),
        hours=current_app.config.get("PROGRAM_HOURS"),
    )
