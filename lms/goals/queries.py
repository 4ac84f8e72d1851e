"""The one rule of a learning goal's state, and who sees a goal.

A goal's state is computed, never stored, from the learner's ``ModuleProgress`` — the same
facts every assignment status reads (``lms.assignments.status``):

- a "finish" goal counts a reading done once it is completed (``completed_at``), whatever
  version was finished: "completed an earlier version" is done here as it is in
  ``assignments.status.DONE`` (done is done; nothing recorded is rescored);
- a "pass" goal counts a reading done once its knowledge check was passed (``passed_at``),
  on any version, for the same reason.

Readings done before the goal was set count too: the goal asks where the learner stands, as
a reading completed before it was assigned counts as completed.

In order, the first that holds:

1. **met** — every listed reading is done; met on the day (in the program's time zone) the
   last of them was done, and **late** when that day is after the target date.
2. **missed** — the target date has passed in the program's time zone and it is not met. It
   can still be met: once the last reading is done it reads "met", late, with its day.
3. **open** — otherwise.

The rule exists twice — ``state_of`` in Python for goals already loaded (the patient page,
the learner's home) and ``state_expression`` in SQL for grouped counts (the caseload report
and CSV) — and ``tests/test_goals.py`` checks that they agree. The SQL form reads the
module list as stored by ``goals.operations`` (slugs joined by a line break, no blank line,
no slug twice). Cancelled goals are in neither: no page, count or report shows them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.functions import FunctionElement

from lms import access, clock, dates
from lms.content import get_library
from lms.extensions import db
from lms.models import LearningGoal, ModuleProgress, Patient, Role, User


class GoalKind(enum.StrEnum):
    FINISH = "finish"
    PASS = "pass"  # noqa: S105 - a kind of goal ("pass the check"), not a password


class GoalState(enum.StrEnum):
    MET = "met"
    OPEN = "open"
    MISSED = "missed"


#: The words staff pages and the report use for each state.
LABELS: Mapping[GoalState, object] = {
    GoalState.MET: _l("Met"),
    GoalState.OPEN: _l("Open"),
    GoalState.MISSED: _l("Missed"),
}

#: How loud the badge is (the same tones as an assignment's).
TONES: Mapping[GoalState, str] = {
    GoalState.MET: "ok",
    GoalState.OPEN: "warn",
    GoalState.MISSED: "bad",
}


def label(state: str) -> str:
    return str(LABELS[GoalState(state)])


def program_today() -> date:
    """Today in the program's time zone: a target date is the program's calendar day, so a
    goal is missed the same moment for everyone, whatever zone the reader set."""
    return clock.utcnow().astimezone(dates.program_zone()).date()


def _program_day(at: datetime) -> date:
    return clock.aware(at).astimezone(dates.program_zone()).date()


@dataclass(frozen=True)
class Done:
    """What a goal reads of one learner's progress on one reading."""

    completed_at: datetime | None
    passed_at: datetime | None


@dataclass(frozen=True)
class GoalProgress:
    """One goal with its state, as pages show it."""

    goal: LearningGoal
    state: GoalState
    done: int
    total: int
    #: The program's day the last listed reading was done (met goals only).
    met_on: date | None
    #: Met after the target date.
    late: bool

    @property
    def tone(self) -> str:
        return TONES[self.state]

    @property
    def label(self) -> str:
        return label(self.state)

    @property
    def is_pass(self) -> bool:
        return self.goal.kind == GoalKind.PASS


def state_of(goal: LearningGoal, progress: Mapping[str, Done], today: date) -> GoalProgress:
    """The Python form of the rule (``state_expression`` is the SQL form). ``progress`` maps
    the goal's learner's module slugs to what they have done; ``today`` is the program's."""
    slugs = goal.module_slugs
    stamps: list[datetime] = []
    for slug in slugs:
        row = progress.get(slug)
        if row is None:
            continue
        at = row.passed_at if goal.kind == GoalKind.PASS else row.completed_at
        if at is not None:
            stamps.append(at)
    done = len(stamps)
    total = len(slugs)
    if total and done >= total:
        met_on = _program_day(max(clock.aware(at) for at in stamps))
        return GoalProgress(goal, GoalState.MET, done, total, met_on, met_on > goal.target_on)
    state = GoalState.MISSED if goal.target_on < today else GoalState.OPEN
    return GoalProgress(goal, state, done, total, None, False)


