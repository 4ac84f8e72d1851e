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
from lms.models import Assignment, ModuleProgress, Patient


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
