"""Reading wellbeing check-ins: when one is offered, a person's first and latest score, and
whose scores a staff member may see. The one home of these rules; pages, the dashboard, the
API and the exports call them.

When a check-in is offered (``due_for``), to family members only:

- ``"start"``: they have never taken one and a reading from the care team is visible to them
  (``access.visible_assignments``: a patient's consent in force, the patient in the program),
  so nothing is offered because of a patient they may not know about;
- ``"interval"``: ``EVERY_DAYS`` (4 weeks) or more after their last check-in, while a reading
  is still visible to them;
- ``"discharge"``: a patient they are linked to was discharged after their last check-in, in
  the last ``DISCHARGE_DAYS`` days, and the consent naming them lasted until the discharge
  (it ended with it or is still in force; a withdrawn one does not count).

"Not now" sets the offer aside for ``SKIP_DAYS`` days, whatever the occasion; after that the
same offer comes back while it still holds. The prompt's words are the same for every
occasion, so it never tells anyone that a patient was discharged.

Who sees whose scores: a staff member sees the scores of the family members (the user behind
``FamilyLink.user_id``) of patients on their caseload (``access.caseload``), also after a
consent ended — they are the family member's own answers to the program. Whether a score
raises a needs-help reason is decided on the dashboard (``lms.insight``), for the family
members it follows up only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, and_, func, or_, select

from lms import access, clock
from lms.extensions import db
from lms.models import (
    Consent,
    FamilyLink,
    LinkState,
    Patient,
    PatientStatus,
    Role,
    User,
    WellbeingCheck,
)
from lms.wellbeing import who5

#: A check-in is offered again this many days after the last one.
EVERY_DAYS = 28
#: "Not now" sets an offer aside for this many days.
SKIP_DAYS = 7
#: A discharge is a reason to offer a check-in for this many days after it.
DISCHARGE_DAYS = 28

START, INTERVAL, DISCHARGE = "start", "interval", "discharge"
OCCASIONS = (START, INTERVAL, DISCHARGE)


def _day(value: datetime | None) -> date | None:
    return clock.aware(value).date() if value is not None else None


def _taken():
    """A check-in answered, not an offer skipped."""
    return WellbeingCheck.skipped_at.is_(None)


def _lasted_until_discharge():
    """The consent naming a family member was still valid on the patient's discharge day:
    not entered in error, not withdrawn, not replaced, not expired before it (it may have
    ended with the discharge). The SQL twin of "they were authorised when the program
    ended", over ``Consent`` and ``Patient`` rows of one query."""
    return and_(
        Consent.error_at.is_(None),
        Consent.revoked_at.is_(None),
        Consent.superseded_at.is_(None),
        or_(Consent.expires_on.is_(None), Consent.expires_on >= Patient.discharged_on),
    )


def takes_checkins(user: User) -> bool:
    """The one rule of who takes wellbeing check-ins: family members (CRAFT's third goal is
    their own wellbeing), whatever their consent's state."""
    return user.role == Role.FAMILY


def due_for(user: User, today: date | None = None) -> str | None:
    """The occasion a check-in is offered to this person now (``"start"``, ``"interval"``,
    ``"discharge"``), or None: family members only, with the rules in the module's
    docstring. One query."""
    if not takes_checkins(user):
        return None
    today = today or clock.today()
    mine = WellbeingCheck.user_id == user.id
    last_taken = select(func.max(WellbeingCheck.taken_at)).where(mine, _taken()).scalar_subquery()
    last_skip = select(func.max(WellbeingCheck.skipped_at)).where(mine).scalar_subquery()
    reading = access.visible_assignments(user, today).exists()
    discharged = (
        select(func.max(Patient.discharged_on))
        .join(FamilyLink, FamilyLink.patient_id == Patient.id)
        .join(Consent, Consent.family_link_id == FamilyLink.id)
        .where(
            FamilyLink.user_id == user.id,
            FamilyLink.state == LinkState.ACTIVE,
            Patient.status == PatientStatus.DISCHARGED,
            Patient.discharged_on >= today - timedelta(days=DISCHARGE_DAYS),
            Patient.discharged_on <= today,
            _lasted_until_discharge(),
        )
        .scalar_subquery()
    )
    taken_at, skipped_at, has_reading, discharged_on = db.session.execute(
        select(last_taken, last_skip, reading, discharged)
    ).one()
    taken_at, skipped_at = clock.aware(taken_at), clock.aware(skipped_at)
    taken_on, skipped_on = _day(taken_at), _day(skipped_at)
    if skipped_on is not None and (taken_at is None or skipped_at > taken_at):
        if today - skipped_on < timedelta(days=SKIP_DAYS):
            return None
    if discharged_on is not None and (taken_on is None or discharged_on > taken_on):
        return DISCHARGE
    if not has_reading:
        return None
    if taken_on is None:
        return START
    if today - taken_on >= timedelta(days=EVERY_DAYS):
        return INTERVAL
    return None


