"""What the clinician needs at a glance: per-family progress, needs-help flags, item analysis,
attendance and reports.

Every function here loads what it shows in a fixed number of queries, whatever the caseload
size: grouped aggregates over the caseload, never one query per patient or learner
(``tests/test_insight.py`` counts them for 5 and 50 families)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased, selectinload

from lms import access, clock, dates
from lms.assignments import queries as assignment_q
from lms.assignments import status as status_rules
from lms.assignments.status import AssignmentStatus
from lms.consent.queries import Standing, in_force_clause, standing
from lms.content import Module, get_library
from lms.extensions import db
from lms.followups import queries as followup_q
from lms.models import (
    CareTeamMember,
    Consent,
    FamilyLink,
    FollowUp,
    Invitation,
    LinkState,
    ModuleProgress,
    Patient,
    PatientStatus,
    QuizAnswer,
    QuizAttempt,
    Role,
    User,
)

EXPIRY_WARNING_DAYS = 14
#: A withdrawn consent is shown as a notice on the dashboard for this many days.
NOTICE_DAYS = 14
#: "Joined this week": family members who accepted their invitation in the last so many days.
JOINED_DAYS = 7


def learners_subquery(patient_ids: Select):
    """(patient_id, user_id, relationship) for every learner of the given patients."""
    family = select(
        FamilyLink.patient_id.label("patient_id"),
        FamilyLink.user_id.label("user_id"),
        FamilyLink.relationship_kind.label("relationship"),
    ).where(
        FamilyLink.user_id.is_not(None),
        FamilyLink.state == LinkState.ACTIVE,
        FamilyLink.patient_id.in_(patient_ids),
    )
    own = select(
        Patient.id.label("patient_id"),
        Patient.user_id.label("user_id"),
        literal("patient").label("relationship"),
    ).where(Patient.user_id.is_not(None), Patient.id.in_(patient_ids))
    return union_all(family, own).subquery("learners")


def followable_learners_subquery(patient_ids: Select, today: date):
    """The learners a clinician may follow up with: the patient, and family members whose
    consent is in force. Needs-help flags, activity and averages count only these."""
    family = select(
        FamilyLink.patient_id.label("patient_id"),
        FamilyLink.user_id.label("user_id"),
    ).where(
        FamilyLink.user_id.is_not(None),
        FamilyLink.state == LinkState.ACTIVE,
        FamilyLink.patient_id.in_(patient_ids),
        exists().where(Consent.family_link_id == FamilyLink.id, in_force_clause(today)),
    )
    own = select(Patient.id.label("patient_id"), Patient.user_id.label("user_id")).where(
        Patient.user_id.is_not(None), Patient.id.in_(patient_ids)
    )
    return union_all(family, own).subquery("followable")


@dataclass(frozen=True)
class Flag:
    """One needs-help reason. ``key`` names what it is about with ids and slugs only
    (``overdue``, ``inactive``, ``failed:<learner>:<module>``, ``consent_ends:<link>``), so a
    follow-up can record which reasons it covered; ``text`` is what the clinician reads."""

    key: str
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass
class Member:
    link: FamilyLink
    standing: Standing
    #: Their consent is in force and ends within ``EXPIRY_WARNING_DAYS`` (active patients).
    ends_soon: bool = False
    #: When they accepted their invitation, if within the last ``JOINED_DAYS`` days.
    joined_on: date | None = None


@dataclass
class FamilyRow:
    patient: Patient
    members: list[Member]
    assigned: int = 0
    completed: int = 0
    overdue: int = 0
    suspended: int = 0
    last_activity: datetime | None = None
    quiz_average: float | None = None
    #: Reasons to help now; ``snoozed``: reasons set aside by a follow-up until its date.
    flags: list[Flag] = field(default_factory=list)
    snoozed: list[Flag] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    #: The latest follow-up, whom it was with, and whether its date is still to come.
    followup: FollowUp | None = None
    contacted: str | None = None
    followup_pending: bool = False
    #: The viewer covers this patient for an away colleague (named) through this day.
    covering_until: date | None = None
    covering_for: str | None = None

    @property
    def needs_help(self) -> bool:
        return bool(self.flags)

    @property
    def reason_keys(self) -> list[str]:
        """Every current reason, snoozed or not: what a new follow-up covers."""
        return [f.key for f in (*self.flags, *self.snoozed)]

    @property
    def joined(self) -> list[Member]:
        return [m for m in self.members if m.joined_on is not None]

    @property
    def consents_ending(self) -> list[Member]:
        return [m for m in self.members if m.ends_soon]


def caseload_rows(
    user: User,
    *,
    status: str = "active",
    today: date | None = None,
    patient_id: int | None = None,
):
    """One row per patient/family on this user's caseload (or only ``patient_id``), with
    needs-help flags.

    Statuses come from ``lms.assignments.status`` and consent standing from
    ``lms.consent.queries``: a family member without a consent in force is shown as such,
    their suspended readings are neither overdue nor open, and nothing they did raises a
    flag — the clinician is never prompted to follow up with someone no longer authorised.
    A flag the family's latest follow-up covered is snoozed until its follow-up date
    (``followups.queries.snoozes``).
    """
    today = today or clock.today()
    inactive_days = current_app.config.get("NEEDS_HELP_INACTIVE_DAYS", 7)
    base = access.caseload(user)
    if status in ("active", "discharged"):
        base = base.where(Patient.status == status)
    else:  # "everyone" still leaves out enrolments voided as duplicates
        base = base.where(Patient.status != PatientStatus.VOIDED)
    if patient_id is not None:
        base = base.where(Patient.id == patient_id)
    ids = base.with_only_columns(Patient.id).scalar_subquery()
    ids_select = base.with_only_columns(Patient.id)

    # The viewer's own cover of each patient, if any, in the same query (aliased: the
    # caseload's own test on care teams stays a subquery of its own).
    cover, away = aliased(CareTeamMember), aliased(User)
    listed = db.session.execute(
        base.outerjoin(
            cover,
            and_(
                cover.patient_id == Patient.id,
                cover.clinician_id == user.id,
                cover.ends_on.is_not(None),
            ),
        )
        .outerjoin(away, away.id == cover.covering_for_id)
        .add_columns(cover.ends_on, away.display_name)
        .options(selectinload(Patient.family_links))
        .order_by(Patient.display_name)
    ).all()
    if not listed:
        return []
    patients = [p for p, _until, _name in listed]
    consents: dict[int, Consent] = {}
    for consent in db.session.scalars(
        select(Consent).where(Consent.patient_id.in_(ids)).order_by(Consent.id.desc())
    ):
        consents.setdefault(consent.family_link_id, consent)
    rows = {
        p.id: FamilyRow(
            patient=p,
            members=[
                Member(m, standing(consents.get(m.id), today))
                for m in p.family_links
                if m.state != LinkState.REMOVED
            ],
        )
        for p in patients
    }
    for patient, until, name in listed:
        rows[patient.id].covering_until = until
        rows[patient.id].covering_for = name

    oldest_open: dict[int, datetime | None] = {}
    for pid, counts in assignment_q.counts_by_patient(ids, today).items():
        row = rows[pid]
        row.assigned = sum(counts[s].count for s in status_rules.COUNTED)
        row.completed = sum(counts[s].count for s in status_rules.DONE)
        row.overdue = counts[AssignmentStatus.OVERDUE].count
        row.suspended = sum(counts[s].count for s in status_rules.SUSPENDED)
        oldest = [counts[s].oldest for s in status_rules.OPEN if counts[s].oldest]
        oldest_open[pid] = clock.aware(min(oldest)) if oldest else None

    learners = followable_learners_subquery(ids_select, today)
    activity = db.session.execute(
        select(learners.c.patient_id, func.max(ModuleProgress.last_activity_at))
        .join(ModuleProgress, ModuleProgress.user_id == learners.c.user_id)
        .group_by(learners.c.patient_id)
    ).all()
    for pid, last in activity:
        rows[pid].last_activity = clock.aware(last)

    averages = db.session.execute(
        select(learners.c.patient_id, func.avg(QuizAttempt.score))
        .join(QuizAttempt, QuizAttempt.user_id == learners.c.user_id)
        .group_by(learners.c.patient_id)
    ).all()
    for pid, average in averages:
        rows[pid].quiz_average = float(average) if average is not None else None

    failed_twice = db.session.execute(
        select(
            learners.c.patient_id, QuizAttempt.user_id, QuizAttempt.module_slug, User.display_name
        )
        .join(QuizAttempt, QuizAttempt.user_id == learners.c.user_id)
        .join(User, User.id == learners.c.user_id)
        .group_by(
            learners.c.patient_id, QuizAttempt.user_id, QuizAttempt.module_slug, User.display_name
        )
        .having(
            func.sum(case((QuizAttempt.passed.is_(False), 1), else_=0)) >= 2,
            func.sum(case((QuizAttempt.passed.is_(True), 1), else_=0)) == 0,
        )
    ).all()

    now = clock.utcnow()
    for pid, link_id, used_at in db.session.execute(
        select(Invitation.patient_id, Invitation.family_link_id, func.max(Invitation.used_at))
        .where(
            Invitation.patient_id.in_(ids),
            Invitation.family_link_id.is_not(None),
            Invitation.used_at >= now - timedelta(days=JOINED_DAYS),
        )
        .group_by(Invitation.patient_id, Invitation.family_link_id)
    ):
        for member in rows[pid].members:
            if member.link.id == link_id and member.link.state == LinkState.ACTIVE:
                member.joined_on = clock.aware(used_at).date()

    followups = followup_q.latest_by_patient(ids_select)

    library = get_library()
    raised: dict[int, list[Flag]] = defaultdict(list)
    for pid, learner_id, slug, name in failed_twice:
        if not rows[pid].patient.is_active:
            continue
        module = library.module(slug)
        raised[pid].append(
            Flag(
                f"failed:{learner_id}:{slug}",
                _(
                    "%(name)s did not pass “%(title)s” twice",
                    name=name,
                    title=module.title if module else slug,
                ),
            )
        )
    for row in rows.values():
        flags = raised[row.patient.id]
        if row.patient.is_active:
            if row.overdue:
                flags.append(Flag("overdue", _("%(n)d overdue", n=row.overdue)))
            open_count = row.assigned - row.completed - row.suspended
            since = row.last_activity or oldest_open.get(row.patient.id)
            if open_count and since and now - since > timedelta(days=inactive_days):
                flags.append(
                    Flag("inactive", _("no activity for %(n)d days", n=(now - since).days))
                )
        for member in row.members:
            consent = consents.get(member.link.id)
            if member.standing.in_force and consent.expires_on is not None:
                ends_by = today + timedelta(days=EXPIRY_WARNING_DAYS)
                member.ends_soon = row.patient.is_active and consent.expires_on <= ends_by
                if member.ends_soon:
                    flags.append(
                        Flag(
                            f"consent_ends:{member.link.id}",
                            _(
                                "consent for %(name)s ends %(d)s",
                                name=member.link.display_name,
                                d=dates.day_text(consent.expires_on),
                            ),
                        )
                    )
            elif (
                member.standing.state == "withdrawn"
                and member.standing.since
                and (today - member.standing.since) <= timedelta(days=NOTICE_DAYS)
            ):
                row.notices.append(
                    _(
                        "%(name)s: consent withdrawn %(d)s — they no longer see anything "
                        "about the patient",
                        name=member.link.display_name,
                        d=dates.day_text(member.standing.since),
                    )
                )
        followup = followups.get(row.patient.id)
        for flag in flags:
            snoozed = followup_q.snoozes(followup, flag.key, today)
            (row.snoozed if snoozed else row.flags).append(flag)
        if followup is not None:
            row.followup = followup
            row.followup_pending = followup_q.is_pending(followup, today)
            row.contacted = _contacted_name(row.patient, followup)
    return list(rows.values())


def _contacted_name(patient: Patient, followup: FollowUp) -> str:
    """Whom a follow-up was with: the patient, or the family member (even one removed since)."""
    if followup.family_link_id is None:
        return patient.display_name
    for link in patient.family_links:
        if link.id == followup.family_link_id:
            return link.display_name
    return _("a family member")


SORTS = {
    "name": lambda r: r.patient.display_name.casefold(),
    "needs_help": lambda r: (-len(r.flags), r.patient.display_name.casefold()),
    "overdue": lambda r: (-r.overdue, r.patient.display_name.casefold()),
    "activity": lambda r: -(r.last_activity.timestamp() if r.last_activity else 0),
}

#: What the dashboard's "Show" choice and its summary tiles filter by.
SHOW = {
    "all": lambda r: True,
    "needs_help": lambda r: r.needs_help,
    "overdue": lambda r: bool(r.overdue),
    "joined": lambda r: bool(r.joined),
    "consent_ending": lambda r: bool(r.consents_ending),
}
#: The longest search the dashboard looks for (longer text is cut, never refused).
SEARCH_MAX = 100


def search_text(raw: str | None) -> str:
    """What a search box sent, tidied: spaces collapsed, at most ``SEARCH_MAX`` characters."""
    return " ".join((raw or "").split())[:SEARCH_MAX]


def matches(row: FamilyRow, q: str) -> bool:
    """The patient's name or a family member's name contains ``q`` (any case)."""
    needle = q.casefold()
    names = [row.patient.display_name, *(m.link.display_name for m in row.members)]
    return any(needle in " ".join(name.split()).casefold() for name in names)


def filter_and_sort(rows: list[FamilyRow], *, show: str, sort: str, q: str = "") -> list[FamilyRow]:
    keep = SHOW.get(show, SHOW["all"])
    rows = [r for r in rows if keep(r) and (not q or matches(r, q))]
    return sorted(rows, key=SORTS.get(sort, SORTS["needs_help"]))


@dataclass(frozen=True)
class Summary:
    """The dashboard's tiles, over the caseload shown (before any search or filter)."""

    needs_help: int  # families with a reason to help now (snoozed reasons do not count)
    overdue: int  # families with overdue readings
    overdue_readings: int
    joined: int  # family members who joined in the last JOINED_DAYS days
    consents_ending: int  # family members whose consent ends within EXPIRY_WARNING_DAYS


