"""Worksheets: fillable forms written into a module's Markdown.

A section may hold blocks like::

    ::: worksheet safety-plan
    title: Our family's safety plan
    intro: Fill this in together, then keep a printed copy where you can find it.
    fields:
      - key: warning-signs
        label: Warning signs that a crisis may be coming
        hint: Things you might see or hear
        type: long
    :::

They are read once, when the library loads (``extract_worksheets``, called by the loader for
each section before its variant blocks are split): the block's lines leave the section's
prose (blank lines take their place, so every later line number still matches the file) and
become a ``Worksheet`` on the section. Problems are reported at their ``path:line``. What a
learner typed is stored by ``lms.practice`` against the module slug, worksheet key and field
keys, so keys are stable ids: change a label freely, never a key.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Literal

from .problems import Problem
from .yamlsource import Source

FieldType = Literal["text", "long"]
#: ``text``: one line; ``long``: several lines.
FIELD_TYPES: tuple[str, ...] = ("text", "long")
WORKSHEET_REQUIRED = ("title", "fields")
WORKSHEET_OPTIONAL = ("intro",)
FIELD_REQUIRED = ("key", "label")
FIELD_OPTIONAL = ("hint", "type")

_KEY = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_OPEN = re.compile(r"^:::[ \t]+worksheet\b[ \t]*(.*?)[ \t]*$")
_CLOSE = re.compile(r"^:::[ \t]*$")
# The words a reader sees in a block, for the reading grade.
_READABLE = re.compile(r"^\s*(?:-\s+)?(?:title|intro|label|hint):\s*(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class WorksheetField:
    """One labelled box; ``key`` is what the learner's answer is stored under."""

    key: str
    label: str
    hint: str = ""
    type: FieldType = "text"

    @property
    def is_long(self) -> bool:
        return self.type == "long"


@dataclass(frozen=True, slots=True)
class Worksheet:
    """A form in a section of a module; ``key`` is unique within the module."""

    key: str
    title: str
    intro: str
    fields: tuple[WorksheetField, ...]

    def field_keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)


def extract_worksheets(
    text: str,
    first_line: int,
    display: str,
    problems: list[Problem],
    seen: MutableMapping[str, int],
) -> tuple[str, tuple[Worksheet, ...]]:
    """The section's Markdown with every ``::: worksheet`` block blanked, and the worksheets
    those blocks define. ``first_line`` is the file line of ``text``'s first line; ``seen``
    maps the worksheet keys met so far in the module to their lines (a key names one
    worksheet per module: it is part of the address)."""
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    found: list[Worksheet] = []
    in_fence = False
    index = 0
    while index < len(lines):
        line = lines[index]
        bare = line.rstrip("\r\n")
        opened = None if in_fence else _OPEN.match(bare)
        if opened is None:
            if _FENCE.match(line):
                in_fence = not in_fence
            kept.append(line)
            index += 1
            continue
        number = first_line + index
        end = index + 1
        while end < len(lines) and not _CLOSE.match(lines[end].rstrip("\r\n")):
            end += 1
        if end == len(lines):
            problems.append(
                Problem(
                    display, number, "this '::: worksheet' block is never closed; end it with ':::'"
                )
            )
        body = "".join(lines[index + 1 : end])
        worksheet = _read_block(opened.group(1), body, number, display, problems, seen)
        if worksheet is not None:
            found.append(worksheet)
        # Blank lines keep every later line where the file has it.
        kept.extend("\n" for _ in lines[index : end + 1])
        index = end + 1
    return "".join(kept), tuple(found)


def _read_block(
    key: str,
    body: str,
    line: int,
    display: str,
    problems: list[Problem],
    seen: MutableMapping[str, int],
) -> Worksheet | None:
    def report(at: int, message: str) -> None:
        problems.append(Problem(display, at, message))

    before = len(problems)
    if not key:
        report(line, "a worksheet needs a key, e.g. '::: worksheet safety-plan'")
    elif not _KEY.match(key):
        report(line, f"worksheet key '{key}' must be lowercase words and hyphens")
    elif key in seen:
        report(line, f"worksheet key '{key}' is used twice (first on line {seen[key]})")
    else:
        seen[key] = line
    src = Source(display, line + 1, problems)
    if not body.strip():
        report(line, "the worksheet is empty; give it a 'title' and 'fields'")
        return None
    node = src.compose(body)
    if node is None:
        return None
    entries = src.mapping(
        node, "the worksheet", required=WORKSHEET_REQUIRED, optional=WORKSHEET_OPTIONAL
    )
    if entries is None:
        return None
    title = src.text(entries["title"][1], "the worksheet's 'title'") if "title" in entries else None
    intro = ""
    if "intro" in entries:
        intro = src.text(entries["intro"][1], "the worksheet's 'intro'") or ""
    fields: list[WorksheetField] = []
    if "fields" in entries:
        items = src.sequence(entries["fields"][1], "the worksheet's 'fields'")
        if items is not None and not items:
            src.error(entries["fields"][1], "the worksheet has no fields; add at least one")
        field_lines: dict[str, int] = {}
        for number, item in enumerate(items or [], start=1):
            read = _read_field(src, item, number, field_lines)
            if read is not None:
                fields.append(read)
    if len(problems) > before or not title or not fields:
        return None
    return Worksheet(key=key, title=title, intro=intro, fields=tuple(fields))


def _read_field(
    src: Source, node, number: int, field_lines: dict[str, int]
) -> WorksheetField | None:
    where = f"field {number} of the worksheet"
    entries = src.mapping(node, where, required=FIELD_REQUIRED, optional=FIELD_OPTIONAL)
    if entries is None:
        return None
    key = src.text(entries["key"][1], f"'key' of {where}") if "key" in entries else None
    if key is not None:
        if not _KEY.match(key):
            src.error(entries["key"][1], f"field key '{key}' must be lowercase words and hyphens")
            key = None
        elif key in field_lines:
            src.error(
                entries["key"][1],
                f"field key '{key}' is used twice in this worksheet (first on line "
                f"{field_lines[key]})",
            )
            key = None
        else:
            field_lines[key] = src.line(entries["key"][1])
    label = src.text(entries["label"][1], f"'label' of {where}") if "label" in entries else None
    hint = ""
    if "hint" in entries:
        hint = src.text(entries["hint"][1], f"'hint' of {where}") or ""
    kind = "text"
    if "type" in entries:
        given = src.text(entries["type"][1], f"'type' of {where}")
        if given is not None and given not in FIELD_TYPES:
            src.error(
                entries["type"][1],
                f"'{given}' is not a field type; use {' or '.join(FIELD_TYPES)}",
            )
            return None
        kind = given or kind
    if key is None or label is None:
        return None
    return WorksheetField(key=key, label=label, hint=hint, type=kind)  # type: ignore[arg-type]


def as_prose(markdown_text: str) -> str:
    """The text with each worksheet block reduced to the words a reader sees there (title,
    intro, labels, hints, one sentence each), for the reading grade."""
    out: list[str] = []
    inside = False
    for line in markdown_text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if not inside:
            if _OPEN.match(bare):
                inside = True
                out.append("\n")
            else:
                out.append(line)
            continue
        if _CLOSE.match(bare):
            inside = False
            out.append("\n")
            continue
        words = _READABLE.match(bare)
        if words and words.group(1):
            sentence = words.group(1).strip("\"'")
            out.append(sentence + ("\n" if sentence.endswith((".", "?", "!")) else ".\n"))
        else:
            out.append("\n")
    return "".join(out)
