"""Learner pages: library, reading section by section, knowledge checks, progress."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from lms.content import load_library
from lms.extensions import db
from lms.models import ModuleProgress, QuizAnswer, QuizAttempt, SectionRead
from tests.helpers import csrf_token, login, make_user, post_form, text_of, write_course

TOKEN_RE = re.compile(r'name="submit_token"[^>]*value="([^"]+)"')
ALL_RIGHT = {"q-pick-one": "0", "q-pick-many": ["0", "1"], "q-true-false": "0"}
ALL_WRONG = {"q-pick-one": "1", "q-pick-many": ["2"], "q-true-false": "1"}


@pytest.fixture
def learner(client):
    user = make_user("family")
    login(client, user.email)
    return user


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def take_check(client, answers: dict, slug: str = "first-steps"):
    page = text_of(client.get(f"/learn/modules/{slug}/check"))
    token = TOKEN_RE.search(page).group(1)
    data = {**answers, "submit_token": token, "csrf_token": csrf_token(client, "/learn/")}
    return client.post(f"/learn/modules/{slug}/check", data=data), data


def read_all(client, slug: str = "first-steps") -> None:
    for key in ("what-a-trigger-is", "one-skill-to-try", "asking-for-help"):
        response = post_form(
            client, f"/learn/modules/{slug}/sections/{key}/read", {}, form_page="/learn/"
        )
        assert response.status_code == 302


def test_learn_requires_login(client):
    for path in ("/learn/", "/learn/library", "/learn/modules/first-steps", "/learn/progress"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login")


def test_home_sends_learner_to_learning(client, learner):
    assert client.get("/home").headers["Location"] == "/learn/"


def test_library_lists_modules_with_minutes_audience_and_status(client, learner):
    page = text_of(client.get("/learn/library"))
    assert "Test course" in page and "First steps" in page and "No check here" in page
    assert "10 minutes" in page and "For families" in page
    assert page.count("Not started") == 2


def test_module_opens_at_first_section_and_resumes(client, learner):
    page = text_of(client.get("/learn/modules/first-steps"))
    assert "What a trigger is" in page and "0 of 3 sections read" in page
    response = post_form(
        client,
        "/learn/modules/first-steps/sections/what-a-trigger-is/read",
        {},
        form_page="/learn/",
    )
    assert response.headers["Location"] == "/learn/modules/first-steps?section=one-skill-to-try"
    page = text_of(client.get("/learn/modules/first-steps"))  # resume: first unread
    assert '<h2 id="one-skill-to-try">' in page
    assert "1 of 3 sections read" in page


def test_last_section_leads_to_the_check(client, learner):
    read_all(client)
    page = text_of(client.get("/learn/modules/first-steps"))
    assert "3 of 3 sections read" in page
    assert "Take the knowledge check" in page


def test_double_click_on_mark_read_records_once(app, client, learner):
    token = csrf_token(client, "/learn/")
    url = "/learn/modules/first-steps/sections/what-a-trigger-is/read"
    client.post(url, data={"csrf_token": token})
    client.post(url, data={"csrf_token": token})
    assert count(app, SectionRead) == 1


def test_all_on_one_page(client, learner):
    page = text_of(client.get("/learn/modules/first-steps?view=all"))
    for title in ("What a trigger is", "One skill to try", "Asking for help"):
        assert title in page


def test_unknown_module_or_section_is_404(client, learner):
    assert client.get("/learn/modules/nope").status_code == 404
    assert client.get("/learn/modules/first-steps?section=nope").status_code == 404
    assert client.get("/learn/modules/no-check/check").status_code == 404
    token = csrf_token(client, "/learn/")
    assert (
        client.post(
            "/learn/modules/first-steps/sections/nope/read", data={"csrf_token": token}
        ).status_code
        == 404
    )


def test_failed_check_shows_feedback_then_retake_passes_and_completes(app, client, learner):
    read_all(client)
    response, _ = take_check(client, ALL_WRONG)
    assert response.status_code == 302
    page = text_of(client.get(response.headers["Location"]))
    assert "You got 0 of 3 right (0%)" in page and "The pass mark is 80%" in page
    assert "Not passed yet" in page
    assert "Not usually. Think about how the body feels." in page  # feedback on their choice
    # A first try that did not pass keeps the right answer back (lms.learning.feedback).
    assert "Yes. Being tired makes urges stronger." not in page
    assert "Feeling tired" not in page
    response, _ = take_check(client, ALL_RIGHT)
    page = text_of(client.get(response.headers["Location"]))
    assert "You got 3 of 3 right (100%)" in page and "you passed" in page
    assert "Completed" in page
    assert count(app, QuizAttempt) == 2
    assert count(app, QuizAnswer) == 6
    with app.app_context():
        progress = db.session.scalars(select(ModuleProgress)).one()
        assert progress.completed_at is not None and progress.best_score == 1.0
        assert (
            progress.completed_version
            == load_library(__import__("pathlib").Path(app.config["COURSES_DIR"]))
            .module("first-steps")
            .version
        )


def test_passing_before_reading_everything_does_not_complete(app, client, learner):
    response, _ = take_check(client, ALL_RIGHT)
    page = text_of(client.get(response.headers["Location"]))
    assert "Read the remaining sections" in page
    with app.app_context():
        assert db.session.scalars(select(ModuleProgress)).one().completed_at is None
    read_all(client)
    with app.app_context():
        assert db.session.scalars(select(ModuleProgress)).one().completed_at is not None


def test_module_without_check_completes_when_read(app, client, learner):
    for key in ("only-part", "second-part", "third-part"):
        post_form(client, f"/learn/modules/no-check/sections/{key}/read", {}, form_page="/learn/")
    assert "Completed" in text_of(client.get("/learn/library"))


def test_replayed_check_submit_records_one_attempt(app, client, learner):
    first, data = take_check(client, ALL_RIGHT)
    second = client.post("/learn/modules/first-steps/check", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert count(app, QuizAttempt) == 1


@pytest.mark.parametrize(
    "answers",
    [
        {**ALL_RIGHT, "q-unknown": "0"},  # a question that does not exist
        {**ALL_RIGHT, "q-pick-one": "2"},  # a choice index of another question
        {**ALL_RIGHT, "q-pick-one": "x"},  # not a number
        {**ALL_RIGHT, "q-pick-one": ["0", "1"]},  # two answers to a single-choice question
        {"q-pick-one": "0", "q-pick-many": ["0", "1"]},  # one question missing
        {},  # nothing at all
    ],
)
def test_forged_check_posts_get_a_clear_400_and_record_nothing(app, client, learner, answers):
    response, _ = take_check(client, answers)
    assert response.status_code == 400
    page = text_of(response)
    assert 'class="error-summary"' in page
    assert count(app, QuizAttempt) == 0
    assert count(app, QuizAnswer) == 0


def test_missing_answer_keeps_the_other_answers(client, learner):
    response, _ = take_check(client, {"q-pick-one": "0", "q-pick-many": ["0", "1"]})
    page = text_of(response)
    assert "Please answer every question" in page
    assert re.search(r'id="q-pick-one-0"[^>]*checked', page)


def test_check_of_unknown_module_is_404(client, learner):
    token = csrf_token(client, "/learn/")
    assert client.post("/learn/modules/nope/check", data={"csrf_token": token}).status_code == 404


def test_changed_module_shows_completed_earlier_version(app, client, learner, courses):
    read_all(client)
    take_check(client, ALL_RIGHT)
    assert "Completed an earlier version" not in text_of(client.get("/learn/library"))
    write_course(courses, marker="Edited after completion.")
    app.extensions["lms_library"] = load_library(courses)
    library = text_of(client.get("/learn/library"))
    assert "Completed an earlier version" in library
    progress = text_of(client.get("/learn/progress"))
    assert "Completed an earlier version" in progress
    assert "100%" in progress  # the recorded result is kept, not rescored


def test_progress_lists_modules_and_every_attempt(client, learner):
    take_check(client, ALL_WRONG)
    take_check(client, ALL_RIGHT)
    page = text_of(client.get("/learn/progress"))
    assert page.count("First steps") >= 3  # the module row plus two attempts
    assert "Not passed" in page and "Passed" in page


def test_someone_elses_attempt_is_404(app, client, learner):
    response, _ = take_check(client, ALL_RIGHT)
    url = response.headers["Location"]
    other = app.test_client()
    login(other, make_user("family").email)
    assert other.get(url).status_code == 404
    assert other.get("/learn/modules/first-steps/attempts/999999").status_code == 404


def test_print_view_has_every_section_and_no_navigation(client, learner):
    page = text_of(client.get("/learn/modules/first-steps/print"))
    for title in ("What a trigger is", "One skill to try", "Asking for help", "Sources"):
        assert title in page
    assert "Mark as read" not in page
    # The print stylesheet, linked by its fingerprinted name (lms.static_files).
    assert re.search(r'href="/static/css/print\.[0-9a-f]{12}\.css" media="print"', page)


def test_serving_pages_renders_no_markdown(client, learner, monkeypatch):
    import markdown

    def forbidden(*args, **kwargs):
        raise AssertionError("Markdown rendered during a request")

    monkeypatch.setattr(markdown.Markdown, "convert", forbidden)
    monkeypatch.setattr(markdown, "markdown", forbidden)
    for path in (
        "/learn/library",
        "/learn/modules/first-steps",
        "/learn/modules/first-steps?view=all",
        "/learn/modules/first-steps/check",
        "/learn/modules/first-steps/print",
    ):
        assert client.get(path).status_code == 200, path


def test_media_refuses_paths_outside_images(client, learner):
    assert client.get("/learn/media/test-course/course.yml").status_code == 404
    assert client.get("/learn/media/test-course/images/../course.yml").status_code == 404
    assert client.get("/learn/media/nope/images/x.png").status_code == 404
