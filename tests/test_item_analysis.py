"""Question analysis counts people, not attempts: each learner's first attempt on a module's
current version counts once (``attempts=all`` counts every attempt), the page says how many
people the figures rest on and cautions under five, and the hardest questions across modules
are ranked from first attempts of at least five learners, in a fixed number of queries."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms import clock, content, insight
from lms.content import get_library
from lms.extensions import db
from lms.learning import operations as learning
from lms.models import AuditEvent, User
from tests.helpers import (
    FIRST_STEPS,
    csrf_token,
    login,
    make_family,
    make_patient,
    make_user,
    text_of,
    write_course,
)
from tests.test_insight import QueryCounter, queries_for

# A second and a third module with knowledge checks, so the ranking has modules to compare.
COURSE_YML = """\
title: Test course
summary: A small course for tests.
audience: [family, patient]
modules: [first-steps, no-check, second-check, third-check]
"""


def _module(title: str, questions: str) -> str:
    head, _sep, body = FIRST_STEPS.partition("quiz:\n")
    head = head.replace("title: First steps", f"title: {title}")
    return (
        head
        + "quiz:\n  pass_mark: 0.8\n  questions:\n"
        + questions
        + "---\n"
        + (body.split("---\n", 1)[1].replace("{marker}", ""))
    )


def _single(qid: str, n: int) -> str:
    return (
        f"    - id: {qid}\n      prompt: Question {qid} number {n}?\n      type: single\n"
        "      choices:\n"
        f"        - text: Right {qid}\n          correct: true\n          feedback: Yes.\n"
        f"        - text: Wrong {qid}\n          feedback: No.\n"
    )


SECOND_CHECK = _module(
    "Second check",
    "    - id: order-steps\n      prompt: Put the steps in order.\n      type: ordering\n"
    "      choices:\n"
    "        - text: Stay calm\n          feedback: First.\n"
    "        - text: Say what you saw\n          feedback: Second.\n"
    "        - text: Offer help\n          feedback: Last.\n" + _single("pick-two", 2),
)
THIRD_CHECK = _module("Third check", "".join(_single(f"t{n}", n) for n in range(1, 7)))

RIGHT = {"pick-one": frozenset({0}), "pick-many": frozenset({0, 1}), "true-false": frozenset({0})}
ORDER_RIGHT = {"order-steps": (0, 1, 2), "pick-two": frozenset({0})}
THIRD_WRONG = {f"t{n}": frozenset({1}) for n in range(1, 7)}


@pytest.fixture
def courses(tmp_path):
    root = tmp_path / "courses"
    write_course(root)
    course = root / "test-course"
    (course / "course.yml").write_text(COURSE_YML)
    (course / "second-check.md").write_text(SECOND_CHECK)
    (course / "third-check.md").write_text(THIRD_CHECK)
    return root


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def learner_of(clinician) -> User:
    """A family member (joined, consent in force) of a new patient on ``clinician``'s caseload."""
    member = make_user("family")
    make_family(make_patient(clinician), member)
    return member


TOKENS = itertools.count()


def take(app, user, slug: str, answers: dict) -> None:
    """One attempt, a second after the previous one."""
    clock.advance(timedelta(seconds=1))
    with app.app_context():
        module = get_library().module(slug)
        assert module is not None and module.quiz is not None, slug
        token = f"token-{next(TOKENS)}"
        learning.submit_attempt(db.session.get(User, user.id), module, answers, token)
        db.session.commit()


def first_steps(pick_one: bool, pick_many: bool = True, true_false: bool = True) -> dict:
    return {
        "pick-one": frozenset({0 if pick_one else 1}),
        "pick-many": frozenset({0, 1} if pick_many else {2}),
        "true-false": frozenset({0 if true_false else 1}),
    }


def analysis_for(app, user, slug=None, every_attempt=False):
    with app.app_context():
        return insight.item_analysis(
            db.session.get(User, user.id), slug, every_attempt=every_attempt
        )


