"""Reading assignments with their status, in one query each (the status comes from
``lms.assignments.status``, never from a page)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from lms import clock
from lms.assignments import status as rules
from lms.assignments.status import AssignmentStatus
from lms.content import get_library
from lms.extensions import db
from lms.models import Assignment, LinkState, ModuleProgress, Patient


@dataclass(frozen=True)
class Row:
    assignment: Assignment
    progress: ModuleProgress | None
    status: AssignmentStatus

    @property
    def is_open(self) -> bool:
        return self.status in rules.OPEN

    @property
    def is_done(self) -> bool:
        return self.status in rules.DONE


def status_select(today: date | None = None):
    """``Assignment`` joined to its patient and the learner's progress, with the status."""
    today = today or clock.today()
    progress, on = rules.progress_join()
    expression = rules.status_expression(progress, today, rules.versions_of(get_library()))
    query = (
        select(Assignment, progress, expression.label("status"))
        .join(Patient, Patient.id == Assignment.patient_id)
        .outerjoin(progress, on)
    )
    return query, expression, progress


def rows(query: Select) -> list[Row]:
    return [Row(a, p, AssignmentStatus(s)) for a, p, s in db.session.execute(query)]


def for_patient(patient_id: int, today: date | None = None) -> list[Row]:
    """Every assignment given for this patient's care: open first by due date, then the rest."""
    query, _expression, _ = status_select(today)
    return rows(
        query.where(Assignment.patient_id == patient_id)
        .options(selectinload(Assignment.learner))
        .order_by(Assignment.cancelled_at.is_not(None), Assignment.due_on, Assignment.id)
    )


def open_count_for_learner(patient_id: int, learner_id: int | None) -> int:
    """How many readings this learner has open for this patient (what a withdrawal pauses)."""
    if learner_id is None:
        return 0
    return sum(1 for row in for_learner(patient_id, learner_id) if row.is_open)


def for_learner(patient_id: int, learner_id: int, today: date | None = None) -> list[Row]:
    query, _expression, _ = status_select(today)
    return rows(
        query.where(
            Assignment.patient_id == patient_id, Assignment.learner_id == learner_id
        ).order_by(Assignment.due_on, Assignment.id)
    )


@dataclass(frozen=True)
class Tally:
    count: int = 0
    oldest: datetime | None = None  # the earliest ``assigned_at`` among them


def counts_by_patient(patient_ids, today: date | None = None) -> dict[int, defaultdict]:
    """Per patient and status: how many assignments, and the oldest (one grouped query)."""
    query, expression, _ = status_select(today)
    # Grouped over a subquery: PostgreSQL binds the expression's parameters separately in
    # SELECT and GROUP BY and would not see them as the same expression.
    each = (
        query.with_only_columns(
            Assignment.patient_id, expression.label("status"), Assignment.assigned_at
        )
        .where(Assignment.patient_id.in_(patient_ids))
        .subquery("each_assignment")
    )
    grouped = select(
        each.c.patient_id, each.c.status, func.count(), func.min(each.c.assigned_at)
    ).group_by(each.c.patient_id, each.c.status)
    out: dict[int, defaultdict] = {}
    for patient_id, status, count, oldest in db.session.execute(grouped):
        out.setdefault(patient_id, defaultdict(Tally))[AssignmentStatus(status)] = Tally(
            count, oldest
        )
    return out


def remindable(today: date | None = None) -> Select:
    """Assignments someone may be reminded of today: open (not done, not cancelled, not
    suspended by consent or discharge) with a due date."""
    query, expression, _ = status_select(today)
    return (
        query.with_only_columns(Assignment.id, Assignment.learner_id)
        .where(Assignment.due_on.is_not(None), rules.status_in(expression, rules.OPEN))
        .order_by(Assignment.learner_id, Assignment.id)
    )


def status_now(assignment_id: int, today: date | None = None) -> AssignmentStatus | None:
    """The status of one assignment now (None if it no longer exists)."""
    query, expression, _ = status_select(today)
    value = db.session.scalar(
        query.with_only_columns(expression).where(Assignment.id == assignment_id)
    )
    return AssignmentStatus(value) if value is not None else None


@dataclass(frozen=True)
class PathGroup:
    """The readings of one path given to one learner, shown and handled as one unit."""

    path_slug: str
    learner_id: int
    learner_name: str
    rows: tuple[Row, ...]

    def count(self, statuses) -> int:
        return sum(1 for row in self.rows if row.status in statuses)

    @property
    def done(self) -> int:
        return self.count(rules.DONE)

    @property
    def overdue(self) -> int:
        return self.count({AssignmentStatus.OVERDUE})

    @property
    def counted(self) -> int:
        return self.count(rules.COUNTED)

    @property
    def cancellable(self) -> tuple[Row, ...]:
        """What cancelling the path takes away: readings not done and not cancelled."""
        return tuple(row for row in self.rows if row.is_open or row.status in rules.SUSPENDED)

    @property
    def may_cancel(self) -> bool:
        return bool(self.cancellable)

    @property
    def may_restore(self) -> bool:
        return any(row.status == AssignmentStatus.CANCELLED for row in self.rows)


def units_for_patient(
    patient_id: int, today: date | None = None
) -> tuple[list[PathGroup], list[Row]]:
    """The patient's assignments as units: each path given to a learner (two readings or
    more) as one group, and every other assignment on its own — same order as
    ``for_patient``, the same status rule."""
    rows = for_patient(patient_id, today)
    grouped: dict[tuple[int, str], list[Row]] = {}
    for row in rows:
        if row.assignment.path_slug:
            grouped.setdefault((row.assignment.learner_id, row.assignment.path_slug), []).append(
                row
            )
    groups = []
    singles = []
    in_group = set()
    for (learner_id, slug), members in grouped.items():
        if len(members) < 2:
            continue
        groups.append(
            PathGroup(slug, learner_id, members[0].assignment.learner.display_name, tuple(members))
        )
        in_group.update(id(row) for row in members)
    singles = [row for row in rows if id(row) not in in_group]
    return groups, singles


@dataclass(frozen=True)
class Learner:
    """Someone readings or a goal may be given to: the patient's login, or a family
    member's."""

    user_id: int
    name: str
    is_patient: bool


def learners_for(patient: Patient) -> list[Learner]:
    """The one rule of who may be given readings or a goal for this patient: family members
    who joined (an active link with a login), then the patient if they have a login.
    (Whether a family member then sees them is the consent's business:
    ``access.family_sees_patient``.)"""
    people = [
        Learner(link.user_id, link.display_name, False)
        for link in patient.family_links
        if link.state == LinkState.ACTIVE and link.user_id is not None
    ]
    if patient.user_id is not None:
        people.append(Learner(patient.user_id, patient.display_name, True))
    return people
