"""Recording that a clinician contacted a family about its needs-help flags."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask_babel import lazy_gettext as _l

from lms import audit, clock, submissions
from lms.extensions import db
from lms.followups.queries import contactable
from lms.models import FamilyLink, FollowUp, Patient, User
from lms.models.followup import NOTE_MAX
from lms.problems import FieldProblems, Problem

#: The follow-up date the form suggests: a week after the contact.
DEFAULT_FOLLOW_UP_DAYS = 7


def follow_up_date_problem(follow_up_on: date | None, today: date):
    """Why a follow-up date cannot be used (the form shows it beside the field), or None."""
    if follow_up_on is None:
        return _l("Enter the date to look at this family again.")
    if follow_up_on < today:
        return _l("The follow-up date must be today or later.")
    return None


def check_followup(
    patient: Patient,
    *,
    family_link: FamilyLink | None,
    note: str | None,
    follow_up_on: date | None,
    today: date,
) -> None:
    """Refuse what cannot be recorded, each message beside its field: a follow-up date
    before today, a note over ``NOTE_MAX`` characters, a family member the clinician may not
    speak with about the patient (no consent in force). A discharged patient has no flags to
    follow up."""
    if not patient.is_active:
        raise Problem(_l("This patient has left the program; there is nothing to follow up."))
    errors: dict[str, list] = {}
    if (problem := follow_up_date_problem(follow_up_on, today)) is not None:
        errors["follow_up_on"] = [problem]
    if note is not None and len(note) > NOTE_MAX:
        errors["note"] = [
            _l(
                "Keep the note to %(max)d characters or fewer (it has %(n)d).",
                max=NOTE_MAX,
                n=len(note),
            )
        ]
    if family_link is not None and all(
        person.link is None or person.link.id != family_link.id
        for person in contactable(patient, today)
    ):
        errors["who"] = [
            _l("The patient's consent for this family member is not in force. Choose someone else.")
        ]
    if errors:
        raise FieldProblems(errors)


def record_followup(
    clinician: User,
    patient: Patient,
    *,
    family_link: FamilyLink | None,
    note: str | None,
    follow_up_on: date,
    reasons: Iterable[str] = (),
    submit_token: str | None = None,
    today: date | None = None,
) -> FollowUp:
    """Record that ``clinician`` contacted the patient (``family_link`` None) or a family
    member today, with an optional note, and snooze ``reasons`` (the family's current flag
    keys) until ``follow_up_on``. The same form sent twice at once records once. The caller
    commits."""
    today = today or clock.today()
    note = (note or "").strip() or None
    check_followup(
        patient, family_link=family_link, note=note, follow_up_on=follow_up_on, today=today
    )
    once = submissions.claim(clinician, submit_token, "followup.record")
    if once.earlier and (earlier := db.session.get(FollowUp, once.result or 0)) is not None:
        return earlier
    followup = FollowUp(
        patient_id=patient.id,
        family_link_id=family_link.id if family_link is not None else None,
        clinician_id=clinician.id,
        contacted_on=today,
        follow_up_on=follow_up_on,
        note=note,
        reasons="\n".join(sorted(set(reasons))),
    )
    db.session.add(followup)
    db.session.flush()
    audit.record(
        "followup.recorded",
        actor=clinician,
        subject=followup,
        patient_id=patient.id,
        # Ids and dates only: the note stays in its row.
        detail=(
            f"contacted={'patient' if family_link is None else f'family_link {family_link.id}'}"
            f"; follow up on {follow_up_on.isoformat()}; {len(followup.reason_keys)} flags"
        ),
    )
    submissions.finish(once, followup.id)
    return followup