def summarize(rows: list[FamilyRow]) -> Summary:
    return Summary(
        needs_help=sum(1 for r in rows if r.needs_help),
        overdue=sum(1 for r in rows if r.overdue),
        overdue_readings=sum(r.overdue for r in rows),
        joined=sum(len(r.joined) for r in rows),
        consents_ending=sum(len(r.consents_ending) for r in rows),
    )


def learner_detail(patient: Patient, learner_id: int):
    """Every assignment (with its status), progress row and attempt (with answers) of one
    learner."""
    assignments = assignment_q.for_learner(patient.id, learner_id)
    progress = {
        p.module_slug: p
        for p in db.session.scalars(
            select(ModuleProgress).where(ModuleProgress.user_id == learner_id)
        )
    }
    attempts = db.session.scalars(
        select(QuizAttempt)
        .where(QuizAttempt.user_id == learner_id)
        .options(selectinload(QuizAttempt.answers))
        .order_by(QuizAttempt.submitted_at.desc(), QuizAttempt.id.desc())
    ).all()
    by_module: dict[str, list[QuizAttempt]] = defaultdict(list)
    for attempt in attempts:
        by_module[attempt.module_slug].append(attempt)
    return assignments, progress, by_module


def learner_of(patient: Patient, learner_id: int) -> tuple[User, str] | None:
    """The learner, if they are this patient's linked family member or the patient."""
    if patient.user_id == learner_id:
        return db.session.get(User, learner_id), "patient"
    for link in patient.family_links:
        if link.user_id == learner_id and link.state != LinkState.REMOVED:
            return db.session.get(User, learner_id), link.relationship_kind
    return None