def _progress_of(goals: Sequence[LearningGoal]) -> dict[tuple[int, str], Done]:
    """What the goals' learners have done on the goals' readings, in one query."""
    learners = {goal.learner_id for goal in goals}
    slugs = {slug for goal in goals for slug in goal.module_slugs}
    if not learners or not slugs:
        return {}
    rows = db.session.execute(
        select(
            ModuleProgress.user_id,
            ModuleProgress.module_slug,
            ModuleProgress.completed_at,
            ModuleProgress.passed_at,
        ).where(
            ModuleProgress.user_id.in_(sorted(learners)),
            ModuleProgress.module_slug.in_(sorted(slugs)),
        )
    )
    return {(user_id, slug): Done(completed, passed) for user_id, slug, completed, passed in rows}


def states_for(goals: Sequence[LearningGoal], today: date | None = None) -> list[GoalProgress]:
    """Each goal with its state, in the order given: one query, however many goals."""
    today = today or program_today()
    done = _progress_of(goals)
    result = []
    for goal in goals:
        mine = {slug: row for (user_id, slug), row in done.items() if user_id == goal.learner_id}
        result.append(state_of(goal, mine, today))
    return result


# --- which goals -----------------------------------------------------------------------------


def _listed() -> Select:
    return (
        select(LearningGoal)
        .where(LearningGoal.cancelled_at.is_(None))
        .order_by(LearningGoal.target_on, LearningGoal.id)
    )


def for_patient(patient: Patient, today: date | None = None) -> list[GoalProgress]:
    """The patient's goals (not cancelled) with their learner and state, for staff who reached
    the patient through ``access.patient_for``: two queries, however many goals."""
    goals = list(
        db.session.scalars(
            _listed()
            .where(LearningGoal.patient_id == patient.id)
            .options(joinedload(LearningGoal.learner))
        )
    )
    return states_for(goals, today)


def visible_goals(user: User, today: date | None = None) -> Select:
    """The learner's own goals (not cancelled) that they may see now: a patient always sees
    their own; a family member only while ``access.family_sees_patient`` holds (the rule of
    their readings: a consent naming them in force, the patient in the program)."""
    today = today or program_today()
    query = _listed().join(Patient, Patient.id == LearningGoal.patient_id)
    query = query.where(LearningGoal.learner_id == user.id)
    if user.role == Role.FAMILY:
        return query.where(access.family_sees_patient(LearningGoal.patient_id, user.id, today))
    if user.role == Role.PATIENT:
        return query.where(Patient.user_id == user.id)
    return query.where(False)


def for_learner(user: User, today: date | None = None) -> list[GoalProgress]:
    """The learner's home: their visible goals with their state, in two queries."""
    today = today or program_today()
    return states_for(list(db.session.scalars(visible_goals(user, today))), today)


def goal_for_staff(user: User, goal_id: object) -> tuple[LearningGoal, Patient]:
    """A goal and its patient, for staff with the patient on their caseload; otherwise 404
    (``access.patient_for`` decides, and records a denial)."""
    from flask import abort

    goal = db.session.get(LearningGoal, access.parse_id(goal_id))
    if goal is None:
        abort(404)
    return goal, access.patient_for(user, goal.patient_id)


# --- words ---------------------------------------------------------------------------------


