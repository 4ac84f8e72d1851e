"""The library as a reader browses it: search, the audience filter, and each module's icon.

The page only displays what :func:`search` returns. Everything that depends on content
alone (the folded search text of every module, which icon a module has) is computed once
per loaded library or once per process, never per request.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from lms.content.model import Course, Library, Module
from lms.learning.operations import Status, status_of

#: A search longer than this is cut, not refused: nobody types more to find a reading.
MAX_QUERY = 100
#: The ``for`` values the filter understands; anything else means every reading.
AUDIENCES = ("family", "patient")

#: Where the module icons live, under the static folder.
ICON_DIR = "img/modules"
#: The icon a module gets when no drawing of its own (or of its topic) exists.
GENERIC_ICON = "generic"
#: Modules on the same topic share one drawing: slug -> icon name.
SHARED_ICONS = {
    "understanding-my-triggers": "understanding-triggers",
    "coping-skills-practice": "healthy-coping-skills",
}

_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Text as search compares it: case and accents ignored ("Café" finds "cafe")."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.casefold()


def clean_query(raw: str | None) -> str:
    """What the reader typed, trimmed to :data:`MAX_QUERY` characters, spaces collapsed and
    control characters dropped (the search is shown back on the page)."""
    kept = "".join(ch if ch.isprintable() else " " for ch in (raw or "")[:MAX_QUERY])
    return " ".join(kept.split())


def clean_audience(raw: str | None) -> str | None:
    """``family`` or ``patient``; anything else (or nothing) is every reading."""
    return raw if raw in AUDIENCES else None


@functools.lru_cache(maxsize=8)
def _search_texts(library: Library, lang: str) -> dict[str, str]:
    """slug -> folded title, summary and objectives of the module as ``lang`` readers see it.

    Keyed on the library object (loaded once per app, compared by identity), so each load
    builds it once; the small bound lets test apps with their own libraries come and go.
    """
    texts = {}
    for english in library.modules():
        module = library.module(english.slug, lang) or english
        texts[english.slug] = fold(" ".join((module.title, module.summary, *module.objectives)))
    return texts


def words_of(query: str) -> tuple[str, ...]:
    """The folded words of a search ("Café, naloxone!" -> ("cafe", "naloxone"))."""
    return tuple(_WORD.findall(fold(query)))


def matches(text: str, words: tuple[str, ...]) -> bool:
    """Every word appears in the folded ``text`` (as a word or part of one)."""
    return all(word in text for word in words)


@functools.cache
def _icon_names(folder: str) -> frozenset[str]:
    """The icon files shipped in the static folder (listed once per process)."""
    path = Path(folder) / ICON_DIR
    if not path.is_dir():
        return frozenset()
    return frozenset(p.stem for p in path.glob("*.svg"))


def icon_for(slug: str) -> str:
    """The static path of a module's icon: its own drawing, its topic's, else the generic one."""
    names = _icon_names(str(current_app.static_folder))
    name = SHARED_ICONS.get(slug, slug)
    return f"{ICON_DIR}/{name if name in names else GENERIC_ICON}.svg"


@dataclass(frozen=True, slots=True)
class Card:
    """One reading as the library shows it."""

    module: Module
    status: Status
    icon: str


@dataclass(frozen=True, slots=True)
class Catalogue:
    """What the library page shows: ``groups`` by course when browsing, ``results`` (in
    course order) when searching."""

    query: str
    audience: str | None
    groups: tuple[tuple[Course, tuple[Card, ...]], ...]
    results: tuple[Card, ...]

    @property
    def searching(self) -> bool:
        return bool(self.query)


def search(
    library: Library, lang: str, q: str | None, audience: str | None, progress: dict
) -> Catalogue:
    """The readings matching ``q`` (every word, in title, summary or objectives; case and
    accents ignored) for ``audience``, each with this learner's status from ``progress``
    (slug -> ModuleProgress, as ``operations.progress_by_slug`` returns)."""
    query = clean_query(q)
    who = clean_audience(audience)
    texts = _search_texts(library, lang)
    words = words_of(query)

    def card(slug: str) -> Card | None:
        module = library.module(slug, lang)
        if module is None or (who is not None and who not in module.audience):
            return None
        if query and not matches(texts.get(slug, ""), words):
            return None
        return Card(module, status_of(progress.get(slug), library.module(slug)), icon_for(slug))

    groups = []
    for course in library.courses:
        cards = tuple(c for c in map(card, course.module_slugs) if c is not None)
        if cards:
            groups.append((course, cards))
    results = tuple(c for _course, cards in groups for c in cards) if query else ()
    return Catalogue(query=query, audience=who, groups=tuple(groups), results=results)
