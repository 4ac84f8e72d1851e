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
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ARRAY,
    Integer,
    and_,
    any_,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
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
    Assignment,
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
from lms.wellbeing import queries as wellbeing_q


def _among(column, ids):
    """``column IN ids`` for a list of ids the caller read: on PostgreSQL one array
    parameter (``= ANY``), so hundreds of ids make one bind and a short statement the
    driver and the server parse once, not a placeholder each."""
    ids = list(ids)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(ids, ARRAY(Integer)))
    return column.in_(ids)


EXPIRY_WARNING_DAYS = 14
#: A withdrawn consent is shown as a notice on the dashboard for this many days.
NOTICE_DAYS = 14
#: "Joined this week": family members who accepted their invitation in the last so many days.
JOINED_DAYS = 7


@dataclass(frozen=True)
class Flag:
    """One needs-help reason. ``key`` names what it is about with ids and slugs only
    (``overdue``, ``inactive``, ``failed:<learner>:<module>``, ``consent_ends:<link>``,
    ``wellbeing:<link>``), so a follow-up can record which reasons it covered; ``text`` is
    what the clinician reads, translated when it is shown (the dashboard flags every family
    but shows one page)."""

    key: str
    text: str | LazyString

    def __str__(self) -> str:
        return str(self.text)


@dataclass(frozen=True)
class PatientRef:
    """A patient as the dashboard lists them: read as plain columns, so a caseload of
    thousands costs no ORM objects."""

    id: int
    display_name: str
    status: PatientStatus
    user_id: int | None

    @property
    def is_active(self) -> bool:
        return self.status == PatientStatus.ACTIVE


@dataclass
class Member:
    link: FamilyLink
    standing: Standing
    #: Their consent is in force and ends within ``EXPIRY_WARNING_DAYS`` (active patients).
    ends_soon: bool = False
    #: When they accepted their invitation, if within the last ``JOINED_DAYS`` days.
    joined_on: date | None = None
    #: Their WHO-5 check-ins at a glance (``wellbeing.queries.Summary``), if they took one.
    wellbeing: wellbeing_q.Summary | None = None


@dataclass(frozen=True)
class _MemberFacts:
    """What the whole caseload needs of a family member (not removed): search, the "joined"
    and "consent ends" counts and flags. ``Member`` is the shown row's full picture."""

    link_id: int
    name: str
    in_force: bool
    expires_on: date | None
    joined_on: date | None


@dataclass
class FamilyRow:
    """One family on the dashboard. Every row of the caseload carries what the summary,
    the flags, the "Show" filter, search and sorting read; ``members`` and the fields after
    ``quiz_average`` are filled for the rows shown (``caseload_page``; ``caseload_rows``
    fills every row)."""

    patient: PatientRef
    members: list[Member] = field(default_factory=list)
    assigned: int = 0
    completed: int = 0
    overdue: int = 0
    suspended: int = 0
    last_activity: datetime | None = None
    #: Reasons to help now; ``snoozed``: reasons set aside by a follow-up until its date.
    flags: list[Flag] = field(default_factory=list)
    snoozed: list[Flag] = field(default_factory=list)
    #: The latest follow-up, and whether its date is still to come.
    followup: FollowUp | None = None
    followup_pending: bool = False
    #: Family members (not removed) who joined in the last ``JOINED_DAYS`` days, and whose
    #: consent is in force and ends within ``EXPIRY_WARNING_DAYS`` (active patients).
    joined_count: int = 0
    ending_count: int = 0
    quiz_average: float | None = None
    notices: list[str] = field(default_factory=list)
    #: Whom the latest follow-up was with.
    contacted: str | None = None
    #: The viewer covers this patient for an away colleague (named) through this day.
    covering_until: date | None = None
    covering_for: str | None = None
    _facts: tuple[_MemberFacts, ...] = ()
    #: The learners the clinician may follow up with (user ids).
    _learners: tuple[int, ...] = ()
    #: Family members' WHO-5 summaries, by family link id (read with the flags).
    _wellbeing: dict = field(default_factory=dict)

    @property
    def needs_help(self) -> bool:
        return bool(self.flags)

    @property
    def reason_keys(self) -> list[str]:
        """Every current reason, snoozed or not: what a new follow-up covers."""
        return [f.key for f in (*self.flags, *self.snoozed)]

    @property
    def names(self) -> list[str]:
        """The patient's and the family members' names (what search looks in)."""
        return [self.patient.display_name, *(m.name for m in self._facts)]

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
) -> list[FamilyRow]:
    """One row per patient/family on this user's caseload (or only ``patient_id``), with
    needs-help flags, every row in full (``caseload_page`` fills only the page shown)."""
    today = today or clock.today()
    rows = _triage(user, status, today, patient_id)
    _fill(user, rows, today)
    return rows


