"""Load ``courses/`` into a ``Library``, and check it, reporting every problem with its line.

One pass reads and validates every file; a second renders each module once, rewriting links
to other modules and images as it goes (it needs every module's slug and section keys first).
``load_library`` runs the structural checks the app cannot work without. ``check_library``
adds the editorial checks (reading grade, stigmatising words) that CI enforces: they are
slower and a wording rule should not stop the site from starting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from yaml.nodes import Node, ScalarNode

from . import itemlint, language
from .model import (
    DEFAULT_LANG,
    OTHERWISE,
    VARIANT_KEYS,
    Choice,
    Course,
    LearningPath,
    Library,
    Module,
    Question,
    Quiz,
    Section,
    SectionPart,
    Variant,
)
from .problems import CheckReport, ContentError, Problem, Severity
from .render import URL_SCHEMES, LinkKind, plain_text, render, render_inline
from .worksheets import Worksheet, as_prose, extract_worksheets
from .yamlsource import Source

MODULE_URL_PREFIX = "/learn/modules/"
MEDIA_URL_PREFIX = "/learn/media/"

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
LANG_RE = re.compile(r"^[a-z]{2}$")
AUDIENCES = ("family", "patient")
QUESTION_TYPES = ("single", "multiple", "true_false", "ordering")
DEFAULT_PASS_MARK = 0.8
OBJECTIVES_RANGE = (3, 5)
SECTIONS_RANGE = (3, 7)
MIN_QUESTIONS = 5

COURSE_REQUIRED = ("title", "summary", "audience", "modules")
COURSE_OPTIONAL = ("paths", "title_es", "summary_es")
#: A course's or path's title and summary in another language (``title_es``, ``summary_es``).
TRANSLATED_LANGS = ("es",)
PATH_KEYS = ("slug", "title", "summary", "modules")
FRONT_MATTER_REQUIRED = (
    "title",
    "summary",
    "audience",
    "minutes",
    "objectives",
    "sources",
    "reviewed",
)
FRONT_MATTER_OPTIONAL = ("quiz", "reviewed_by", "review_due", "translated_from")
QUIZ_REQUIRED = ("questions",)
QUIZ_OPTIONAL = ("pass_mark",)
QUESTION_KEYS = ("id", "prompt", "type", "choices")
QUESTION_OPTIONAL = ("teaches",)
CHOICE_REQUIRED = ("text",)
CHOICE_OPTIONAL = ("feedback", "correct")

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_VARIANT_OPEN = re.compile(r"^:::[ \t]+for[ \t]+(.*?)[ \t]*$")
_VARIANT_CLOSE = re.compile(r"^:::[ \t]*$")
_VARIANT_ANY = re.compile(r"^:::")
_H2 = re.compile(r"^\s{0,3}##(?!#)(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_ATTR_LIST = re.compile(r"\s*\{:?[^}]*\}\s*$")


def slugify(text: str) -> str:
    """Stable anchor for a heading: lowercase ascii words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def display_path(root: Path, path: Path) -> str:
    """Path shown in problems: as the root was given, or relative to cwd / the root's parent."""
    relative = path.relative_to(root)
    if not root.is_absolute():
        return (root / relative).as_posix()
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return (Path(root.name) / relative).as_posix()


# --- drafts: what pass 1 read from the files ------------------------------------------


@dataclass
class _ChoiceDraft:
    line: int
    text: str | None = None
    text_line: int = 0
    feedback: str | None = None
    feedback_line: int = 0
    correct: bool = False


@dataclass
class _QuestionDraft:
    line: int
    id: str | None = None
    prompt: str | None = None
    prompt_line: int = 0
    type: str | None = None
    choices: list[_ChoiceDraft] = field(default_factory=list)
    #: The key of the section that teaches the answer (a ``##`` heading of the English file).
    teaches: str | None = None
    teaches_line: int = 0


@dataclass
class _SectionDraft:
    title_md: str
    key: str
    line: int
    text: str
    worksheets: tuple[Worksheet, ...] = ()


@dataclass
class _ModuleDraft:
    file: Path
    display: str
    course_slug: str
    slug: str
    lang: str
    version: str
    first_problem: int  # index into problems: problems after it belong to this file
    meta: dict[str, object] = field(default_factory=dict)
    meta_lines: dict[str, int] = field(default_factory=dict)
    body: str = ""
    body_line: int = 1
    intro: str = ""
    sections: list[_SectionDraft] = field(default_factory=list)
    has_quiz: bool = False
    quiz_line: int = 1
    pass_mark: float = DEFAULT_PASS_MARK
    questions: list[_QuestionDraft] = field(default_factory=list)
    english: _ModuleDraft | None = None
    translations: list[str] = field(default_factory=list)


@dataclass
class _CourseDraft:
    slug: str
    folder: Path
    display: str
    title: str | None = None
    summary: str | None = None
    audience: list[str] | None = None
    modules: list[tuple[str, int]] = field(default_factory=list)
    paths: list[tuple[str, str, str, list[tuple[str, int]], int]] = field(default_factory=list)
    translated: list[tuple[str, str, str]] = field(default_factory=list)
    path_translated: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)


