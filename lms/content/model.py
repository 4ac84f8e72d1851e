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
from html import escape
from pathlib import Path
from typing import Literal

from .problems import Problem
from .worksheets import Worksheet

Audience = Literal["family", "patient"]
QuestionType = Literal["single", "multiple", "true_false", "ordering"]

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
    #: Key of the section that teaches the answer ("" when the file does not say).
    teaches: str = ""

    @property
    def correct_indices(self) -> frozenset[int]:
        """Indexes (0-based, in file order: each option's id) of the correct choices."""
        return frozenset(i for i, choice in enumerate(self.choices) if choice.correct)

    @property
    def is_ordering(self) -> bool:
        """The learner puts the choices (steps, listed in the right order) in order."""
        return self.type == "ordering"

    @property
    def shuffled(self) -> bool:
        """Whether the options are shown in a per-attempt order. True/false keeps True
        first: its order carries no cue, and a fixed order is easier to read."""
        return self.type != "true_false"


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


#: Who a variant block is for (``::: for partner``): the reader's relationship to the patient.
VARIANT_KEYS = (
    "parent-of-teen",
    "parent-of-adult",
    "partner",
    "adult-child",
    "sibling",
    "everyone-else",
)
OTHERWISE = "everyone-else"


@dataclass(frozen=True, slots=True)
class Variant:
    """One block of a variant group, rendered once: the text for these readers."""

    keys: frozenset[str]
    html: str


@dataclass(frozen=True, slots=True)
class SectionPart:
    """Text every reader sees (``html``), or a group of variants of which each reader sees
    the one for them (the ``everyone-else`` block when no other fits)."""

    html: str = ""
    variants: tuple[Variant, ...] = ()

    def html_for(self, reader: str) -> str:
        if not self.variants:
            return self.html
        for variant in self.variants:
            if reader in variant.keys:
                return variant.html
        for variant in self.variants:
            if OTHERWISE in variant.keys:
                return variant.html
        return ""


@dataclass(frozen=True, slots=True)
class Section:
    """One ``##`` part of a module; ``key`` is the English anchor progress is recorded against.

    ``html`` is what a reader with no particular relationship sees (the ``everyone-else``
    text of any variant group); ``parts`` keep the variants, rendered once at load, so a
    page for a partner or a parent of a teen is only a join of ready HTML.
    """

    key: str
    title: str
    html: str
    index: int
    parts: tuple[SectionPart, ...] = ()
    #: Fillable forms shown after the section's text (``lms.content.worksheets``).
    worksheets: tuple[Worksheet, ...] = ()

    @property
    def has_variants(self) -> bool:
        return any(part.variants for part in self.parts)

    def html_for(self, reader: str | None) -> str:
        """The section for this reader (a ``VARIANT_KEYS`` key); None: ``html``."""
        if reader is None or not self.has_variants:
            return self.html
        return "\n".join(part.html_for(reader) for part in self.parts)

    def html_all(self, labels: Mapping[str, object]) -> str:
        """Every variant, each under a label naming its readers (a clinician's preview and
        handout, or a reader whose relationship the program does not know)."""
        if not self.has_variants:
            return self.html
        out = []
        for part in self.parts:
            if not part.variants:
                out.append(part.html)
                continue
            for variant in part.variants:
                names = ", ".join(str(labels[k]) for k in VARIANT_KEYS if k in variant.keys)
                out.append(
                    f'<div class="variant"><p class="variant-for">{escape(names)}</p>'
                    f"{variant.html}</div>"
                )
        return "\n".join(out)

    def variant_keys(self) -> tuple[str, ...]:
        """Every reader key some variant block of this section names, in VARIANT_KEYS order."""
        named = {key for part in self.parts for v in part.variants for key in v.keys}
        return tuple(key for key in VARIANT_KEYS if key in named)


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
    #: The clinician who signed the content off ("Name, credential"), and when it is due
    #: for its next review. Without a reviewer the library says it is not reviewed yet.
    reviewed_by: str | None = None
    review_due: dt.date | None = None

    def section(self, key: str) -> Section | None:
        """The section with this key, or None."""
        for section in self.sections:
            if section.key == key:
                return section
        return None

    @property
    def has_variants(self) -> bool:
        return any(section.has_variants for section in self.sections)

    def worksheet(self, key: str) -> Worksheet | None:
        """The worksheet with this key in any section, or None."""
        for section in self.sections:
            for worksheet in section.worksheets:
                if worksheet.key == key:
                    return worksheet
        return None

    def variant_keys(self) -> tuple[str, ...]:
        named = {key for section in self.sections for key in section.variant_keys()}
        return tuple(key for key in VARIANT_KEYS if key in named)

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
    #: (language, title, summary) for each translation given in course.yml (``title_es`` …).
    translated: tuple[tuple[str, str, str], ...] = ()

    def title_in(self, lang: str) -> str:
        return _translated(self, lang, 1, self.title)

    def summary_in(self, lang: str) -> str:
        return _translated(self, lang, 2, self.summary)


@dataclass(frozen=True, slots=True)
class LearningPath:
    """A named bundle of modules (from any course) a clinician assigns in one step."""

    slug: str
    title: str
    summary: str
    module_slugs: tuple[str, ...]
    translated: tuple[tuple[str, str, str], ...] = ()

    def title_in(self, lang: str) -> str:
        return _translated(self, lang, 1, self.title)

    def summary_in(self, lang: str) -> str:
        return _translated(self, lang, 2, self.summary)


def _translated(item: Course | LearningPath, lang: str, index: int, english: str) -> str:
    """A course's or path's title or summary in ``lang`` when course.yml gives one."""
    for entry in item.translated:
        if entry[0] == lang:
            return entry[index]
    return english


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
