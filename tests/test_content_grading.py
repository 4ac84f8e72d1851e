"""Grading rules and validation of posted (possibly forged) answers."""

from __future__ import annotations

import pytest

from lms.content import AnswerError, Choice, Question, Quiz, grade_quiz, parse_answers


def question(qid: str, kind: str, correct: set[int], count: int = 3) -> Question:
    choices = tuple(
        Choice(f"choice {i}", f"feedback {i}", f"feedback {i}", i in correct) for i in range(count)
    )
    return Question(qid, f"prompt {qid}", f"prompt {qid}", kind, choices)  # type: ignore[arg-type]


QUIZ = Quiz(
    pass_mark=0.8,
    questions=(
        question("one", "single", {1}),
        question("tf", "true_false", {0}, count=2),
        question("many", "multiple", {0, 2}, count=4),
        question("four", "single", {0}),
        question("five", "single", {0}),
    ),
)
ALL_RIGHT = {
    "one": frozenset({1}),
    "tf": frozenset({0}),
    "many": frozenset({0, 2}),
    "four": frozenset({0}),
    "five": frozenset({0}),
}


def result_for(qid: str, chosen: set[int]) -> bool:
    answers = {**ALL_RIGHT, qid: frozenset(chosen)}
    [result] = [r for r in grade_quiz(QUIZ, answers).per_question if r.question_id == qid]
    return result.correct


def test_all_right_scores_one_and_passes() -> None:
    result = grade_quiz(QUIZ, ALL_RIGHT)
    assert (result.score, result.correct_count, result.total, result.passed) == (1.0, 5, 5, True)


def test_correct_indices() -> None:
    assert QUIZ.questions[2].correct_indices == frozenset({0, 2})


@pytest.mark.parametrize(
    ("qid", "chosen", "correct"),
    [
        ("one", {1}, True),
        ("one", {0}, False),
        ("tf", {0}, True),
        ("tf", {1}, False),
        ("many", {0, 2}, True),
        ("many", {0}, False),  # subset: no partial credit
        ("many", {0, 1, 2, 3}, False),  # ticking every box earns nothing
        ("many", {0, 2, 3}, False),  # superset
    ],
)
def test_each_type(qid: str, chosen: set[int], correct: bool) -> None:
    assert result_for(qid, chosen) is correct


def test_pass_mark_boundary_is_inclusive_despite_floats() -> None:
    four_of_five = {**ALL_RIGHT, "five": frozenset({1})}
    result = grade_quiz(QUIZ, four_of_five)
    assert result.score == pytest.approx(0.8)
    assert result.passed
    three_of_five = {**four_of_five, "four": frozenset({1})}
    assert not grade_quiz(QUIZ, three_of_five).passed
    # 0.7 + a float sum that lands a hair below: 7/10 vs pass mark 0.7
    seven = Quiz(0.7, tuple(question(f"q{i}", "single", {0}) for i in range(10)))
    answers = {f"q{i}": frozenset({0 if i < 7 else 1}) for i in range(10)}
    assert grade_quiz(seven, answers).passed


def test_feedback_covers_chosen_and_missed_correct_choices() -> None:
    result = grade_quiz(QUIZ, {**ALL_RIGHT, "many": frozenset({1})})
    [many] = [r for r in result.per_question if r.question_id == "many"]
    assert [(f.index, f.chosen, f.correct) for f in many.feedback] == [
        (0, False, True),
        (1, True, False),
        (2, False, True),
    ]


def form(**fields: list[str]) -> dict[str, list[str]]:
    base = {"q-one": ["1"], "q-tf": ["0"], "q-many": ["0", "2"], "q-four": ["0"], "q-five": ["0"]}
    base.update({f"q-{k}": v for k, v in fields.items()})
    return base


def test_parse_answers_accepts_a_full_form_and_ignores_other_fields() -> None:
    data = {**form(), "csrf_token": ["abc"], "submit": ["Check"]}
    assert parse_answers(QUIZ, data) == ALL_RIGHT


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**form(), "q-nope": ["0"]}, "unknown question"),
        (form(one=["7"]), "Question 1 has an answer that is not one of its choices"),
        (form(one=["-1"]), "not one of its choices"),
        (form(one=["x"]), "not one of its choices"),
        (form(one=["1.0"]), "not one of its choices"),
        (form(one=["٣"]), "not one of its choices"),  # a non-ASCII digit
        (form(one=["0", "1"]), "Question 1 takes one answer only"),
        (form(tf=["0", "1"]), "Question 2 takes one answer only"),
        (form(four=[]), "Please answer every question. Unanswered: question 4."),
        (form(four=[""]), "Unanswered: question 4."),
    ],
)
def test_parse_answers_rejects_forged_posts(data: dict[str, list[str]], message: str) -> None:
    with pytest.raises(AnswerError) as caught:
        parse_answers(QUIZ, data)
    assert message in caught.value.message


def test_several_unanswered_are_all_named() -> None:
    data = {"q-one": ["1"], "q-many": ["0"]}
    with pytest.raises(AnswerError, match=r"Unanswered: questions 2, 4, 5\."):
        parse_answers(QUIZ, data)


def test_multiple_allows_several_choices() -> None:
    assert parse_answers(QUIZ, form(many=["3", "1"]))["many"] == frozenset({1, 3})
