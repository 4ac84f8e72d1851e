"""Reading follow-ups, and the one rule for "is this flag snoozed today"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, select

from lms.consent.queries import current_consents, standing
from lms.extensions import db
from lms.models import FamilyLink, FollowUp, LinkState, Patient


def is_pending(followup: FollowUp | None, today: date) -> bool:
    """The follow-up date has not come yet."""
    return followup is not None and today < followup.follow_up_on


def snoozes(followup: FollowUp | None, reason: str, today: date) -> bool:
    """Whether a needs-help flag (``reason``, its key from ``lms.insight``) is set aside today:
    the family's latest follow-up covered that reason and its follow-up date has not come.
    On the follow-up date the flag is back if its reason still holds; a reason that was not
    there when the family was contacted shows straight away."""
    return is_pending(followup, today) and reason in followup.reason_keys


def latest_by_patient(patient_ids: Select) -> dict[int, FollowUp]:
    """Each patient's latest follow-up (the one that decides what is snoozed), in one query."""
    latest = (
        select(func.max(FollowUp.id))
        .where(FollowUp.patient_id.in_(patient_ids))
        .group_by(FollowUp.patient_id)
    )
    return {
        f.patient_id: f for f in db.session.scalars(select(FollowUp).where(FollowUp.id.in_(latest)))
    }


@dataclass(frozen=True)
class Contact:
    """Someone a clinician may record having contacted about a patient."""

    link: FamilyLink | None  # None: the patient themself
    name: str

    @property
    def value(self) -> str:
        return "patient" if self.link is None else str(self.link.id)


def contactable(patient: Patient, today: date) -> list[Contact]:
    """The patient, and each family member whose consent is in force: nobody else may be
    told anything about the patient (42 CFR Part 2 §2.31), so nobody else is followed up."""
    consents = current_consents(patient.id)
    people = [Contact(None, patient.display_name)]
    for link in patient.family_links:
        if link.state == LinkState.REMOVED:
            continue
        if standing(consents.get(link.id), today).in_force:
            people.append(Contact(link, link.display_name))
    return people


def contact_for_learner(patient: Patient, learner_id: int, today: date) -> Contact | None:
    """The contactable person behind a learner's login (the patient's own, or a family
    member's), or None when that login is not one of them."""
    if patient.user_id is not None and patient.user_id == learner_id:
        return Contact(None, patient.display_name)
    for person in contactable(patient, today):
        if person.link is not None and person.link.user_id == learner_id:
            return person
    return None
