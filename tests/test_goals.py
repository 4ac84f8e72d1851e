"""Learning goals: the state rule (Python and SQL agree), setting and cancelling, who sees a
goal, the learner's home, the caseload report's counts, and a patient page whose query count
does not grow with its goals."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from lms import clock
from lms.extensions import db
from lms.goals import operations as goal_ops
from lms.goals import queries as goal_q
from lms.models import AuditEvent, FamilyLink, LearningGoal, ModuleProgress, User
from tests.helpers import (
    app_context,
    count_queries,
    csrf_token,
    login,
    make_family,
    make_patient,
    make_user,
    text_of,
)
from tests.test_concurrency import assert_calm, at_once

S = goal_q.GoalState


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def add_goal(patient, learner, modules=("first-steps",), *, kind="finish", days=7, title=""):
    with app_context():
        goal = LearningGoal(
            patient_id=patient.id,
            learner_id=learner.id,
            kind=kind,
            modules="\n".join(modules),
            title=title,
            target_on=goal_q.program_today() + timedelta(days=days),
        )
        db.session.add(goal)
        db.session.commit()
        return goal.id


def progress(user, slug, *, completed=None, passed=None):
    """What ``user`` has done on ``slug``: completed and/or passed at those times."""
    with app_context():
        db.session.add(
            ModuleProgress(
                user_id=user.id,
                module_slug=slug,
                sections_read=3,
                sections_total=3,
                completed_at=completed,
                completed_version="an-earlier-version" if completed else None,
                passed_at=passed,
            )
        )
        db.session.commit()


def family_world(app):
    clinician = make_user("clinician")
    member = make_user("family", name="Pat Example")
    patient = make_patient(clinician, name="Sam Example")
    link_id, _consent = make_family(patient, member)
    return clinician, member, patient, link_id


def states_both_ways(app, patient_id):
    """Each goal's state by the Python rule and by its SQL twin."""
    with app.app_context():
        goals = db.session.scalars(
            select(LearningGoal)
            .where(LearningGoal.patient_id == patient_id, LearningGoal.cancelled_at.is_(None))
            .order_by(LearningGoal.id)
        ).all()
        python = {shown.goal.id: shown.state.value for shown in goal_q.states_for(goals)}
        sql = dict(
            db.session.execute(
                select(LearningGoal.id, goal_q.state_expression(goal_q.program_today())).where(
                    LearningGoal.patient_id == patient_id, LearningGoal.cancelled_at.is_(None)
                )
            ).all()
        )
        return python, sql


# --- the rule ------------------------------------------------------------------------------


def test_met_open_missed_and_met_late_and_both_forms_agree(app):
    clinician, member, patient, _link = family_world(app)
    now = clock.utcnow()
    # Done before the goal was set counts ("completed an earlier version" is done).
    progress(member, "first-steps", completed=now, passed=now)
    met = add_goal(patient, member, ("first-steps",), days=3)
    opened = add_goal(patient, member, ("first-steps", "no-check"), days=3)
    missed = add_goal(patient, member, ("no-check",), days=1)
    passed = add_goal(patient, member, ("first-steps",), kind="pass", days=3)
    python, sql = states_both_ways(app, patient.id)
    assert python == sql == {met: "met", opened: "open", missed: "open", passed: "met"}

    clock.advance(timedelta(days=2))  # past the last goal's target day, in any zone
    python, sql = states_both_ways(app, patient.id)
    assert python == sql == {met: "met", opened: "open", missed: "missed", passed: "met"}

    # Finished late: met, on the day the last reading was done, noted as after the target.
    progress(member, "no-check", completed=clock.utcnow())
    python, sql = states_both_ways(app, patient.id)
    assert python == sql == {met: "met", opened: "met", missed: "met", passed: "met"}
    with app.app_context():
        shown = {
            g.goal.id: g for g in goal_q.states_for(db.session.scalars(select(LearningGoal)).all())
        }
    assert shown[missed].late and shown[missed].met_on == goal_q_today(app)
    assert not shown[met].late and (shown[opened].done, shown[opened].total) == (2, 2)


