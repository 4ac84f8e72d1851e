"""Setting and cancelling a learning goal.

A clinician sets a goal for one learner of a patient — a family member with a login or the
patient's own login — to finish some readings, or to pass their knowledge checks, by a target
date. Each refusal is a message beside its field (``FieldProblems``). The same form sent twice
at once sets one goal (``lms.submissions``: the first one's goal is the answer to both);
cancelling asks first and is one conditional UPDATE, so a double click cancels and audits
once. Audit rows carry ids only, never the goal's title (the clinician's words may name a
person or a diagnosis).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from lms import audit, clock, submissions
from lms.assignments import queries as assignment_q
from lms.content import get_library
from lms.extensions import db
from lms.goals.queries import GoalKind, program_today
from lms.models import LearningGoal, Patient, User
from lms.problems import FieldProblems, Problem

TITLE_MAX = 200
#: How far ahead a target date may be.
MAX_DAYS_AHEAD = 365


def latest_target(today: date) -> date:
    return today + timedelta(days=MAX_DAYS_AHEAD)


def goal_problems(
    patient: Patient,
    *,
    learner_id: int | None,
    kind: str,
    modules: Iterable[str],
    target_on: date | None,
    title: str,
    today: date,
) -> dict[str, list]:
    """Every reason the goal cannot be set, by field (empty when it can)."""
    library = get_library()
    errors: dict[str, list] = {}
    if learner_id not in {person.user_id for person in assignment_q.learners_for(patient)}:
        errors["learner"] = [
            _l("Choose a family member who has joined, or the patient if they have a login.")
        ]
    slugs = list(modules)
    if kind not in {k.value for k in GoalKind}:
        errors["what"] = [_l("Choose what the goal is.")]
    elif not slugs:
        errors["modules"] = [_l("Choose at least one reading.")]
    elif unknown := [slug for slug in slugs if slug not in library]:
        errors["modules"] = [
            _l("These readings are not in the library: %(slugs)s.", slugs=", ".join(unknown))
        ]
    elif kind == GoalKind.PASS and (
        unchecked := [slug for slug in slugs if library.module(slug).quiz is None]
    ):
        names = ", ".join(library.module(slug).title for slug in unchecked)
        errors["modules"] = [
            _l(
                "These readings have no knowledge check to pass: %(names)s. "
                "Choose “Finish” for them instead.",
                names=names,
            )
        ]
    if target_on is None:
        errors["target_on"] = [_l("Enter the target date as YYYY-MM-DD.")]
    elif target_on < today:
        errors["target_on"] = [_l("The target date must be today or later.")]
    elif target_on > latest_target(today):
        errors["target_on"] = [
            _l(
                "Choose a target date within a year, by %(d)s at the latest.",
                d=latest_target(today).isoformat(),
            )
        ]
    if len(title) > TITLE_MAX:
        errors["title"] = [
            _l(
                "Keep the title to %(max)d characters or fewer (it has %(n)d).",
                max=TITLE_MAX,
                n=len(title),
            )
        ]
    return errors


def _stored_modules(modules: Iterable[str]) -> str:
    """The module list as ``goals.queries.state_expression`` reads it: slugs in the order
    given, each once, joined by a line break."""
    return "\n".join(dict.fromkeys(slug.strip() for slug in modules if slug.strip()))


def set_goal(
    clinician: User,
    patient: Patient,
    *,
    learner_id: int | None,
    kind: str,
    modules: Iterable[str],
    target_on: date | None,
    title: str | None = None,
    submit_token: str | None = None,
    today: date | None = None,
) -> LearningGoal:
    """Set a goal for one learner of ``patient``; refusals by field (``FieldProblems``), or a
    ``Problem`` once the patient has left the program. The same form sent twice sets one goal.
    Audited ``goal.set`` with ids only. The caller commits."""
    if not patient.is_active:
        raise Problem(_l("This patient has left the program; no new goal can be set."))
    today = today or program_today()
    title = (title or "").strip()
    slugs = _stored_modules(modules)
    errors = goal_problems(
        patient,
        learner_id=learner_id,
        kind=kind,
        modules=slugs.splitlines(),
        target_on=target_on,
        title=title,
        today=today,
    )
    if errors:
        raise FieldProblems(errors)
    once = submissions.claim(clinician, submit_token, "goal.set")
    if once.earlier and (earlier := db.session.get(LearningGoal, once.result or 0)) is not None:
        return earlier
    goal = LearningGoal(
        patient_id=patient.id,
        learner_id=learner_id,
        kind=kind,
        modules=slugs,
        # Empty means "made from what it asks", in each reader's language (queries.title_of).
        title=title,
        target_on=target_on,
        created_by_id=clinician.id,
    )
    db.session.add(goal)
    db.session.flush()
    audit.record(
        "goal.set",
        actor=clinician,
        subject=goal,
        patient_id=patient.id,
        detail=(
            f"learner {learner_id}; {kind}; {len(slugs.splitlines())} readings; "
            f"target {target_on.isoformat()}"
        ),
    )
    submissions.finish(once, goal.id)
    return goal


def cancel_goal(clinician: User, goal: LearningGoal) -> bool:
    """Cancel a goal. Returns False when it was already cancelled: the UPDATE matches only a
    goal still in force, so a double click (even one arriving at the same moment) cancels and
    audits once. A cancelled goal is counted nowhere."""
    cancelled = db.session.execute(
        update(LearningGoal)
        .where(LearningGoal.id == goal.id, LearningGoal.cancelled_at.is_(None))
        .values(cancelled_at=clock.utcnow(), cancelled_by_id=clinician.id)
        .execution_options(synchronize_session=False)
    )
    if cancelled.rowcount != 1:
        return False
    audit.record("goal.cancelled", actor=clinician, subject=goal, patient_id=goal.patient_id)
    return True
