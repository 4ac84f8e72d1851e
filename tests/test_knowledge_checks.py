"""Knowledge checks that measure reading: the no-reading guesser, shuffled options kept per
attempt, ordering questions, clinical sign-off dates and relationship variants."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.content import load_library
from lms.content.grading import AnswerError, grade_quiz, parse_answers, shown_order
from lms.content.itemlint import LintChoice, LintModule, LintQuestion, guess, lint
from lms.content.loader import check_library
from lms.extensions import db
from lms.models import QuizAnswer, QuizAttempt
from tests.content_fixtures import course_yml, line_of, module_md, write_tree
from tests.helpers import app_context, login, make_family, make_patient, make_user, text_of

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "courses"

# --- the no-reading guesser ---------------------------------------------------------------

CUED_QUIZ = """\
quiz:
  pass_mark: 0.8
  questions:
    - id: longest-wins
      prompt: What is a trigger?
      type: single
      choices:
        - text: Something in your day that raises the urge to use
          feedback: Yes.
          correct: true
        - text: A medicine
          feedback: No.
        - text: A rule
          feedback: No.
    - id: always-true
      prompt: Everyone has triggers.
      type: true_false
      choices:
        - text: "True"
          feedback: Right.
          correct: true
        - text: "False"
          feedback: No.
    - id: all-but-shortest
      prompt: Which can help?
      type: multiple
      choices:
        - text: Taking a slow breath
          feedback: Yes.
          correct: true
        - text: Calling a friend you trust
          feedback: Yes.
          correct: true
        - text: Going for a walk outside
          feedback: Yes.
          correct: true
        - text: Hiding it
          feedback: No.
    - id: true-again
      prompt: A plan helps.
      type: true_false
      choices:
        - text: "True"
          feedback: Yes.
          correct: true
        - text: "False"
          feedback: No.
    - id: longest-again
      prompt: Who can you tell?
      type: single
      choices:
        - text: Someone you trust and feel safe with
          feedback: Yes.
          correct: true
        - text: Nobody
          feedback: No.