def _triage(user: User, status: str, today: date, patient_id: int | None = None) -> list[FamilyRow]:
    """Every family on the caseload with its counts, last activity and needs-help flags, in
    eight queries of plain columns however large the caseload; after the first, each reads
    only the caseload's own rows by id (the program's size does not matter).

    Statuses come from ``lms.assignments.status`` and consent standing from
    ``lms.consent.queries``: a family member without a consent in force is shown as such,
    their suspended readings are neither overdue nor open, and nothing they did raises a
    flag — the clinician is never prompted to follow up with someone no longer authorised.
    A flag the family's latest follow-up covered is snoozed until its follow-up date
    (``followups.queries.snoozes``).
    """
    inactive_days = current_app.config.get("NEEDS_HELP_INACTIVE_DAYS", 7)
    base = access.caseload(user)
    if status in ("active", "discharged"):
        base = base.where(Patient.status == status)
    else:  # "everyone" still leaves out enrolments voided as duplicates
        base = base.where(Patient.status != PatientStatus.VOIDED)
    if patient_id is not None:
        base = base.where(Patient.id == patient_id)
    # Ordered by name, then id: rows of one name keep their order from page to page.
    rows = {
        pid: FamilyRow(PatientRef(pid, name, PatientStatus(state), own))
        for pid, name, state, own in db.session.execute(
            base.with_only_columns(
                Patient.id, Patient.display_name, Patient.status, Patient.user_id
            ).order_by(Patient.display_name, Patient.id)
        )
    }
    if not rows:
        return []
    ids = list(rows)

    # Family members (not removed): whether a consent naming them is in force (the SQL twin
    # of ``Consent.is_active``), and their latest consent, which the dashboard shows. Each is
    # a subquery with LIMIT, so it is an index probe per family member, never a pass over
    # every consent in the program.
    def of_member(column):
        return (
            select(column)
            .where(Consent.family_link_id == FamilyLink.id)
            .order_by(Consent.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    members: dict[int, list[tuple]] = defaultdict(list)
    consented: dict[int, set[int]] = defaultdict(set)
    link_users: dict[int, int | None] = {}
    for pid, link_id, uid, name, state, any_in_force, in_force, expires_on in db.session.execute(
        select(
            FamilyLink.patient_id,
            FamilyLink.id,
            FamilyLink.user_id,
            FamilyLink.display_name,
            FamilyLink.state,
            select(literal(True))
            .where(Consent.family_link_id == FamilyLink.id, in_force_clause(today))
            .limit(1)
            .scalar_subquery(),
            of_member(case((in_force_clause(today), True), else_=False)),
            of_member(Consent.expires_on),
        )
        .where(_among(FamilyLink.patient_id, ids), FamilyLink.state != LinkState.REMOVED)
        .order_by(FamilyLink.patient_id, FamilyLink.id)
    ):
        members[pid].append((link_id, name, state, bool(in_force), expires_on))
        link_users[link_id] = uid
        if uid is not None and state == LinkState.ACTIVE and any_in_force:
            consented[pid].add(uid)

    # Readings by status: grouped by the facts the rule reads (``assignments.status``), so
    # the Python form of the rule runs once per kind of group, not per reading.
    # The progress rows of the caseload's learners only (everyone a reading was given to:
    # the planner then reads them by index, whatever the program's size).
    given_to = db.session.scalars(
        select(Assignment.learner_id).where(_among(Assignment.patient_id, ids)).distinct()
    ).all()
    progress = (
        select(
            ModuleProgress.id,
            ModuleProgress.user_id,
            ModuleProgress.module_slug,
            ModuleProgress.completed_at,
        )
        .where(_among(ModuleProgress.user_id, given_to))
        .subquery("assignment_progress")
    )
    each = (
        select(
            Assignment.patient_id.label("patient_id"),
            Assignment.learner_id.label("learner_id"),
            Assignment.cancelled_at.is_not(None).label("cancelled"),
            progress.c.completed_at.is_not(None).label("completed"),
            progress.c.id.is_not(None).label("started"),
            and_(Assignment.due_on.is_not(None), Assignment.due_on < today).label("past_due"),
            Assignment.assigned_at.label("assigned_at"),
        )
        .outerjoin(
            progress,
            and_(
                progress.c.user_id == Assignment.learner_id,
                progress.c.module_slug == Assignment.module_slug,
            ),
        )
        .where(_among(Assignment.patient_id, ids))
        .subquery("each_assignment")
    )
    keys = (
        each.c.patient_id,
        each.c.learner_id,
        each.c.cancelled,
        each.c.completed,
        each.c.started,
        each.c.past_due,
    )
    tallies: dict[int, dict[AssignmentStatus, list]] = defaultdict(dict)
    decided: dict[tuple[bool, ...], AssignmentStatus] = {}
    yesterday = today - timedelta(days=1)
    for pid, learner, cancelled, completed, started, past_due, n, oldest in db.session.execute(
        select(*keys, func.count(), func.min(each.c.assigned_at)).group_by(*keys)
    ):
        patient = rows[pid].patient
        is_patient = patient.user_id is not None and patient.user_id == learner
        key = (
            bool(cancelled),
            bool(completed),
            bool(started),
            bool(past_due),
            patient.is_active,
            is_patient,
            learner in consented.get(pid, ()),
        )
        found = decided.get(key)
        if found is None:
            facts = status_rules.Facts(
                cancelled=key[0],
                completed=key[1],
                completed_version=None,  # done either way: the dashboard counts "done"
                started=key[2],
                due_on=yesterday if past_due else None,
                patient_active=key[4],
                learner_is_patient=is_patient,
                consent_in_force=key[6],
            )
            found = decided[key] = status_rules.status_of(facts, None, today)
        tally = tallies[pid].setdefault(found, [0, None])
        tally[0] += n
        if oldest is not None and (tally[1] is None or oldest < tally[1]):
            tally[1] = oldest
    oldest_open: dict[int, datetime | None] = {}
    for pid, counts in tallies.items():
        row = rows[pid]
        row.assigned = sum(counts[s][0] for s in status_rules.COUNTED if s in counts)
        row.completed = sum(counts[s][0] for s in status_rules.DONE if s in counts)
        row.overdue = (
            counts[AssignmentStatus.OVERDUE][0] if AssignmentStatus.OVERDUE in counts else 0
        )
        row.suspended = sum(counts[s][0] for s in status_rules.SUSPENDED if s in counts)
        oldest = [counts[s][1] for s in status_rules.OPEN if s in counts and counts[s][1]]
        oldest_open[pid] = clock.aware(min(oldest)) if oldest else None

    for pid, row in rows.items():
        row._learners = _followable(row.patient, consented.get(pid, ()))
    learner_ids = sorted({uid for row in rows.values() for uid in row._learners})
    last_seen = dict(
        db.session.execute(
            select(ModuleProgress.user_id, func.max(ModuleProgress.last_activity_at))
            .where(_among(ModuleProgress.user_id, learner_ids))
            .group_by(ModuleProgress.user_id)
        ).all()
    )
    # Failed the same check twice and never passed it: the failures come from a partial
    # index of failed attempts alone; each candidate's pass, if any, is one index probe.
    failed = (
        select(QuizAttempt.user_id.label("user_id"), QuizAttempt.module_slug.label("slug"))
        # "NOT passed", as the partial index says it, so the planner knows it may use it.
        .where(_among(QuizAttempt.user_id, learner_ids), ~QuizAttempt.passed)
        .group_by(QuizAttempt.user_id, QuizAttempt.module_slug)
        .having(func.count() >= 2)
        .subquery("failed_twice")
    )
    passed = aliased(QuizAttempt, name="passed")
    never_passed = (
        select(literal(1))
        .where(
            passed.user_id == failed.c.user_id,
            passed.module_slug == failed.c.slug,
            passed.passed.is_(True),
        )
        .limit(1)
        .scalar_subquery()
        .is_(None)
    )
    failed_twice: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for uid, slug, name in db.session.execute(
        select(failed.c.user_id, failed.c.slug, User.display_name)
        .join(User, User.id == failed.c.user_id)
        .where(never_passed)
        .order_by(failed.c.user_id, failed.c.slug)
    ):
        failed_twice[uid].append((slug, name))

    now = clock.utcnow()
    joined: dict[int, date] = {}
    for link_id, used_at in db.session.execute(
        select(Invitation.family_link_id, func.max(Invitation.used_at))
        .where(
            _among(Invitation.patient_id, ids),
            Invitation.family_link_id.is_not(None),
            Invitation.used_at >= now - timedelta(days=JOINED_DAYS),
        )
        .group_by(Invitation.family_link_id)
    ):
        joined[link_id] = clock.aware(used_at).date()

    followups = followup_q.latest_by_patient(select(Patient.id).where(_among(Patient.id, ids)))
    # Family members' WHO-5 check-ins (one query): the "Wellbeing" column and its reason.
    wellbeing = wellbeing_q.summaries(
        select(FamilyLink.user_id).where(
            _among(FamilyLink.patient_id, ids),
            FamilyLink.state != LinkState.REMOVED,
            FamilyLink.user_id.is_not(None),
        )
    )

    library = get_library()
    ends_by = today + timedelta(days=EXPIRY_WARNING_DAYS)
    for pid, row in rows.items():
        active = row.patient.is_active
        seen = [last_seen[uid] for uid in row._learners if last_seen.get(uid) is not None]
        if seen:
            row.last_activity = clock.aware(max(seen))
        flags: list[Flag] = []
        if active:
            for uid in sorted(set(row._learners)):
                for slug, name in failed_twice.get(uid, ()):
                    module = library.module(slug)
                    flags.append(
                        Flag(
                            f"failed:{uid}:{slug}",
                            _l(
                                "%(name)s did not pass “%(title)s” twice",
                                name=name,
                                title=module.title if module else slug,
                            ),
                        )
                    )
            if row.overdue:
                flags.append(Flag("overdue", _l("%(n)d overdue", n=row.overdue)))
            open_count = row.assigned - row.completed - row.suspended
            since = row.last_activity or oldest_open.get(pid)
            if open_count and since and now - since > timedelta(days=inactive_days):
                flags.append(
                    Flag(
                        "inactive",
                        _l("no activity for %(n)d days", n=(now - since).days),
                    )
                )
        facts = []
        for link_id, name, state, in_force, expires_on in members.get(pid, ()):
            fact = _MemberFacts(
                link_id,
                name,
                in_force,
                expires_on,
                joined.get(link_id) if state == LinkState.ACTIVE else None,
            )
            facts.append(fact)
            row.joined_count += fact.joined_on is not None
            uid = link_users.get(link_id)
            summary = wellbeing.get(uid) if uid is not None else None
            if summary is not None:
                row._wellbeing[link_id] = summary
                # Only for someone the clinician may follow up with (``_followable``): a
                # family member whose consent ended is never flagged.
                if uid in row._learners and summary.needs_help:
                    flags.append(_wellbeing_flag(link_id, name, summary))
            if active and in_force and expires_on is not None and expires_on <= ends_by:
                row.ending_count += 1
                flags.append(
                    Flag(
                        f"consent_ends:{link_id}",
                        _l(
                            "consent for %(name)s ends %(d)s",
                            name=name,
                            d=LazyString(dates.day_text, expires_on),
                        ),
                    )
                )
        row._facts = tuple(facts)
        followup = followups.get(pid)
        for flag in flags:
            snoozed = followup_q.snoozes(followup, flag.key, today)
            (row.snoozed if snoozed else row.flags).append(flag)
        if followup is not None:
            row.followup = followup
            row.followup_pending = followup_q.is_pending(followup, today)
    return list(rows.values())


def _wellbeing_flag(link_id: int, name: str, summary: wellbeing_q.Summary) -> Flag:
    """The needs-help reason of a family member's check-ins (``Summary.needs_help``: a
    latest score of 28 or below, or a drop of 10 points or more since the one before), in
    plain words for the clinician. Its key names the family link only."""
    if summary.low and summary.dropped:
        text = _l(
            "%(name)s: low wellbeing check-in score, down %(n)d points",
            name=name,
            n=summary.dropped,
        )
    elif summary.low:
        text = _l("%(name)s: low wellbeing check-in score", name=name)
    else:
        text = _l("%(name)s: wellbeing check-in dropped %(n)d points", name=name, n=summary.dropped)
    return Flag(f"wellbeing:{link_id}", text)


def _followable(patient: PatientRef, consented) -> tuple[int, ...]:
    """The learners a clinician may follow up with: the patient, and family members whose
    consent is in force (``consented``: their user ids, each with an active link and a
    consent naming them in force). Needs-help flags, activity and averages count only
    these."""
    family = sorted(consented)
    return (*family, patient.user_id) if patient.user_id is not None else tuple(family)


def _fill(user: User, rows: list[FamilyRow], today: date) -> None:
    """What the rows shown display beyond the triage: each family member with their consent
    standing, withdrawal notices, the viewer's cover, the check average (over the learners
    the clinician may follow up with) and whom the latest follow-up was with. Four queries
    for the rows given (a page of the dashboard)."""
    if not rows:
        return
    by_id = {row.patient.id: row for row in rows}
    shown = list(by_id)
    links: dict[int, list[FamilyLink]] = defaultdict(list)
    for link in db.session.scalars(
        select(FamilyLink).where(FamilyLink.patient_id.in_(shown)).order_by(FamilyLink.id)
    ):
        links[link.patient_id].append(link)
    consents: dict[int, Consent] = {}
    for consent in db.session.scalars(
        select(Consent).where(Consent.patient_id.in_(shown)).order_by(Consent.id.desc())
    ):
        consents.setdefault(consent.family_link_id, consent)

    cover, away = aliased(CareTeamMember), aliased(User)
    for pid, until, name in db.session.execute(
        select(cover.patient_id, cover.ends_on, away.display_name)
        .outerjoin(away, away.id == cover.covering_for_id)
        .where(
            cover.patient_id.in_(shown),
            cover.clinician_id == user.id,
            cover.ends_on.is_not(None),
        )
    ):
        by_id[pid].covering_until = until
        by_id[pid].covering_for = name

    sums: dict[int, tuple[float, int]] = {}
    for uid, total, count in db.session.execute(
        select(QuizAttempt.user_id, func.sum(QuizAttempt.score), func.count(QuizAttempt.score))
        .where(QuizAttempt.user_id.in_({uid for row in rows for uid in row._learners}))
        .group_by(QuizAttempt.user_id)
    ):
        sums[uid] = (float(total or 0), count)
    for row in rows:
        taken = [sums[uid] for uid in row._learners if uid in sums]
        count = sum(n for _total, n in taken)
        row.quiz_average = sum(total for total, _n in taken) / count if count else None

    for row in rows:
        facts = {fact.link_id: fact for fact in row._facts}
        row.members = []
        for link in links.get(row.patient.id, ()):
            fact = facts.get(link.id)
            if fact is None:  # removed
                continue
            member = Member(link, standing(consents.get(link.id), today))
            member.joined_on = fact.joined_on
            member.wellbeing = row._wellbeing.get(link.id)
            consent = consents.get(link.id)
            if member.standing.in_force and consent.expires_on is not None:
                member.ends_soon = row.patient.is_active and consent.expires_on <= (
                    today + timedelta(days=EXPIRY_WARNING_DAYS)
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
                        name=link.display_name,
                        d=dates.day_text(member.standing.since),
                    )
                )
            row.members.append(member)
        if row.followup is not None:
            row.contacted = _contacted_name(row, links.get(row.patient.id, ()))


def _contacted_name(row: FamilyRow, links) -> str:
    """Whom a follow-up was with: the patient, or the family member (even one removed since)."""
    if row.followup.family_link_id is None:
        return row.patient.display_name
    for link in links:
        if link.id == row.followup.family_link_id:
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
    "joined": lambda r: bool(r.joined_count),
    "consent_ending": lambda r: bool(r.ending_count),
}
#: The longest search the dashboard looks for (longer text is cut, never refused).
SEARCH_MAX = 100


