"""The WHO-5 Well-Being Index: its published items, answers and scoring; nothing else.

Sources:

- World Health Organization (2024). *The World Health Organization-Five Well-Being Index
  (WHO-5)*. Geneva: World Health Organization. Licence: CC BY-NC-SA 3.0 IGO. The English
  items and answers below are the WHO's; the Spanish are the WHO's published Spanish version.
- Topp CW, Østergaard SD, Søndergaard S, Bech P. The WHO-5 Well-Being Index: a systematic
  review of the literature. *Psychother Psychosom* 2015;84(3):167-176.
  doi:10.1159/000376585. The raw score (five items, 0–5 each, 0–25) is multiplied by 4 to give
  a percentage score (0–100, higher is better); a score of 50 or below suggests poor wellbeing,
  28 or below suggests likely depression and calls for further screening; a change of 10
  points is clinically meaningful.

The item texts are the published instrument, not our interface's words: they are kept here as
data, by language, and are not translated through the message catalogue (a translator must not
reword a validated questionnaire). A language without a published version falls back to
English. What a score means in words for a reader is the pages' job; here a score only maps to
a key (``reading``). The program never presents a score as a diagnosis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: How many items the index has.
ITEM_COUNT = 5
#: The highest answer to one item ("All of the time").
ITEM_MAX = 5
#: The link ids of the items in a FHIR ``QuestionnaireResponse`` (and the form's field order).
LINK_IDS = ("1", "2", "3", "4", "5")

#: A percentage score at or below this suggests poor wellbeing (Topp et al. 2015).
POOR_AT_OR_BELOW = 50
#: A percentage score at or below this suggests likely depression: screen further (Topp et al.).
LOW_AT_OR_BELOW = 28
#: A change of this many percentage points is meaningful (Topp et al. 2015).
MEANINGFUL_DROP = 10

CITATION = (
    "World Health Organization (2024). The World Health Organization-Five Well-Being Index "
    "(WHO-5). Geneva: World Health Organization. Licence: CC BY-NC-SA 3.0 IGO. "
    "Topp CW, Østergaard SD, Søndergaard S, Bech P. The WHO-5 Well-Being Index: a systematic "
    "review of the literature. Psychother Psychosom 2015;84(3):167-176."
)

_FALLBACK = "en"

_TIMEFRAME = {
    "en": "Over the last two weeks",
    "es": "Durante las últimas dos semanas",
}

_ITEMS = {
    "en": (
        "I have felt cheerful and in good spirits",
        "I have felt calm and relaxed",
        "I have felt active and vigorous",
        "I woke up feeling fresh and rested",
        "My daily life has been filled with things that interest me",
    ),
    "es": (
        "Me he sentido alegre y de buen humor",
        "Me he sentido tranquilo/a y relajado/a",
        "Me he sentido activo/a y enérgico/a",
        "Me he despertado fresco/a y descansado/a",
        "Mi vida cotidiana ha estado llena de cosas que me interesan",
    ),
}

_ANSWERS = {
    "en": (
        (5, "All of the time"),
        (4, "Most of the time"),
        (3, "More than half of the time"),
        (2, "Less than half of the time"),
        (1, "Some of the time"),
        (0, "At no time"),
    ),
    "es": (
        (5, "Todo el tiempo"),
        (4, "La mayor parte del tiempo"),
        (3, "Más de la mitad del tiempo"),
        (2, "Menos de la mitad del tiempo"),
        (1, "De vez en cuando"),
        (0, "Nunca"),
    ),
}

#: The reading keys ``reading`` returns, best first.
GOOD, POOR, LOW = "good", "poor", "low"


def _lang(locale: object) -> str:
    """The published version for a locale ("es", "es_MX", a Babel ``Locale``), else English."""
    code = str(locale or "").replace("-", "_").split("_", 1)[0].lower()
    return code if code in _ITEMS else _FALLBACK


def language(locale: object) -> str:
    """The language whose published items are shown for ``locale`` (kept with a check-in)."""
    return _lang(locale)


def timeframe(locale: object) -> str:
    """The words before every item ("Over the last two weeks")."""
    return _TIMEFRAME[_lang(locale)]


def item_texts(locale: object) -> tuple[str, ...]:
    """The five item texts, in order, in the published version for ``locale``."""
    return _ITEMS[_lang(locale)]


def answer_labels(locale: object) -> tuple[tuple[int, str], ...]:
    """The six answers as ``(value, label)``, from 5 ("All of the time") down to 0."""
    return _ANSWERS[_lang(locale)]


def item_problem(value: object) -> bool:
    """Whether one item's answer is unusable: missing, not a whole number, or outside 0–5."""
    if isinstance(value, bool) or not isinstance(value, int):
        return True
    return not 0 <= value <= ITEM_MAX


def score(items: Sequence[int] | Iterable[int]) -> int:
    """The percentage score, the raw sum × 4 (0–100). Refuses anything but five answers of
    0–5 with ``ValueError``: a partial questionnaire has no score."""
    values = tuple(items)
    if len(values) != ITEM_COUNT:
        raise ValueError(f"WHO-5 needs {ITEM_COUNT} answers, got {len(values)}")
    for value in values:
        if item_problem(value):
            raise ValueError(f"a WHO-5 answer is a whole number from 0 to {ITEM_MAX}: {value!r}")
    return sum(values) * 4


def reading(percentage: int) -> str:
    """What a percentage score suggests, as a key the pages turn into words: ``"low"`` (28 or
    below), ``"poor"`` (50 or below), else ``"good"``. A key, never a diagnosis."""
    if percentage <= LOW_AT_OR_BELOW:
        return LOW
    if percentage <= POOR_AT_OR_BELOW:
        return POOR
    return GOOD


def dropped(previous: int | None, latest: int | None) -> int | None:
    """How many points the latest score fell from the previous one, when it fell by at least
    ``MEANINGFUL_DROP``; else None."""
    if previous is None or latest is None:
        return None
    fall = previous - latest
    return fall if fall >= MEANINGFUL_DROP else None