#: Fewer learners than this behind a module's figures: the page adds a caution, and none of
#: its questions is ranked among the hardest.
MIN_LEARNERS = 5
#: How many questions the cross-module "Hardest questions" ranking lists.
HARDEST_COUNT = 10


@dataclass
class ItemRow:
    number: int
    question_id: str
    prompt: str
    answered: int
    correct: int
    top_wrong: str | None
    top_wrong_count: int
    #: Different learners behind ``answered`` (the same number when only first tries count).
    learners: int = 0

    @property
    def share_correct(self) -> float:
        return self.correct / self.answered if self.answered else 0.0

    @property
    def rankable(self) -> bool:
        """Enough learners answered it for it to be called one of the hardest."""
        return self.learners >= MIN_LEARNERS


@dataclass
class ModuleItems:
    """One module's questions on its current version."""

    module: Module
    rows: list[ItemRow]
    every_attempt: bool
    #: How many learners, and how many attempts, the figures are based on.
    learners: int
    attempts: int

    @property
    def few(self) -> bool:
        return 0 < self.learners < MIN_LEARNERS

    @property
    def hardest(self) -> ItemRow | None:
        """The question with the lowest share correct, if enough learners answered."""
        ranked = [row for row in self.rows if row.rankable]
        return min(ranked, key=lambda row: (row.share_correct, row.number)) if ranked else None


