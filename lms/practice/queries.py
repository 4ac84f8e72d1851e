"""Reading notes and worksheet answers, and the one rule for which notes the care team sees."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Select, and_, exists, false, or_, select

from lms import clock
from lms.consent.queries import in_force_clause
from lms.extensions import db
from lms.models import Consent, FamilyLink, LinkState, Patient, Role, User
from lms.models.practice import PracticeNote, WorksheetAnswers

#: Who keeps a notepad and fills in worksheets: the people who learn, never staff.
LEARNER_ROLES = (Role.FAMILY, Role.PATIENT)


def is_learner(user: User) -> bool:
    return user.role in LEARNER_ROLES


def notes_for(user: User) -> Select:
    """The learner's own notes: not yet asked first, each part newest first."""
    return (
        select(PracticeNote)
        .where(PracticeNote.user_id == user.id)
        .order_by(PracticeNote.asked_at.is_not(None), PracticeNote.id.desc())
    )


def own_note(user: User, note_id: int) -> PracticeNote | None:
    """The note, if it is this learner's; None for anyone else's (the view answers 404)."""
    if not is_learner(user):
        return None
    return db.session.scalar(
        select(PracticeNote).where(PracticeNote.id == note_id, PracticeNote.user_id == user.id)
    )


def shared_with_care_team(patient: Patient, today: date | None = None) -> Select:
    """The notes a patient's care team may read on the patient's page, in one query, as
    ``(note, family member's name or None)`` rows: notes their authors chose to share, by
    the patient themself, or by a family member whose link is active and for whom the
    patient's consent is in force (``consent.queries.in_force_clause``) — so withdrawing or
    letting the consent lapse hides them on the next request. Unshared notes never appear.
    Not yet asked first, then the most recently shared."""
    today = today or clock.today()
    family_may_share = and_(
        FamilyLink.id.is_not(None),
        exists().where(Consent.family_link_id == FamilyLink.id, in_force_clause(today)),
    )
    by_patient = PracticeNote.user_id == patient.user_id if patient.user_id else false()
    # Only this patient's own and their family members' notes are read (their authors' index),
    # not every shared note of the program; the rule above decides which of those show.
    family_users = select(FamilyLink.user_id).where(
        FamilyLink.patient_id == patient.id, FamilyLink.user_id.is_not(None)
    )
    return (
        select(PracticeNote, FamilyLink.display_name)
        .outerjoin(
            FamilyLink,
            and_(
                FamilyLink.user_id == PracticeNote.user_id,
                FamilyLink.patient_id == patient.id,
                FamilyLink.state == LinkState.ACTIVE,
            ),
        )
        .where(
            PracticeNote.shared_at.is_not(None),
            or_(by_patient, PracticeNote.user_id.in_(family_users)),
            or_(by_patient, family_may_share),
        )
        .order_by(
            PracticeNote.asked_at.is_not(None),
            PracticeNote.shared_at.desc(),
            PracticeNote.id.desc(),
        )
    )


def answers_row(user: User, module_slug: str, worksheet_key: str) -> WorksheetAnswers | None:
    return db.session.scalar(
        select(WorksheetAnswers).where(
            WorksheetAnswers.user_id == user.id,
            WorksheetAnswers.module_slug == module_slug,
            WorksheetAnswers.worksheet_key == worksheet_key,
        )
    )


def decode(row: WorksheetAnswers | None) -> dict[str, str]:
    """A row's answers as field key → text (nothing saved, or unreadable: empty)."""
    if row is None:
        return {}
    try:
        data = json.loads(row.answers or "{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


def answers_for(user: User, module_slug: str, worksheet_key: str) -> dict[str, str]:
    """Everything the learner saved for this worksheet, including answers to fields the
    content has since dropped (the page shows only the fields it still has)."""
    return decode(answers_row(user, module_slug, worksheet_key))


def started_worksheets(user: User, module_slug: str) -> frozenset[str]:
    """Keys of this module's worksheets the learner has saved answers for."""
    if not is_learner(user):
        return frozenset()
    return frozenset(
        db.session.scalars(
            select(WorksheetAnswers.worksheet_key).where(
                WorksheetAnswers.user_id == user.id,
                WorksheetAnswers.module_slug == module_slug,
            )
        )
    )
