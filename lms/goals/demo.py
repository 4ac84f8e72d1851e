"""Demo goals: one met and one open for the demo family (``flask demo``; idempotent)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lms.content import get_library
from lms.extensions import db
from lms.goals import operations as goal_ops
from lms.goals.queries import GoalKind, program_today
from lms.learning import operations as learning
from lms.models import LearningGoal, Patient, User


def ensure_goals(clinician: User, patient: Patient, learner: User) -> None:
    """A goal the learner has met (a reading they completed) and an open one (the first four
    readings of "Family weeks 1–4", three weeks ahead). Run after their demo reading."""
    if db.session.scalar(
        select(LearningGoal.id).where(
            LearningGoal.patient_id == patient.id, LearningGoal.learner_id == learner.id
        )
    ):
        return  # already made: running the demo again changes nothing
    today = program_today()
    done = sorted(
        slug
        for slug, row in learning.progress_by_slug(learner.id).items()
        if row.completed_at is not None and slug in get_library()
    )
    if done:
        goal_ops.set_goal(
            clinician,
            patient,
            learner_id=learner.id,
            kind=GoalKind.FINISH.value,
            modules=done[:1],
            target_on=today + timedelta(days=7),
        )
    path = get_library().path("family-weeks-1-4")
    if path is not None:
        goal_ops.set_goal(
            clinician,
            patient,
            learner_id=learner.id,
            kind=GoalKind.FINISH.value,
            modules=path.module_slugs[:4],
            target_on=today + timedelta(days=21),
            title="Finish the first four family readings",
        )
