"""Builders for tiny course trees, written from Python strings into ``tmp_path``.

Tests assert exact ``path:line`` positions; ``line_of`` finds the line of a marker in the text
a test wrote, so a test states *which* line it means without counting by hand.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

BODY = """\
Welcome. This module is short.

## What a trigger is

A trigger is something that makes you want to use. It can be a place or a person.
Write down one trigger you know.

## Why triggers matter

Triggers can come up fast. A plan helps you stay calm.
Talk about your plan with someone you trust.

## What you can do

Take a slow breath. Call a friend. Go for a walk.
Pick one thing to try this week.
"""

QUIZ = """\
quiz:
  pass_mark: 0.8
  questions:
    - id: what-is-a-trigger
      prompt: What is a trigger?
      type: single
      teaches: what-a-trigger-is
      choices:
        - text: Something that makes you want to use
          feedback: Yes. That is what a trigger is.
          correct: true
        - text: A kind of medicine
          feedback: No. A trigger is not a medicine.
    - id: triggers-are-normal
      prompt: Everyone has triggers.
      type: true_false
      teaches: what-a-trigger-is
      choices:
        - text: "True"
          feedback: Right. Triggers are normal.
          correct: true
        - text: "False"
          feedback: Not quite. Everyone has them.
    - id: ways-to-cope
      prompt: Which of these can help? Pick all that apply.
      type: multiple
      teaches: what-you-can-do
      choices:
        - text: Take a slow breath
          feedback: Yes, slow breaths calm the body.
          correct: true
        - text: Call a friend
          feedback: Yes, reaching out helps.
          correct: true
        - text: Keep it secret
          feedback: No, secrets make it harder.
    - id: plan-helps
      prompt: A plan only helps people who never have triggers.
      type: true_false
      teaches: why-triggers-matter
      choices:
        - text: "True"
          feedback: Not quite. A plan helps everyone.
        - text: "False"
          feedback: Right. A plan helps everyone, triggers or not.
          correct: true
    - id: who-to-tell
      prompt: Who can you share your plan with?
      type: single
      teaches: why-triggers-matter
      choices:
        - text: Someone you trust
          feedback: Yes.
          correct: true
        - text: Nobody at all, keep it to yourself
          feedback: Sharing helps.
"""


def front_matter(
    title: str = "Understanding triggers", *, quiz: str | None = QUIZ, extra: str = ""
) -> str:
    text = f"""\
---
title: {title}
summary: What triggers are and what to do about them.
audience: [family, patient]
minutes: 10
objectives:
  - Say what a trigger is
  - Name two triggers
  - Pick one way to cope
sources:
  - SAMHSA TIP 39
reviewed: 2025-01-15
reviewed_by: "A. Reviewer, LCSW"
review_due: 2099-12-31
{extra}"""
    if quiz:
        if quiz is QUIZ and title != "Understanding triggers":
            # Each module asks its own questions: the check flags one question in two modules.
            quiz = quiz.replace("      prompt: ", f"      prompt: ({title}) ")
        text += quiz
    return text + "---\n"


def module_md(
    title: str = "Understanding triggers",
    *,
    body: str = BODY,
    quiz: str | None = QUIZ,
    extra: str = "",
) -> str:
    """A valid module (English) unless a test passes something broken."""
    return front_matter(title, quiz=quiz, extra=extra) + body


def course_yml(modules: list[str], *, title: str = "Triggers", paths: str = "") -> str:
    return (
        f"title: {title}\n"
        "summary: A short course.\n"
        "audience: [family]\n"
        f"modules: [{', '.join(modules)}]\n" + paths
    )


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``{"course/file": text}`` under root; returns root."""
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(textwrap.dedent(content) if content.startswith("\n") else content)
    return root


def good_tree(root: Path) -> Path:
    """Two courses, three modules, a path: loads with no problems."""
    return write_tree(
        root,
        {
            "family/course.yml": course_yml(
                ["understanding-triggers", "healthy-coping"],
                paths=(
                    "paths:\n"
                    "  - slug: family-week-1\n"
                    "    title: Family week 1\n"
                    "    summary: Start here.\n"
                    "    modules: [understanding-triggers, my-plan]\n"
                ),
            ),
            "family/understanding-triggers.md": module_md(),
            "family/healthy-coping.md": module_md("Healthy coping"),
            "patient/course.yml": course_yml(["my-plan"], title="My plan"),
            "patient/my-plan.md": module_md("My plan"),
        },
    )


def line_of(text: str, needle: str, *, after: str | None = None) -> int:
    """1-based line of the first line containing ``needle`` (after the line holding ``after``)."""
    start = line_of(text, after) if after else 0
    for number, line in enumerate(text.splitlines(), start=1):
        if number > start and needle in line:
            return number
    raise AssertionError(f"{needle!r} not found")
