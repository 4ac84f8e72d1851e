"""Assigning readings and cancelling them."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from lms import audit, clock, submissions, uow
from lms.extensions import db
from lms.mail import outbox, reminders
from lms.models import (
    Assignment,
    Patient,
    User,
)
from lms.patients.operations import lock_patient
from lms.problems import Problem


def assign(
    clinician: User,
    patient: Patient,
    *,
    module_slugs: list[str],
    learners: list[User],
    first_due: date | None,
    spread_days: int,
    note: str | None,
    path_slug: str | None = None,
    submit_token: str | None = None,
    announce: bool = True,
) -> int:
    """One assignment per learner and module; due dates spread across a path. Returns how
    many were created. ``announce=False`` (sample data) sends no "new reading" email.

    An open assignment of the same module to the same learner for this patient is kept as
    it is (a unique index holds one open per learner, patient and module); the same form
    sent twice at once answers with the first one's count. Each learner gets one discreet
    "new reading" email for what this call gave them (``mail.reminders``), sent once the unit
    of work is committed.
    """
    if not learners:
        raise Problem(_l("Choose at least one person to assign to."))
    if not module_slugs:
        raise Problem(_l("Choose a module or a path."))
    once = submissions.claim(clinician, submit_token, "assignment.create")
    if once.earlier:
        return once.result or 0
    lock_patient(patient)
    existing = {
        (a.learner_id, a.module_slug)
        for a in db.session.scalars(
            select(Assignment).where(
                Assignment.patient_id == patient.id, Assignment.cancelled_at.is_(None)
            )
        )
    }
    created = []
    for position, slug in enumerate(module_slugs):
        due = first_due + timedelta(days=spread_days * position) if first_due else None
        for learner in learners:
            if (learner.id, slug) in existing:
                continue
            assignment = Assignment(
                module_slug=slug,
                learner_id=learner.id,
                patient_id=patient.id,
                path_slug=path_slug,
                assigned_by_id=clinician.id,
                due_on=due,
                note=(note or "").strip() or None,
            )
            try:
                with db.session.begin_nested():
                    db.session.add(assignment)
            except IntegrityError:
                continue  # assigned by someone else this very moment: theirs stays
            created.append(assignment)
    for assignment in created:
        audit.record(
            "assignment.created",
            actor=clinician,
            subject=assignment,
            patient_id=patient.id,
            detail=f"module={assignment.module_slug} learner={assignment.learner_id}",
        )
    # One discreet "new reading" email per learner for this assigning (a path is one email),
    # delivered once the assignments are committed.
    for outbox_id in reminders.announce_new_readings(created) if announce else ():
        uow.after_commit(partial(outbox.send_now, outbox_id))
    submissions.finish(once, len(created))
    return len(created)


def cancel_assignment(clinician: User, assignment: Assignment) -> bool:
    """Cancel an open assignment. Returns False if it was already cancelled: a double click,
    even one arriving at the same moment, cancels and audits once (the UPDATE only matches
    an open row, and on PostgreSQL waits for the other to commit, then matches nothing)."""
    cancelled = db.session.execute(
        update(Assignment)
        .where(Assignment.id == assignment.id, Assignment.cancelled_at.is_(None))
        .values(cancelled_at=clock.utcnow(), cancelled_by_id=clinician.id)
    )
    if cancelled.rowcount != 1:
        return False  # already done (a double click): nothing to write
    audit.record(
        "assignment.cancelled",
        actor=clinician,
        subject=assignment,
        patient_id=assignment.patient_id,
    )
    return True


def restore_assignment(clinician: User, assignment: Assignment) -> bool:
    """Undo a cancellation: the reading is open again, with its due date and what was read.
    Returns False if it was not cancelled (a double click restores and audits once); refuses,
    with a message, when the same reading was given to that person again since."""
    again = db.session.scalar(
        select(Assignment.id).where(
            Assignment.learner_id == assignment.learner_id,
            Assignment.patient_id == assignment.patient_id,
            Assignment.module_slug == assignment.module_slug,
            Assignment.cancelled_at.is_(None),
            Assignment.id != assignment.id,
        )
    )
    if again is not None:
        raise Problem(
            _l("This reading was given to them again since, so there is nothing to restore.")
        )
    restored = db.session.execute(
        update(Assignment)
        .where(Assignment.id == assignment.id, Assignment.cancelled_at.is_not(None))
        .values(cancelled_at=None, cancelled_by_id=None)
    )
    if restored.rowcount != 1:
        return False
    audit.record(
        "assignment.restored", actor=clinician, subject=assignment, patient_id=assignment.patient_id
    )
    return True


def _path_rows(patient: Patient, learner_id: int, path_slug: str):
    return select(Assignment).where(
        Assignment.patient_id == patient.id,
        Assignment.learner_id == learner_id,
        Assignment.path_slug == path_slug,
    )


def cancel_path(clinician: User, patient: Patient, learner_id: int, path_slug: str) -> int:
    """Cancel every reading of this path still open for this learner, at one moment (so the
    path can be restored as a unit). Returns how many; 0 on a double click."""
    now = clock.utcnow()
    cancelled = db.session.execute(
        update(Assignment)
        .where(
            Assignment.patient_id == patient.id,
            Assignment.learner_id == learner_id,
            Assignment.path_slug == path_slug,
            Assignment.cancelled_at.is_(None),
        )
        .values(cancelled_at=now, cancelled_by_id=clinician.id)
    ).rowcount
    if cancelled:
        audit.record(
            "path.cancelled",
            actor=clinician,
            subject=patient,
            patient_id=patient.id,
            detail=f"path={path_slug} learner={learner_id} readings={cancelled}",
        )
    return cancelled


def restore_path(clinician: User, patient: Patient, learner_id: int, path_slug: str) -> int:
    """Undo the path's last cancellation: the readings cancelled at that moment open again,
    except any given to this learner again since. Returns how many were restored."""
    rows = list(db.session.scalars(_path_rows(patient, learner_id, path_slug)))
    cancelled = [row for row in rows if row.cancelled_at is not None]
    if not cancelled:
        return 0
    last = max(row.cancelled_at for row in cancelled)
    restored = 0
    for row in cancelled:
        if row.cancelled_at != last:
            continue
        try:
            with db.session.begin_nested():
                if restore_assignment(clinician, row):
                    restored += 1
        except Problem:
            continue  # given again since: that one stays as it is
    if restored:
        audit.record(
            "path.restored",
            actor=clinician,
            subject=patient,
            patient_id=patient.id,
            detail=f"path={path_slug} learner={learner_id} readings={restored}",
        )
    return restored
