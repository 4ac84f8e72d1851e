"""Clinician insight: dashboard flags, drill-down, item analysis, sessions, reports, and a
fixed number of queries whatever the caseload size."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from lms import clock
from lms.content import get_library
from lms.extensions import db
from lms.learning import operations as learning
from lms.models import AuditEvent, Consent, EducationSession, User
from tests.forms import form_data
from tests.helpers import (
    login,
    make_assignment,
    make_family,
    make_patient,
    make_user,
    post_form,
    text_of,
)

WRONG = {"pick-one": frozenset({1}), "pick-many": frozenset({2}), "true-false": frozenset({1})}
RIGHT = {"pick-one": frozenset({0}), "pick-many": frozenset({0, 1}), "true-false": frozenset({0})}


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def attempt(app, user, answers, token):
    with app.app_context():
        module = get_library().module("first-steps")
        learning.submit_attempt(db.session.get(User, user.id), module, answers, token)
        db.session.commit()


def build_families(app, clinician, n: int):
    """n families, each with a joined, consented member who has some history."""
    for i in range(n):
        patient = make_patient(clinician, name=f"Patient {i:03d}")
        member = make_user("family")
        make_family(patient, member)
        make_assignment(patient, member, "first-steps", due_in_days=-1 if i % 2 else 5)
        make_assignment(patient, member, "no-check", due_in_days=9)
        attempt(app, member, WRONG if i % 3 else RIGHT, f"t-{i}")


class QueryCounter:
    def __init__(self, app):
        self.app = app
        self.count = 0

    def __enter__(self):
        with self.app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._hit)
        return self

    def _hit(self, *args, **kwargs):
        self.count += 1

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._hit)


def queries_for(app, client, url) -> int:
    with QueryCounter(app) as counter:
        response = client.get(url)
        assert response.status_code == 200, url
    return counter.count


PAGES = [
    "/clinic/",
    "/clinic/?show=needs_help&sort=overdue",
    "/clinic/?q=patient+0&show=consent_ending",
    "/clinic/items?module=first-steps",
    "/clinic/reports",
    "/clinic/reports/caseload.csv",
]


@pytest.mark.parametrize("url", PAGES)
def test_pages_load_in_a_fixed_number_of_queries(app, url):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    build_families(app, clinician, 5)
    small = queries_for(app, client, url)
    build_families(app, clinician, 45)
    large = queries_for(app, client, url)
    assert small == large, f"{url}: {small} queries for 5 families, {large} for 50"


def test_drill_down_queries_do_not_grow_with_attempts(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    patient = make_patient(clinician)
    member = make_user("family")
    make_family(patient, member)
    make_assignment(patient, member)
    attempt(app, member, WRONG, "a1")
    url = f"/clinic/patients/{patient.id}/learners/{member.id}"
    small = queries_for(app, client, url)
    for i in range(20):
        attempt(app, member, WRONG, f"more-{i}")
    assert queries_for(app, client, url) == small


def test_dashboard_flags_with_reasons(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    struggling = make_patient(clinician, name="Struggling Family")
    member = make_user("family", name="Robin Struggle")
    make_family(struggling, member)
    make_assignment(struggling, member, "first-steps", due_in_days=-2)
    attempt(app, member, WRONG, "w1")
    attempt(app, member, WRONG, "w2")
    fine = make_patient(clinician, name="Fine Family")
    make_family(fine, make_user("family"))
    page = text_of(client.get("/clinic/"))
    assert "Robin Struggle did not pass “First steps” twice" in page
    assert "1 overdue" in page
    assert "On track" in page
    assert page.index("Struggling Family") < page.index("Fine Family")  # needs help first
    only = text_of(client.get("/clinic/?show=needs_help"))
    assert "Struggling Family" in only and "Fine Family" not in only


def test_inactivity_and_expiring_consent_flags(app):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Quiet Family")
    member = make_user("family")
    make_family(patient, member)
    make_assignment(patient, member, "no-check", due_in_days=30)
    with app.app_context():
        consent = db.session.scalars(select(Consent)).one()
        consent.expires_on = clock.today() + timedelta(days=40)
        db.session.commit()
    clock.advance(timedelta(days=30))
    page = text_of(signed_in(app, clinician).get("/clinic/"))
    assert re.search(r"no activity for \d+ days", page)
    assert "consent for" in page and " ends " in page


def test_pagination(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    for i in range(30):
        make_patient(clinician, name=f"P{i:02d}")
    first = text_of(client.get("/clinic/?sort=name"))
    second = text_of(client.get("/clinic/?sort=name&page=2"))
    assert "P00" in first and "P29" not in first
    assert "P29" in second and "Page 2 of 2" in second
    assert client.get("/clinic/?page=abc").status_code == 200


def test_learner_drill_down_shows_answers_feedback_and_version(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    patient = make_patient(clinician)
    member = make_user("family", name="Drill Member")
    make_family(patient, member)
    make_assignment(patient, member)
    attempt(app, member, WRONG, "d1")
    page = text_of(client.get(f"/clinic/patients/{patient.id}/learners/{member.id}"))
    assert "Chose: A sunny day" in page
    assert "Not usually. Think about how the body feels." in page
    with app.app_context():
        version = get_library().module("first-steps").version[:10]
        actions = list(db.session.scalars(select(AuditEvent.action)))
    assert version in page and "learner.view" in actions
    stranger = make_user("family")
    url = f"/clinic/patients/{patient.id}/learners/{stranger.id}"
    assert client.get(url).status_code == 404


def test_item_analysis_chart_and_table(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    build_families(app, clinician, 6)
    page = text_of(client.get("/clinic/items?module=first-steps"))
    assert page.count('class="bar"') == 3
    assert '<title id="chart-title">' in page and '<desc id="chart-desc">' in page
    assert "A sunny day" in page  # the most chosen wrong answer of Q1
    assert "33%" in page  # 2 of 6 families answered correctly
    assert client.get("/clinic/items?module=nope").status_code == 404


def test_item_analysis_is_limited_to_the_caseload(app):
    mine = make_user("clinician")
    other = make_user("clinician")
    build_families(app, other, 3)
    page = text_of(signed_in(app, mine).get("/clinic/items?module=first-steps"))
    assert 'class="bar"' not in page
    admin_page = text_of(signed_in(app, make_user("admin")).get("/clinic/items?module=first-steps"))
    assert admin_page.count('class="bar"') == 3


def test_session_logging_attendance_and_patient_material(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    patient_user = make_user("patient")
    patient = make_patient(clinician, name="Attending Patient", user=patient_user)
    absent = make_patient(clinician, name="Absent Patient")
    elsewhere = make_patient(make_user("clinician"), name="Elsewhere")
    data = {
        "held_on": clock.today().isoformat(),
        "title": "Triggers group",
        "facilitator": "Casey",
        "modules": ["first-steps"],
        f"attendance-{patient.id}": "present",
        f"attendance-{absent.id}": "absent",
        f"attendance-{elsewhere.id}": "present",
    }
    data = form_data(client, "/clinic/sessions/new", "/clinic/sessions/new", **data)
    response = client.post("/clinic/sessions/new", data=data)
    assert response.status_code == 302
    client.post("/clinic/sessions/new", data=data)  # the same rendered form: a double click
    with app.app_context():
        sessions = db.session.scalars(select(EducationSession)).all()
        assert len(sessions) == 1
        assert {a.patient_id for a in sessions[0].attendance} == {patient.id, absent.id}
    home = text_of(signed_in(app, patient_user).get("/learn/"))
    assert "Material from your sessions" in home and "First steps" in home
    page = text_of(client.get(f"/clinic/patients/{patient.id}"))
    assert "Attendance rate: 100%" in page and "Triggers group" in page
    assert "Attendance rate: 0%" in text_of(client.get(f"/clinic/patients/{absent.id}"))


def test_session_form_bad_attendance_value_is_explained(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    patient = make_patient(clinician)
    response = post_form(
        client,
        "/clinic/sessions/new",
        {
            "held_on": clock.today().isoformat(),
            "title": "X",
            "facilitator": "Y",
            f"attendance-{patient.id}": "maybe",
        },
    )
    assert response.status_code == 200 and "Choose present, absent or excused" in text_of(response)


def test_caseload_csv_has_header_rows_and_is_audited(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    patient = make_patient(clinician, name="=Formula Family")
    member = make_user("family", name="CSV Member")
    make_family(patient, member)
    make_assignment(patient, member)
    attempt(app, member, RIGHT, "c1")
    response = client.get("/clinic/reports/caseload.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text_of(response))))
    # The 42 CFR 2.32 notice comes first, then a blank line, then the table.
    assert rows[0][0].startswith("Notice (42 CFR 2.32): This record which has been disclosed")
    assert rows[1] == []
    rows = rows[2:]
    assert rows[0] == [
        "patient",
        "learner",
        "relationship",
        "module",
        "assigned",
        "due",
        "status",
        "completed",
        "best_score",
        "goals_met",
        "goals_open",
        "goals_missed",
    ]
    assert rows[1][0] == "'=Formula Family"  # no formula runs in a spreadsheet
    assert rows[1][1:4] == ["CSV Member", "parent", "First steps"]
    assert rows[1][8] == "100%"
    family_csv = client.get(f"/clinic/patients/{patient.id}/report.csv")
    assert len(list(csv.reader(io.StringIO(text_of(family_csv))))) == 4  # notice, blank, 2
    with app.app_context():
        exports = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "report.export")
        ).all()
    assert len(exports) == 2


def test_program_report_for_admins_only(app):
    clinician = make_user("clinician", name="Reporting Clinician")
    patient = make_patient(clinician)
    member = make_user("family")
    make_family(patient, member)
    make_assignment(patient, member, by=clinician)
    assert signed_in(app, clinician).get("/clinic/reports/program").status_code == 404
    page = text_of(signed_in(app, make_user("admin")).get("/clinic/reports/program"))
    assert "Completion by module" in page and "Reporting Clinician" in page
