"""The shipped curriculum passes ``courses check``, and the demo builds on it idempotently."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.content import check_library, load_library
from lms.extensions import db
from lms.models import (
    Assignment,
    AuditEvent,
    Consent,
    FamilyLink,
    ModuleProgress,
    Outbox,
    Patient,
    QuizAttempt,
    User,
)

SHIPPED = Path(__file__).resolve().parent.parent / "courses"


def test_courses_check_passes_and_prints_every_grade(runner):
    result = runner.invoke(args=["courses", "check", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    library = load_library(SHIPPED)
    for module in library.modules():
        assert "  grade " in result.output and module.path.split("/")[-1] in result.output
    assert "0 errors" in result.output


def test_curriculum_meets_the_bar():
    report = check_library(SHIPPED)
    library = load_library(SHIPPED)
    modules = library.modules()
    assert len(modules) >= 15
    assert all(m.quiz is not None and len(m.quiz.questions) >= 5 for m in modules)
    assert all(3 <= len(m.objectives) <= 5 for m in modules)
    assert all(3 <= len(m.sections) <= 7 for m in modules)
    grades = list(report.grades.values())
    assert len(grades) == len(modules)
    assert max(grades) <= 8.0 and sum(grades) / len(grades) <= 7.0
    family_path = library.path("family-weeks-1-4")
    patient_path = library.path("patient-core")
    assert family_path is not None and family_path.title == "Family weeks 1–4"
    assert patient_path is not None and patient_path.title == "Patient core"
    for path in (family_path, patient_path):
        assert all(slug in library for slug in path.module_slugs)


def test_crisis_resources_where_danger_is_discussed():
    library = load_library(SHIPPED)
    for slug in ("overdose-and-naloxone", "warning-signs-of-return-to-use"):
        module = library.module(slug)
        html = module.intro_html + " ".join(s.html for s in module.sections)
        assert "988" in html and "911" in html and "1-800-662-4357" in html, slug


@pytest.fixture
def app_config(app_config):
    return {**app_config, "COURSES_DIR": str(SHIPPED)}


def table_counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (
                User,
                Patient,
                FamilyLink,
                Consent,
                Assignment,
                ModuleProgress,
                QuizAttempt,
                Outbox,
            )
        }


def test_demo_twice_changes_nothing_and_has_every_family_state(app, runner):
    assert runner.invoke(args=["demo", "--password", "demo orchard lantern 2026"]).exit_code == 0
    first = table_counts(app)
    assert runner.invoke(args=["demo", "--password", "demo orchard lantern 2026"]).exit_code == 0
    assert table_counts(app) == first
    assert first["patient"] == 4 and first["quiz_attempt"] >= 2
    # Sample data tells nobody of "new readings" (the demo prints accounts, not emails).
    assert first["outbox"] == 0, "the demo queued emails"
    with app.app_context():
        clinician = db.session.scalars(User.by_email("clinician@example.org")).one()
        from lms import access, clock

        caseload = db.session.scalars(access.caseload(clinician)).all()
        assert len(caseload) == 3
        states = {link.state for p in caseload for link in p.family_links}
        assert states == {"active", "invited"}
        consents = db.session.scalars(select(Consent)).all()
        assert {c.state() for c in consents} == {"active", "withdrawn"}
        overdue = db.session.scalars(
            select(Assignment).where(Assignment.due_on < clock.today())
        ).all()
        assert overdue
        family = db.session.scalars(User.by_email("family@example.org")).one()
        rows = db.session.scalars(
            select(ModuleProgress).where(ModuleProgress.user_id == family.id)
        ).all()
        assert any(r.completed_at for r in rows) and any(not r.completed_at for r in rows)
        assert db.session.scalar(select(func.count(AuditEvent.id))) > 0