@dataclass
class HardQuestion:
    module: Module
    item: ItemRow


@dataclass
class ItemAnalysis:
    #: Every module with a knowledge check, in course order.
    modules: list[Module]
    #: Learners who took each module's current version (by slug).
    learners: dict[str, int]
    #: The questions with the lowest share correct among learners' first attempts, across
    #: every module (only questions at least ``MIN_LEARNERS`` learners answered).
    hardest: list[HardQuestion]
    #: The module asked for (by default the first one somebody took), or None.
    current: ModuleItems | None
    min_learners: int = MIN_LEARNERS


def _scope_learner_ids(user: User):
    """Learners whose attempts this staff member may analyse (admins: the whole program)."""
    if user.role == Role.ADMIN:
        return None
    ids = access.caseload(user).with_only_columns(Patient.id)
    learners = learners_subquery(ids)
    return select(learners.c.user_id)


@dataclass
class _Tally:
    answered: int = 0
    correct: int = 0
    learners: int = 0
    wrong: Counter = field(default_factory=Counter)


def _tallies(user: User, modules: list[Module]) -> dict[tuple[str, str, bool], _Tally]:
    """Per (module slug, question id, is the learner's first attempt): answers, correct
    answers, learners and wrong answers by what was chosen. Attempts on each module's current
    version by learners in scope, in two queries however many modules and learners."""
    conditions = [
        or_(
            *(
                and_(QuizAttempt.module_slug == m.slug, QuizAttempt.content_version == m.version)
                for m in modules
            )
        )
    ]
    scope = _scope_learner_ids(user)
    if scope is not None:
        conditions.append(QuizAttempt.user_id.in_(scope))
    numbered = (
        select(
            QuizAttempt.id.label("attempt_id"),
            QuizAttempt.user_id.label("user_id"),
            QuizAttempt.module_slug.label("module_slug"),
            func.row_number()
            .over(
                partition_by=(QuizAttempt.user_id, QuizAttempt.module_slug),
                order_by=(QuizAttempt.submitted_at, QuizAttempt.id),
            )
            .label("nth"),
        )
        .where(*conditions)
        .subquery("numbered")
    )
    # A column of its own, so both queries group by a column rather than by an expression
    # with a bound parameter (PostgreSQL would not see the SELECT and GROUP BY ones as equal).
    attempts = select(
        numbered.c.attempt_id,
        numbered.c.user_id,
        numbered.c.module_slug,
        (numbered.c.nth == 1).label("is_first"),
    ).subquery("attempts")
    keys = (attempts.c.module_slug, QuizAnswer.question_id, attempts.c.is_first)
    tallies: dict[tuple[str, str, bool], _Tally] = defaultdict(_Tally)
    for slug, question_id, is_first, answered, learners, correct in db.session.execute(
        select(
            *keys,
            func.count(QuizAnswer.id),
            func.count(attempts.c.user_id.distinct()),
            func.sum(case((QuizAnswer.correct.is_(True), 1), else_=0)),
        )
        .join(attempts, attempts.c.attempt_id == QuizAnswer.attempt_id)
        .group_by(*keys)
    ):
        tally = tallies[(slug, question_id, bool(is_first))]
        tally.answered, tally.learners, tally.correct = answered, learners, int(correct or 0)
    for slug, question_id, is_first, chosen, count in db.session.execute(
        select(*keys, QuizAnswer.chosen, func.count(QuizAnswer.id))
        .join(attempts, attempts.c.attempt_id == QuizAnswer.attempt_id)
        .where(QuizAnswer.correct.is_(False))
        .group_by(*keys, QuizAnswer.chosen)
    ):
        tallies[(slug, question_id, bool(is_first))].wrong[chosen] = count
    return tallies


