"""Item-writing checks for knowledge checks: can a reader who skipped the module pass?

A knowledge check is a measurement a clinician acts on. Cues in the options let someone pass
without reading: the right answer is the longest option, "True" is nearly always right, three of
four boxes in a multi-select are right. This module simulates a **no-reading guesser** on every
check and lints the item writing, each finding as ``path:line``:

* the guesser picks the longest option of a single-choice item, "True" in a true/false item,
  and every option but the shortest in a multi-select item (for 2 options, the longer); it
  never sees an ordering item's right order (the order is shuffled per attempt), so it gets
  none. A module whose check the guesser passes is an **error**.
* warnings: more than half of a module's single-choice items are won by the longest option;
  all true/false items of a module have the same answer (three or more); a multi-select item
  whose every option is right; the same prompt in two modules; and, across the library, a
  true/false balance outside 35–65 % "True", or most multi-select items with one count of
  right options.

Pure: no Flask, no files. ``loader`` feeds it the parsed drafts (with their line numbers).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .problems import Problem

_EPSILON = 1e-9
TRUE_SHARE_RANGE = (0.35, 0.65)
LONGEST_SHARE_LIMIT = 0.5
MEAN_GUESSER_LIMIT = 0.5


@dataclass(frozen=True, slots=True)
class LintChoice:
    text: str
    correct: bool


@dataclass(frozen=True, slots=True)
class LintQuestion:
    line: int
    id: str
    prompt: str
    type: str
    choices: tuple[LintChoice, ...]


@dataclass(frozen=True, slots=True)
class LintModule:
    path: str
    quiz_line: int
    pass_mark: float
    questions: tuple[LintQuestion, ...]


@dataclass(frozen=True, slots=True)
class GuesserScore:
    correct: int
    total: int
    pass_mark: float

    @property
    def score(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def passed(self) -> bool:
        return self.total > 0 and self.score + _EPSILON >= self.pass_mark


@dataclass
class LintResult:
    problems: list[Problem] = field(default_factory=list)
    #: The guesser's score on each module's check, keyed by the module's path.
    guesser: dict[str, GuesserScore] = field(default_factory=dict)

    @property
    def mean_guesser_score(self) -> float | None:
        if not self.guesser:
            return None
        return sum(s.score for s in self.guesser.values()) / len(self.guesser)


def _length(text: str) -> int:
    return len(" ".join(text.split()))


def _is_true(text: str) -> bool:
    return text.strip().casefold() in ("true", "verdadero", "cierto")


def guess(question: LintQuestion) -> frozenset[int]:
    """What the no-reading guesser picks (choice indexes in file order)."""
    choices = question.choices
    if not choices:
        return frozenset()
    lengths = [_length(c.text) for c in choices]
    if question.type == "true_false":
        for index, choice in enumerate(choices):
            if _is_true(choice.text):
                return frozenset({index})
        return frozenset({0})
    if question.type == "single":
        return frozenset({lengths.index(max(lengths))})
    if question.type == "multiple":
        if len(choices) <= 2:
            return frozenset({lengths.index(max(lengths))})
        shortest = lengths.index(min(lengths))
        return frozenset(i for i in range(len(choices)) if i != shortest)
    return frozenset()  # ordering: the shown order is shuffled; nothing to go on


def _right(question: LintQuestion) -> frozenset[int]:
    return frozenset(i for i, c in enumerate(question.choices) if c.correct)


def guesser_score(module: LintModule) -> GuesserScore:
    scored = [q for q in module.questions if q.choices]
    correct = sum(1 for q in scored if q.type != "ordering" and guess(q) == _right(q) and _right(q))
    return GuesserScore(correct, len(scored), module.pass_mark)


def _longest_wins(question: LintQuestion) -> bool:
    """The single right option is strictly the longest one."""
    right = _right(question)
    if len(right) != 1:
        return False
    lengths = [_length(c.text) for c in question.choices]
    (index,) = right
    return lengths[index] == max(lengths) and lengths.count(max(lengths)) == 1


def _normal_prompt(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", " ".join(text.casefold().split()))


def lint(modules: Sequence[LintModule]) -> LintResult:
    result = LintResult()
    report = result.problems

    def warn(path: str, line: int, message: str) -> None:
        report.append(Problem(path, line, message, "warning"))

    prompts: dict[str, tuple[str, int]] = {}
    true_answers: list[bool] = []
    multi_counts: Counter[tuple[int, int]] = Counter()
    for module in modules:
        if not module.questions:
            continue
        score = guesser_score(module)
        result.guesser[module.path] = score
        if score.passed:
            report.append(
                Problem(
                    module.path,
                    module.quiz_line,
                    f"a reader who skipped the module passes this check by guessing "
                    f"({score.correct} of {score.total}: the longest option, always True, "
                    "all but the shortest); balance option lengths and answers",
                )
            )
        singles = [q for q in module.questions if q.type == "single"]
        longest = [q for q in singles if _longest_wins(q)]
        if len(singles) >= 2 and len(longest) / len(singles) > LONGEST_SHARE_LIMIT:
            warn(
                module.path,
                longest[0].line,
                f"the right answer is the longest option in {len(longest)} of {len(singles)} "
                "single-choice questions; make the options similar in length",
            )
        tf = [q for q in module.questions if q.type == "true_false" and _right(q)]
        answers = [any(_is_true(q.choices[i].text) for i in _right(q)) for q in tf]
        true_answers.extend(answers)
        if len(tf) >= 3 and len(set(answers)) == 1:
            warn(
                module.path,
                tf[0].line,
                f"all {len(tf)} true/false questions are "
                f"{'True' if answers[0] else 'False'}; make about half of them the other way",
            )
        for question in module.questions:
            if question.type == "multiple" and question.choices:
                right = len(_right(question))
                multi_counts[(right, len(question.choices))] += 1
                if right == len(question.choices):
                    warn(
                        module.path,
                        question.line,
                        f"every option of question '{question.id}' is right; ticking every "
                        "box passes it",
                    )
            key = _normal_prompt(question.prompt)
            if not key:
                continue
            first = prompts.get(key)
            if first is not None and first[0] != module.path:
                warn(
                    module.path,
                    question.line,
                    f"question '{question.id}' repeats a question of {first[0]}:{first[1]}",
                )
            prompts.setdefault(key, (module.path, question.line))
    if len(true_answers) >= 4:
        share = sum(true_answers) / len(true_answers)
        low, high = TRUE_SHARE_RANGE
        if not low <= share <= high:
            warn(
                "courses",
                0,
                f"{sum(true_answers)} of {len(true_answers)} true/false answers are True "
                f"({share:.0%}); aim for {low:.0%}-{high:.0%}",
            )
    total_multi = sum(multi_counts.values())
    if total_multi >= 6:
        (right, size), count = multi_counts.most_common(1)[0]
        if count / total_multi > 0.6:
            warn(
                "courses",
                0,
                f"{count} of {total_multi} multi-select questions have {right} right of "
                f"{size} options; vary how many are right (1 to 4)",
            )
    mean = result.mean_guesser_score
    if mean is not None and mean >= MEAN_GUESSER_LIMIT:
        warn(
            "courses",
            0,
            f"a no-reading guesser scores {mean:.0%} on average across the checks; "
            f"aim below {MEAN_GUESSER_LIMIT:.0%}",
        )
    return result


def choices_of(pairs: Iterable[tuple[str, bool]]) -> tuple[LintChoice, ...]:
    return tuple(LintChoice(text, correct) for text, correct in pairs)
