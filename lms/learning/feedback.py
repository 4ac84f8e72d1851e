"""What a learner sees about their own knowledge-check attempt: the one rule for when the
right answers are shown, and for when to offer support.

A check should teach, not be copied. So a first try that does not pass shows only the
learner's own choices, each with its feedback, and for an ordering question only which steps
are in their place. The right answers come after a pass, or from the second try on. After two
tries that did not pass (and no pass yet), the page says that this is hard and fine, points to
the next session, and links each missed question to the section that teaches it.

Staff pages (the learner drill-down, item analysis) do not use this: they show what they
always showed. Attempts of an earlier version of a module count: they are attempts at it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from lms.content.model import Module, Question, Section
from lms.extensions import db
from lms.models import QuizAnswer, QuizAttempt, Role, User

#: From this try on, the right answers are shown even when the try did not pass.
REVEAL_FROM_TRY = 2
#: This many tries that did not pass, with no pass yet, and the page offers support.
SUPPORT_AFTER_FAILS = 2


@dataclass(frozen=True, slots=True)
class Standing:
    """Where this attempt stands among the learner's attempts at the module."""

    number: int  # 1 for their first try, counting up to and including this one
    failed: int  # tries that did not pass, up to and including this one
    passed_ever: bool  # any try at this module passed, before or after this one


def decide(standing: Standing, passed: bool) -> tuple[bool, bool]:
    """(reveal_answers, needs_support) for an attempt that ``passed`` or not."""
    reveal = passed or standing.number >= REVEAL_FROM_TRY
    support = not passed and not standing.passed_ever and standing.failed >= SUPPORT_AFTER_FAILS
    return reveal, support


def standing_of(attempt: QuizAttempt) -> Standing:
    """Count the learner's attempts at this module up to and including ``attempt`` (in the
    order they were submitted), and whether any attempt at it has passed. One query."""
    up_to = or_(
        QuizAttempt.submitted_at < attempt.submitted_at,
        and_(QuizAttempt.submitted_at == attempt.submitted_at, QuizAttempt.id <= attempt.id),
    )
    number, failed, passed_ever = db.session.execute(
        select(
            func.count(QuizAttempt.id).filter(up_to),
            func.count(QuizAttempt.id).filter(up_to, QuizAttempt.passed.is_(False)),
            func.count(QuizAttempt.id).filter(QuizAttempt.passed.is_(True)),
        ).where(
            QuizAttempt.user_id == attempt.user_id,
            QuizAttempt.module_slug == attempt.module_slug,
        )
    ).one()
    return Standing(number=number, failed=failed, passed_ever=passed_ever > 0)


def support_message(user: User) -> str:
    """Kind words after two tries that did not pass. Families meet the care team in family
    sessions; patients in their own sessions (and staff trying a check have no family)."""
    if user.role == Role.FAMILY:
        return _(
            "This one is hard, and that's all right. Talk it over at your next family "
            "session — your care team is glad to go through it with you."
        )
    return _(
        "This one is hard, and that's all right. Talk it over at your next session — "
        "your care team is glad to go through it with you."
    )


@dataclass(frozen=True, slots=True)
class Shown:
    """One option on the result page: one the learner chose, or (once revealed) a right one
    they did not choose."""

    text: str
    text_html: str  # sanitized at load ("" in content built without it: show ``text``)
    feedback_html: str
    chosen: bool
    right: bool


@dataclass(frozen=True, slots=True)
class Step:
    """One step of an ordering question, where the learner put it. ``feedback_html`` (which
    often names the step's place) is empty until the answers may be shown."""

    text: str
    in_place: bool
    feedback_html: str


@dataclass(frozen=True, slots=True)
class AnswerView:
    """One question of the attempt as the learner may see it."""

    number: int
    correct: bool
    question: Question | None  # None: the question is no longer in the module
    options: tuple[Shown, ...] = ()
    #: Multiple choice, every choice right but some right ones missing (said, not shown).
    some_missing: bool = False
    steps: tuple[Step, ...] = ()
    #: A wrong ordering once revealed: the steps in their right order.
    right_order: tuple[str, ...] = ()
    #: After two tries that did not pass: the section that teaches a missed question.
    read_again: Section | None = None


@dataclass(frozen=True, slots=True)
class AttemptFeedback:
    number: int
    reveal_answers: bool
    needs_support: bool
    support_message: str | None
    answers: tuple[AnswerView, ...]


def _answer_view(
    number: int,
    answer: QuizAnswer,
    question: Question | None,
    module: Module,
    reveal: bool,
    support: bool,
) -> AnswerView:
    if question is None:
        return AnswerView(number=number, correct=answer.correct, question=None)
    read_again = None
    if support and not answer.correct and question.teaches:
        read_again = module.section(question.teaches)
    size = len(question.choices)
    if question.is_ordering:
        sequence = [i for i in answer.chosen_sequence if i < size]
        open_feedback = reveal or answer.correct
        steps = tuple(
            Step(
                text=question.choices[step].text,
                in_place=step == place,
                feedback_html=question.choices[step].feedback_html if open_feedback else "",
            )
            for place, step in enumerate(sequence)
        )
        right_order = (
            tuple(c.text for c in question.choices) if reveal and not answer.correct else ()
        )
        return AnswerView(
            number=number,
            correct=answer.correct,
            question=question,
            steps=steps,
            right_order=right_order,
            read_again=read_again,
        )
    chosen = answer.chosen_indices
    right = question.correct_indices
    options = tuple(
        Shown(
            text=question.choices[i].text,
            text_html=question.choices[i].text_html,
            feedback_html=question.choices[i].feedback_html,
            chosen=i in chosen,
            right=i in right,
        )
        for i in answer.order_shown(size)
        if i in chosen or (reveal and not answer.correct and i in right)
    )
    some_missing = (
        not reveal and not answer.correct and bool(chosen) and chosen <= right and chosen != right
    )
    return AnswerView(
        number=number,
        correct=answer.correct,
        question=question,
        options=options,
        some_missing=some_missing,
        read_again=read_again,
    )


def feedback_for(user: User, attempt: QuizAttempt, module: Module) -> AttemptFeedback:
    """What the result page shows the learner about their own ``attempt`` at ``module``
    (the module as it reads now, in their language)."""
    standing = standing_of(attempt)
    reveal, support = decide(standing, attempt.passed)
    quiz = module.quiz
    answers = tuple(
        _answer_view(
            number,
            answer,
            quiz.question(answer.question_id) if quiz else None,
            module,
            reveal,
            support,
        )
        for number, answer in enumerate(attempt.answers, start=1)
    )
    return AttemptFeedback(
        number=standing.number,
        reveal_answers=reveal,
        needs_support=support,
        support_message=support_message(user) if support else None,
        answers=answers,
    )