def _answer_text(question, chosen: str) -> str:
    """What a stored answer (option ids, not places) says: texts joined with " + ", or for an
    ordering question the steps in the learner's order joined with " → "."""
    labels = []
    for index in (int(c) for c in chosen.split(",") if c.isascii() and c.isdigit()):
        if index < len(question.choices):
            labels.append(question.choices[index].text)
    joiner = " → " if question.is_ordering else " + "
    return joiner.join(labels) or _("(no answer)")


def _module_rows(module: Module, tallies, *, every_attempt: bool) -> list[ItemRow]:
    rows = []
    for number, question in enumerate(module.quiz.questions, start=1):
        first = tallies.get((module.slug, question.id, True)) or _Tally()
        answered, correct, wrong = first.answered, first.correct, first.wrong
        if every_attempt:
            later = tallies.get((module.slug, question.id, False)) or _Tally()
            answered, correct = answered + later.answered, correct + later.correct
            wrong = wrong + later.wrong
        top_wrong, top_count = None, 0
        if wrong:
            chosen, top_count = min(wrong.items(), key=lambda item: (-item[1], item[0]))
            top_wrong = _answer_text(question, chosen)
        rows.append(
            ItemRow(
                number,
                question.id,
                question.prompt,
                answered,
                correct,
                top_wrong,
                top_count,
                learners=first.learners,
            )
        )
    return rows


