"""Every kind of content problem is reported at the exact ``path:line`` a writer must fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.content import ContentError, check_library, load_library
from tests.content_fixtures import BODY, QUIZ, course_yml, good_tree, line_of, module_md, write_tree

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