"""


def test_guesser_picks_the_longest_true_and_all_but_the_shortest() -> None:
    def q(kind, *pairs):
        return LintQuestion(1, "q", "p", kind, tuple(LintChoice(t, c) for t, c in pairs))

    assert guess(q("single", ("a much longer answer", False), ("short", True))) == {0}
    assert guess(q("true_false", ("False", True), ("True", False))) == {1}
    assert guess(q("multiple", ("aa", True), ("b", False), ("ccc", True), ("dddd", False))) == {
        0,
        2,
        3,
    }
    assert guess(q("ordering", ("one", False), ("two", False), ("three", False))) == set()
    module = LintModule("m.md", 3, 0.8, (q("single", ("long answer", True), ("no", False)),))
    result = lint([module])
    assert result.guesser["m.md"].passed
    assert [p.message.split(" (")[0] for p in result.problems if p.is_error] == [
        "a reader who skipped the module passes this check by guessing"
    ]


def test_check_fails_with_path_line_when_the_guesser_passes(tmp_path: Path) -> None:
    text = module_md(quiz=CUED_QUIZ)
    write_tree(
        tmp_path / "courses",
        {
            "family/course.yml": course_yml(["understanding-triggers"]),
            "family/understanding-triggers.md": text,
        },
    )
    result = subprocess.run(
        [sys.executable, "-m", "lms.content", "check", "courses"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout
    quiz_line = line_of(text, "quiz:")
    assert (
        f"courses/family/understanding-triggers.md:{quiz_line}: a reader who skipped the module "
        "passes this check by guessing (5 of 5" in result.stdout
    )
    assert "guesser  5/5  100% PASSES  courses/family/understanding-triggers.md" in result.stdout
    assert "the right answer is the longest option in 2 of 2" in result.stdout


def test_the_shipped_checks_cannot_be_passed_without_reading() -> None:
    report = check_library(SHIPPED)
    assert report.ok, [str(p) for p in report.errors]
    assert len(report.guesser) >= 20
    passed = [path for path, score in report.guesser.items() if score.passed]
    assert passed == []
    assert report.mean_guesser_score < 0.5


# --- clinical sign-off ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "severity", "words"),
    [
        (dt.date(2027, 1, 2), "error", "clinical review was due on 2027-01-01"),
        (dt.date(2026, 12, 10), "warning", "clinical review is due on 2027-01-01 (in 22 days)"),
        (dt.date(2026, 11, 1), None, None),
    ],
)
def test_review_due_dates(tmp_path: Path, today, severity, words) -> None:
    text = module_md().replace("review_due: 2099-12-31", "review_due: 2027-01-01")
    write_tree(
        tmp_path,
        {
            "family/course.yml": course_yml(["understanding-triggers"]),
            "family/understanding-triggers.md": text,
        },
    )
    found = [p for p in check_library(tmp_path, today=today).problems if "review" in p.message]
    if severity is None:
        assert found == []
        return
    [problem] = found
    assert problem.severity == severity and words in problem.message
    assert problem.line == line_of(text, "review_due:")


def test_modules_without_a_reviewer_say_so() -> None:
    report = check_library(SHIPPED)
    assert any("have no clinical sign-off ('reviewed_by')" in p.message for p in report.warnings)


# --- shuffled options, ordering questions ------------------------------------------------


def test_option_order_follows_the_attempt_and_true_false_stays_put() -> None:
    quiz = load_library(SHIPPED).module("overdose-and-naloxone").quiz
    single = quiz.question("first-steps")
    orders = {shown_order(single, f"token-{n}") for n in range(20)}
    assert len(orders) > 1  # attempts differ
    assert shown_order(single, "same") == shown_order(single, "same")  # stable for one attempt
    assert all(sorted(order) == list(range(len(single.choices))) for order in orders)
    true_false = quiz.question("tolerance")
    assert {shown_order(true_false, f"t{n}") for n in range(10)} == {(0, 1)}
    steps = quiz.question("naloxone-steps")
    right = tuple(range(len(steps.choices)))
    assert all(shown_order(steps, f"s{n}") != right for n in range(50))


def test_ordering_is_graded_step_by_step() -> None:
    quiz = load_library(SHIPPED).module("overdose-and-naloxone").quiz
    steps = quiz.question("naloxone-steps")
    n = len(steps.choices)
    answers = {q.id: frozenset(q.correct_indices) for q in quiz.questions if not q.is_ordering}
    swapped = (1, 0, *range(2, n))
    result = grade_quiz(quiz, {**answers, "naloxone-steps": swapped})
    [item] = [r for r in result.per_question if r.question_id == "naloxone-steps"]
    assert not item.correct and item.stored == ",".join(str(i) for i in swapped)
    assert [f.correct for f in item.feedback] == [False, False, *([True] * (n - 2))]
    assert [f.text for f in item.feedback][:2] == [
        steps.choices[1].feedback,
        steps.choices[0].feedback,
    ]
    right = grade_quiz(quiz, {**answers, "naloxone-steps": tuple(range(n))})
    assert right.passed and right.correct_count == right.total

    form = {f"q-{q.id}": [str(i) for i in sorted(q.correct_indices)] for q in quiz.questions}
    form["q-naloxone-steps"] = [str(i) for i in swapped]
    assert parse_answers(quiz, form)["naloxone-steps"] == swapped
    for bad, message in (
        ([str(0)] * n, "use each step once"),
        (["", *[str(i) for i in range(1, n)]], "choose a step for every place"),
        ([str(n + 3), *[str(i) for i in range(1, n)]], "not one of its steps"),
    ):
        with pytest.raises(AnswerError, match=message):
            parse_answers(quiz, {**form, "q-naloxone-steps": bad})


@pytest.fixture
def app_config(app_config):
    return {**app_config, "COURSES_DIR": str(SHIPPED)}


def _token(page: str) -> str:
    return re.search(r'name="submit_token"[^>]*value="([^"]+)"', page).group(1)


def _shown(page: str, question_id: str) -> list[int]:
    return [int(v) for v in re.findall(rf'name="q-{question_id}" value="(\d+)"', page)]


def _submit(client, slug: str, token: str, form: dict) -> None:
    csrf = re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"',
        text_of(client.get(f"/learn/modules/{slug}/check")),
    ).group(1)
    response = client.post(
        f"/learn/modules/{slug}/check", data={**form, "csrf_token": csrf, "submit_token": token}
    )
    assert response.status_code == 302, text_of(response)


def test_each_attempt_keeps_and_shows_its_own_order(app, client) -> None:
    """The page shows the order its token gives; the attempt records it; the review lists
    the options the learner saw in that order; item analysis counts by option id."""
    quiz = load_library(SHIPPED).module("overdose-and-naloxone").quiz
    question = quiz.question("first-steps")
    learner = make_user("family")
    login(client, learner.email)
    page = text_of(client.get("/learn/modules/overdose-and-naloxone/check"))
    assert _shown(page, "first-steps") == list(shown_order(question, _token(page)))

    first = "attempt-one"
    second = next(
        f"attempt-{n}"
        for n in range(2, 200)
        if shown_order(question, f"attempt-{n}") != shown_order(question, first)
    )
    wrong = next(i for i in range(len(question.choices)) if i not in question.correct_indices)
    form = {f"q-{q.id}": [str(i) for i in sorted(q.correct_indices)] for q in quiz.questions}
    form["q-naloxone-steps"] = [str(i) for i in range(len(quiz.question("naloxone-steps").choices))]
    form["q-first-steps"] = [str(wrong)]
    for token in (first, second):
        _submit(client, "overdose-and-naloxone", token, form)

    with app_context():
        rows = db.session.execute(
            select(
                QuizAttempt.id, QuizAttempt.submit_token, QuizAnswer.shown_order, QuizAnswer.chosen
            )
            .join(QuizAnswer, QuizAnswer.attempt_id == QuizAttempt.id)
            .where(QuizAnswer.question_id == "first-steps")
            .order_by(QuizAttempt.id)
        ).all()
    assert [r.shown_order for r in rows] == [
        ",".join(map(str, shown_order(question, first))),
        ",".join(map(str, shown_order(question, second))),
    ]
    assert {r.chosen for r in rows} == {str(wrong)}  # by option id, whatever the place

    (right,) = question.correct_indices
    for attempt_id, token, _order, _chosen in rows:
        review = text_of(client.get(f"/learn/modules/overdose-and-naloxone/attempts/{attempt_id}"))
        block = review[review.index(question.prompt_html[:30]) :]
        seen = shown_order(question, token)
        expected = [i for i in seen if i in (wrong, right)]
        positions = [block.index(question.choices[i].text) for i in expected]
        assert positions == sorted(positions), (token, seen)

    clinician = make_user("clinician")
    patient = make_patient(clinician)
    make_family(patient, learner)
    staff = app.test_client()
    login(staff, clinician.email)
    items = text_of(staff.get("/clinic/items?module=overdose-and-naloxone"))
    assert question.choices[wrong].text in items


# --- relationship variants ----------------------------------------------------------------


def test_a_parent_and_a_partner_of_one_patient_read_different_text(app) -> None:
    module = load_library(SHIPPED).module("supporting-a-loved-one")
    section = next(s for s in module.sections if s.has_variants)
    teen = section.html_for("parent-of-teen")
    partner = section.html_for("partner")
    assert teen != partner

    clinician = make_user("clinician")
    patient = make_patient(clinician)
    parent = make_user("family", email="parent@example.org")
    spouse = make_user("family", email="spouse@example.org")
    make_family(patient, parent, relationship="parent_of_minor")
    make_family(patient, spouse, relationship="spouse")
    url = f"/learn/modules/supporting-a-loved-one?section={section.key}"
    pages = {}
    for user in (parent, spouse):
        client = app.test_client()
        login(client, user.email)
        pages[user.email] = text_of(client.get(url))
    only_teen = _distinct_sentence(teen, partner)
    only_partner = _distinct_sentence(partner, teen)
    assert only_teen in pages["parent@example.org"]
    assert only_teen not in pages["spouse@example.org"]
    assert only_partner in pages["spouse@example.org"]
    assert only_partner not in pages["parent@example.org"]

    staff = app.test_client()
    login(staff, clinician.email)
    preview = text_of(staff.get(url))
    assert only_teen in preview and only_partner in preview  # every version, labelled
    assert "For a parent of a teen or child" in preview
    chosen = text_of(staff.get(f"{url}&for=partner"))
    assert only_partner in chosen and only_teen not in chosen
    handout = text_of(staff.get("/learn/modules/supporting-a-loved-one/print?for=parent-of-teen"))
    assert only_teen in handout and only_partner not in handout


def _distinct_sentence(html: str, other: str) -> str:
    for paragraph in re.findall(r"<p>(.*?)</p>", html, re.S):
        if paragraph not in other and len(paragraph) > 20:
            return paragraph
    raise AssertionError("no sentence of its own")


def test_variant_blocks_are_checked(tmp_path: Path) -> None:
    body = (
        "Intro.\n\n## One\n\nCommon text here.\n\n::: for partner\nFor partners.\n:::\n\n"
        "::: for cousin\nFor cousins.\n:::\n\n## Two\n\n::: for sibling\nNever closed.\n\n"
        "## Three\n\nThe end.\n"
    )
    text = module_md(body=body)
    write_tree(
        tmp_path,
        {
            "family/course.yml": course_yml(["understanding-triggers"]),
            "family/understanding-triggers.md": text,
        },
    )
    problems = {
        (p.line, p.severity, p.message.split(";")[0]) for p in check_library(tmp_path).problems
    }
    assert (
        line_of(text, "::: for cousin"),
        "error",
        "unknown reader 'cousin' in '::: for'",
    ) in problems
    assert (
        line_of(text, "::: for sibling"),
        "error",
        "this '::: for' block is never closed",
    ) in problems
    assert (
        line_of(text, "::: for partner"),
        "warning",
        "this variant group has no '::: for everyone-else' block",
    ) in problems