def item_analysis(
    user: User, slug: str | None = None, *, every_attempt: bool = False
) -> ItemAnalysis | None:
    """Question analysis over the learners this staff member may follow up with (admins: the
    whole program), on each module's current version: per question of one module, the share
    correct, the most chosen wrong answer and how many learners (and attempts) that rests on;
    and the hardest questions across modules. Two queries, whatever the number of modules,
    learners or attempts.

    Each learner's first attempt counts once; ``every_attempt`` counts every attempt in the
    one module's view (the ranking always counts first attempts). ``slug`` None: the first
    module somebody took. None when ``slug`` names no module with a knowledge check."""
    library = get_library()
    modules = [m for m in library.modules() if m.quiz is not None]
    asked = None
    if slug is not None:
        asked = library.module(slug)
        if asked is None or asked.quiz is None:
            return None
        if all(m.slug != asked.slug for m in modules):
            modules.append(asked)
    tallies = _tallies(user, modules) if modules else {}
    first_rows = {m.slug: _module_rows(m, tallies, every_attempt=False) for m in modules}
    learners = {
        m.slug: max((row.learners for row in first_rows[m.slug]), default=0) for m in modules
    }
    place = {m.slug: i for i, m in enumerate(modules)}
    ranked = sorted(
        (HardQuestion(m, row) for m in modules for row in first_rows[m.slug] if row.rankable),
        key=lambda h: (h.item.share_correct, -h.item.learners, place[h.module.slug], h.item.number),
    )
    if asked is None:
        asked = next((m for m in modules if learners[m.slug]), None)
    current = None
    if asked is not None:
        rows = (
            _module_rows(asked, tallies, every_attempt=True)
            if every_attempt
            else first_rows[asked.slug]
        )
        current = ModuleItems(
            module=asked,
            rows=rows,
            every_attempt=every_attempt,
            learners=learners[asked.slug],
            attempts=max((row.answered for row in rows), default=0),
        )
    return ItemAnalysis(modules, learners, ranked[:HARDEST_COUNT], current)
