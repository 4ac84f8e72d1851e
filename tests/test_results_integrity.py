"""Integrity of results (HIPAA 164.312(c)(1)): a submitted knowledge check is recorded from
the answers alone, once, and never changed afterwards; extra fields are ignored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.extensions import db
from lms.models import QuizAnswer, QuizAttempt
from lms.models.learning import ResultImmutableError
from tests.helpers import login, make_user
from tests.test_learn import ALL_RIGHT, ALL_WRONG, take_check


@pytest.fixture
def learner(client):
    user = make_user("family")
    login(client, user.email)
    return user


def test_forged_score_and_owner_fields_are_ignored(app, client, learner):
    other = make_user("family")
    forged = {
        **ALL_WRONG,
        "score": "1.0",
        "passed": "1",
        "correct_count": "3",
        "user_id": str(other.id),
        "pass_mark": "0",
    }
    response, _ = take_check(client, forged)
    assert response.status_code == 302
    with app.app_context():
        attempt = db.session.scalars(select(QuizAttempt)).one()
        assert (attempt.user_id, attempt.score, attempt.passed) == (learner.id, 0.0, False)
        assert attempt.correct_count == 0 and attempt.pass_mark == 0.8


def test_resubmitting_the_same_form_with_other_answers_changes_nothing(app, client, learner):
    first, data = take_check(client, ALL_WRONG)
    changed = {**data, **ALL_RIGHT}
    again = client.post("/learn/modules/first-steps/check", data=changed)
    assert again.headers["Location"] == first.headers["Location"]
    with app.app_context():
        [attempt] = db.session.scalars(select(QuizAttempt)).all()
        assert attempt.score == 0.0 and not attempt.passed


def test_stored_results_refuse_edits(app, client, learner):
    take_check(client, ALL_WRONG)
    with app.app_context():
        attempt = db.session.scalars(select(QuizAttempt)).one()
        attempt.score = 1.0
        with pytest.raises(ResultImmutableError):
            db.session.commit()
        db.session.rollback()
        answer = db.session.scalars(select(QuizAnswer)).first()
        answer.correct = True
        with pytest.raises(ResultImmutableError):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalars(select(QuizAttempt.score)).one() == 0.0
