"""Problems found in course files, reported as ``path:line: message``.

That format is what editors, CI logs and ``grep`` understand, so a content writer can jump
straight to the line to fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing to fix. ``line`` is 1-based; 0 means the whole file or folder."""

    path: str
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class ContentError(Exception):
    """The course tree has errors; ``problems`` lists every one, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        errors = [p for p in self.problems if p.is_error]
        lines = "\n".join(str(p) for p in errors)
        super().__init__(f"{len(errors)} error(s) in course content:\n{lines}")


@dataclass(slots=True)
class CheckReport:
    """What ``check_library`` found: every problem plus each module's reading grade."""

    problems: list[Problem] = field(default_factory=list)
    #: Reading grade of each English module, keyed by its display path.
    grades: dict[str, float] = field(default_factory=dict)
    #: INFLESZ score (``language.inflesz``) of each Spanish translation, by display path.
    inflesz: dict[str, float] = field(default_factory=dict)
    #: The no-reading guesser's score on each English module's check (``itemlint``).
    guesser: dict[str, object] = field(default_factory=dict)
    module_count: int = 0
    course_count: int = 0
    path_count: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def mean_guesser_score(self) -> float | None:
        if not self.guesser:
            return None
        return sum(s.score for s in self.guesser.values()) / len(self.guesser)

    @property
    def average_grade(self) -> float | None:
        if not self.grades:
            return None
        return sum(self.grades.values()) / len(self.grades)