def module_table(page: str) -> str:
    return page[page.index('id="module-heading"') :]


def hardest_table(page: str) -> str:
    return page[page.index('id="hardest-heading"') : page.index('id="module-heading"')]


# --- one learner, five attempts ---------------------------------------------------------------

TOKEN_RE = re.compile(r'name="submit_token"[^>]*value="([^"]+)"')


def test_one_learner_with_five_attempts_counts_once_unless_all_attempts_are_asked_for(app):
    clinician = make_user("clinician")
    member = learner_of(clinician)
    learner = signed_in(app, member)
    # Through the real knowledge-check form: wrong first, then four retakes that get Q1 right.
    for n, pick_one in enumerate(["1", "0", "0", "0", "0"]):
        clock.advance(timedelta(minutes=1))
        check = text_of(learner.get("/learn/modules/first-steps/check"))
        data = {
            "q-pick-one": pick_one,
            "q-pick-many": ["0", "1"],
            "q-true-false": "0",
            "submit_token": TOKEN_RE.search(check).group(1),
            "csrf_token": csrf_token(learner, "/learn/"),
        }
        response = learner.post("/learn/modules/first-steps/check", data=data)
        assert response.status_code == 302, n

    first = analysis_for(app, clinician, "first-steps").current
    assert (first.learners, first.attempts) == (1, 1)
    assert [(r.answered, r.correct, r.learners) for r in first.rows][0] == (1, 0, 1)
    every = analysis_for(app, clinician, "first-steps", every_attempt=True).current
    assert (every.learners, every.attempts) == (1, 5)
    assert [(r.answered, r.correct, r.learners) for r in every.rows][0] == (5, 4, 1)

    staff = signed_in(app, clinician)
    page = module_table(text_of(staff.get("/clinic/items?module=first-steps")))
    assert "Based on 1 person, each counted once (their first try)." in page
    assert "Question 1: 0% correct of 1 person." in page
    assert 'id="attempts-first" name="attempts" value="first" checked' in page
    assert "A sunny day" in page  # the first attempt's wrong answer

    page = module_table(text_of(staff.get("/clinic/items?module=first-steps&attempts=all")))
    assert "Based on 5 tries by 1 person." in page
    assert "Question 1: 80% correct of 5 tries." in page
    assert 'id="attempts-all" name="attempts" value="all" checked' in page


def test_the_first_attempt_is_the_earliest_one_not_the_lowest_id(app):
    clinician = make_user("clinician")
    member = learner_of(clinician)
    take(app, member, "first-steps", first_steps(pick_one=True))
    clock.advance(timedelta(minutes=-30))  # recorded later, but submitted earlier
    take(app, member, "first-steps", first_steps(pick_one=False))
    rows = analysis_for(app, clinician, "first-steps").current.rows
    assert (rows[0].answered, rows[0].correct) == (1, 0)


def test_a_naughty_attempts_value_counts_first_attempts(app):
    clinician = make_user("clinician")
    take(app, learner_of(clinician), "first-steps", first_steps(pick_one=True))
    take(app, make_user("family"), "first-steps", first_steps(pick_one=True))  # not on caseload
    staff = signed_in(app, clinician)
    for value in ("ALL", "all ", "'; drop table quiz_answer; --", "\u00e0ll"):
        response = staff.get("/clinic/items", query_string={"attempts": value})
        assert response.status_code == 200
        assert "Based on 1 person, each counted once" in text_of(response)
    assert staff.get("/clinic/items?module=nope").status_code == 404
    assert staff.get("/clinic/items?module=no-check").status_code == 404


# --- fewer than five people -----------------------------------------------------------------

CAUTION = "Few people have answered: read these figures with care."


