"""Every kind of content problem is reported at the exact ``path:line`` a writer must fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.content import ContentError, check_library, load_library
from tests.content_fixtures import (
    BODY,
    ES_BODY,
    ES_HARD_BODY,
    ES_QUIZ,
    QUIZ,
    course_yml,
    english_version,
    good_tree,
    line_of,
    module_md,
    spanish_md,
    write_tree,
)

MODULE = "family/understanding-triggers.md"


def check(root: Path, files: dict[str, str]) -> list[str]:
    """Problems (as printed) of the good tree with ``files`` replaced."""
    good_tree(root)
    write_tree(root, files)
    return [str(p) for p in check_library(root).problems]


def expect(problems: list[str], path: str, line: int, fragment: str) -> None:
    prefix = f"courses/{path}:{line}: "
    matching = [p for p in problems if p.startswith(prefix) and fragment in p]
    assert matching, f"no {prefix}...{fragment!r} in:\n" + "\n".join(problems)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "courses"


def test_good_tree_has_no_problems(root: Path) -> None:
    good_tree(root)
    report = check_library(root)
    assert report.problems == []
    assert set(report.grades) == {
        "courses/family/understanding-triggers.md",
        "courses/family/healthy-coping.md",
        "courses/patient/my-plan.md",
    }
    assert (report.module_count, report.course_count, report.path_count) == (3, 2, 1)


def test_yaml_syntax_error_in_front_matter_reports_yaml_line(root: Path) -> None:
    text = module_md().replace("minutes: 10", "minutes: [10")
    problems = check(root, {MODULE: text})
    assert any(p.startswith(f"courses/{MODULE}:") and "YAML syntax error" in p for p in problems)
    line = int(next(p for p in problems if "YAML" in p).split(":")[1])
    assert line >= line_of(text, "minutes: [10")


def test_yaml_syntax_error_in_course_yml(root: Path) -> None:
    problems = check(root, {"family/course.yml": "title: x\nsummary: [oops\naudience: [family]\n"})
    assert any(p.startswith("courses/family/course.yml:") and "YAML syntax" in p for p in problems)


def test_unknown_key_in_front_matter(root: Path) -> None:
    text = module_md(extra="titel: Oops\n")
    problems = check(root, {MODULE: text})
    expect(problems, MODULE, line_of(text, "titel:"), "unknown key 'titel' in front matter")
    assert "expected one of title, summary" in next(p for p in problems if "titel" in p)


def test_missing_key_is_reported_at_front_matter_start(root: Path) -> None:
    text = module_md().replace("sources:\n  - SAMHSA TIP 39\n", "")
    expect(check(root, {MODULE: text}), MODULE, 2, "missing required key 'sources'")


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("minutes: 10", "minutes: ten", "'minutes' must be a whole number"),
        ("minutes: 10", "minutes: 0", "'minutes' must be greater than 0"),
        ("reviewed: 2025-01-15", "reviewed: last week", "'reviewed' must be a date"),
        ("audience: [family, patient]", "audience: [parents]", "'parents' is not a valid audience"),
        ("title: Understanding triggers", "title: 42", "'title' must be text"),
        ("  pass_mark: 0.8", "  pass_mark: 80", "'pass_mark' must be more than 0 and at most 1"),
    ],
)
def test_ill_typed_keys(root: Path, old: str, new: str, fragment: str) -> None:
    text = module_md().replace(old, new)
    expect(check(root, {MODULE: text}), MODULE, line_of(text, new.strip()), fragment)


def test_objectives_count_is_an_error(root: Path) -> None:
    text = module_md().replace("  - Pick one way to cope\n", "")
    expect(check(root, {MODULE: text}), MODULE, line_of(text, "objectives:"), "2 objectives")


def test_sections_count_is_a_warning(root: Path) -> None:
    body = "Intro.\n\n## Only one\n\nText here.\n"
    text = module_md(body=body)
    problems = check(root, {MODULE: text})
    expect(problems, MODULE, line_of(text, "Intro."), "1 sections")
    report = check_library(root)
    assert [p.severity for p in report.problems if "sections" in p.message] == ["warning"]


def test_duplicate_heading(root: Path) -> None:
    body = BODY + "\n## Why triggers matter\n\nAgain.\n"
    text = module_md(body=body)
    line = line_of(text, "## Why triggers matter", after="## Why triggers matter")
    expect(check(root, {MODULE: text}), MODULE, line, "repeats the one on line")


def test_question_without_correct_choice(root: Path) -> None:
    text = module_md().replace(
        "          feedback: Yes. That is what a trigger is.\n          correct: true\n",
        "          feedback: Yes. That is what a trigger is.\n",
    )
    line = line_of(text, "- id: what-is-a-trigger")
    expect(check(root, {MODULE: text}), MODULE, line, "has no correct choice")


def test_single_with_two_correct(root: Path) -> None:
    text = module_md().replace(
        "          feedback: No. A trigger is not a medicine.\n",
        "          feedback: No. A trigger is not a medicine.\n          correct: true\n",
    )
    line = line_of(text, "- id: what-is-a-trigger")
    expect(check(root, {MODULE: text}), MODULE, line, "is single but 2 choices are marked correct")


def test_true_false_needs_two_choices_and_one_correct(root: Path) -> None:
    text = module_md().replace(
        '        - text: "False"\n          feedback: Not quite. Everyone has them.\n',
        '        - text: "False"\n          feedback: Not quite.\n'
        "        - text: Maybe\n          feedback: No.\n",
    )
    line = line_of(text, "- id: triggers-are-normal")
    expect(check(root, {MODULE: text}), MODULE, line, "is true_false but has 3 choices")


def test_question_with_one_choice(root: Path) -> None:
    text = module_md().replace(
        "        - text: A kind of medicine\n"
        "          feedback: No. A trigger is not a medicine.\n",
        "",
    )
    line = line_of(text, "- id: what-is-a-trigger")
    expect(check(root, {MODULE: text}), MODULE, line, "has 1 choice(s); give at least 2")


def test_choice_without_feedback(root: Path) -> None:
    text = module_md().replace("          feedback: No. A trigger is not a medicine.\n", "")
    line = line_of(text, "- text: A kind of medicine")
    expect(check(root, {MODULE: text}), MODULE, line, "choice 2 of question 'what-is-a-trigger'")


def test_duplicate_question_id(root: Path) -> None:
    text = module_md().replace("- id: plan-helps", "- id: what-is-a-trigger")
    line = line_of(text, "- id: what-is-a-trigger", after="- id: ways-to-cope")
    expect(
        check(root, {MODULE: text}), MODULE, line, "question id 'what-is-a-trigger' is used twice"
    )


def test_unknown_question_type_and_key(root: Path) -> None:
    text = module_md().replace("      type: multiple", "      type: many\n      hint: x")
    problems = check(root, {MODULE: text})
    expect(problems, MODULE, line_of(text, "type: many"), "'many' is not a question type")
    expect(problems, MODULE, line_of(text, "hint: x"), "unknown key 'hint' in question 3")


def test_short_quiz_is_a_warning(root: Path) -> None:
    quiz = QUIZ.split("    - id: ways-to-cope")[0]
    text = module_md(quiz=quiz)
    expect(check(root, {MODULE: text}), MODULE, line_of(text, "quiz:"), "aim for at least 5")


def test_duplicate_module_slug_across_courses(root: Path) -> None:
    problems = check(
        root,
        {
            "patient/course.yml": course_yml(["my-plan", "understanding-triggers"]),
            "patient/understanding-triggers.md": module_md(),
        },
    )
    expect(problems, "patient/understanding-triggers.md", 1, "also used by courses/family/")


def test_course_lists_missing_module(root: Path) -> None:
    yml = course_yml(["understanding-triggers", "healthy-coping", "gone"])
    yml = yml.replace(
        "modules: [understanding-triggers, healthy-coping, gone]\n",
        "modules:\n  - understanding-triggers\n  - healthy-coping\n  - gone\n",
    )
    problems = check(root, {"family/course.yml": yml})
    expect(problems, "family/course.yml", line_of(yml, "- gone"), "module 'gone' has no file")


def test_unlisted_module_is_a_warning(root: Path) -> None:
    good_tree(root)
    write_tree(root, {"family/extra.md": module_md("Extra")})
    report = check_library(root)
    [problem] = report.problems
    assert str(problem).startswith("courses/family/extra.md:1: module is not listed")
    assert problem.severity == "warning"
    assert "extra" in load_library(root)  # still loadable: a link or path may use it


def test_paths_with_unknown_module_and_duplicate_slug(root: Path) -> None:
    paths = (
        "paths:\n"
        "  - slug: family-week-1\n"
        "    title: Again\n"
        "    summary: Dup.\n"
        "    modules:\n"
        "      - my-plan\n"
        "      - nowhere\n"
    )
    yml = course_yml(["my-plan"], paths=paths)
    problems = check(root, {"patient/course.yml": yml})
    expect(problems, "patient/course.yml", line_of(yml, "- nowhere"), "unknown module 'nowhere'")
    expect(problems, "patient/course.yml", line_of(yml, "- slug:"), "already used in")


def test_link_to_missing_module_and_section(root: Path) -> None:
    body = BODY.replace(
        "Write down one trigger you know.",
        "See [coping](healthy-coping.md#nope).\nAlso [this](no-such-module.md).",
    )
    text = module_md(body=body)
    problems = check(root, {MODULE: text})
    expect(problems, MODULE, line_of(text, "no-such-module.md"), "there is no module")
    expect(problems, MODULE, line_of(text, "#nope"), "has no section '#nope'")


def test_link_to_module_in_wrong_folder(root: Path) -> None:
    text = module_md(body=BODY + "\nSee [plan](my-plan.md).\n")
    problems = check(root, {MODULE: text})
    expect(problems, MODULE, line_of(text, "(my-plan.md)"), "courses/patient/my-plan.md")


def test_images_missing_or_without_alt(root: Path) -> None:
    body = BODY + "\n![](images/map.png)\n\n![A map](images/gone.png)\n"
    text = module_md(body=body)
    files = {MODULE: text, "family/images/map.png": "png"}
    problems = check(root, files)
    expect(problems, MODULE, line_of(text, "images/map.png"), "has no alt text")
    expect(problems, MODULE, line_of(text, "images/gone.png"), "not found")


def test_javascript_link_is_an_error(root: Path) -> None:
    text = module_md(body=BODY + "\n[click](javascript:alert(1))\n")
    expect(check(root, {MODULE: text}), MODULE, line_of(text, "javascript:"), "is not allowed")


def test_reading_grade_above_8_is_an_error_with_the_figure(root: Path) -> None:
    hard = (
        "Comprehensive pharmacological interventions necessitate interdisciplinary "
        "collaboration, institutional accountability, and individualized documentation "
        "considerations throughout the continuum of therapeutic engagement.\n"
    )
    body = BODY.replace("Welcome. This module is short.\n", hard)
    text = module_md(body=body)
    problems = check(root, {MODULE: text})
    [grade] = [p for p in problems if "reading grade" in p]
    assert grade.startswith(f"courses/{MODULE}:{line_of(text, 'Comprehensive')}: reading grade ")
    assert "is above 8; use shorter sentences and common words" in grade
    assert float(grade.split("reading grade ")[1].split()[0]) > 8


@pytest.mark.parametrize(
    ("sentence", "suggestion"),
    [
        ("He is an addict.", "person with a substance use disorder"),
        ("Drug abuse hurts families.", "substance use"),
        ("Her test came back dirty.", "negative or positive result"),
        ("He wants to stay clean.", "in recovery"),
        ("She is an alcoholic.", "person with an alcohol use disorder"),
        ("Relapse is failure.", "common and treatable"),
        ("Do not call anyone a junkie.", "person who uses drugs"),
    ],
)
def test_stigmatising_terms_in_prose(root: Path, sentence: str, suggestion: str) -> None:
    text = module_md(body=BODY.replace("Go for a walk.", sentence))
    expect(check(root, {MODULE: text}), MODULE, line_of(text, sentence), suggestion)


def test_stigmatising_terms_in_quiz(root: Path) -> None:
    text = module_md().replace(
        "feedback: No, secrets make it harder.", "feedback: Abusers keep secrets."
    )
    expect(
        check(root, {MODULE: text}), MODULE, line_of(text, "Abusers"), "stigmatising term 'Abusers'"
    )


def test_support_group_names_are_not_stigmatising(root: Path) -> None:
    text = module_md(
        body=BODY.replace("Go for a walk.", "Try Alcoholics Anonymous. Skip an alcoholic drink.")
    )
    assert not [p for p in check(root, {MODULE: text}) if "stigmatising" in p]


def test_every_problem_is_reported_not_just_the_first(root: Path) -> None:
    text = module_md(extra="titel: x\n").replace("minutes: 10", "minutes: 0")
    text = text.replace("          feedback: No. A trigger is not a medicine.\n", "")
    problems = check(root, {MODULE: text, "patient/course.yml": course_yml(["my-plan", "gone"])})
    assert len([p for p in problems if p.startswith(f"courses/{MODULE}")]) >= 3
    assert any("gone" in p for p in problems)


def test_load_raises_content_error_listing_every_error(root: Path) -> None:
    good_tree(root)
    write_tree(root, {MODULE: module_md(extra="titel: x\n").replace("minutes: 10", "minutes: 0")})
    with pytest.raises(ContentError) as caught:
        load_library(root)
    assert len(caught.value.problems) == 2
    assert f"courses/{MODULE}:" in str(caught.value)


def test_missing_root_is_reported(tmp_path: Path) -> None:
    [problem] = check_library(tmp_path / "nope").problems
    assert "course folder not found" in problem.message


def test_bad_file_names(root: Path) -> None:
    problems = check(
        root,
        {
            "family/Bad_Name.md": module_md(),
            "family/understanding-triggers.english.md": module_md(),
        },
    )
    expect(problems, "family/Bad_Name.md", 0, "must be lowercase words")
    expect(problems, "family/understanding-triggers.english.md", 0, "not a language code")


# --- translations ----------------------------------------------------------------------------

SPANISH = "family/understanding-triggers.es.md"


def check_spanish(root: Path, make, english: str | None = None) -> tuple[str, list[str]]:
    """The good tree (with ``english`` as the English module) plus the translation that
    ``make(current English short version)`` returns; (its text, every problem as printed)."""
    good_tree(root)
    if english is not None:
        write_tree(root, {MODULE: english})
    text = make(english_version(root))
    write_tree(root, {SPANISH: text})
    return text, [str(p) for p in check_library(root).problems]


def test_a_translation_that_lines_up_passes_and_is_scored(root: Path) -> None:
    _, problems = check_spanish(root, spanish_md)
    assert problems == []
    report = check_library(root)
    assert list(report.inflesz) == [f"courses/{SPANISH}"]
    assert report.inflesz[f"courses/{SPANISH}"] >= 65
    assert f"courses/{SPANISH}" not in report.grades  # English grades stay English


def test_question_ids_that_differ_fail_at_the_question(root: Path) -> None:
    text, problems = check_spanish(
        root, lambda v: spanish_md(v, quiz=ES_QUIZ.replace("- id: plan-helps", "- id: el-plan"))
    )
    expect(
        problems,
        SPANISH,
        line_of(text, "- id: el-plan"),
        f"question 4 has id 'el-plan' but question 4 of courses/{MODULE} is 'plan-helps'; "
        "keep the same ids in the same order",
    )


def test_questions_in_another_order_fail(root: Path) -> None:
    quiz = ES_QUIZ.replace("- id: what-is-a-trigger", "- id: TMP").replace(
        "- id: triggers-are-normal", "- id: what-is-a-trigger"
    )
    quiz = quiz.replace("- id: TMP", "- id: triggers-are-normal")
    text, problems = check_spanish(root, lambda v: spanish_md(v, quiz=quiz))
    expect(problems, SPANISH, line_of(text, "- id: triggers-are-normal"), "question 1 has id")
    expect(problems, SPANISH, line_of(text, "- id: what-is-a-trigger"), "question 2 has id")


def test_a_choice_count_that_differs_fails_at_the_question(root: Path) -> None:
    quiz = ES_QUIZ.replace(
        "        - text: Guardar el secreto\n"
        "          feedback: No, los secretos lo hacen más difícil.\n",
        "",
    )
    text, problems = check_spanish(root, lambda v: spanish_md(v, quiz=quiz))
    expect(
        problems,
        SPANISH,
        line_of(text, "- id: ways-to-cope"),
        "question 'ways-to-cope' has 2 choices but the English one has 3 (options are "
        "matched by their place",
    )


def test_a_correct_flag_that_differs_fails_at_the_choice(root: Path) -> None:
    quiz = ES_QUIZ.replace(
        "          feedback: No, los secretos lo hacen más difícil.\n",
        "          feedback: No, los secretos lo hacen más difícil.\n          correct: true\n",
    )
    text, problems = check_spanish(root, lambda v: spanish_md(v, quiz=quiz))
    expect(
        problems,
        SPANISH,
        line_of(text, "- text: Guardar el secreto"),
        "choice 3 of question 'ways-to-cope' is marked correct but the English one is not",
    )


def test_a_question_type_that_differs_fails(root: Path) -> None:
    quiz = ES_QUIZ.replace("      type: multiple\n", "      type: ordering\n").replace(
        "          correct: true\n        - text: Llamar a un amigo",
        "        - text: Llamar a un amigo",
    )
    text, problems = check_spanish(root, lambda v: spanish_md(v, quiz=quiz))
    expect(
        problems,
        SPANISH,
        line_of(text, "- id: ways-to-cope"),
        "question 'ways-to-cope' is ordering but the English one is multiple",
    )


def test_teaches_given_in_a_translation_must_be_the_english_one(root: Path) -> None:
    quiz = ES_QUIZ.replace(
        "    - id: who-to-tell\n", "    - id: who-to-tell\n      teaches: what-you-can-do\n"
    )
    text, problems = check_spanish(root, lambda v: spanish_md(v, quiz=quiz))
    expect(
        problems,
        SPANISH,
        line_of(text, "teaches: what-you-can-do"),
        "question 'who-to-tell' teaches 'what-you-can-do' but the English one teaches "
        "'why-triggers-matter'",
    )
    same = ES_QUIZ.replace(
        "    - id: who-to-tell\n", "    - id: who-to-tell\n      teaches: why-triggers-matter\n"
    )
    assert check_spanish(root, lambda v: spanish_md(v, quiz=same))[1] == []


def stale(before: str, after: str) -> str:
    then = f"set translated_from: {after}"
    return (
        f"stale: the English changed since this translation (translated from {before}, "
        f"now {after}); update the translation, then {then}"
    )


def test_a_translation_without_translated_from_says_which_version(root: Path) -> None:
    good_tree(root)
    version = english_version(root)
    _, problems = check_spanish(root, lambda v: spanish_md(None))
    assert problems == [
        f"courses/{SPANISH}:1: say which English version this was translated from: "
        f"translated_from: {version}"
    ]


def test_a_stale_translation_fails_with_both_versions(root: Path) -> None:
    text, problems = check_spanish(root, lambda v: spanish_md("0123abcdef"))
    version = english_version(root)
    assert problems == [
        f"courses/{SPANISH}:{line_of(text, 'translated_from:')}: {stale('0123abcdef', version)}"
    ]


def test_editing_the_english_makes_its_translation_stale(root: Path) -> None:
    """The source changes after the translation: the check fails until it is updated."""
    _, problems = check_spanish(root, spanish_md)
    assert problems == []
    before = english_version(root)
    write_tree(root, {MODULE: module_md(body=BODY.replace("Call a friend.", "Call someone."))})
    after = english_version(root)
    report = check_library(root)
    assert [p.message for p in report.errors] == [stale(before, after)]
    assert load_library(root).module("understanding-triggers", "es").lang == "es"  # still served
    write_tree(root, {SPANISH: spanish_md(after)})
    assert check_library(root).problems == []


def test_a_version_of_digits_only_is_read_as_written(root: Path) -> None:
    text, problems = check_spanish(root, lambda v: spanish_md("0012345678"))
    expect(problems, SPANISH, line_of(text, "translated_from:"), "translated from 0012345678,")
    assert not [p for p in problems if "must be text" in p]


ENGLISH_RICH = BODY.replace(
    "Triggers can come up fast. A plan helps you stay calm.\n",
    "Triggers can come up fast. A plan helps you stay calm.\n\n"
    "::: for partner\nTalk about it as a couple.\n:::\n\n"
    "::: for parent-of-teen parent-of-adult\nTalk about it as a parent.\n:::\n\n"
    "::: for everyone-else\nTalk about it with your family.\n:::\n",
).replace(
    "Pick one thing to try this week.\n",
    "Pick one thing to try this week.\n\n"
    "::: worksheet my-plan\n"
    "title: My plan\n"
    "fields:\n"
    "  - key: triggers\n"
    "    label: My triggers\n"
    "  - key: what-helps\n"
    "    label: What helps me\n"
    ":::\n",
)

SPANISH_RICH = ES_BODY.replace(
    "Un plan le ayuda a estar en calma.\n",
    "Un plan le ayuda a estar en calma.\n\n"
    "::: for partner\nHablen de esto en pareja.\n:::\n\n"
    "::: for parent-of-teen parent-of-adult\nHable de esto como padre o madre.\n:::\n\n"
    "::: for everyone-else\nHable de esto con su familia.\n:::\n",
).replace(
    "Elija una cosa para probar esta semana.\n",
    "Elija una cosa para probar esta semana.\n\n"
    "::: worksheet my-plan\n"
    "title: Mi plan\n"
    "fields:\n"
    "  - key: triggers\n"
    "    label: Mis detonantes\n"
    "  - key: what-helps\n"
    "    label: Lo que me ayuda\n"
    ":::\n",
)


def test_worksheets_and_variants_that_line_up_pass(root: Path) -> None:
    _, problems = check_spanish(
        root, lambda v: spanish_md(v, body=SPANISH_RICH), english=module_md(body=ENGLISH_RICH)
    )
    assert problems == []


def test_a_worksheet_key_that_differs_fails_at_the_worksheet(root: Path) -> None:
    body = SPANISH_RICH.replace("::: worksheet my-plan", "::: worksheet mi-plan")
    text, problems = check_spanish(
        root, lambda v: spanish_md(v, body=body), english=module_md(body=ENGLISH_RICH)
    )
    expect(
        problems,
        SPANISH,
        line_of(text, "::: worksheet mi-plan"),
        f"section 3 has worksheets mi-plan but section 3 of courses/{MODULE} has my-plan; "
        "keep the same worksheet keys in the same order",
    )


def test_a_missing_worksheet_fails_at_the_section(root: Path) -> None:
    _, problems = check_spanish(root, spanish_md, english=module_md(body=ENGLISH_RICH))
    text = spanish_md("x")
    expect(
        problems,
        SPANISH,
        line_of(text, "## Qué puede hacer"),
        "section 3 has worksheets none but section 3",
    )


def test_a_field_key_that_differs_fails_at_the_worksheet(root: Path) -> None:
    body = SPANISH_RICH.replace("  - key: what-helps\n", "  - key: lo-que-ayuda\n")
    text, problems = check_spanish(
        root, lambda v: spanish_md(v, body=body), english=module_md(body=ENGLISH_RICH)
    )
    expect(
        problems,
        SPANISH,
        line_of(text, "::: worksheet my-plan"),
        "worksheet 'my-plan' has fields triggers, lo-que-ayuda but the English one has "
        "triggers, what-helps; keep the same field keys in the same order",
    )


def test_variant_readers_that_differ_fail_at_the_block(root: Path) -> None:
    body = SPANISH_RICH.replace(
        "::: for parent-of-teen parent-of-adult\n", "::: for parent-of-teen\n"
    )
    text, problems = check_spanish(
        root, lambda v: spanish_md(v, body=body), english=module_md(body=ENGLISH_RICH)
    )
    expect(
        problems,
        SPANISH,
        line_of(text, "::: for parent-of-teen"),
        "section 2 has '::: for' blocks for 'partner'; 'parent-of-teen'; 'everyone-else' but "
        f"section 2 of courses/{MODULE} has 'partner'; 'parent-of-teen, parent-of-adult'; "
        "'everyone-else'; write a block for the same readers in the same order",
    )


def test_a_translation_without_the_variants_fails_at_the_section(root: Path) -> None:
    _, problems = check_spanish(root, spanish_md, english=module_md(body=ENGLISH_RICH))
    expect(
        problems,
        SPANISH,
        line_of(spanish_md("x"), "## Por qué importan"),
        "section 2 has '::: for' blocks for none but",
    )


# --- Spanish wording and readability ------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "term", "suggestion"),
    [
        ("Su hijo no es un adicto.", "adicto", "persona con un trastorno por consumo"),
        ("Los drogadictos también sienten.", "drogadictos", "persona con un trastorno"),
        ("Su padre es alcohólico.", "es alcohólico", "trastorno por consumo de alcohol"),
        ("La prueba salió limpia.", "prueba salió limpia", "resultado negativo"),
        ("Quiere mantenerse limpio.", "mantenerse limpio", "en recuperación"),
        ("Nadie es un abusador.", "abusador", "persona que consume sustancias"),
        ("El abuso de sustancias es común.", "abuso de sustancias", "consumo de"),
        ("No es un vicio.", "vicio", "trastorno por consumo"),
        ("No diga yonqui.", "yonqui", "persona que consume drogas"),
    ],
)
def test_spanish_stigmatising_terms_are_flagged_at_their_line(
    root: Path, sentence: str, term: str, suggestion: str
) -> None:
    body = ES_BODY.replace("Salga a caminar.", sentence)
    text, problems = check_spanish(root, lambda v: spanish_md(v, body=body))
    expect(problems, SPANISH, line_of(text, sentence), f"stigmatising term '{term}': use '")
    assert suggestion in next(p for p in problems if "stigmatising" in p)


def test_spanish_stigmatising_terms_in_the_quiz(root: Path) -> None:
    quiz = ES_QUIZ.replace("feedback: Hablar ayuda.", "feedback: Los adictos no hablan.")
    text, problems = check_spanish(root, lambda v: spanish_md(v, quiz=quiz))
    expect(problems, SPANISH, line_of(text, "Los adictos"), "stigmatising term 'adictos'")


def test_spanish_words_to_avoid_and_names_are_not_flagged(root: Path) -> None:
    body = ES_BODY.replace(
        "Salga a caminar.",
        "Pruebe Alcohólicos Anónimos. Evite las bebidas alcohólicas. Diga <del>adicto</del> "
        "nunca. Rompa el círculo vicioso. Mantenga la casa limpia.",
    )
    _, problems = check_spanish(root, lambda v: spanish_md(v, body=body))
    assert not [p for p in problems if "stigmatising" in p]


def test_an_english_word_list_is_not_applied_to_spanish(root: Path) -> None:
    """ "Clean" rules are English: "limpia" in a Spanish kitchen is only a kitchen."""
    body = ES_BODY.replace("Salga a caminar.", "Get clean.")
    _, problems = check_spanish(root, lambda v: spanish_md(v, body=body))
    assert not [p for p in problems if "stigmatising" in p]


def test_hard_spanish_is_an_error_with_its_score_and_band(root: Path) -> None:
    text, problems = check_spanish(root, lambda v: spanish_md(v, body=ES_HARD_BODY))
    [score] = [p for p in problems if "INFLESZ" in p]
    assert score.startswith(f"courses/{SPANISH}:{line_of(text, 'La presente lectura')}: INFLESZ ")
    assert "(muy difícil) is below 65 (bastante fácil); use shorter sentences" in score
    assert float(score.split("INFLESZ ")[1].split()[0]) < 40


def test_flask_courses_check_reports_spanish_scores_and_fails_on_a_bad_translation(
    root: Path,
) -> None:
    from flask import Flask

    from lms.content.cli import courses_cli

    app = Flask(__name__)
    app.config.update(COURSES_DIR=str(root))
    app.cli.add_command(courses_cli)
    check_spanish(root, spanish_md)
    result = app.test_cli_runner().invoke(args=["courses", "check"])
    assert result.exit_code == 0, result.output
    assert f"  inflesz  80.0  muy fácil       courses/{SPANISH}\n" in result.output
    assert result.output.rstrip().endswith(
        "; 1 Spanish translation, average INFLESZ 80.0 (muy fácil)"
    )

    check_spanish(root, lambda v: spanish_md(v, quiz=ES_QUIZ.replace("id: plan-helps", "id: x")))
    result = app.test_cli_runner().invoke(args=["courses", "check"])
    assert result.exit_code == 1
    assert "question 4 has id 'x'" in result.output

    check_spanish(root, lambda v: spanish_md("ffffffffff"))
    result = app.test_cli_runner().invoke(args=["courses", "check"])
    assert result.exit_code == 1
    assert "stale: the English changed since this translation" in result.output


def test_format_report_lists_each_spanish_score_with_its_band() -> None:
    from lms.content import CheckReport, format_report

    report = CheckReport(
        grades={"courses/a/x.md": 6.0, "courses/a/y.md": 7.0},
        inflesz={"courses/a/y.es.md": 58.0, "courses/a/x.es.md": 72.44},
        module_count=2,
        course_count=1,
    )
    assert format_report(report) == [
        "  grade  6.0  courses/a/x.md",
        "  grade  7.0  courses/a/y.md",
        "  inflesz  72.4  bastante fácil  courses/a/x.es.md",
        "  inflesz  58.0  normal          courses/a/y.es.md",
        "2 modules in 1 course, 0 paths: 0 errors, 0 warnings; average reading grade 6.5; "
        "2 Spanish translations, average INFLESZ 65.2 (bastante fácil)",
    ]
