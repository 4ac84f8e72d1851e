"""Grading knowledge checks: pure functions, no database, no request.

Rules
-----
* ``single`` and ``true_false``: correct when exactly the one correct choice is chosen.
* ``multiple``: correct when the chosen set *equals* the set of correct choices. There is no
  partial credit: with partial credit, ticking every box would earn marks without knowing
  anything.
* ``ordering``: correct when every step is in its place. The answer is the sequence of step
  ids (file order is the right order) as the learner put them; feedback goes to each step,
  saying whether it is where it belongs.
* Score = correct questions / all questions (0..1). Passed = score >= the quiz's pass mark,
  compared with a small tolerance so 4/5 passes a 0.8 mark despite floating point.
* Every question must be answered; a form that skips one is sent back with a message rather
  than graded as wrong, so a mis-tap never costs a family member an attempt.

Submissions come from a form (``q-<question id>`` fields whose values are choice indexes, an
option's id whatever order it was shown in; for ordering, one value per position, in order)
and may be forged, so ``parse_answers`` validates everything before ``grade_quiz`` sees it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext

from .model import Choice, Question, Quiz

FIELD_PREFIX = "q-"
_EPSILON = 1e-9


class AnswerError(ValueError):
    """A submission that cannot be graded; ``message`` is safe to show to the learner (a lazy
    string: it reads in the learner's language when the page shows it)."""

    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message


Answer = frozenset[int] | tuple[int, ...]  # chosen options; for ordering, the sequence


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    """Feedback for one choice the learner picked, or a correct one they missed; for an
    ordering question, for each step as placed (``correct``: it is in its place)."""

    index: int
    text: str
    html: str
    chosen: bool
    correct: bool


@dataclass(frozen=True, slots=True)
class QuestionResult:
    question_id: str
    chosen: Answer
    correct: bool
    feedback: tuple[FeedbackEntry, ...]

    @property
    def stored(self) -> str:
        """How the answer is kept: option ids, ascending; for ordering, in the learner's order."""
        values = self.chosen if isinstance(self.chosen, tuple) else sorted(self.chosen)
        return ",".join(str(i) for i in values)


@dataclass(frozen=True, slots=True)
class GradeResult:
    score: float
    correct_count: int
    total: int
    passed: bool
    per_question: tuple[QuestionResult, ...]

    @property
    def percent(self) -> int:
        return round(self.score * 100)


def shown_order(question: Question, seed: str) -> tuple[int, ...]:
    """The order this attempt shows the options in (option ids, i.e. file positions).

    Derived from the attempt's one-time form token, so the page shows the same order when it
    comes back with a message, the attempt records exactly what the learner saw, and two
    attempts differ. A position in the list then tells nothing: the right answer is never
    "never the first one". True/false keeps its fixed order (``Question.shuffled``).
    """
    order = list(range(len(question.choices)))
    if question.shuffled and len(order) > 1:
        digest = hashlib.sha256(f"{seed}\x1f{question.id}".encode()).digest()
        # Not security: a fair shuffle, reproducible from the token.
        random.Random(digest).shuffle(order)  # noqa: S311  # nosec B311
        if question.is_ordering and order == sorted(order):
            order.reverse()  # steps already in their right order would give the answer away
    return tuple(order)


def field_name(question: Question) -> str:
    """The form field that carries this question's answer."""
    return f"{FIELD_PREFIX}{question.id}"


def is_correct(question: Question, chosen: Answer) -> bool:
    """Exact match for every type; for single/true_false that means the one right choice;
    for ordering, every step in its place."""
    if question.is_ordering:
        return tuple(chosen) == tuple(range(len(question.choices)))
    return frozenset(chosen) == question.correct_indices


def _feedback(question: Question, chosen: Answer) -> tuple[FeedbackEntry, ...]:
    """Feedback on every chosen choice, plus on correct ones missed (they teach most); for
    ordering, on every step in the order the learner put them."""
    if question.is_ordering:
        return tuple(
            FeedbackEntry(
                step,
                question.choices[step].feedback,
                question.choices[step].feedback_html,
                True,
                step == position,
            )
            for position, step in enumerate(chosen)
        )
    chosen = frozenset(chosen)
    shown = sorted(chosen | question.correct_indices)
    return tuple(_entry(i, question.choices[i], i in chosen) for i in shown)


def _entry(index: int, choice: Choice, chosen: bool) -> FeedbackEntry:
    return FeedbackEntry(index, choice.feedback, choice.feedback_html, chosen, choice.correct)


def grade_quiz(quiz: Quiz, answers: Mapping[str, Answer]) -> GradeResult:
    """Grade validated answers (see ``parse_answers``); a missing answer counts as wrong."""
    results = []
    for question in quiz.questions:
        given = answers.get(question.id)
        if question.is_ordering:
            chosen: Answer = tuple(given) if given is not None else ()
        else:
            chosen = frozenset(given or ())
        results.append(
            QuestionResult(
                question_id=question.id,
                chosen=chosen,
                correct=is_correct(question, chosen),
                feedback=_feedback(question, chosen),
            )
        )
    total = len(results)
    correct_count = sum(result.correct for result in results)
    score = correct_count / total if total else 0.0
    return GradeResult(
        score=score,
        correct_count=correct_count,
        total=total,
        passed=total > 0 and score + _EPSILON >= quiz.pass_mark,
        per_question=tuple(results),
    )


def _values(raw: str | Iterable[str]) -> list[str]:
    # Werkzeug's MultiDict.to_dict(flat=False) gives lists; tolerate a bare string too.
    return [raw] if isinstance(raw, str) else list(raw)


def _ordering(question: Question, values: list[str], number: int) -> tuple[int, ...] | None:
    """One step per position, each step once; None when nothing was chosen yet."""
    texts = [value.strip() for value in values]
    if not any(texts):
        return None
    size = len(question.choices)
    valid = all(t.isascii() and t.isdigit() and int(t) < size for t in texts if t)
    if len(texts) != size or not valid:
        raise AnswerError(
            _l(
                "Question %(number)s has an answer that is not one of its steps. "
                "Please reload the page and answer again.",
                number=number,
            )
        )
    if "" in texts:
        raise AnswerError(_l("Question %(number)s: choose a step for every place.", number=number))
    sequence = tuple(int(t) for t in texts)
    if len(set(sequence)) != size:
        raise AnswerError(_l("Question %(number)s: use each step once.", number=number))
    return sequence


def parse_answers(quiz: Quiz, form: Mapping[str, Iterable[str]]) -> dict[str, Answer]:
    """Turn posted ``q-<id>`` fields into answers, or raise ``AnswerError`` saying what's wrong.

    Fields not starting with ``q-`` (the CSRF token, the submit button) are ignored.
    """
    by_id = {question.id: question for question in quiz.questions}
    answers: dict[str, Answer] = {}
    for name, raw in form.items():
        if not name.startswith(FIELD_PREFIX):
            continue
        question_id = name[len(FIELD_PREFIX) :]
        question = by_id.get(question_id)
        if question is None:
            raise AnswerError(
                _l(
                    "This answer sheet does not match the quiz (it has an unknown question). "
                    "Please reload the page and answer again."
                )
            )
        number = quiz.questions.index(question) + 1
        if question.is_ordering:
            sequence = _ordering(question, _values(raw), number)
            if sequence is not None:
                answers[question.id] = sequence
            continue
        chosen: set[int] = set()
        for value in _values(raw):
            text = value.strip()
            if not text:
                continue
            if not (text.isascii() and text.isdigit()) or int(text) >= len(question.choices):
                raise AnswerError(
                    _l(
                        "Question %(number)s has an answer that is not one of its choices. "
                        "Please reload the page and answer again.",
                        number=number,
                    )
                )
            chosen.add(int(text))
        if question.type != "multiple" and len(chosen) > 1:
            raise AnswerError(
                _l("Question %(number)s takes one answer only. Please pick one.", number=number)
            )
        if chosen:
            answers[question.id] = frozenset(chosen)
    missing = [i for i, q in enumerate(quiz.questions, start=1) if q.id not in answers]
    if missing:
        numbers = ", ".join(str(n) for n in missing)
        raise AnswerError(
            lazy_ngettext(
                "Please answer every question. Unanswered: question %(numbers)s.",
                "Please answer every question. Unanswered: questions %(numbers)s.",
                len(missing),
                numbers=numbers,
            )
        )
    return answers
