"""The read side's exports and printable reports: the caseload and family CSV exports, the
printable caseload and family reports, and the admin's program report."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select

from lms import access, clock
from lms.assignments import queries as assignment_q
from lms.assignments import status as status_rules
from lms.content import get_library
from lms.extensions import db
from lms.insight import learners_subquery
from lms.models import Assignment, ModuleProgress, Patient, Role, User


@dataclass(frozen=True)
class LearnerSummary:
    """One learner's line in the summary at the top of a family report."""

    name: str
    assigned: int
    completed: int
    overdue: int
    paused: int


def family_summary(patient_id: int, today: date | None = None) -> list[LearnerSummary]:
    """Per learner of this patient: readings assigned (not cancelled), completed, overdue,
    and paused (consent or discharge) — the same status rule as every other page."""
    counts: dict[str, dict[str, int]] = {}
    for row in assignment_q.for_patient(patient_id, today):
        if row.status not in status_rules.COUNTED:
            continue
        tally = counts.setdefault(
            row.assignment.learner.display_name,
            {"assigned": 0, "completed": 0, "overdue": 0, "paused": 0},
        )
        tally["assigned"] += 1
        tally["completed"] += row.status in status_rules.DONE
        tally["overdue"] += row.status == status_rules.AssignmentStatus.OVERDUE
        tally["paused"] += row.status in status_rules.SUSPENDED
    return [LearnerSummary(name, **tally) for name, tally in sorted(counts.items())]


# The CSV export's column names, in the reader's language (lower case, words joined by "_":
# a spreadsheet's names for its columns).
REPORT_HEADER = (
    # TRANSLATORS: column names of the caseload CSV export: lower case, "_" between words.
    _l("patient"),
    _l("learner"),
    _l("relationship"),
    _l("module"),
    _l("assigned"),
    _l("due"),
    _l("status"),
    _l("completed"),
    _l("best_score"),
)


def report_rows(user: User, patient_id: int | None = None, today: date | None = None):
    """One row per learner-assignment on the caseload (or one patient), in two queries."""
    today = today or clock.today()
    ids = access.caseload(user).with_only_columns(Patient.id)
    if patient_id is not None:
        ids = ids.where(Patient.id == patient_id)
    learners = learners_subquery(ids)
    query, expression, progress = assignment_q.status_select(today)
    rows = db.session.execute(
        query.with_only_columns(
            Patient.display_name,
            User.display_name,
            learners.c.relationship,
            Assignment.module_slug,
            Assignment.assigned_at,
            Assignment.due_on,
            expression,
            progress.completed_at,
            progress.best_score,
        )
        .join(User, User.id == Assignment.learner_id)
        .join(
            learners,
            and_(
                learners.c.patient_id == Assignment.patient_id,
                learners.c.user_id == Assignment.learner_id,
            ),
            isouter=True,
        )
        .where(Assignment.patient_id.in_(ids), Assignment.cancelled_at.is_(None))
        .order_by(Patient.display_name, User.display_name, Assignment.due_on, Assignment.id)
    ).all()
    library = get_library()
    out = []
    for patient, learner, relationship, slug, assigned, due, status, completed_at, best in rows:
        module = library.module(slug)
        out.append(
            (
                patient,
                learner,
                (relationship or "").replace("_", " "),
                module.title if module else slug,
                clock.aware(assigned).date().isoformat(),
                due.isoformat() if due else "",
                status_rules.label(status),
                clock.aware(completed_at).date().isoformat() if completed_at else "",
                f"{round(best * 100)}%" if best is not None else "",
            )
        )
    return out


def program_report():
    """Admins: completion by module and by clinician, and median days to completion."""
    done = ModuleProgress.completed_at.is_not(None)
    rows = db.session.execute(
        select(
            Assignment.module_slug,
            Assignment.assigned_by_id,
            Assignment.assigned_at,
            ModuleProgress.completed_at,
        )
        .outerjoin(
            ModuleProgress,
            and_(
                ModuleProgress.user_id == Assignment.learner_id,
                ModuleProgress.module_slug == Assignment.module_slug,
                done,
            ),
        )
        .where(Assignment.cancelled_at.is_(None))
    ).all()
    names = dict(
        db.session.execute(
            select(User.id, User.display_name).where(User.role.in_([Role.CLINICIAN, Role.ADMIN]))
        ).all()
    )
    by_module: dict[str, list] = defaultdict(lambda: [0, 0, []])
    by_clinician: dict[str, list] = defaultdict(lambda: [0, 0, []])
    for slug, by, assigned, completed in rows:
        for bucket in (by_module[slug], by_clinician[names.get(by, "—")]):
            bucket[0] += 1
            if completed:
                bucket[1] += 1
                days = (clock.aware(completed) - clock.aware(assigned)).total_seconds() / 86400
                bucket[2].append(max(days, 0.0))
    library = get_library()

    def summarize(items, label):
        result = []
        for key, (assigned, completed, days) in sorted(items.items(), key=lambda kv: kv[0]):
            result.append(
                {
                    "label": label(key),
                    "assigned": assigned,
                    "completed": completed,
                    "rate": completed / assigned if assigned else 0.0,
                    "median_days": statistics.median(days) if days else None,
                }
            )
        return result

    def module_label(slug: str) -> str:
        module = library.module(slug)
        return module.title if module else slug

    return summarize(by_module, module_label), summarize(by_clinician, str)
