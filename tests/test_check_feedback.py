"""Knowledge checks that teach without giving the answers away (``lms.learning.feedback``):
a first try that does not pass shows only the learner's own choices; the right answers come
after a pass or from the second try; after two tries that did not pass, support and a link
back to the section that teaches each missed question. Plus ``teaches:`` in the content."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lms.content import check_library, load_library
from lms.content.model import Module
from lms.learning import feedback
from tests.content_fixtures import QUIZ, course_yml, good_tree, line_of, module_md, write_tree
from tests.helpers import csrf_token, login, make_user, post_form, text_of

SHIPPED = Path(__file__).resolve().parents[1] / "courses"
SLUG = "coping"

# Five questions, pass mark 0.8: one wrong answer still passes, two do not. Each right
# option's text and feedback are worded so that no other text on the page contains them.
CHECK = """\
quiz:
  pass_mark: 0.8
  questions:
    - id: calm-first
      prompt: An urge comes on fast. What helps first?
      type: single
      teaches: what-you-can-do
      choices:
        - text: Breathe slowly for two whole minutes
          feedback: Yes. Long out-breaths settle the body quickly.
          correct: true
        - text: Keep the urge a secret from everyone
          feedback: Not quite. Secrets tend to make urges grow.
        - text: Argue with the urge until it stops
          feedback: Not quite. Fighting it keeps it at the center.
    - id: triggers-normal
      prompt: Everyone has triggers of some kind.
      type: true_false
      teaches: what-a-trigger-is
      choices:
        - text: "True"
          feedback: Right. Triggers are a normal part of life.
          correct: true
        - text: "False"
          feedback: Not quite. Everyone has them, in recovery or not.
    - id: ways-to-cope
      prompt: Which of these can help with an urge? Pick all that apply.
      type: multiple
      teaches: what-you-can-do
      choices:
        - text: Phoning a trusted neighbour
          feedback: Yes, reaching out helps.
          correct: true
        - text: Walking around the block
          feedback: Yes, moving helps the urge pass.
          correct: true
        - text: Sitting alone with the bottle
          feedback: No, that keeps the trigger close.
    - id: plan-steps
      prompt: Put the steps of a plan in order.
      type: ordering
      teaches: why-triggers-matter
      choices:
        - text: Notice the early sign
          feedback: This one opens the plan, before anything else.
        - text: Use one skill from your list
          feedback: This one comes in the middle of the plan.
        - text: Tell someone how it went
          feedback: This one closes the plan, at the very end.
    - id: who-to-tell
      prompt: Who can you share your plan with?
      type: single
      teaches: why-triggers-matter
      choices:
        - text: A person you trust
          feedback: Yes. Sharing it makes the plan stronger.
          correct: true
        - text: Nobody at all, ever
          feedback: Not quite. Keeping it to yourself makes it harder.
