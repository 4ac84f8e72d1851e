"""The one definition of an assignment's status.

Every page, report, flag, count and reminder asks this module; nothing else decides whether a
reading is overdue, done or suspended. The rule exists twice, side by side — ``status_of`` in
Python for rows already loaded and ``status_expression`` in SQL for grouped queries — and
``tests/test_assignment_status.py`` checks that they agree on every combination of facts.

In order, the first that holds:

1. **cancelled** — a clinician cancelled it.
2. **completed** / **completed an earlier version** — the learner finished the module (done is
   done: a later withdrawal or discharge does not undo it).
3. **suspended (discharged)** — the patient left the program: nobody is asked to do more.
4. **suspended (no consent)** — a family member's reading while no consent naming them is in
   force (withdrawn, expired, ended, or never recorded), or their link was removed. They cannot
   see it (42 CFR Part 2), so it is neither overdue nor a reason to follow up.
5. **overdue** — past its due date.
6. **in progress** — the learner has opened the module.
7. **not started**.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists
from sqlalchemy.orm import aliased

from lms.consent.queries import in_force_clause
from lms.models import Assignment, Consent, FamilyLink, LinkState, ModuleProgress, Patient
from lms.models.clinical import PatientStatus


class AssignmentStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    OVERDUE = "overdue"
    COMPLETED = "completed"
    COMPLETED_EARLIER = "completed_earlier_version"
    SUSPENDED_NO_CONSENT = "suspended_no_consent"
    SUSPENDED_DISCHARGED = "suspended_discharged"
    CANCELLED = "cancelled"


S = AssignmentStatus

#: The learner is expected to act: counted as open, reminded, may raise a needs-help flag.
OPEN = frozenset({S.NOT_STARTED, S.IN_PROGRESS, S.OVERDUE})
DONE = frozenset({S.COMPLETED, S.COMPLETED_EARLIER})
SUSPENDED = frozenset({S.SUSPENDED_NO_CONSENT, S.SUSPENDED_DISCHARGED})
#: What "assigned" counts on the dashboard and in reports: everything not cancelled.
COUNTED = OPEN | DONE | SUSPENDED

#: The words every page, CSV and email uses for each status.
LABELS: Mapping[AssignmentStatus, object] = {
    S.NOT_STARTED: _l("Not started"),
    S.IN_PROGRESS: _l("In progress"),
    S.OVERDUE: _l("Overdue"),
    S.COMPLETED: _l("Completed"),
    S.COMPLETED_EARLIER: _l("Completed an earlier version"),
    S.SUSPENDED_NO_CONSENT: _l("Suspended: no active consent"),
    S.SUSPENDED_DISCHARGED: _l("Suspended: discharged"),
    S.CANCELLED: _l("Cancelled"),
}

#: How loud the badge is: ``bad`` needs action, ``warn`` is under way, ``ok`` is done.
TONES: Mapping[AssignmentStatus, str] = {
    S.NOT_STARTED: "muted",
    S.IN_PROGRESS: "warn",
    S.OVERDUE: "bad",
    S.COMPLETED: "ok",
    S.COMPLETED_EARLIER: "ok",
    S.SUSPENDED_NO_CONSENT: "muted",
    S.SUSPENDED_DISCHARGED: "muted",
    S.CANCELLED: "muted",
}


def label(status: str) -> str:
    return str(LABELS[AssignmentStatus(status)])


@dataclass(frozen=True)
class Facts:
    """What the status of one assignment depends on."""

    cancelled: bool
    completed: bool
    completed_version: str | None  # the content version finished, if known
    started: bool
    due_on: date | None
    patient_active: bool
    learner_is_patient: bool
    consent_in_force: bool  # for a family member: a consent naming them, in force, link active


def status_of(facts: Facts, current_version: str | None, today: date) -> AssignmentStatus:
    """The Python form of the rule (``status_expression`` is the SQL form)."""
    if facts.cancelled:
        return S.CANCELLED
    if facts.completed:
        if (
            current_version
            and facts.completed_version
            and facts.completed_version != current_version
        ):
            return S.COMPLETED_EARLIER
        return S.COMPLETED
    if not facts.patient_active:
        return S.SUSPENDED_DISCHARGED
    if not facts.learner_is_patient and not facts.consent_in_force:
        return S.SUSPENDED_NO_CONSENT
    if facts.due_on is not None and facts.due_on < today:
        return S.OVERDUE
    if facts.started:
        return S.IN_PROGRESS
    return S.NOT_STARTED


def facts_for(
    assignment: Assignment,
    progress: ModuleProgress | None,
    patient: Patient,
    consent_in_force: bool,
) -> Facts:
    completed = progress is not None and progress.completed_at is not None
    return Facts(
        cancelled=assignment.cancelled_at is not None,
        completed=completed,
        completed_version=progress.completed_version if completed else None,
        started=progress is not None,
        due_on=assignment.due_on,
        patient_active=patient.status == PatientStatus.ACTIVE,
        learner_is_patient=patient.user_id is not None and patient.user_id == assignment.learner_id,
        consent_in_force=consent_in_force,
    )


# --- SQL ---------------------------------------------------------------------------------


def consent_in_force_for_learner(today: date):
    """True when the assignment's learner is a family member of its patient with an active
    link and a consent in force (correlated to ``Assignment``)."""
    return exists().where(
        FamilyLink.patient_id == Assignment.patient_id,
        FamilyLink.user_id == Assignment.learner_id,
        FamilyLink.state == LinkState.ACTIVE,
        Consent.family_link_id == FamilyLink.id,
        in_force_clause(today),
    )


def progress_join():
    """The learner's progress on the assigned module, for an outer join."""
    progress = aliased(ModuleProgress, name="assignment_progress")
    on = and_(
        progress.user_id == Assignment.learner_id,
        progress.module_slug == Assignment.module_slug,
    )
    return progress, on


def status_expression(progress, today: date, versions: Mapping[str, str]):
    """The SQL form of the rule, over ``Assignment`` joined to ``Patient`` and outer-joined to
    ``progress`` (from ``progress_join``). ``versions`` maps module slugs to the current
    content version (``content.Library.versions()``); a slug missing from it counts its
    completion as current, as ``status_of`` does with ``current_version=None``."""
    current = (
        case(dict(versions), value=Assignment.module_slug, else_=progress.completed_version)
        if versions
        else progress.completed_version
    )
    completed = progress.completed_at.is_not(None)
    is_patient = and_(Patient.user_id.is_not(None), Patient.user_id == Assignment.learner_id)
    return case(
        (Assignment.cancelled_at.is_not(None), S.CANCELLED.value),
        (
            and_(
                completed,
                progress.completed_version.is_not(None),
                progress.completed_version != current,
            ),
            S.COMPLETED_EARLIER.value,
        ),
        (completed, S.COMPLETED.value),
        (Patient.status != PatientStatus.ACTIVE.value, S.SUSPENDED_DISCHARGED.value),
        (
            and_(~is_patient, ~consent_in_force_for_learner(today)),
            S.SUSPENDED_NO_CONSENT.value,
        ),
        (
            and_(Assignment.due_on.is_not(None), Assignment.due_on < today),
            S.OVERDUE.value,
        ),
        (progress.id.is_not(None), S.IN_PROGRESS.value),
        else_=S.NOT_STARTED.value,
    )


def status_in(expression, statuses):
    return expression.in_([s.value for s in statuses])


def versions_of(library) -> dict[str, str]:
    """Current content version per module slug."""
    return {module.slug: module.version for module in library.modules()}