def title_of(goal: LearningGoal, lang: str | None = None) -> str:
    """The goal's title: the clinician's words, else one made from what it asks, in the
    reader's language (made when shown, not stored, so a Spanish reader reads Spanish)."""
    if goal.title:
        return goal.title
    if lang is None:
        from flask_babel import get_locale

        lang = str(get_locale() or "en")
    library = get_library()
    slugs = goal.module_slugs
    by = dates.day_text(goal.target_on)
    path = next((p for p in library.paths if p.module_slugs == slugs), None)
    if goal.kind == GoalKind.PASS:
        if len(slugs) == 1:
            module = library.module(slugs[0], lang)
            name = module.title if module else slugs[0]
            return str(_l("Pass the check of “%(title)s” by %(d)s", title=name, d=by))
        return str(_l("Pass %(n)d knowledge checks by %(d)s", n=len(slugs), d=by))
    if path is not None and len(slugs) > 1:
        return str(_l("Finish “%(title)s” by %(d)s", title=path.title_in(lang), d=by))
    if len(slugs) == 1:
        module = library.module(slugs[0], lang)
        name = module.title if module else slugs[0]
        return str(_l("Finish “%(title)s” by %(d)s", title=name, d=by))
    return str(_l("Finish %(n)d readings by %(d)s", n=len(slugs), d=by))


# --- SQL -------------------------------------------------------------------------------------


class _position(FunctionElement):
    """Where ``needle`` starts in ``haystack`` (1-based; 0 when absent), portable SQL."""

    type = Integer()
    inherit_cache = True
    name = "position_of"


@compiles(_position)
def _position_sqlite(element, compiler, **kw):
    haystack, needle = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"instr({haystack}, {needle})"


@compiles(_position, "postgresql")
def _position_postgresql(element, compiler, **kw):
    haystack, needle = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"strpos({haystack}, {needle})"


_NL = literal("\n", String)


def _lines(column):
    """How many slugs a stored module list holds (as ``goals.operations`` writes it)."""
    return func.length(column) - func.length(func.replace(column, _NL, literal("", String))) + 1


def done_count_expression():
    """The number of the goal's readings its learner has done, correlated to
    ``LearningGoal`` (a slug matches a whole line of the stored list)."""
    listed = _position(_NL + LearningGoal.modules + _NL, _NL + ModuleProgress.module_slug + _NL)
    return (
        select(func.count(ModuleProgress.id))
        .where(
            ModuleProgress.user_id == LearningGoal.learner_id,
            listed > 0,
            or_(
                and_(
                    LearningGoal.kind == GoalKind.PASS.value,
                    ModuleProgress.passed_at.is_not(None),
                ),
                and_(
                    LearningGoal.kind != GoalKind.PASS.value,
                    ModuleProgress.completed_at.is_not(None),
                ),
            ),
        )
        .correlate(LearningGoal)
        .scalar_subquery()
    )


def state_expression(today: date):
    """The SQL form of the rule over ``LearningGoal`` (``state_of`` is the Python form);
    ``today`` is the program's."""
    return case(
        (done_count_expression() >= _lines(LearningGoal.modules), GoalState.MET.value),
        (LearningGoal.target_on < today, GoalState.MISSED.value),
        else_=GoalState.OPEN.value,
    )


def counts_by_patient(patient_ids: Select | Iterable[int], today: date | None = None):
    """Per patient of ``patient_ids``, goals (not cancelled) met, open and missed: a subquery
    with columns ``patient_id``, ``met``, ``open``, ``missed`` for an outer join (patients
    without goals have no row)."""
    today = today or program_today()
    states = (
        select(
            LearningGoal.patient_id.label("patient_id"),
            state_expression(today).label("state"),
        )
        .where(LearningGoal.patient_id.in_(patient_ids), LearningGoal.cancelled_at.is_(None))
        .subquery("goal_states")
    )

    def tally(state: GoalState):
        return func.coalesce(func.sum(case((states.c.state == state.value, 1), else_=0)), 0)

    return (
        select(
            states.c.patient_id,
            tally(GoalState.MET).label("met"),
            tally(GoalState.OPEN).label("open"),
            tally(GoalState.MISSED).label("missed"),
        )
        .group_by(states.c.patient_id)
        .subquery("goal_counts")
    )