class _Collector:
    """Every problem found so far, in the order found."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def report(self, path: str, line: int, message: str, severity: Severity = "error") -> None:
        self.problems.append(Problem(path, line, message, severity))

    def source(self, path: str, first_line: int) -> Source:
        return Source(path, first_line, self.problems)


# --- pass 1: read ------------------------------------------------------------------------


def _read_course(folder: Path, display: str, out: _Collector) -> _CourseDraft:
    course = _CourseDraft(slug=folder.name, folder=folder, display=display)
    yml = display + "/course.yml"
    if not SLUG_RE.match(folder.name):
        out.report(
            yml, 0, f"course folder name '{folder.name}' must be lowercase words and hyphens"
        )
    src = out.source(yml, 1)
    try:
        text = (folder / "course.yml").read_text(encoding="utf-8")
    except UnicodeDecodeError:
        out.report(yml, 1, "course.yml is not UTF-8 text")
        return course
    node = src.compose(text)
    if node is None:
        return course
    entries = src.mapping(node, "course.yml", required=COURSE_REQUIRED, optional=COURSE_OPTIONAL)
    if entries is None:
        return course
    if "title" in entries:
        course.title = src.text(entries["title"][1], "'title'")
    if "summary" in entries:
        course.summary = src.text(entries["summary"][1], "'summary'")
    course.translated = _translations(src, entries, "course")
    if "audience" in entries:
        course.audience = src.choice_list(entries["audience"][1], "audience", AUDIENCES)
    if "modules" in entries:
        course.modules = _slug_list(src, entries["modules"][1], "'modules'")
        seen: dict[str, int] = {}
        for slug, line in course.modules:
            if slug in seen:
                src.report(line, f"module '{slug}' is listed twice (first on line {seen[slug]})")
            seen.setdefault(slug, line)
    if "paths" in entries:
        items = src.sequence(entries["paths"][1], "'paths'") or []
        for item in items:
            path_entries = src.mapping(
                item, "a path", required=PATH_KEYS, optional=("title_es", "summary_es")
            )
            if not path_entries or any(key not in path_entries for key in PATH_KEYS):
                continue
            slug_node = path_entries["slug"][1]
            slug = src.text(slug_node, "path 'slug'")
            title = src.text(path_entries["title"][1], "path 'title'")
            summary = src.text(path_entries["summary"][1], "path 'summary'")
            modules = _slug_list(src, path_entries["modules"][1], "path 'modules'")
            if slug is not None and not SLUG_RE.match(slug):
                src.error(slug_node, f"path slug '{slug}' must be lowercase words and hyphens")
            elif slug and title and summary:
                course.paths.append((slug, title, summary, modules, src.line(slug_node)))
                course.path_translated[slug] = _translations(src, path_entries, "path")
    return course


def _translations(src: Source, entries, what: str) -> list[tuple[str, str, str]]:
    """``title_es`` and ``summary_es`` (both, or neither) of a course or a path."""
    found = []
    for lang in TRANSLATED_LANGS:
        keys = (f"title_{lang}", f"summary_{lang}")
        given = [key for key in keys if key in entries]
        if not given:
            continue
        if len(given) == 1:
            missing = keys[1] if given[0] == keys[0] else keys[0]
            src.error(entries[given[0]][0], f"a {what} with '{given[0]}' needs '{missing}' too")
            continue
        title = src.text(entries[keys[0]][1], f"'{keys[0]}'")
        summary = src.text(entries[keys[1]][1], f"'{keys[1]}'")
        if title and summary:
            found.append((lang, title, summary))
    return found


def _slug_list(src: Source, node: Node, what: str) -> list[tuple[str, int]]:
    items = src.sequence(node, what) or []
    slugs = []
    for item in items:
        slug = src.text(item, f"each item of {what}")
        if slug is None:
            continue
        if not SLUG_RE.match(slug):
            src.error(item, f"'{slug}' is not a module slug (lowercase words and hyphens)")
            continue
        slugs.append((slug, src.line(item)))
    return slugs


def _split_front_matter(text: str, display: str, out: _Collector) -> tuple[str, str, int] | None:
    """(front matter, body, file line of the body's first line) or None if malformed."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].lstrip("\ufeff").rstrip() != "---":
        out.report(display, 1, "a module must start with a line '---' opening its front matter")
        return None
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    out.report(display, 1, "front matter is not closed: add a line '---' after it")
    return None


def _read_module(
    file: Path, display: str, course_slug: str, slug: str, lang: str, out: _Collector
) -> _ModuleDraft:
    data = file.read_bytes()
    draft = _ModuleDraft(
        file=file,
        display=display,
        course_slug=course_slug,
        slug=slug,
        lang=lang,
        version=hashlib.sha256(data).hexdigest(),
        first_problem=len(out.problems),
    )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        out.report(display, 1, f"file is not UTF-8 text ({exc.reason})")
        return draft
    parts = _split_front_matter(text, display, out)
    if parts is None:
        return draft
    front, draft.body, draft.body_line = parts
    src = out.source(display, 2)
    node = src.compose(front)
    if node is None:
        pass
    elif (node.tag.endswith(":null")) and not front.strip():
        out.report(display, 1, "front matter is empty")
    else:
        _read_front_matter(src, node, draft)
    _read_sections(draft, out)
    return draft


def _read_front_matter(src: Source, node: Node, draft: _ModuleDraft) -> None:
    entries = src.mapping(
        node, "front matter", required=FRONT_MATTER_REQUIRED, optional=FRONT_MATTER_OPTIONAL
    )
    if entries is None:
        return
    readers = {
        "title": lambda n: src.text(n, "'title'"),
        "summary": lambda n: src.text(n, "'summary'"),
        "audience": lambda n: src.choice_list(n, "audience", AUDIENCES),
        "minutes": lambda n: src.positive_int(n, "'minutes'"),
        "objectives": lambda n: src.text_list(n, "'objectives'"),
        "sources": lambda n: src.text_list(n, "'sources'"),
        "reviewed": lambda n: src.date(n, "'reviewed'"),
        "reviewed_by": lambda n: src.text(n, "'reviewed_by'"),
        "review_due": lambda n: src.date(n, "'review_due'"),
        # A translation names the English version it was made from (its short version).
        "translated_from": lambda n: _short_version(src, n),
    }
    for key, read in readers.items():
        if key not in entries:
            continue
        key_node, value_node = entries[key]
        draft.meta_lines[key] = src.line(key_node)
        value = read(value_node)
        if value is not None:
            draft.meta[key] = value
    objectives = draft.meta.get("objectives")
    low, high = OBJECTIVES_RANGE
    if isinstance(objectives, list) and not low <= len(objectives) <= high:
        src.report(
            draft.meta_lines["objectives"],
            f"{len(objectives)} objectives; a module needs {low} to {high}",
        )
    sources = draft.meta.get("sources")
    if isinstance(sources, list) and not sources:
        src.report(draft.meta_lines["sources"], "'sources' is empty; cite at least one source")
    if "quiz" in entries:
        draft.has_quiz = True
        draft.quiz_line = src.line(entries["quiz"][0])
        _read_quiz(src, entries["quiz"][1], draft)


def _short_version(src: Source, node: Node) -> str | None:
    """A short version is hex digits; one made of digits only reads as a YAML number, so its
    digits are taken as written (no quotes needed)."""
    if isinstance(node, ScalarNode) and node.tag.endswith(":int") and node.value.isdigit():
        return node.value
    return src.text(node, "'translated_from'")


def _read_quiz(src: Source, node: Node, draft: _ModuleDraft) -> None:
    entries = src.mapping(node, "quiz", required=QUIZ_REQUIRED, optional=QUIZ_OPTIONAL)
    if entries is None:
        return
    if "pass_mark" in entries:
        pass_mark = src.fraction(entries["pass_mark"][1], "'pass_mark'")
        if pass_mark is not None:
            draft.pass_mark = pass_mark
    if "questions" not in entries:
        return
    items = src.sequence(entries["questions"][1], "'questions'")
    if items is None:
        return
    if not items:
        src.error(entries["questions"][1], "the quiz has no questions")
    seen: dict[str, int] = {}
    for number, item in enumerate(items, start=1):
        question = _read_question(src, item, number)
        if question is None:
            continue
        if question.id is not None:
            if question.id in seen:
                src.report(
                    question.line,
                    f"question id '{question.id}' is used twice (first on line "
                    f"{seen[question.id]}); ids must be unique within a module",
                )
            seen.setdefault(question.id, question.line)
        draft.questions.append(question)
    if items and len(items) < MIN_QUESTIONS:
        src.report(
            draft.quiz_line,
            f"the quiz has {len(items)} questions; aim for at least {MIN_QUESTIONS}",
            "warning",
        )


def _read_question(src: Source, node: Node, number: int) -> _QuestionDraft | None:
    where = f"question {number}"
    entries = src.mapping(node, where, required=QUESTION_KEYS, optional=QUESTION_OPTIONAL)
    if entries is None:
        return None
    question = _QuestionDraft(line=src.line(node))
    if "teaches" in entries:
        question.teaches = src.text(entries["teaches"][1], f"'teaches' of {where}")
        question.teaches_line = src.line(entries["teaches"][1])
    if "id" in entries:
        question.id = src.text(entries["id"][1], f"'id' of {where}")
        if question.id is not None and not SLUG_RE.match(question.id):
            src.error(
                entries["id"][1],
                f"question id '{question.id}' must be lowercase words and hyphens",
            )
            question.id = None
    name = f"question '{question.id}'" if question.id else where
    if "prompt" in entries:
        question.prompt = src.text(entries["prompt"][1], f"'prompt' of {name}")
        question.prompt_line = src.line(entries["prompt"][1])
    if "type" in entries:
        kind = src.text(entries["type"][1], f"'type' of {name}")
        if kind is not None and kind not in QUESTION_TYPES:
            src.error(
                entries["type"][1],
                f"'{kind}' is not a question type; use {', '.join(QUESTION_TYPES)}",
            )
        elif kind is not None:
            question.type = kind
    if "choices" in entries:
        items = src.sequence(entries["choices"][1], f"'choices' of {name}") or []
        for index, item in enumerate(items, start=1):
            choice = _read_choice(src, item, f"choice {index} of {name}")
            if choice is not None:
                question.choices.append(choice)
        _check_choices(src, question, name, len(items))
    return question


def _read_choice(src: Source, node: Node, name: str) -> _ChoiceDraft | None:
    entries = src.mapping(node, name, required=CHOICE_REQUIRED, optional=CHOICE_OPTIONAL)
    if entries is None:
        return None
    choice = _ChoiceDraft(line=src.line(node))
    if "text" in entries:
        choice.text = src.text(entries["text"][1], f"'text' of {name}")
        choice.text_line = src.line(entries["text"][1])
    feedback = entries.get("feedback")
    if feedback is None or (feedback[1].tag.endswith(":null")):
        src.error(node, f"{name} has no feedback; say why this answer is right or wrong")
    else:
        choice.feedback = src.text(feedback[1], f"'feedback' of {name}")
        choice.feedback_line = src.line(feedback[1])
    if "correct" in entries:
        choice.correct = bool(src.boolean(entries["correct"][1], f"'correct' of {name}"))
    return choice


def _check_choices(src: Source, question: _QuestionDraft, name: str, count: int) -> None:
    correct = sum(choice.correct for choice in question.choices)
    line = question.line
    if question.type == "ordering":
        # The steps are listed in their right order; the site shuffles them.
        if not 3 <= count <= 8:
            src.report(line, f"{name} is ordering with {count} steps; give 3 to 8")
        if correct:
            src.report(
                line,
                f"{name} is ordering: list the steps in their right order and mark none 'correct'",
            )
        return
    if count < 2:
        src.report(line, f"{name} has {count} choice(s); give at least 2")
    if question.type == "true_false" and count != 2:
        src.report(line, f"{name} is true_false but has {count} choices; it needs exactly 2")
    if count and correct == 0:
        src.report(line, f"{name} has no correct choice; mark one with 'correct: true'")
    if question.type in ("single", "true_false") and correct > 1:
        src.report(
            line,
            f"{name} is {question.type} but {correct} choices are marked correct; "
            "mark one, or make it 'multiple'",
        )


@dataclass
class _PartDraft:
    """Common text (``keys`` None) or one variant block, with the line its text starts on.
    ``group`` numbers the variant group a block belongs to."""

    text: str
    line: int
    keys: frozenset[str] | None = None
    group: int = -1


def split_variants(
    text: str, first_line: int, display: str, out: _Collector | None = None
) -> list[_PartDraft]:
    """Cut a section's Markdown into common text and ``::: for <keys>`` … ``:::`` blocks.

    Blocks separated only by blank lines form one group, of which each reader sees one
    block. Unknown keys, a key named twice in a group, a block never closed or one inside
    another are errors at their line; a group without ``everyone-else`` is a warning (a
    reader none of its blocks names would see nothing there)."""

    def report(line: int, message: str, severity: Severity = "error") -> None:
        if out is not None:
            out.report(display, line, message, severity)

    parts: list[_PartDraft] = []
    common: list[str] = []
    common_line = first_line
    block: list[str] | None = None
    block_keys: frozenset[str] = frozenset()
    block_line = 0
    group = -1
    group_open = False  # the last thing seen was a block (blank lines since)
    group_keys: list[tuple[frozenset[str], int]] = []
    in_fence = False

    def close_group() -> None:
        nonlocal group_open
        if group_open and group_keys and not any(OTHERWISE in k for k, _ in group_keys):
            report(
                group_keys[0][1],
                "this variant group has no '::: for everyone-else' block; a reader it does "
                "not name would see nothing here",
                "warning",
            )
        group_open = False
        group_keys.clear()

    for offset, line in enumerate(text.splitlines(keepends=True)):
        number = first_line + offset
        bare = line.rstrip("\n")
        if block is None and _FENCE.match(line):
            in_fence = not in_fence
        if in_fence or not _VARIANT_ANY.match(bare):
            if block is not None:
                block.append(line)
            else:
                if bare.strip() and group_open:
                    close_group()
                if not common:
                    common_line = number
                common.append(line)
            continue
        opened = _VARIANT_OPEN.match(bare)
        if opened:
            if block is not None:
                report(
                    number, "a '::: for' block starts inside another; close the first with ':::'"
                )
                continue
            keys = frozenset(k for k in re.split(r"[\s,]+", opened.group(1)) if k)
            unknown = sorted(keys - set(VARIANT_KEYS))
            if unknown or not keys:
                report(
                    number,
                    f"unknown reader {', '.join(repr(k) for k in unknown) or '(none)'} in "
                    f"'::: for'; use {', '.join(VARIANT_KEYS)}",
                )
                keys = keys & set(VARIANT_KEYS)
            if not group_open:
                if "".join(common).strip():
                    parts.append(_PartDraft("".join(common), common_line))
                common = []
                group += 1
                group_open = True
            for earlier, earlier_line in group_keys:
                for key in sorted(keys & earlier):
                    report(
                        number, f"'{key}' already has a block in this group (line {earlier_line})"
                    )
            group_keys.append((keys, number))
            block, block_keys, block_line = [], keys, number + 1
            continue
        if _VARIANT_CLOSE.match(bare):
            if block is None:
                report(number, "':::' closes no '::: for' block")
                continue
            parts.append(_PartDraft("".join(block), block_line, block_keys, group))
            block = None
            continue
        report(number, "a variant block starts with '::: for' and a reader, e.g. '::: for partner'")
    if block is not None:
        report(block_line - 1, "this '::: for' block is never closed; end it with ':::'")
        parts.append(_PartDraft("".join(block), block_line, block_keys, group))
    if group_open:
        close_group()
    if "".join(common).strip() or not parts:
        parts.append(_PartDraft("".join(common), common_line))
    return parts


def without_variant_markers(markdown_text: str) -> str:
    """The text with the ``::: for …`` / ``:::`` lines blanked (for the reading grade)."""
    return "".join(
        "\n" if _VARIANT_ANY.match(line) else line
        for line in markdown_text.splitlines(keepends=True)
    )


def _read_sections(draft: _ModuleDraft, out: _Collector) -> None:
    """Split the body at ``##`` headings (ignoring ones inside fenced code)."""
    chunks: list[list[str]] = [[]]  # chunks[0] is the intro, then one per heading
    in_fence = False
    seen: dict[str, int] = {}
    for offset, line in enumerate(draft.body.splitlines(keepends=True)):
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _H2.match(line.rstrip("\n"))
        if heading is None:
            chunks[-1].append(line)
            continue
        line_no = draft.body_line + offset
        title_md = _ATTR_LIST.sub("", (heading.group(1) or "").strip())
        key = slugify(plain_text(title_md)) if title_md else ""
        chunks.append([])
        if not key:
            out.report(draft.display, line_no, "a '##' heading needs words to be a section title")
        elif key in seen:
            out.report(
                draft.display,
                line_no,
                f"section heading '{title_md}' repeats the one on line {seen[key]}; "
                "each section needs its own title",
            )
        else:
            seen[key] = line_no
        draft.sections.append(_SectionDraft(title_md, key, line_no, ""))
    draft.intro = "".join(chunks[0])
    worksheet_lines: dict[str, int] = {}
    for section, chunk in zip(draft.sections, chunks[1:], strict=True):
        # Worksheet blocks leave the prose first (lms.content.worksheets).
        section.text, section.worksheets = extract_worksheets(
            "".join(chunk), section.line + 1, draft.display, out.problems, worksheet_lines
        )
        split_variants(section.text, section.line + 1, draft.display, out)
    low, high = SECTIONS_RANGE
    count = len(draft.sections)
    if draft.lang == DEFAULT_LANG and not low <= count <= high:
        line = draft.sections[high].line if count > high else draft.body_line
        out.report(
            draft.display,
            line,
            f"{count} sections ('##' headings); a module should have {low} to {high}",
            "warning",
        )


# --- cross-file checks -------------------------------------------------------------------


def _check_translation(draft: _ModuleDraft, english: _ModuleDraft, out: _Collector) -> None:
    """A translation must line up with English so progress and answers map by position."""
    name = draft.display
    ours, theirs = draft.sections, english.sections
    if len(ours) != len(theirs):
        if len(ours) > len(theirs):
            line = ours[len(theirs)].line
        else:
            line = ours[-1].line if ours else draft.body_line
        out.report(
            name,
            line,
            f"translation has {len(ours)} sections but {english.display} has {len(theirs)}; "
            "they must match one to one, in order",
        )
    for index, (mine_s, original_s) in enumerate(zip(ours, theirs, strict=False), start=1):
        _check_translated_section(draft, index, mine_s, original_s, english.display, out)
    if draft.has_quiz != english.has_quiz:
        out.report(
            name,
            draft.quiz_line if draft.has_quiz else 1,
            f"translation {'has' if draft.has_quiz else 'lacks'} a quiz but "
            f"{english.display} {'does not' if draft.has_quiz else 'has one'}",
        )
        return
    ours_q, theirs_q = draft.questions, english.questions
    for index, (mine, original) in enumerate(zip(ours_q, theirs_q, strict=False), start=1):
        if mine.id != original.id:
            out.report(
                name,
                mine.line,
                f"question {index} has id '{mine.id}' but question {index} of "
                f"{english.display} is '{original.id}'; keep the same ids in the same order",
            )
            continue
        if mine.type != original.type:
            out.report(
                name,
                mine.line,
                f"question '{mine.id}' is {mine.type} but the English one is {original.type}; "
                "keep the same type",
            )
        if mine.teaches is not None and mine.teaches != original.teaches:
            out.report(
                name,
                mine.teaches_line,
                f"question '{mine.id}' teaches '{mine.teaches}' but the English one "
                + (f"teaches '{original.teaches}'" if original.teaches else "names no section")
                + "; give the English key, or leave 'teaches' out of the translation",
            )
        if len(mine.choices) != len(original.choices):
            out.report(
                name,
                mine.line,
                f"question '{mine.id}' has {len(mine.choices)} choices but the English one "
                f"has {len(original.choices)} (options are matched by their place, so keep "
                "the same options in the same order)",
            )
            continue
        for number, (a, b) in enumerate(zip(mine.choices, original.choices, strict=True), 1):
            if a.correct != b.correct:
                out.report(
                    name,
                    a.line,
                    f"choice {number} of question '{mine.id}' is "
                    f"{'' if a.correct else 'not '}marked correct but the English one "
                    f"{'is not' if a.correct else 'is'}",
                )
    if len(ours_q) != len(theirs_q):
        line = ours_q[len(theirs_q)].line if len(ours_q) > len(theirs_q) else draft.quiz_line
        out.report(
            name,
            line,
            f"translation has {len(ours_q)} questions but {english.display} has {len(theirs_q)}",
        )


_WORKSHEET_OPEN = re.compile(r"^:::[ \t]+worksheet\b[ \t]*(.*?)[ \t]*$")  # as in worksheets


def _variant_blocks(section: _SectionDraft, display: str) -> list[tuple[frozenset[str], int]]:
    """Each ``::: for`` block of a section: its readers and the line of its ``::: for``."""
    return [
        (part.keys, part.line - 1)
        for part in split_variants(section.text, section.line + 1, display)
        if part.keys is not None
    ]


def _readers(blocks: list[tuple[frozenset[str], int]]) -> str:
    named = [", ".join(k for k in VARIANT_KEYS if k in keys) for keys, _ in blocks]
    return "; ".join(f"'{n}'" for n in named) or "none"


def _check_translated_section(
    draft: _ModuleDraft,
    index: int,
    mine: _SectionDraft,
    original: _SectionDraft,
    english_display: str,
    out: _Collector,
) -> None:
    """A translated section has the English section's worksheets (same keys, same field keys
    in the same order: answers are stored under them) and ``::: for`` blocks for the same
    readers in the same order (each reader sees the block written for them)."""
    name = draft.display
    first = mine.line + 1 - draft.body_line
    body_lines = draft.body.splitlines()[first : first + len(mine.text.splitlines())]
    opened: dict[str, int] = {}
    for offset, line in enumerate(body_lines):
        match = _WORKSHEET_OPEN.match(line)
        if match:
            opened.setdefault(match.group(1), mine.line + 1 + offset)
    ours = [w.key for w in mine.worksheets]
    theirs = [w.key for w in original.worksheets]
    if ours != theirs:
        line = next((opened[k] for k in ours if k in opened and k not in theirs), mine.line)
        out.report(
            name,
            line,
            f"section {index} has worksheets {', '.join(ours) or 'none'} but section {index} "
            f"of {english_display} has {', '.join(theirs) or 'none'}; keep the same worksheet "
            "keys in the same order",
        )
    else:
        for worksheet, english_sheet in zip(mine.worksheets, original.worksheets, strict=True):
            if worksheet.field_keys() != english_sheet.field_keys():
                out.report(
                    name,
                    opened.get(worksheet.key, mine.line),
                    f"worksheet '{worksheet.key}' has fields "
                    f"{', '.join(worksheet.field_keys())} but the English one has "
                    f"{', '.join(english_sheet.field_keys())}; keep the same field keys in the "
                    "same order (answers are stored under them)",
                )
    our_blocks = _variant_blocks(mine, name)
    their_blocks = _variant_blocks(original, english_display)
    if [keys for keys, _ in our_blocks] != [keys for keys, _ in their_blocks]:
        differs = next(
            (
                at
                for at, (keys, _line) in enumerate(our_blocks)
                if at >= len(their_blocks) or their_blocks[at][0] != keys
            ),
            None,
        )
        out.report(
            name,
            our_blocks[differs][1] if differs is not None else mine.line,
            f"section {index} has '::: for' blocks for {_readers(our_blocks)} but section "
            f"{index} of {english_display} has {_readers(their_blocks)}; write a block for "
            "the same readers in the same order",
        )


def _check_teaches(draft: _ModuleDraft, out: _Collector, *, editorial: bool) -> None:
    """Each question names the section that teaches its answer (``teaches: <section key>``),
    so a learner who keeps missing it can be sent back there. The key is the English
    section's, as progress is. An unknown key is an error; a missing one, a warning from
    ``courses check`` only (older content still loads)."""
    keys = [section.key for section in (draft.english or draft).sections]
    for question in draft.questions:
        name = f"question '{question.id}'" if question.id else "a question"
        if question.teaches is None:
            if editorial and draft.english is None:
                out.report(
                    draft.display,
                    question.line,
                    f"{name} has no 'teaches'; name the part of the module that teaches "
                    f"the answer: {', '.join(keys) or 'none'}",
                    "warning",
                )
        elif question.teaches not in keys:
            out.report(
                draft.display,
                question.teaches_line,
                f"{name} teaches '{question.teaches}', but no '##' heading of this module "
                f"has that key; use one of: {', '.join(keys) or 'none'}",
            )


# --- pass 2: render ----------------------------------------------------------------------


@dataclass
class _Linker:
    """Validates and rewrites the links and images of one module as it renders."""

    draft: _ModuleDraft
    root: Path
    by_file: dict[Path, _ModuleDraft]
    by_slug: dict[str, _ModuleDraft]
    module_url_prefix: str
    media_url_prefix: str
    out: _Collector
    text: str = ""
    first_line: int = 1

    def at(self, text: str, first_line: int) -> _Linker:
        self.text, self.first_line = text, first_line
        return self

    def _report(self, url: str, message: str) -> None:
        line = self.first_line
        for offset, content in enumerate(self.text.splitlines()):
            if url and url in content:
                line = self.first_line + offset
                break
        self.out.report(self.draft.display, line, message)

    def __call__(self, kind: LinkKind, url: str, text: str) -> str | None:
        if kind == "image":
            return self._image(url, text)
        return self._link(url)

    def _course_file(self, url: str, path: str) -> Path | None:
        folder = self.draft.file.parent
        target = Path(os.path.normpath(folder / path))
        if not target.is_relative_to(folder):
            self._report(url, f"'{url}' points outside the course folder")
            return None
        return target

    def _media_url(self, target: Path) -> str:
        relative = target.relative_to(self.draft.file.parent).as_posix()
        return f"{self.media_url_prefix}{self.draft.course_slug}/{quote(relative)}"

    def _image(self, url: str, alt: str) -> str | None:
        if not alt.strip():
            self._report(
                url, f"image '{url}' has no alt text; describe it in the [ ] for screen readers"
            )
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or url.startswith("/"):
            self._report(
                url,
                f"image '{url}' must be a file in the course folder: pictures from other "
                "sites tell them who is reading",
            )
            return None
        target = self._course_file(url, unquote(parts.path))
        if target is None:
            return None
        if not target.is_file():
            self._report(url, f"image '{url}' not found (looked for {self._shown(target)})")
            return None
        return self._media_url(target)

    def _shown(self, target: Path) -> str:
        folder = self.draft.display.rpartition("/")[0]
        return f"{folder}/{target.relative_to(self.draft.file.parent).as_posix()}"

    def _link(self, url: str) -> str | None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme:
            if scheme in URL_SCHEMES:
                return url
            self._report(
                url, f"link '{url}' is not allowed; use http, https, mailto or tel links only"
            )
            return None
        if parts.netloc:
            self._report(url, f"link '{url}' needs https:// in front")
            return None
        if not parts.path:
            if not parts.fragment:
                return url
            return self._to_module(url, self._english(), parts.fragment, same_file=True)
        if parts.path.startswith("/"):
            return url  # a page of this site, e.g. /learn/
        path = unquote(parts.path)
        if path.endswith(".md"):
            # Module links may reach into other courses (../other-course/x.md).
            target = Path(os.path.normpath(self.draft.file.parent / path))
            module = self.by_file.get(target)
            if module is None:
                slug = target.stem
                elsewhere = self.by_slug.get(slug)
                hint = (
                    f"; module '{slug}' is {elsewhere.display}"
                    if elsewhere
                    else f"; there is no module '{slug}'"
                )
                self._report(url, f"link '{url}' goes to a module that does not exist{hint}")
                return None
            return self._to_module(url, module, parts.fragment, same_file=False)
        target = self._course_file(url, path)
        if target is None:
            return None
        if target.is_file() and target.suffix not in (".yml", ".yaml"):
            return self._media_url(target)
        self._report(
            url,
            f"link '{url}' is not a module (.md), a file in the course folder or a web address",
        )
        return None

    def _english(self) -> _ModuleDraft:
        return self.draft.english or self.draft

    def _to_module(
        self, url: str, module: _ModuleDraft, anchor: str, *, same_file: bool
    ) -> str | None:
        href = f"{self.module_url_prefix}{module.slug}"
        if not anchor:
            return href
        keys = [section.key for section in module.sections]
        if same_file and self.draft.english is not None:
            # In a translation, '#its-own-heading' means the English section at that position.
            local = [section.key for section in self.draft.sections]
            if anchor in local and local.index(anchor) < len(keys):
                anchor = keys[local.index(anchor)]
        if anchor not in keys:
            self._report(
                url,
                f"link '{url}': {module.display} has no section '#{anchor}'; "
                f"its sections are {', '.join(keys) or 'none'}",
            )
            return None
        return f"{href}?section={quote(anchor)}"


def _build_module(draft: _ModuleDraft, linker: _Linker) -> Module | None:
    """Render the draft once; None if the file had errors (no Module from a broken file)."""
    intro_html = render(draft.intro, rewrite=linker.at(draft.intro, draft.body_line)).strip()
    english_keys = [s.key for s in (draft.english or draft).sections]
    sections = []
    for index, section in enumerate(draft.sections):
        key = english_keys[index] if index < len(english_keys) else section.key
        drafts = split_variants(section.text, section.line + 1, draft.display)
        parts: list[SectionPart] = []
        group = None
        for part in drafts:
            html = render(part.text, rewrite=linker.at(part.text, part.line)).strip()
            if part.keys is None:
                parts.append(SectionPart(html=html))
                group = None
            elif part.group == group:
                parts[-1] = SectionPart(variants=(*parts[-1].variants, Variant(part.keys, html)))
            else:
                parts.append(SectionPart(variants=(Variant(part.keys, html),)))
                group = part.group
        plain = "\n".join(p.html_for(OTHERWISE) for p in parts)
        sections.append(
            Section(
                key,
                plain_text(section.title_md),
                plain,
                index,
                tuple(parts) if any(p.variants for p in parts) else (),
                worksheets=section.worksheets,
            )
        )
    questions = []
    english_questions = {q.id: q for q in (draft.english or draft).questions}
    for question in draft.questions:
        prompt = question.prompt or ""
        teaches = question.teaches
        if teaches is None and question.id in english_questions:  # a translation may leave it out
            teaches = english_questions[question.id].teaches
        prompt_html = render_inline(prompt, rewrite=linker.at(prompt, question.prompt_line))
        choices = []
        for choice in question.choices:
            feedback = choice.feedback or ""
            text = choice.text or ""
            choices.append(
                Choice(
                    text=text,
                    feedback=feedback,
                    feedback_html=render_inline(
                        feedback, rewrite=linker.at(feedback, choice.feedback_line)
                    ),
                    correct=choice.correct,
                    text_html=render_inline(text, rewrite=linker.at(text, choice.text_line)),
                )
            )
        questions.append(
            Question(
                id=question.id or "",
                prompt=prompt,
                prompt_html=prompt_html,
                type=question.type or "single",  # type: ignore[arg-type]
                choices=tuple(choices),
                teaches=teaches or "",
            )
        )
    if any(p.path == draft.display and p.is_error for p in linker.out.problems):
        return None
    meta = draft.meta
    if any(key not in meta for key in FRONT_MATTER_REQUIRED):
        return None
    return Module(
        slug=draft.slug,
        course_slug=draft.course_slug,
        lang=draft.lang,
        title=str(meta["title"]),
        summary=str(meta["summary"]),
        audience=tuple(meta["audience"]),  # type: ignore[arg-type]
        minutes=int(meta["minutes"]),  # type: ignore[call-overload]
        objectives=tuple(meta["objectives"]),  # type: ignore[arg-type]
        sources=tuple(meta["sources"]),  # type: ignore[arg-type]
        reviewed=meta["reviewed"],  # type: ignore[arg-type]
        intro_html=intro_html,
        sections=tuple(sections),
        quiz=Quiz(draft.pass_mark, tuple(questions)) if draft.has_quiz else None,
        version=draft.version,
        short_version=draft.version[:10],
        path=(Path(linker.root.name) / draft.file.relative_to(linker.root)).as_posix(),
        translations=tuple(sorted((draft.english or draft).translations)),
        reviewed_by=(draft.english or draft).meta.get("reviewed_by"),  # type: ignore[arg-type]
        review_due=(draft.english or draft).meta.get("review_due"),  # type: ignore[arg-type]
    )


# --- editorial checks --------------------------------------------------------------------


def _check_language(draft: _ModuleDraft, report: CheckReport, out: _Collector) -> None:
    """Readability and stigmatising words, by the rules of the module's language: English
    (Flesch-Kincaid grade) or Spanish (INFLESZ); ``language.CHECKED_LANGUAGES``."""
    prose = without_variant_markers(as_prose(draft.body))
    if draft.lang == "es":
        score = language.inflesz(prose)
        report.inflesz[draft.display] = score
        if score < language.MIN_INFLESZ:
            out.report(
                draft.display,
                draft.body_line,
                f"INFLESZ {score:.1f} ({language.inflesz_band(score)}) is below "
                f"{language.MIN_INFLESZ:g} (bastante fácil); use shorter sentences and "
                "shorter, common words",
            )
    else:
        grade = language.reading_grade(prose)
        report.grades[draft.display] = grade
        if grade > language.MAX_READING_GRADE:
            out.report(
                draft.display,
                draft.body_line,
                f"reading grade {grade:.1f} is above {language.MAX_READING_GRADE:g}; "
                "use shorter sentences and common words",
            )
    texts: list[tuple[str, int]] = [(language.blank_link_targets(draft.body), draft.body_line)]
    for key in ("title", "summary"):
        if isinstance(draft.meta.get(key), str):
            texts.append((str(draft.meta[key]), draft.meta_lines[key]))
    for objective in draft.meta.get("objectives") or []:  # type: ignore[attr-defined]
        texts.append((objective, draft.meta_lines["objectives"]))
    for question in draft.questions:
        texts.append((question.prompt or "", question.prompt_line))
        for choice in question.choices:
            texts.append((choice.text or "", choice.text_line))
            texts.append((choice.feedback or "", choice.feedback_line))
    for text, first_line in texts:
        for hit in language.find_stigmatising_terms(
            language.blank_words_to_avoid(text), draft.lang
        ):
            line = first_line + text.count("\n", 0, hit.offset)
            out.report(draft.display, line, hit.message)


def _check_translated_from(draft: _ModuleDraft, english: _ModuleDraft, out: _Collector) -> None:
    """A translation names the English version it was made from (``translated_from``: the
    English file's short version, the first 10 characters of its sha256). Missing, or not the
    English file as it is now, is an error: CI fails whenever the English changes until the
    translation is brought up to date (the site still loads it: it still lines up)."""
    current = english.version[:10]
    given = draft.meta.get("translated_from")
    if given is None:
        if "translated_from" not in draft.meta_lines:  # an unreadable value is reported already
            out.report(
                draft.display,
                1,
                f"say which English version this was translated from: translated_from: {current}",
            )
    elif str(given).strip() != current:
        then = f"set translated_from: {current}"
        out.report(
            draft.display,
            draft.meta_lines["translated_from"],
            f"stale: the English changed since this translation (translated from {given}, "
            f"now {current}); update the translation, then {then}",
        )


REVIEW_WARNING_DAYS = 30


def _check_review(draft: _ModuleDraft, today: dt.date, out: _Collector) -> None:
    """Clinical sign-off: a module past its ``review_due`` date is an error (safety advice
    changes: naloxone, Good Samaritan laws, medicines); due within 30 days, a warning."""
    due = draft.meta.get("review_due")
    line = draft.meta_lines.get("review_due", 1)
    if not isinstance(due, dt.date):
        out.report(
            draft.display,
            1,
            "no 'review_due' date; say when a clinician must review this module again",
            "warning",
        )
        return
    if due < today:
        out.report(
            draft.display,
            line,
            f"clinical review was due on {due.isoformat()}; have it reviewed, then update "
            "'reviewed', 'reviewed_by' and 'review_due'",
        )
    elif (due - today).days <= REVIEW_WARNING_DAYS:
        out.report(
            draft.display,
            line,
            f"clinical review is due on {due.isoformat()} (in {(due - today).days} days)",
            "warning",
        )


def _lint_module(draft: _ModuleDraft) -> itemlint.LintModule:
    return itemlint.LintModule(
        path=draft.display,
        quiz_line=draft.quiz_line,
        pass_mark=draft.pass_mark,
        questions=tuple(
            itemlint.LintQuestion(
                line=q.line,
                id=q.id or "",
                prompt=q.prompt or "",
                type=q.type or "",
                choices=itemlint.choices_of((c.text or "", c.correct) for c in q.choices),
            )
            for q in draft.questions
        ),
    )


# --- the whole tree ----------------------------------------------------------------------


@dataclass
class _Result:
    problems: list[Problem]
    library: Library | None
    report: CheckReport


def _module_files(folder: Path) -> Iterable[Path]:
    return sorted(
        path for path in folder.glob("*.md") if path.is_file() and path.name.lower() != "readme.md"
    )


def _analyse(
    root: Path,
    *,
    editorial: bool,
    today: dt.date | None = None,
    module_url_prefix: str = MODULE_URL_PREFIX,
    media_url_prefix: str = MEDIA_URL_PREFIX,
) -> _Result:
    out = _Collector()
    report = CheckReport(problems=out.problems)
    shown_root = root.as_posix()
    if not root.is_dir():
        out.report(shown_root, 0, "course folder not found")
        return _Result(out.problems, None, report)
    abs_root = root.resolve()

    courses: list[_CourseDraft] = []
    drafts: list[_ModuleDraft] = []
    for folder in sorted(p for p in abs_root.iterdir() if p.is_dir()):
        if folder.name.startswith((".", "_")):
            continue
        display = display_path(root, root / folder.name)
        files = list(_module_files(folder))
        if not (folder / "course.yml").is_file():
            if files:
                out.report(display, 0, "folder has module files but no course.yml")
            continue
        course = _read_course(folder, display, out)
        courses.append(course)
        for file in files:
            file_display = f"{display}/{file.name}"
            stem = file.name[: -len(".md")]
            slug, _, lang = stem.partition(".")
            lang = lang or DEFAULT_LANG
            if not SLUG_RE.match(slug):
                out.report(
                    file_display,
                    0,
                    f"file name '{file.name}' must be lowercase words joined by hyphens, "
                    "e.g. healthy-coping-skills.md",
                )
                continue
            if "." in stem and (not LANG_RE.match(lang) or lang == DEFAULT_LANG):
                out.report(
                    file_display,
                    0,
                    f"'{lang}' is not a language code; translations are named "
                    f"{slug}.es.md (two letters; English is plain {slug}.md)",
                )
                continue
            drafts.append(_read_module(file, file_display, course.slug, slug, lang, out))

    # Slugs, listings and translations.
    by_slug: dict[str, _ModuleDraft] = {}
    by_file: dict[Path, _ModuleDraft] = {}
    english = [d for d in drafts if d.lang == DEFAULT_LANG]
    for draft in english:
        first = by_slug.get(draft.slug)
        if first is not None:
            out.report(
                draft.display,
                1,
                f"module slug '{draft.slug}' is also used by {first.display}; "
                "slugs must be unique across all courses",
            )
            continue
        by_slug[draft.slug] = draft
        by_file[draft.file] = draft
    for draft in drafts:
        if draft.lang == DEFAULT_LANG:
            continue
        original = by_file.get(draft.file.with_name(f"{draft.slug}.md"))
        if original is None:
            out.report(
                draft.display,
                1,
                f"translation has no English module {draft.slug}.md beside it",
            )
            continue
        draft.english = original
        original.translations.append(draft.lang)
        _check_translation(draft, original, out)

    listed: set[tuple[str, str]] = set()
    for course in courses:
        yml = course.display + "/course.yml"
        for slug, line in course.modules:
            listed.add((course.slug, slug))
            module = by_slug.get(slug)
            if module is None or module.course_slug != course.slug:
                where = f"; it is in {module.display}" if module else ""
                out.report(
                    yml, line, f"module '{slug}' has no file {course.display}/{slug}.md{where}"
                )
    for draft in english:
        if (draft.course_slug, draft.slug) not in listed and by_slug.get(draft.slug) is draft:
            out.report(
                draft.display,
                1,
                "module is not listed in its course.yml 'modules', so no one can reach it",
                "warning",
            )
    path_lines: dict[str, str] = {}
    for course in courses:
        yml = course.display + "/course.yml"
        for slug, _title, _summary, modules, line in course.paths:
            if slug in path_lines:
                out.report(yml, line, f"path slug '{slug}' is already used in {path_lines[slug]}")
            else:
                path_lines[slug] = f"{yml}:{line}"
            for module_slug, module_line in modules:
                if module_slug not in by_slug:
                    out.report(
                        yml, module_line, f"path '{slug}' lists unknown module '{module_slug}'"
                    )

    # Render every module once, checking links and images as they are rewritten.
    built: dict[tuple[str, str], Module] = {}
    for draft in drafts:
        if draft.lang == DEFAULT_LANG and by_slug.get(draft.slug) is not draft:
            continue
        if draft.lang != DEFAULT_LANG and draft.english is None:
            continue
        linker = _Linker(
            draft, abs_root, by_file, by_slug, module_url_prefix, media_url_prefix, out
        )
        _check_teaches(draft, out, editorial=editorial)
        module = _build_module(draft, linker)
        if module is not None:
            built[(draft.slug, draft.lang)] = module
        if editorial and draft.lang == DEFAULT_LANG:
            _check_language(draft, report, out)
            _check_review(draft, today or dt.date.today(), out)
        elif editorial and draft.english is not None:
            _check_translated_from(draft, draft.english, out)
            if draft.lang in language.CHECKED_LANGUAGES:
                _check_language(draft, report, out)

    if editorial:
        unsigned = [
            d for d in english if by_slug.get(d.slug) is d and not d.meta.get("reviewed_by")
        ]
        if unsigned:
            out.report(
                shown_root,
                0,
                f"{len(unsigned)} of {len(by_slug)} modules have no clinical sign-off "
                "('reviewed_by'); the program's own clinicians must review them before use",
                "warning",
            )
        linted = itemlint.lint([_lint_module(d) for d in english if by_slug.get(d.slug) is d])
        out.problems.extend(linted.problems)
        report.guesser = linted.guesser
    report.module_count = len(by_slug)
    report.course_count = len(courses)
    report.path_count = sum(len(course.paths) for course in courses)
    out.problems.sort(key=lambda p: (p.path, p.line))
    if any(problem.is_error for problem in out.problems):
        return _Result(out.problems, None, report)
    library = Library(
        root=root,
        courses=tuple(
            Course(
                slug=c.slug,
                title=c.title or "",
                summary=c.summary or "",
                audience=tuple(c.audience or ()),  # type: ignore[arg-type]
                module_slugs=tuple(slug for slug, _ in c.modules),
                translated=tuple(c.translated),
            )
            for c in courses
        ),
        paths=tuple(
            LearningPath(
                slug,
                title,
                summary,
                tuple(s for s, _ in modules),
                translated=tuple(c.path_translated.get(slug, ())),
            )
            for c in courses
            for slug, title, summary, modules, _line in c.paths
        ),
        _modules=built,
    )
    return _Result(out.problems, library, report)


def load_library(
    root: Path,
    *,
    module_url_prefix: str = MODULE_URL_PREFIX,
    media_url_prefix: str = MEDIA_URL_PREFIX,
) -> Library:
    """Load and render every course under ``root`` once; raise ``ContentError`` on any error.

    Warnings do not stop loading. Reading grades and wording are not checked here (see
    ``check_library``): they are CI's job and cost time at every start.
    """
    result = _analyse(
        Path(root),
        editorial=False,
        module_url_prefix=module_url_prefix,
        media_url_prefix=media_url_prefix,
    )
    if result.library is None:
        raise ContentError(result.problems)
    return result.library


def check_library(root: Path, *, today: dt.date | None = None) -> CheckReport:
    """Every structural and editorial problem under ``root``, with each module's grade, and
    the no-reading guesser's score on each check (``itemlint``)."""
    return _analyse(Path(root), editorial=True, today=today).report