@dataclass(frozen=True)
class Summary:
    """One person's check-ins at a glance: the first and latest score (0–100), the one before
    the latest (for a drop), their dates and how many were taken."""

    user_id: int
    count: int
    first: int
    first_at: datetime
    latest: int
    latest_at: datetime
    previous: int | None = None
    previous_at: datetime | None = None

    @property
    def change(self) -> int:
        """Latest minus first, in points (0 with one check-in)."""
        return self.latest - self.first

    @property
    def since_previous(self) -> int | None:
        """Latest minus the one before it, in points; None with one check-in."""
        return None if self.previous is None else self.latest - self.previous

    @property
    def dropped(self) -> int | None:
        """Points lost since the previous check-in, when at least ``who5.MEANINGFUL_DROP``."""
        return who5.dropped(self.previous, self.latest)

    @property
    def low(self) -> bool:
        return self.latest <= who5.LOW_AT_OR_BELOW

    @property
    def reading(self) -> str:
        return who5.reading(self.latest)

    @property
    def needs_help(self) -> bool:
        """A latest score of 28 or below, or a drop of 10 points or more since the previous
        check-in: a reason for the care team to reach out."""
        return self.low or self.dropped is not None


def _user_filter(user_ids: Iterable[int] | Select):
    if isinstance(user_ids, Select):
        return WellbeingCheck.user_id.in_(user_ids)
    return WellbeingCheck.user_id.in_(sorted(set(user_ids)))


def summaries(user_ids: Iterable[int] | Select) -> dict[int, Summary]:
    """Per user id (a list, or a select of user ids), the summary of their check-ins; people
    who never took one are absent. One query, however many people: each person's first,
    previous and latest check-in are picked by window functions."""
    ranked = (
        select(
            WellbeingCheck.user_id,
            WellbeingCheck.item1,
            WellbeingCheck.item2,
            WellbeingCheck.item3,
            WellbeingCheck.item4,
            WellbeingCheck.item5,
            WellbeingCheck.taken_at,
            func.row_number()
            .over(
                partition_by=WellbeingCheck.user_id,
                order_by=(WellbeingCheck.taken_at, WellbeingCheck.id),
            )
            .label("n"),
            func.count().over(partition_by=WellbeingCheck.user_id).label("total"),
        )
        .where(_user_filter(user_ids), _taken())
        .subquery("ranked")
    )
    picked: dict[int, dict[str, tuple[int, datetime]]] = defaultdict(dict)
    totals: dict[int, int] = {}
    for uid, i1, i2, i3, i4, i5, taken_at, n, total in db.session.execute(
        select(ranked).where(or_(ranked.c.n == 1, ranked.c.n >= ranked.c.total - 1))
    ):
        value = (who5.score((i1, i2, i3, i4, i5)), clock.aware(taken_at))
        totals[uid] = total
        if n == 1:
            picked[uid]["first"] = value
        if n == total:
            picked[uid]["latest"] = value
        elif n == total - 1:
            picked[uid]["previous"] = value
    result = {}
    for uid, found in picked.items():
        previous = found.get("previous")
        result[uid] = Summary(
            user_id=uid,
            count=totals[uid],
            first=found["first"][0],
            first_at=found["first"][1],
            latest=found["latest"][0],
            latest_at=found["latest"][1],
            previous=previous[0] if previous else None,
            previous_at=previous[1] if previous else None,
        )
    return result


def checkins_for(user_ids: Iterable[int] | Select) -> list[WellbeingCheck]:
    """The check-ins these people took (skipped offers left out), oldest first."""
    return list(
        db.session.scalars(
            select(WellbeingCheck)
            .where(_user_filter(user_ids), _taken())
            .order_by(WellbeingCheck.user_id, WellbeingCheck.taken_at, WellbeingCheck.id)
        )
    )


def family_user_ids(patient_ids: Select) -> Select:
    """The user ids of the family members (joined, any link state) of these patients: whose
    scores the staff who may see those patients may see."""
    return select(FamilyLink.user_id).where(
        FamilyLink.patient_id.in_(patient_ids), FamilyLink.user_id.is_not(None)
    )


def visible_to(staff: User) -> Select:
    """The user ids whose scores this staff member may see: family members of the patients
    on their caseload (``access.caseload``), whatever their consent's state now."""
    return family_user_ids(access.caseload(staff).with_only_columns(Patient.id))


@dataclass(frozen=True)
class MemberWellbeing:
    """A family member of one patient, with their summary (None: no check-in yet)."""

    link: FamilyLink
    summary: Summary | None


def for_patient(patient: Patient) -> list[MemberWellbeing]:
    """Each family member of this patient who has a login, with their summary; the caller
    has reached the patient through ``access.patient_for`` (audited). One query beyond the
    patient's family links."""
    links = [link for link in patient.family_links if link.user_id is not None]
    found = summaries([link.user_id for link in links]) if links else {}
    return [MemberWellbeing(link, found.get(link.user_id)) for link in links]
