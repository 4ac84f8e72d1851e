"""``flask tidy``: the daily forgetting of what is no longer needed — one-time form claims
(``lms.submissions.prune``) and roster previews past their hours (``roster.forget_stale``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from lms import clock, submissions
from lms.extensions import db
from lms.models import LearningGoal, RosterImport, Submission, User
from lms.patients import roster
from tests.helpers import app_context, make_user
from tests.test_goals import family_world, goal_form, goal_q_today, signed_in


def claims() -> int:
    with app_context():
        return db.session.scalar(select(func.count(Submission.id)))


def run_tidy(app) -> str:
    result = app.test_cli_runner().invoke(args=["tidy"])
    assert result.exit_code == 0, result.output
    return result.output


def test_claims_older_than_any_session_are_forgotten_and_newer_ones_kept(app):
    app.config["SESSION_ABSOLUTE_HOURS"] = 30  # longer than a day: the session decides
    assert submissions_keep_for(app) == timedelta(hours=31)
    clinician, *_ = family_world(app)
    with app_context():
        user = db.session.get(User, clinician.id)
        submissions.claim(user, "old-form", "goal.set")
        db.session.commit()
    clock.advance(timedelta(hours=20))
    with app_context():
        submissions.claim(db.session.get(User, clinician.id), "newer-form", "goal.set")
        db.session.commit()
    clock.advance(timedelta(hours=11, minutes=1))  # the first is 31 h old, the second 11 h
    assert run_tidy(app).startswith("Forgot 1 form claims and 0 roster previews.")
    with app_context():
        assert db.session.scalars(select(Submission.token)).all() == ["newer-form"]
    assert run_tidy(app).startswith("Forgot 0 form claims")  # a second run finds nothing


def submissions_keep_for(app) -> timedelta:
    with app.app_context():
        return submissions.keep_for()


def test_a_form_whose_claim_was_forgotten_still_records_once(app):
    """The reason a claim may go: the form it protects cannot be sent again by then. The
    same goal form sent after its claim was forgotten finds the session over (sign in
    again), and no second goal is set."""
    assert submissions_keep_for(app) == timedelta(days=1)  # the default 12 h sessions
    clinician, member, patient, _link = family_world(app)
    client = signed_in(app, clinician)
    target = (goal_q_today(app) + timedelta(days=10)).isoformat()
    page, data = goal_form(
        client, patient.id, learner=str(member.id), what="path", path="test-path", target_on=target
    )
    assert client.post(page, data=data).status_code == 302
    assert claims() == 1
    clock.advance(timedelta(days=1, minutes=1))
    run_tidy(app)
    assert claims() == 0
    again = client.post(page, data=data)
    assert again.status_code == 302 and "/auth/login" in again.headers["Location"]
    with app_context():
        assert db.session.scalar(select(func.count(LearningGoal.id))) == 1


def test_stale_roster_previews_are_blanked_by_tidy(app):
    admin = make_user("admin")
    with app_context():
        row = RosterImport(
            created_by_id=admin.id, filename="roster.csv", content="x", sha256="0" * 64
        )
        db.session.add(row)
        db.session.commit()
        row_id = row.id
    clock.advance(timedelta(hours=roster.KEEP_HOURS + 1))
    assert "and 1 roster previews." in run_tidy(app)
    with app_context():
        assert db.session.get(RosterImport, row_id).content is None
