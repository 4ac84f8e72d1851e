"""Loading a course tree into a Library: lookups, versions, links, translations, speed."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path

import pytest

from lms.content import ContentError, check_library, load_library
from tests.content_fixtures import (
    BODY,
    ES_QUIZ,
    QUIZ,
    course_yml,
    good_tree,
    line_of,
    module_md,
    spanish_md,
    write_tree,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return good_tree(tmp_path / "courses")


def test_library_lookups(root: Path) -> None:
    library = load_library(root)
    assert [c.slug for c in library.courses] == ["family", "patient"]
    assert [m.slug for m in library.modules()] == [
        "understanding-triggers",
        "healthy-coping",
        "my-plan",
    ]
    assert "my-plan" in library and "nope" not in library
    assert library.module("nope") is None
    assert library.course_of("my-plan").slug == "patient"
    path = library.path("family-week-1")
    assert path.module_slugs == ("understanding-triggers", "my-plan")
    assert library.paths == (path,)
    assert library.course("family").module_slugs == ("understanding-triggers", "healthy-coping")


def test_module_fields(root: Path) -> None:
    module = load_library(root).module("understanding-triggers")
    data = (root / "family/understanding-triggers.md").read_bytes()
    assert module.version == hashlib.sha256(data).hexdigest()
    assert module.short_version == module.version[:10]
    assert module.path == "courses/family/understanding-triggers.md"
    assert module.audience == ("family", "patient")
    assert module.objectives[0] == "Say what a trigger is"
    assert str(module.reviewed) == "2025-01-15"
    assert module.intro_html == "<p>Welcome. This module is short.</p>"
    assert [s.key for s in module.sections] == [
        "what-a-trigger-is",
        "why-triggers-matter",
        "what-you-can-do",
    ]
    assert [s.index for s in module.sections] == [0, 1, 2]
    assert module.sections[0].title == "What a trigger is"
    assert "<h2" not in module.sections[0].html
    quiz = module.quiz
    assert quiz.pass_mark == 0.8
    assert [q.id for q in quiz.questions][:2] == ["what-is-a-trigger", "triggers-are-normal"]
    assert quiz.questions[2].correct_indices == frozenset({0, 1})
    assert quiz.questions[0].choices[0].feedback_html == "Yes. That is what a trigger is."


def test_model_is_immutable(root: Path) -> None:
    module = load_library(root).module("my-plan")
    with pytest.raises(dataclasses.FrozenInstanceError):
        module.title = "x"  # type: ignore[misc]
    assert isinstance(module.sections, tuple) and isinstance(module.quiz.questions, tuple)


def test_version_changes_with_the_file(root: Path) -> None:
    before = load_library(root).module("my-plan").version
    write_tree(root, {"patient/my-plan.md": module_md("My plan, edited")})
    assert load_library(root).module("my-plan").version != before


def test_default_pass_mark_and_no_quiz(root: Path) -> None:
    write_tree(
        root,
        {
            "patient/my-plan.md": module_md(quiz=QUIZ.replace("  pass_mark: 0.8\n", "")),
            "family/healthy-coping.md": module_md(quiz=None),
        },
    )
    library = load_library(root)
    assert library.module("my-plan").quiz.pass_mark == 0.8
    assert library.module("healthy-coping").quiz is None


def test_links_and_images_are_rewritten(root: Path) -> None:
    body = BODY.replace(
        "Go for a walk.",
        "See [coping](healthy-coping.md), [the plan](../patient/my-plan.md#why-triggers-matter),"
        " [below](#what-you-can-do), [help](https://988lifeline.org) and "
        "![A trigger map](images/map.png).",
    )
    write_tree(
        root,
        {"family/understanding-triggers.md": module_md(body=body), "family/images/map.png": "x"},
    )
    html = load_library(root).module("understanding-triggers").sections[2].html
    assert 'href="/learn/modules/healthy-coping"' in html
    assert 'href="/learn/modules/my-plan?section=why-triggers-matter"' in html
    assert 'href="/learn/modules/understanding-triggers?section=what-you-can-do"' in html
    assert 'href="https://988lifeline.org"' in html
    assert 'src="/learn/media/family/images/map.png"' in html
    custom = load_library(root, module_url_prefix="/m/", media_url_prefix="/files/")
    html = custom.module("understanding-triggers").sections[2].html
    assert 'href="/m/healthy-coping"' in html and 'src="/files/family/images/map.png"' in html


def test_links_in_quiz_feedback_are_rewritten(root: Path) -> None:
    quiz = QUIZ.replace("Yes. That is what a trigger is.", "Yes. See [coping](healthy-coping.md).")
    write_tree(root, {"family/understanding-triggers.md": module_md(quiz=quiz)})
    choice = load_library(root).module("understanding-triggers").quiz.questions[0].choices[0]
    assert 'href="/learn/modules/healthy-coping"' in choice.feedback_html


SPANISH_BODY = (
    BODY.replace("## What a trigger is", "## Qué es un detonante")
    .replace("## Why triggers matter", "## Por qué importan")
    .replace("## What you can do", "## Qué puede hacer")
)


def test_translation_lookup_maps_sections_to_english_keys(root: Path) -> None:
    write_tree(
        root, {"family/understanding-triggers.es.md": module_md("Detonantes", body=SPANISH_BODY)}
    )
    library = load_library(root)
    spanish = library.module("understanding-triggers", "es")
    assert spanish.lang == "es" and spanish.title == "Detonantes"
    assert spanish.sections[0].title == "Qué es un detonante"
    assert [s.key for s in spanish.sections] == [
        s.key for s in library.module("understanding-triggers").sections
    ]
    assert library.module("understanding-triggers").translations == ("es",)
    assert library.module("my-plan", "es").lang == "en"  # falls back to English
    assert [m.lang for m in library.modules()] == ["en", "en", "en"]


def test_translation_section_mismatch(root: Path) -> None:
    body = SPANISH_BODY + "\n## Una más\n\nTexto.\n"
    text = module_md("Detonantes", body=body)
    write_tree(root, {"family/understanding-triggers.es.md": text})
    problems = [str(p) for p in check_library(root).problems]
    assert (
        f"courses/family/understanding-triggers.es.md:{line_of(text, '## Una más')}: "
        "translation has 4 sections but courses/family/understanding-triggers.md has 3; "
        "they must match one to one, in order"
    ) in problems


def test_translation_question_mismatches(root: Path) -> None:
    quiz = (
        QUIZ.replace("- id: plan-helps", "- id: plan")
        .replace(
            "          feedback: No. A trigger is not a medicine.\n",
            "          feedback: No.\n          correct: true\n",
        )
        .replace(
            "        - text: Keep it secret\n          feedback: No, secrets make it harder.\n", ""
        )
    )
    text = module_md("Detonantes", body=SPANISH_BODY, quiz=quiz)
    write_tree(root, {"family/understanding-triggers.es.md": text})
    problems = [str(p) for p in check_library(root).problems]
    name = "courses/family/understanding-triggers.es.md"
    assert any(
        p.startswith(f"{name}:{line_of(text, '- id: plan')}: question 4 has id 'plan'")
        for p in problems
    )
    assert any(
        p.startswith(
            f"{name}:{line_of(text, '- id: ways-to-cope')}: question 'ways-to-cope' has 2 choices"
        )
        for p in problems
    )
    choice_line = line_of(text, "- text: A kind of medicine")
    assert any(
        p.startswith(f"{name}:{choice_line}: choice 2 of question 'what-is-a-trigger'")
        for p in problems
    )


def test_translation_without_english(root: Path) -> None:
    write_tree(root, {"family/ghost.es.md": module_md("Fantasma", body=SPANISH_BODY)})
    with pytest.raises(ContentError) as caught:
        load_library(root)
    assert "courses/family/ghost.es.md:1: translation has no English module ghost.md" in str(
        caught.value
    )


@pytest.mark.exclusive  # timed: no other test of this run loads the machine meanwhile
def test_loading_100_modules_takes_well_under_a_second(tmp_path: Path) -> None:
    """Measured as this process's CPU time: loading is single-threaded work, and other
    programs on a busy machine (a CI host) would otherwise stretch the wall clock."""
    root = tmp_path / "courses"
    body = BODY + '\n| a | b |\n|---|---|\n| 1 | 2 |\n\n!!! tip "Try"\n    Breathe.\n'
    files: dict[str, str] = {}
    for course in range(5):
        slugs = [f"module-{course}-{i}" for i in range(20)]
        files[f"c{course}/course.yml"] = course_yml(slugs)
        for i, slug in enumerate(slugs):
            link = f"See [next](module-{course}-{(i + 1) % 20}.md#what-you-can-do).\n"
            files[f"c{course}/{slug}.md"] = module_md(f"Module {slug}", body=body + link)
    write_tree(root, files)
    start, wall = time.process_time(), time.perf_counter()
    library = load_library(root)
    elapsed, wall = time.process_time() - start, time.perf_counter() - wall
    assert len(library.modules()) == 100
    assert elapsed < 1.0, f"loading 100 modules took {elapsed:.2f}s of CPU ({wall:.2f}s wall)"
    print(f"loaded 100 modules in {elapsed:.3f}s of CPU ({wall:.3f}s wall)")


def test_a_translation_that_does_not_line_up_stops_loading(root: Path) -> None:
    """Answers and progress map by position: a site serving it would mix them up."""
    quiz = ES_QUIZ.replace("- id: plan-helps", "- id: el-plan")
    write_tree(root, {"family/understanding-triggers.es.md": spanish_md("x", quiz=quiz)})
    with pytest.raises(ContentError) as caught:
        load_library(root)
    assert "question 4 has id 'el-plan'" in str(caught.value)


def test_a_stale_or_unversioned_translation_still_loads(root: Path) -> None:
    """Staleness is for ``courses check`` (CI): the site keeps serving a translation that
    still lines up with the English while it is brought up to date."""
    for version in (None, "0123abcdef"):
        write_tree(root, {"family/understanding-triggers.es.md": spanish_md(version)})
        spanish = load_library(root).module("understanding-triggers", "es")
        assert spanish.lang == "es" and spanish.title == "Entender los detonantes"
        assert check_library(root).errors


def test_course_and_path_titles_in_spanish(root: Path) -> None:
    text = (root / "family/course.yml").read_text()
    text = text.replace(
        "summary: A short course.\n",
        "summary: A short course.\ntitle_es: Detonantes\nsummary_es: Un curso corto.\n",
    ).replace(
        "    summary: Start here.\n",
        "    summary: Start here.\n    title_es: Semana 1\n    summary_es: Empiece aquí.\n",
    )
    write_tree(root, {"family/course.yml": text})
    library = load_library(root)
    course = library.course("family")
    assert course.title_in("es") == "Detonantes" and course.summary_in("es") == "Un curso corto."
    assert course.title_in("en") == "Triggers"  # English, and any language not given
    path = library.path("family-week-1")
    assert path.title_in("es") == "Semana 1" and path.title_in("en") == "Family week 1"


def test_a_course_title_in_spanish_needs_its_summary(root: Path) -> None:
    text = (root / "family/course.yml").read_text()
    text = text.replace("summary: A short course.\n", "summary: A short course.\ntitle_es: Solo\n")
    write_tree(root, {"family/course.yml": text})
    problems = [str(p) for p in check_library(root).problems]
    assert (
        f"courses/family/course.yml:{line_of(text, 'title_es')}: "
        "a course with 'title_es' needs 'summary_es' too"
    ) in problems