def test_caution_under_five_learners_and_no_question_called_hardest(app):
    clinician = make_user("clinician")
    staff = signed_in(app, clinician)
    for _n in range(4):
        take(app, learner_of(clinician), "first-steps", first_steps(pick_one=False))
    page = text_of(staff.get("/clinic/items?module=first-steps"))
    assert "Based on 4 people" in page
    assert CAUTION in page
    assert "Hardest question here" not in page and "hardest</strong>" not in page
    assert "No question has been answered by 5 or more people yet" in page
    assert 'class="hard-bar"' not in page

    # A fifth learner's retakes do not make the four others five more.
    member = learner_of(clinician)
    take(app, member, "first-steps", first_steps(pick_one=False))
    take(app, member, "first-steps", first_steps(pick_one=True))
    page = text_of(staff.get("/clinic/items?module=first-steps"))
    assert "Based on 5 people" in page and CAUTION not in page
    assert "Hardest question here: Q1, 0% correct." in module_table(page)
    assert page.count('class="hard-bar"') == 3


# --- the hardest questions across modules ----------------------------------------------------


def test_hardest_questions_are_ranked_from_first_attempts_of_five_learners(app):
    clinician = make_user("clinician")
    members = [learner_of(clinician) for _n in range(5)]
    for i, member in enumerate(members):
        # first-steps: Q1 right for 1 of 5 (20%), Q2 for 3 of 5 (60%), Q3 for all (100%).
        take(app, member, "first-steps", first_steps(pick_one=i == 0, pick_many=i < 3))
        # second-check: steps in order for 2 of 5 (40%); three put them backwards.
        order = (0, 1, 2) if i < 2 else (2, 1, 0)
        take(app, member, "second-check", {"order-steps": order, "pick-two": frozenset({0})})
    # Retakes get everything right: the ranking counts first attempts only.
    for member in members:
        take(app, member, "first-steps", RIGHT)
        take(app, member, "second-check", ORDER_RIGHT)
    # Only four people took the third check, all wrong: too few to be ranked.
    for member in members[:4]:
        take(app, member, "third-check", THIRD_WRONG)

    hardest = analysis_for(app, clinician).hardest
    assert [(h.module.slug, h.item.question_id) for h in hardest] == [
        ("first-steps", "pick-one"),
        ("second-check", "order-steps"),
        ("first-steps", "pick-many"),
        ("first-steps", "true-false"),
        ("second-check", "pick-two"),
    ]
    assert [round(h.item.share_correct * 100) for h in hardest] == [20, 40, 60, 100, 100]
    assert {h.item.learners for h in hardest} == {5}
    top = hardest[0].item
    assert (top.top_wrong, top.top_wrong_count) == ("A sunny day", 4)
    assert hardest[1].item.top_wrong == "Offer help → Say what you saw → Stay calm"
    assert hardest[2].item.top_wrong == "Keeping it secret"

    page = hardest_table(text_of(signed_in(app, clinician).get("/clinic/items")))
    assert page.count('class="hard-bar"') == 5
    assert '<title id="hardest-title">' in page and '<desc id="hardest-desc">' in page
    assert "1. First steps, question 1: 20% correct of 5 people." in page
    assert "2. Second check, question 1: 40% correct of 5 people." in page
    assert "Offer help → Say what you saw → Stay calm" in page
    assert "Third check" not in page
    assert page.index("Which one is a trigger?") < page.index("Put the steps in order.")
    assert page.index("Put the steps in order.") < page.index("Which are coping skills?")

    # A fifth learner makes the third check count: its six questions (0%) come first, and the
    # list stops at ten.
    take(app, members[4], "third-check", THIRD_WRONG)
    hardest = analysis_for(app, clinician).hardest
    assert len(hardest) == insight.HARDEST_COUNT == 10
    assert [h.item.question_id for h in hardest[:6]] == [f"t{n}" for n in range(1, 7)]
    assert hardest[6].item.question_id == "pick-one"