def goal_q_today(app) -> date:
    with app.test_request_context():
        return goal_q.program_today()


def test_a_pass_goal_needs_the_check_passed_not_the_reading_finished(app):
    _clinician, member, patient, _link = family_world(app)
    progress(member, "first-steps", completed=None, passed=None)
    goal = add_goal(patient, member, ("first-steps",), kind="pass")
    python, sql = states_both_ways(app, patient.id)
    assert python == sql == {goal: "open"}
    with app.app_context():
        row = db.session.scalars(select(ModuleProgress)).one()
        row.passed_at = clock.utcnow()
        db.session.commit()
    python, sql = states_both_ways(app, patient.id)
    assert python == sql == {goal: "met"}


def test_a_slug_that_is_part_of_another_does_not_count_for_it(app):
    """The SQL twin matches whole lines of the stored list, never a piece of a slug."""
    _clinician, member, patient, _link = family_world(app)
    progress(member, "first", completed=clock.utcnow())
    progress(member, "steps", completed=clock.utcnow())
    goal = add_goal(patient, member, ("first-steps",))
    python, sql = states_both_ways(app, patient.id)
    assert python == sql == {goal: "open"}


def test_missed_turns_on_the_programs_day(app):
    """The target day is the program's: missed once it has ended there, not in UTC."""
    _clinician, member, patient, _link = family_world(app)
    with app.app_context():
        zone = goal_q.dates.program_zone()
    target = date(2030, 1, 15)
    with app_context():
        db.session.add(
            LearningGoal(
                patient_id=patient.id,
                learner_id=member.id,
                kind="finish",
                modules="no-check",
                title="",
                target_on=target,
            )
        )
        db.session.commit()
    # Late on the target day where the program is (already the next day in UTC for zones
    # west of Greenwich): still open; a day later, missed.
    local_late = datetime(2030, 1, 15, 23, 30, tzinfo=zone).astimezone(UTC)
    clock.advance(local_late - clock.utcnow())
    python, sql = states_both_ways(app, patient.id)
    assert set(python.values()) == set(sql.values()) == {"open"}
    clock.advance(timedelta(hours=1))
    python, sql = states_both_ways(app, patient.id)
    assert set(python.values()) == set(sql.values()) == {"missed"}


# --- setting and cancelling ------------------------------------------------------------------


def goal_form(client, patient_id, **fields):
    page = f"/clinic/patients/{patient_id}/goals/new"
    token = csrf_token(client, page)
    form = client.get(page)
    submit = re.search(r'name="submit_token"[^>]*value="([^"]+)"', text_of(form)).group(1)
    data = {"csrf_token": token, "submit_token": submit, "what": "finish", "title": ""}
    data.update(fields)
    return page, data


def test_clinician_sets_a_goal_and_a_double_submit_records_once(app):
    clinician, member, patient, _link = family_world(app)
    client = signed_in(app, clinician)
    target = (goal_q_today(app) + timedelta(days=10)).isoformat()
    page, data = goal_form(
        client,
        patient.id,
        learner=str(member.id),
        what="path",
        path="test-path",
        target_on=target,
    )
    first = client.post(page, data=data)
    second = client.post(page, data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        goals = db.session.scalars(select(LearningGoal)).all()
        assert len(goals) == 1
        assert goals[0].module_slugs == ("first-steps", "no-check")
        assert goals[0].kind == "finish" and goals[0].created_by_id == clinician.id
        audits = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "goal.set")).all()
        assert len(audits) == 1 and audits[0].patient_id == patient.id
    # The page shows it, with its made-up title, progress and state.
    page_text = text_of(client.get(f"/clinic/patients/{patient.id}"))
    assert "Finish “Test path” by" in page_text
    assert "0 of 2 readings done" in page_text and ">Open<" in page_text


