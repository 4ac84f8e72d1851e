"""One definition of assignment status: the Python and SQL forms agree on every combination of
the facts it depends on, and each status means what the pages say it means."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import select

from lms import clock
from lms.assignments import status as rules
from lms.assignments.status import AssignmentStatus as S
from lms.extensions import db
from lms.models import Assignment, Consent, FamilyLink, ModuleProgress, Patient
from tests.helpers import make_family, make_patient, make_user

LEARNER_KINDS = ("patient", "consent", "withdrawn", "no-consent", "link-removed", "expired")
COMPLETION = ("no", "current", "earlier", "unknown-version")
DUE = (None, -3, 0, 5)


def _build_world(clinician):
    """Every combination of facts, one assignment each (a slug of its own)."""
    today = clock.today()
    versions: dict[str, str] = {}
    cases = 0
    for patient_status in ("active", "discharged"):
        own = make_user("patient")
        patient = make_patient(clinician, user=own, status=patient_status)
        learners = {"patient": own}
        for kind in LEARNER_KINDS[1:]:
            person = make_user("family")
            consent = {
                "consent": "active",
                "withdrawn": "withdrawn",
                "no-consent": "none",
                "link-removed": "active",
                "expired": "expired",
            }[kind]
            link_id, _ = make_family(patient, person, consent=consent)
            if kind == "link-removed":
                db.session.get(FamilyLink, link_id).state = "removed"
            learners[kind] = person
        for learner in learners.values():
            for cancelled, completion, due, started in itertools.product(
                (False, True), COMPLETION, DUE, (False, True)
            ):
                cases += 1
                slug = f"case-{cases}"
                if cases % 7:  # some modules are no longer in the library
                    versions[slug] = "v2"
                db.session.add(
                    Assignment(
                        module_slug=slug,
                        learner_id=learner.id,
                        patient_id=patient.id,
                        due_on=today + timedelta(days=due) if due is not None else None,
                        cancelled_at=clock.utcnow() if cancelled else None,
                    )
                )
                if started or completion != "no":
                    db.session.add(
                        ModuleProgress(
                            user_id=learner.id,
                            module_slug=slug,
                            sections_total=3,
                            sections_read=3 if completion != "no" else 1,
                            completed_at=clock.utcnow() if completion != "no" else None,
                            completed_version={
                                "no": None,
                                "current": "v2",
                                "earlier": "v1",
                                "unknown-version": None,
                            }[completion],
                        )
                    )
    db.session.commit()
    return versions, cases


def _python_statuses(versions, today):
    consents = db.session.scalars(select(Consent)).all()
    links = {link.id: link for link in db.session.scalars(select(FamilyLink))}
    in_force = {
        (links[c.family_link_id].patient_id, links[c.family_link_id].user_id)
        for c in consents
        if c.is_active(today) and links[c.family_link_id].state == "active"
    }
    progress = {(p.user_id, p.module_slug): p for p in db.session.scalars(select(ModuleProgress))}
    patients = {p.id: p for p in db.session.scalars(select(Patient))}
    out = {}
    for a in db.session.scalars(select(Assignment)):
        facts = rules.facts_for(
            a,
            progress.get((a.learner_id, a.module_slug)),
            patients[a.patient_id],
            (a.patient_id, a.learner_id) in in_force,
        )
        out[a.id] = rules.status_of(facts, versions.get(a.module_slug), today)
    return out


def _sql_statuses(versions, today):
    progress, on = rules.progress_join()
    expression = rules.status_expression(progress, today, versions)
    rows = db.session.execute(
        select(Assignment.id, expression)
        .join(Patient, Patient.id == Assignment.patient_id)
        .outerjoin(progress, on)
    ).all()
    return {assignment_id: S(value) for assignment_id, value in rows}


def test_python_and_sql_agree_on_every_combination(app, ctx):
    clinician = make_user("clinician")
    versions, cases = _build_world(clinician)
    today = clock.today()
    in_python = _python_statuses(versions, today)
    in_sql = _sql_statuses(versions, today)
    assert len(in_python) == cases == 2 * len(LEARNER_KINDS) * 2 * 4 * 4 * 2
    disagree = {k: (in_python[k], in_sql[k]) for k in in_python if in_python[k] != in_sql[k]}
    assert not disagree
    # Every status occurs, so the agreement covers each branch of the rule.
    assert set(in_python.values()) == set(S)


def test_each_status_means_what_it_says(app, ctx):
    clinician = make_user("clinician")
    versions, _ = _build_world(clinician)
    today = clock.today()
    statuses = _python_statuses(versions, today)
    rows = {a.id: a for a in db.session.scalars(select(Assignment))}
    patients = {p.id: p for p in db.session.scalars(select(Patient))}
    for assignment_id, status in statuses.items():
        a = rows[assignment_id]
        patient = patients[a.patient_id]
        if status == S.OVERDUE:
            assert a.due_on < today and a.cancelled_at is None and patient.is_active
        if status in rules.OPEN:
            # Only an active patient's readings, and only a learner who may see them, are open.
            assert patient.is_active and a.cancelled_at is None
        if not patient.is_active and status in rules.OPEN | {S.SUSPENDED_NO_CONSENT}:
            raise AssertionError(f"{assignment_id}: discharged yet {status}")


def test_labels_and_tones_cover_every_status():
    assert set(rules.LABELS) == set(S) == set(rules.TONES)
    assert rules.OPEN | rules.DONE | rules.SUSPENDED | {S.CANCELLED} == set(S)
    assert rules.TONES[S.OVERDUE] == "bad"