"""

RIGHT = {
    "q-calm-first": "0",
    "q-triggers-normal": "0",
    "q-ways-to-cope": ["0", "1"],
    "q-plan-steps": ["0", "1", "2"],
    "q-who-to-tell": "0",
}
#: Every answer wrong; the multiple choice only half right (a right option, one missing).
WRONG = {
    "q-calm-first": "1",
    "q-triggers-normal": "1",
    "q-ways-to-cope": ["0"],
    "q-plan-steps": ["1", "0", "2"],
    "q-who-to-tell": "1",
}
#: Only the first question wrong: 4 of 5, a pass.
PASS_WITH_ONE_WRONG = {**RIGHT, "q-calm-first": "1"}
#: Two wrong (both teach what-you-can-do): 3 of 5, not passed; why-triggers-matter all right.
FAIL_ON_COPING = {**RIGHT, "q-calm-first": "1", "q-ways-to-cope": ["2"]}

RIGHT_TEXT = "Breathe slowly for two whole minutes"
RIGHT_FEEDBACK = "Long out-breaths settle the body quickly."
CHOSEN_TEXT = "Keep the urge a secret from everyone"
CHOSEN_FEEDBACK = "Secrets tend to make urges grow."


@pytest.fixture
def courses(tmp_path):
    """One module whose questions say which section teaches them."""
    root = tmp_path / "courses"
    write_tree(
        root,
        {
            "family/course.yml": course_yml([SLUG]),
            f"family/{SLUG}.md": module_md("Coping", quiz=CHECK),
        },
    )
    return root


def _user(role: str = "family"):
    return make_user(role)


@pytest.fixture
def learner(client):
    user = _user()
    login(client, user.email)
    return user


def take(client, answers: dict) -> str:
    """Take the check with ``answers``; the address of the result page."""
    page = text_of(client.get(f"/learn/modules/{SLUG}/check"))
    token = re.search(r'name="submit_token"[^>]*value="([^"]+)"', page).group(1)
    data = {**answers, "submit_token": token, "csrf_token": csrf_token(client, "/learn/")}
    response = client.post(f"/learn/modules/{SLUG}/check", data=data)
    assert response.status_code == 302, text_of(response)
    return response.headers["Location"]


def result_page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return text_of(response)


def submit(client, answers: dict) -> str:
    """Take the check with ``answers``; the HTML of the result page."""
    return result_page(client, take(client, answers))


def section_link(key: str) -> str:
    return f'href="/learn/modules/{SLUG}?section={key}"'


# --- the rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "failed", "passed_ever", "passed", "expected"),
    [
        (1, 1, False, False, (False, False)),  # a first try that did not pass: nothing more
        (1, 0, True, True, (True, False)),  # a first try that passed
        (2, 2, False, False, (True, True)),  # a second try, still not passed
        (2, 1, True, True, (True, False)),  # passed on the second try
        (3, 2, True, False, (True, False)),  # failed again after a pass: no "not yet"
        (3, 1, True, False, (True, False)),
        (5, 5, False, False, (True, True)),
    ],
)
def test_the_rule(number, failed, passed_ever, passed, expected) -> None:
    standing = feedback.Standing(number=number, failed=failed, passed_ever=passed_ever)
    assert feedback.decide(standing, passed) == expected


# --- what the learner sees -------------------------------------------------------------


def test_a_first_try_that_does_not_pass_shows_only_the_learners_own_choices(client, learner):
    page = submit(client, WRONG)
    assert "Not passed yet." in page
    assert CHOSEN_TEXT in page and CHOSEN_FEEDBACK in page  # their choice, with its feedback
    assert RIGHT_TEXT not in page and RIGHT_FEEDBACK not in page  # the right one they missed
    assert "The right answer" not in page
    assert "Walking around the block" not in page  # the right option they left out
    assert "at least one more right answer" in page  # ... said, not shown
    # The ordering: which steps are in place, never the right order nor what names a place.
    assert "The right order" not in page
    assert "In its place" in page and "Not here" in page
    assert "opens the plan" not in page and "closes the plan" not in page
    assert "you pass, or after your second try" in page
    assert "This one is hard" not in page  # support comes after two tries
    assert section_link("what-you-can-do") not in page


def test_a_second_try_that_does_not_pass_shows_the_right_answers(client, learner):
    submit(client, WRONG)
    page = submit(client, WRONG)
    assert "Not passed yet." in page
    assert "The right answer:" in page
    assert RIGHT_TEXT in page and RIGHT_FEEDBACK in page
    assert "Walking around the block" in page
    assert "The right order:" in page
    assert "opens the plan" in page
    assert "you pass, or after your second try" not in page


def test_a_first_try_that_passes_shows_the_right_answers(client, learner):
    page = submit(client, PASS_WITH_ONE_WRONG)
    assert "you passed" in page
    assert CHOSEN_TEXT in page
    assert "The right answer:" in page and RIGHT_TEXT in page and RIGHT_FEEDBACK in page
    assert "This one is hard" not in page


def test_the_first_try_keeps_its_answers_back_when_looked_at_again(client, learner):
    """Counted up to and including the try shown: the first one stays a first try."""
    first = take(client, WRONG)
    second = result_page(client, take(client, WRONG))
    assert RIGHT_TEXT in second
    again = result_page(client, first)
    assert "Try 1," in again
    assert RIGHT_TEXT not in again and "The right answer" not in again


def test_after_two_tries_that_do_not_pass_support_and_links_back(client, learner):
    first = submit(client, FAIL_ON_COPING)
    assert "This one is hard" not in first
    page = submit(client, FAIL_ON_COPING)
    assert "This one is hard, and that&#39;s all right." in page
    assert "next family session" in page
    # Each missed question links to the section that teaches it ...
    assert page.count(section_link("what-you-can-do")) == 2
    assert "Read again: What you can do" in page
    # ... and a section whose questions were all answered right is not offered.
    assert section_link("why-triggers-matter") not in page
    assert section_link("what-a-trigger-is") not in page
    # The link works and opens that section.
    opened = client.get(f"/learn/modules/{SLUG}?section=what-you-can-do")
    assert opened.status_code == 200 and "Take a slow breath" in text_of(opened)


def test_support_ends_once_the_check_is_passed(client, learner):
    submit(client, WRONG)
    submit(client, WRONG)
    submit(client, RIGHT)
    page = submit(client, WRONG)
    assert "This one is hard" not in page
    assert section_link("what-you-can-do") not in page
    assert "The right answer:" in page  # a fourth try: revealed


def test_a_patient_is_pointed_to_their_next_session(app, client):
    patient = _user("patient")
    login(client, patient.email)
    submit(client, WRONG)
    page = submit(client, WRONG)
    assert "Talk it over at your next session" in page
    assert "family session" not in page


def test_tries_at_an_earlier_version_count(app, client, learner, courses):
    submit(client, WRONG)
    edited = module_md("Coping", quiz=CHECK) + "\nOne more line at the end.\n"
    write_tree(courses, {f"family/{SLUG}.md": edited})
    app.extensions["lms_library"] = load_library(courses)
    page = submit(client, WRONG)
    assert "The right answer:" in page and RIGHT_TEXT in page
    assert "This one is hard" in page


def test_the_retake_button_comes_before_the_answers(client, learner):
    for answers in (WRONG, RIGHT):
        page = submit(client, answers)
        retake = page.index(f'href="/learn/modules/{SLUG}/check"')
        assert retake < page.index('class="feedback-list"')
        assert page.count(f'href="/learn/modules/{SLUG}/check"') == 2  # and again at the end
    not_passed = submit(client, WRONG)
    top = not_passed[: not_passed.index('class="feedback-list"')]
    assert re.search(rf'class="button primary" href="/learn/modules/{SLUG}/check"', top)


def test_the_check_page_never_shows_the_right_answers(client, learner):
    submit(client, WRONG)
    submit(client, WRONG)
    page = text_of(client.get(f"/learn/modules/{SLUG}/check"))
    for text in (RIGHT_FEEDBACK, CHOSEN_FEEDBACK, "The right answer:", "opens the plan"):
        assert text not in page
    assert "correct" not in page.split('class="quiz"', 1)[1].lower()
    assert "The right answers are shown once you pass, or after your second try." in page


def test_next_reading_after_a_pass_that_completes_the_module(app, client, learner, monkeypatch):
    calls = []

    def next_after(user, slug):
        calls.append(slug)
        return app.extensions["lms_library"].module(SLUG)

    monkeypatch.setattr("lms.learning.upnext.next_after", next_after)
    page = submit(client, RIGHT)  # passed, but the sections are not all read
    assert "Next reading" not in page and calls == []
    for key in ("what-a-trigger-is", "why-triggers-matter", "what-you-can-do"):
        post_form(client, f"/learn/modules/{SLUG}/sections/{key}/read", {}, form_page="/learn/")
    page = submit(client, RIGHT)
    assert "Next reading" in page and calls == [SLUG]


def test_someone_elses_attempt_is_404(app, client, learner):
    url = take(client, WRONG)
    other = app.test_client()
    login(other, _user().email)
    assert other.get(url).status_code == 404


# --- teaches: in the content -----------------------------------------------------------


def test_an_unknown_teaches_fails_courses_check_at_its_line(tmp_path, runner) -> None:
    root = tmp_path / "courses"
    good_tree(root)
    text = module_md(quiz=QUIZ.replace("teaches: what-you-can-do", "teaches: what-to-do"))
    write_tree(root, {"family/understanding-triggers.md": text})
    line = line_of(text, "teaches: what-to-do")
    result = runner.invoke(args=["courses", "check", str(root)])
    assert result.exit_code == 1
    assert (
        f"courses/family/understanding-triggers.md:{line}: question 'ways-to-cope' teaches "
        "'what-to-do', but no '##' heading of this module has that key; use one of: "
        "what-a-trigger-is, why-triggers-matter, what-you-can-do"
    ) in result.output
    with pytest.raises(Exception, match="what-to-do"):
        load_library(root)  # the site cannot link a learner to a section that is not there


def test_a_question_without_teaches_is_a_warning(tmp_path) -> None:
    root = tmp_path / "courses"
    good_tree(root)
    text = module_md(quiz=QUIZ.replace("      teaches: why-triggers-matter\n", "", 1))
    write_tree(root, {"family/understanding-triggers.md": text})
    [problem] = [p for p in check_library(root).problems if "teaches" in p.message]
    assert problem.severity == "warning"
    assert problem.line == line_of(text, "- id: plan-helps")
    assert "plan-helps" in problem.message
    module = load_library(root).module("understanding-triggers")  # old content still loads
    assert module.quiz.question("plan-helps").teaches == ""


def test_a_translation_uses_the_english_section_keys(tmp_path) -> None:
    root = tmp_path / "courses"
    good_tree(root)
    body = (
        module_md("Detonantes")
        .replace("## What a trigger is", "## Qué es un detonante")
        .replace("## Why triggers matter", "## Por qué importan")
        .replace("## What you can do", "## Qué puede hacer")
    )
    no_teaches = re.sub(r"      teaches: .*\n", "", body)
    write_tree(root, {"family/understanding-triggers.es.md": no_teaches})
    library = load_library(root)
    spanish = library.module("understanding-triggers", "es")
    assert spanish.quiz.question("ways-to-cope").teaches == "what-you-can-do"
    assert spanish.section("what-you-can-do").title == "Qué puede hacer"
    assert not [p for p in check_library(root).problems if "teaches" in p.message]


def test_every_shipped_question_names_a_section_that_teaches_it() -> None:
    library = load_library(SHIPPED)
    modules: list[Module] = [m for m in library.modules() if m.quiz]
    assert len(modules) >= 15
    for module in modules:
        keys = module.section_keys()
        for question in module.quiz.questions:
            assert question.teaches in keys, (module.slug, question.id, question.teaches)
    report = check_library(SHIPPED)
    assert not [str(p) for p in report.problems if "teaches" in p.message]