def test_ten_identical_goal_forms_and_cancels_at_once_record_once(app):
    """The same rendered form sent ten times at the same moment (real commits, one session
    cookie): one goal and one audit row; then ten cancels at once cancel and audit once."""
    clinician, member, patient, _link = family_world(app)
    client = signed_in(app, clinician)
    target = (goal_q_today(app) + timedelta(days=10)).isoformat()
    page, data = goal_form(
        client, patient.id, learner=str(member.id), what="path", path="test-path", target_on=target
    )
    assert_calm(at_once(app, client, page, data))
    with app.app_context():
        goals = db.session.scalars(select(LearningGoal)).all()
        assert len(goals) == 1
        goal_id = goals[0].id
    cancel = f"/clinic/goals/{goal_id}/cancel"
    assert_calm(at_once(app, client, cancel, {"csrf_token": csrf_token(client, cancel)}))
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("goal.%"))
        ).all()
        assert actions.count("goal.set") == 1 and actions.count("goal.cancelled") == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"target_on": ""}, "Enter the target date as YYYY-MM-DD."),
        ({"target_on": "tomorrow"}, "Enter a date as YYYY-MM-DD"),
        ({"target_on": "2001-01-01"}, "The target date must be today or later."),
        ({"target_on": "+400"}, "Choose a target date within a year"),
        ({"modules": []}, "Choose at least one reading."),
        ({"what": "pass", "modules": ["no-check"]}, "have no knowledge check to pass"),
        ({"what": "path", "path": ""}, "Choose at least one reading."),
        ({"what": "steal"}, "Not a valid choice"),
        ({"modules": ["../etc"]}, "not a valid choice"),
        ({"title": "x" * 201}, "Keep the title to 200 characters or fewer (it has 201)."),
        ({"title": "bad\x00title"}, "invisible character"),
        ({"learner": ""}, "Choose a family member who has joined"),
        ({"learner": "999999"}, "Not a valid choice"),
    ],
)
def test_bad_input_is_explained_beside_its_field(app, fields, message):
    clinician, member, patient, _link = family_world(app)
    client = signed_in(app, clinician)
    today = goal_q_today(app)
    page, data = goal_form(
        client,
        patient.id,
        learner=str(member.id),
        modules=["first-steps"],
        target_on=(today + timedelta(days=5)).isoformat(),
    )
    if fields.get("target_on") == "+400":
        fields = {"target_on": (today + timedelta(days=400)).isoformat()}
    data.update(fields)
    response = client.post(page, data=data)
    assert response.status_code == 400
    assert message.lower() in text_of(response).lower()
    with app.app_context():
        assert db.session.scalar(select(LearningGoal.id)) is None


def test_a_stranger_cannot_be_given_a_goal(app):
    """Only the patient's joined family members and the patient's login: the operation
    refuses anyone else even when a form is forged."""
    clinician, member, patient, _link = family_world(app)
    other = make_user("family")
    with app.test_request_context():
        me = db.session.get(User, clinician.id)
        sam = db.session.get(type(patient), patient.id)
        with pytest.raises(goal_ops.FieldProblems) as refused:
            goal_ops.set_goal(
                me,
                sam,
                learner_id=other.id,
                kind="finish",
                modules=["first-steps"],
                target_on=goal_q.program_today(),
            )
        assert "learner" in refused.value.errors


def test_another_clinicians_patient_is_a_404(app):
    _clinician, member, patient, _link = family_world(app)
    goal_id = add_goal(patient, member)
    stranger = signed_in(app, make_user("clinician"))
    assert stranger.get(f"/clinic/patients/{patient.id}/goals/new").status_code == 404
    assert stranger.get(f"/clinic/goals/{goal_id}/cancel").status_code == 404
    token = csrf_token(stranger, "/clinic/")
    assert (
        stranger.post(f"/clinic/goals/{goal_id}/cancel", data={"csrf_token": token}).status_code
        == 404
    )
    assert stranger.get("/clinic/goals/99999/cancel").status_code == 404
    with app.app_context():
        assert db.session.get(LearningGoal, goal_id).cancelled_at is None