def search_text(raw: str | None) -> str:
    """What a search box sent, tidied: spaces collapsed, at most ``SEARCH_MAX`` characters."""
    return " ".join((raw or "").split())[:SEARCH_MAX]


def matches(row: FamilyRow, q: str) -> bool:
    """The patient's name or a family member's name contains ``q`` (any case)."""
    needle = q.casefold()
    return any(needle in " ".join(name.split()).casefold() for name in row.names)


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
        joined=sum(r.joined_count for r in rows),
        consents_ending=sum(r.ending_count for r in rows),
    )


@dataclass(frozen=True)
class CaseloadPage:
    """One page of the dashboard: its rows in full, the summary of the whole caseload, and
    how many families the search and filter kept."""

    rows: list[FamilyRow]
    summary: Summary
    total: int
    page: int
    pages: int


def caseload_page(
    user: User,
    *,
    status: str = "active",
    show: str = "all",
    sort: str = "needs_help",
    q: str = "",
    page: int = 1,
    per_page: int = 25,
    today: date | None = None,
) -> CaseloadPage:
    """The dashboard: every family on the caseload is counted, flagged, filtered and sorted
    (``_triage``: plain columns, grouped queries), then only the page shown is read in full
    (``_fill``). The summary is the whole caseload's, before search and filter; a page past
    the last shows the last. Twelve queries, whatever the caseload size or the page."""
    today = today or clock.today()
    rows = _triage(user, status, today)
    summary = summarize(rows)
    rows = filter_and_sort(rows, show=show, sort=sort, q=q)
    pages = max(1, -(-len(rows) // per_page))
    page = min(max(page, 1), pages)
    shown = rows[(page - 1) * per_page : page * per_page]
    _fill(user, shown, today)
    return CaseloadPage(shown, summary, len(rows), page, pages)


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


def learners_of(patient: Patient) -> dict[int, str]:
    """The people whose learning staff may follow for this patient, by user id, with how
    they relate ("patient", or the family link's relationship): the patient's own login and
    family members linked and not removed. The learner drill-down and the API read it."""
    learners: dict[int, str] = {}
    if patient.user_id is not None:
        learners[patient.user_id] = "patient"
    for link in patient.family_links:
        if link.user_id is not None and link.state != LinkState.REMOVED:
            learners.setdefault(link.user_id, link.relationship_kind)
    return learners


def learner_of(patient: Patient, learner_id: int) -> tuple[User, str] | None:
    """The learner, if they are this patient's linked family member or the patient."""
    relationship = learners_of(patient).get(learner_id)
    if relationship is None:
        return None
    return db.session.get(User, learner_id), relationship


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
    family = select(FamilyLink.user_id).where(
        FamilyLink.user_id.is_not(None),
        FamilyLink.state == LinkState.ACTIVE,
        FamilyLink.patient_id.in_(ids),
    )
    own = select(Patient.user_id).where(Patient.user_id.is_not(None), Patient.id.in_(ids))
    return union_all(family, own)


@dataclass
class _Tally:
    answered: int = 0
    correct: int = 0
    learners: int = 0
    wrong: Counter = field(default_factory=Counter)


def _tallies(
    user: User, modules: list[Module], *, later: bool = False
) -> dict[tuple[str, str, bool], _Tally]:
    """Per (module slug, question id, is the learner's first attempt): answers, correct
    answers, learners and wrong answers by what was chosen, over learners' first attempts on
    each module's current version (``later``: their later attempts instead) by learners in
    scope, in one query however many modules and learners. A learner has one first attempt
    per module and an attempt answers each question once, so the learners behind a
    question's first answers are their number."""
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
    # A column of its own, so the query groups by a column rather than by an expression
    # with a bound parameter (PostgreSQL would not see the SELECT and GROUP BY ones as equal).
    # "nth < 2", not "nth = 1": the same rows, but PostgreSQL guesses a third of them kept
    # rather than one in two hundred, and so groups them in a hash table instead of sorting
    # a hundred thousand answers on disk.
    kept = numbered.c.nth > 1 if later else numbered.c.nth < 2
    attempts = (
        select(
            numbered.c.attempt_id,
            numbered.c.module_slug,
            (numbered.c.nth == 1).label("is_first"),
        )
        .where(kept)
        .subquery("attempts")
    )
    keys = (
        attempts.c.module_slug,
        QuizAnswer.question_id,
        attempts.c.is_first,
        QuizAnswer.correct,
        QuizAnswer.chosen,
    )
    tallies: dict[tuple[str, str, bool], _Tally] = defaultdict(_Tally)
    for slug, question_id, is_first, correct, chosen, count in db.session.execute(
        select(*keys, func.count())
        .select_from(QuizAnswer)
        .join(attempts, attempts.c.attempt_id == QuizAnswer.attempt_id)
        .group_by(*keys)
    ):
        tally = tallies[(slug, question_id, bool(is_first))]
        tally.answered += count
        if correct:
            tally.correct += count
        else:
            tally.wrong[chosen] += count
    for (_slug, _question, is_first), tally in tallies.items():
        if is_first:
            tally.learners = tally.answered
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
    and the hardest questions across modules. One query of first attempts, whatever the
    number of modules, learners or attempts (and one of the shown module's later attempts
    with ``every_attempt``).

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
        if every_attempt:  # later attempts: the one module shown, a second query
            tallies.update(_tallies(user, [asked], later=True))
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