def test_only_the_current_version_counts(app, courses):
    clinician = make_user("clinician")
    for _n in range(5):
        take(app, learner_of(clinician), "first-steps", first_steps(pick_one=False))
    (courses / "test-course" / "first-steps.md").write_text(FIRST_STEPS.replace("{marker}", "v2"))
    content.init_app(app)  # the file changed: its current version is a new one
    with app.app_context():
        assert get_library().module("first-steps").quiz is not None
    analysis = analysis_for(app, clinician)
    assert analysis.learners["first-steps"] == 0 and analysis.hardest == []
    assert analysis.current is None


# --- scope --------------------------------------------------------------------------------


def test_another_clinicians_learners_are_not_counted(app):
    mine, other = make_user("clinician"), make_user("clinician")
    for _n in range(5):
        take(app, learner_of(mine), "first-steps", first_steps(pick_one=True))
    for _n in range(6):
        take(app, learner_of(other), "first-steps", first_steps(pick_one=False))
    take(app, make_user("family"), "first-steps", first_steps(pick_one=False))  # nobody's

    page = text_of(signed_in(app, mine).get("/clinic/items?module=first-steps"))
    assert "Based on 5 people" in page
    assert "Question 1: 100% correct of 5 people." in page
    assert "1. First steps, question 1: 100% correct of 5 people." in page  # ties: file order
    assert "A sunny day" not in page

    other_page = text_of(signed_in(app, other).get("/clinic/items?module=first-steps"))
    assert "Based on 6 people" in other_page
    assert "1. First steps, question 1: 0% correct of 6 people." in other_page

    admin_page = text_of(signed_in(app, make_user("admin")).get("/clinic/items"))
    assert "Showing the whole program." in admin_page
    assert "Based on 12 people" in admin_page
    assert "1. First steps, question 1: 42% correct of 12 people." in admin_page


# --- audit and queries -------------------------------------------------------------------------


def test_the_page_writes_its_audit_row(app):
    clinician = make_user("clinician")
    take(app, learner_of(clinician), "first-steps", first_steps(pick_one=True))
    staff = signed_in(app, clinician)
    assert staff.get("/clinic/items").status_code == 200
    assert staff.get("/clinic/items?module=first-steps&attempts=all").status_code == 200
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.actor_id, AuditEvent.detail)
            .where(AuditEvent.action == "items.view")
            .order_by(AuditEvent.id)
        ).all()
    assert rows == [
        (clinician.id, "module=first-steps attempts=first"),
        (clinician.id, "module=first-steps attempts=all"),
    ]


URLS = [
    "/clinic/items",
    "/clinic/items?module=second-check",
    "/clinic/items?module=first-steps&attempts=all",
]


def build(app, clinician, learners: int, retakes: int) -> None:
    for _n in range(learners):
        member = learner_of(clinician)
        for _r in range(retakes + 1):
            take(app, member, "first-steps", first_steps(pick_one=False))
            take(app, member, "second-check", ORDER_RIGHT)
            take(app, member, "third-check", THIRD_WRONG)


@pytest.mark.parametrize("role", ["clinician", "admin"])
def test_a_fixed_number_of_queries_whatever_the_learners_modules_and_attempts(app, role):
    staff_user = make_user(role)
    clinician = staff_user if role == "clinician" else make_user("clinician")
    client = signed_in(app, staff_user)
    take(app, learner_of(clinician), "first-steps", first_steps(pick_one=False))
    small = [queries_for(app, client, url) for url in URLS]
    build(app, clinician, learners=8, retakes=2)
    assert [queries_for(app, client, url) for url in URLS] == small

    # The analysis itself: two queries, whatever there is to count.
    with app.app_context():
        user = db.session.get(User, staff_user.id)
        with QueryCounter(app) as counter:
            analysis = insight.item_analysis(user, "first-steps", every_attempt=True)
        assert counter.count == 2
    assert analysis.current.learners == 9 and analysis.current.attempts == 25