def test_cancel_asks_first_cancels_once_and_is_counted_nowhere(app):
    from tests.helpers import make_assignment

    clinician, member, patient, _link = family_world(app)
    make_assignment(patient, member)
    goal_id = add_goal(patient, member, title="Read the first one")
    client = signed_in(app, clinician)
    assert [row[-3:] for row in caseload_rows(client)] == [["0", "1", "0"]]
    ask = client.get(f"/clinic/goals/{goal_id}/cancel")
    assert ask.status_code == 200 and "Cancel “Read the first one” for Pat Example?" in text_of(ask)
    token = csrf_token(client, f"/clinic/goals/{goal_id}/cancel")
    for _ in range(2):
        done = client.post(f"/clinic/goals/{goal_id}/cancel", data={"csrf_token": token})
        assert done.status_code == 302
    with app.app_context():
        assert db.session.get(LearningGoal, goal_id).cancelled_at is not None
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("goal.%"))
        ).all()
        assert actions.count("goal.cancelled") == 1 and "goal.form_view" in actions
        # Ids only: no title in the audit log.
        details = db.session.scalars(select(AuditEvent.detail)).all()
        assert not any(d and "Read the first one" in d for d in details)
    assert "Read the first one" not in text_of(client.get(f"/clinic/patients/{patient.id}"))
    member_client = signed_in(app, member)
    assert "Read the first one" not in text_of(member_client.get("/learn/"))
    assert [row[-3:] for row in caseload_rows(client)] == [["0", "0", "0"]]


# --- who sees a goal -------------------------------------------------------------------------


def test_the_family_member_sees_their_goal_until_consent_is_withdrawn(app):
    from lms.consent import operations as consent_ops

    clinician, member, patient, link_id = family_world(app)
    add_goal(patient, member, ("first-steps", "no-check"), title="Two readings for Sam")
    progress(member, "no-check", completed=clock.utcnow())
    client = signed_in(app, member)
    home = text_of(client.get("/learn/"))
    assert "Your goals" in home and "Two readings for Sam" in home
    assert "1 of 2 readings done" in home
    assert re.search(r'<progress id="goal-\d+" max="2" value="1">', home)
    with app.test_request_context():
        consent_ops.withdraw_consent(
            db.session.get(User, clinician.id), db.session.get(FamilyLink, link_id)
        )
        db.session.commit()
    home = text_of(client.get("/learn/"))
    assert "Two readings for Sam" not in home and "Your goals" not in home


def test_the_patient_sees_their_own_goals_and_kind_words_when_missed_or_met(app):
    clinician = make_user("clinician")
    own = make_user("patient")
    patient = make_patient(clinician, user=own)
    add_goal(patient, own, ("no-check",), days=1, title="My own goal")
    client = signed_in(app, own)
    home = text_of(client.get("/learn/"))
    assert "My own goal" in home and "Aim to finish by" in home
    clock.advance(timedelta(days=3))
    client = signed_in(app, own)
    home = text_of(client.get("/learn/"))
    assert "You can still finish it." in home and "Not finished by" in home
    progress(own, "no-check", completed=clock.utcnow())
    home = text_of(client.get("/learn/"))
    assert "Well done for finishing it." in home
    # Someone else's goal is not on this patient's page.
    other = make_user("family")
    assert "My own goal" not in text_of(signed_in(app, other).get("/learn/"))


# --- the caseload report ---------------------------------------------------------------------


