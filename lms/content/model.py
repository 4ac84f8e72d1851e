"""The course library as immutable values.

Everything here is built once when the app starts and then shared by every request and
thread, so it is frozen and uses tuples: no view can change content for another request by
accident. Progress and quiz attempts refer to modules by slug and to sections and questions by
their stable keys/ids, never by position, so editing content never orphans a learner's history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .problems import Problem

Audience = Literal["family", "patient"]
QuestionType = Literal["single", "multiple", "true_false"]

#: The language of the plain ``<slug>.md`` files.
DEFAULT_LANG = "en"


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer option; ``feedback`` teaches why it is right or wrong."""

    text: str
    feedback: str
    feedback_html: str
    correct: bool = False
    text_html: str = ""


@dataclass(frozen=True, slots=True)
class Question:
    """A knowledge-check question; ``id`` is stable so results survive edits to the wording."""

    id: str
    prompt: str
    prompt_html: str
    type: QuestionType
    choices: tuple[Choice, ...]

    @property
    def correct_indices(self) -> frozenset[int]:
        """Indexes (0-based, as posted by the form) of the correct choices."""
        return frozenset(i for i, choice in enumerate(self.choices) if choice.correct)


@dataclass(frozen=True, slots=True)
class Quiz:
    """A module's knowledge check."""

    pass_mark: float
    questions: tuple[Question, ...]

    def question(self, question_id: str) -> Question | None:
        """The question with this id, or None."""
        for question in self.questions:
            if question.id == question_id:
                return question
        return None


@dataclass(frozen=True, slots=True)
class Section:
    """One ``##`` part of a module; ``key`` is the English anchor progress is recorded against."""

    key: str
    title: str
    html: str
    index: int


@dataclass(frozen=True, slots=True)
class Module:
    """One module file (English or a translation), rendered and sanitized once at load."""

    slug: str
    course_slug: str
    lang: str
    title: str
    summary: str
    audience: tuple[Audience, ...]
    minutes: int
    objectives: tuple[str, ...]
    sources: tuple[str, ...]
    reviewed: dt.date
    intro_html: str
    sections: tuple[Section, ...]
    quiz: Quiz | None
    #: sha256 hex of the file's bytes: attempts record it to know which wording they answered.
    version: str
    short_version: str
    #: Path of the file, relative to the parent of the library root (``courses/x/y.md``).
    path: str
    #: Languages this module is available in besides English, e.g. ``("es",)``.
    translations: tuple[str, ...] = ()

    def section(self, key: str) -> Section | None:
        """The section with this key, or None."""
        for section in self.sections:
            if section.key == key:
                return section
        return None

    def section_keys(self) -> tuple[str, ...]:
        """Keys of the sections in reading order (what progress is recorded against)."""
        return tuple(section.key for section in self.sections)


@dataclass(frozen=True, slots=True)
class Course:
    """A folder of modules in the order a reader should take them."""

    slug: str
    title: str
    summary: str
    audience: tuple[Audience, ...]
    module_slugs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LearningPath:
    """A named bundle of modules (from any course) a clinician assigns in one step."""

    slug: str
    title: str
    summary: str
    module_slugs: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Library:
    """Every course, path and module, with lookups built once so queries are dict hits.

    ``problems`` is empty for a library that loaded cleanly; in development an invalid tree
    yields an empty library carrying the problems so the site can show them in a banner.
    """

    root: Path
    courses: tuple[Course, ...]
    paths: tuple[LearningPath, ...]
    _modules: Mapping[tuple[str, str], Module] = field(repr=False)
    problems: tuple[Problem, ...] = ()
    _english: tuple[Module, ...] = field(init=False, repr=False)
    _course_by_slug: Mapping[str, Course] = field(init=False, repr=False)
    _course_of_module: Mapping[str, Course] = field(init=False, repr=False)
    _path_by_slug: Mapping[str, LearningPath] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Frozen, so the derived indexes are set once here and never again.
        course_order = [slug for course in self.courses for slug in course.module_slugs]
        listed = set(course_order)
        unlisted = sorted(
            slug for (slug, lang) in self._modules if lang == DEFAULT_LANG and slug not in listed
        )
        english = tuple(
            self._modules[(slug, DEFAULT_LANG)]
            for slug in [*course_order, *unlisted]
            if (slug, DEFAULT_LANG) in self._modules
        )
        object.__setattr__(self, "_english", english)
        object.__setattr__(self, "_course_by_slug", {c.slug: c for c in self.courses})
        object.__setattr__(
            self,
            "_course_of_module",
            {
                module.slug: self._course_by_slug[module.course_slug]
                for module in english
                if module.course_slug in self._course_by_slug
            },
        )
        object.__setattr__(self, "_path_by_slug", {p.slug: p for p in self.paths})

    @classmethod
    def empty(cls, root: Path, problems: tuple[Problem, ...] = ()) -> Library:
        """A valid library with nothing in it (used when content failed to load in dev)."""
        return cls(root=root, courses=(), paths=(), _modules={}, problems=problems)

    def module(self, slug: str, lang: str = DEFAULT_LANG) -> Module | None:
        """The module in ``lang`` if translated, else English; None if there is no such slug."""
        return self._modules.get((slug, lang)) or self._modules.get((slug, DEFAULT_LANG))

    def modules(self) -> tuple[Module, ...]:
        """English modules in course order (modules no course lists come last, by slug)."""
        return self._english

    def course(self, slug: str) -> Course | None:
        return self._course_by_slug.get(slug)

    def course_of(self, module_slug: str) -> Course | None:
        """The course whose folder holds this module."""
        return self._course_of_module.get(module_slug)

    def path(self, slug: str) -> LearningPath | None:
        return self._path_by_slug.get(slug)

    def __contains__(self, slug: object) -> bool:
        """``"some-module" in library``: is there an English module with this slug."""
        return isinstance(slug, str) and (slug, DEFAULT_LANG) in self._modules

    def __iter__(self) -> Iterator[Module]:
        return iter(self._english)

    def __len__(self) -> int:
        return len(self._english)