def caseload_rows(client) -> list[list[str]]:
    response = client.get("/clinic/reports/caseload.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(text_of(response))))
    header = rows[2]
    assert header[-3:] == ["goals_met", "goals_open", "goals_missed"]
    return rows[3:]


def test_the_caseload_report_counts_goals_met_open_and_missed_per_patient(app):
    from tests.helpers import make_assignment

    clinician, member, patient, _link = family_world(app)
    other_member = make_user("family")
    other = make_patient(clinician, name="Zed Other")
    make_family(other, other_member)
    make_assignment(patient, member)
    make_assignment(patient, member, "no-check")
    make_assignment(other, other_member)
    progress(member, "first-steps", completed=clock.utcnow())
    add_goal(patient, member, ("first-steps",), days=1)  # met
    add_goal(patient, member, ("no-check",), days=1)  # missed, after the clock moves
    add_goal(patient, member, ("no-check",), days=9)  # open
    cancelled = add_goal(patient, member, ("no-check",), days=1)
    with app_context():
        db.session.get(LearningGoal, cancelled).cancelled_at = clock.utcnow()
        db.session.commit()
    clock.advance(timedelta(days=3))
    client = signed_in(app, clinician)
    rows = caseload_rows(client)
    by_patient = {row[0]: row[-3:] for row in rows}
    assert by_patient == {"Sam Example": ["1", "1", "1"], "Zed Other": ["0", "0", "0"]}
    assert len(rows) == 3  # still one row per reading
    report = text_of(client.get("/clinic/reports"))
    assert "Goals missed" in report
    # The Python rule gives the same counts (the report's come from its SQL twin).
    python, sql = states_both_ways(app, patient.id)
    assert python == sql and sorted(python.values()) == ["met", "missed", "open"]


def test_a_patient_with_goals_but_no_reading_given_has_a_row_of_their_own(app):
    """A goal set before any reading is given is in the CSV, the printable report and the
    family export's audited row count: one row with the patient and the goal counts, every
    other cell empty, in the patient's place in the order (on PostgreSQL the CSV is written
    by COPY, so this checks the SQL cells too)."""
    from tests.helpers import make_assignment

    clinician, member, patient, _link = family_world(app)
    first = make_patient(clinician, name="Ana First")
    first_member = make_user("family")
    make_family(first, first_member)
    zed_member = make_user("family")
    zed = make_patient(clinician, name="Zed Last")
    make_family(zed, zed_member)
    make_assignment(first, first_member)
    add_goal(patient, member, ("first-steps",), days=9)  # open, and nothing given to anyone
    add_goal(zed, zed_member, ("first-steps",), days=9)
    cancelled_only = make_patient(clinician, name="Mo Cancelled")
    cancelled_member = make_user("family")
    make_family(cancelled_only, cancelled_member)
    cancelled = add_goal(cancelled_only, cancelled_member, days=3)
    with app_context():
        db.session.get(LearningGoal, cancelled).cancelled_at = clock.utcnow()
        db.session.commit()
    client = signed_in(app, clinician)
    rows = caseload_rows(client)
    assert [row[0] for row in rows] == ["Ana First", "Sam Example", "Zed Last"]
    assert rows[1] == ["Sam Example", "", "", "", "", "", "", "", "", "0", "1", "0"]
    assert rows[2][-3:] == ["0", "1", "0"] and rows[2][1:9] == [""] * 8
    family = list(
        csv.reader(io.StringIO(text_of(client.get(f"/clinic/patients/{patient.id}/report.csv"))))
    )
    assert family[3:] == [rows[1]]
    with app_context():
        detail = db.session.scalars(
            select(AuditEvent.detail)
            .where(AuditEvent.action == "report.export", AuditEvent.patient_id == patient.id)
            .order_by(AuditEvent.id.desc())
        ).first()
    assert detail == "family csv, 1 rows"
    report = text_of(client.get(f"/clinic/patients/{patient.id}/report"))
    assert "Nothing assigned yet." in report  # the summary: no reading given
    cells = "<td>Sam Example</td>" + "<td>—</td>" * 8 + "<td>0</td><td>1</td><td>0</td>"
    assert cells in report


# --- the patient page ------------------------------------------------------------------------


def test_the_patient_pages_queries_do_not_grow_with_its_goals(app):
    clinician, member, patient, _link = family_world(app)
    add_goal(patient, member)
    client = signed_in(app, clinician)
    one = count_queries(app, client, f"/clinic/patients/{patient.id}")
    for days in range(2, 8):
        add_goal(patient, member, ("first-steps", "no-check"), days=days)
    progress(member, "first-steps", completed=clock.utcnow())
    seven = count_queries(app, client, f"/clinic/patients/{patient.id}")
    assert seven == one
    page = text_of(client.get(f"/clinic/patients/{patient.id}"))
    assert page.count("1 of 2 readings done") == 6


def test_nothing_is_set_for_a_discharged_patient(app):
    clinician = make_user("clinician")
    member = make_user("family")
    patient = make_patient(clinician, status="discharged")
    make_family(patient, member)
    client = signed_in(app, clinician)
    response = client.get(f"/clinic/patients/{patient.id}/goals/new")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(LearningGoal.id)) is None
