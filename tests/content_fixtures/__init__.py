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


# --- Spanish translations -------------------------------------------------------------------

ES_BODY = """\
Bienvenido. Esta lectura es corta.

## Qué es un detonante

Un detonante es algo que da ganas de consumir. Puede ser un lugar o una persona.
Escriba un detonante que usted conoce.

## Por qué importan

Los detonantes llegan rápido. Un plan le ayuda a estar en calma.
Hable de su plan con alguien de confianza.

## Qué puede hacer

Respire despacio. Llame a un amigo. Salga a caminar.
Elija una cosa para probar esta semana.
"""

#: The same three sections in long, technical sentences: INFLESZ "muy difícil".
ES_HARD_BODY = """\
La presente lectura proporciona información especializada.

## Qué es un detonante

La identificación sistemática de los estímulos condicionados asociados al consumo \
problemático constituye un componente fundamental de las intervenciones terapéuticas \
individualizadas y de la prevención de recaídas en contextos ambulatorios intensivos.

## Por qué importan

La exposición prolongada a determinadas circunstancias ambientales, interpersonales o \
emocionales incrementa considerablemente la probabilidad de experimentar manifestaciones \
fisiológicas y psicológicas vinculadas con el deseo de consumir.

## Qué puede hacer

La implementación coordinada de estrategias cognitivo-conductuales, técnicas de regulación \
emocional y mecanismos comunitarios de apoyo interpersonal favorece significativamente la \
estabilización progresiva del funcionamiento familiar cotidiano.
"""

ES_QUIZ = """\
quiz:
  pass_mark: 0.8
  questions:
    - id: what-is-a-trigger
      prompt: ¿Qué es un detonante?
      type: single
      choices:
        - text: Algo que da ganas de consumir
          feedback: Sí. Eso es un detonante.
          correct: true
        - text: Un tipo de medicina
          feedback: No. Un detonante no es una medicina.
    - id: triggers-are-normal
      prompt: Todas las personas tienen detonantes.
      type: true_false
      choices:
        - text: "Verdadero"
          feedback: Correcto. Los detonantes son normales.
          correct: true
        - text: "Falso"
          feedback: No del todo. Todos los tienen.
    - id: ways-to-cope
      prompt: ¿Qué puede ayudar? Elija todas las que apliquen.
      type: multiple
      choices:
        - text: Respirar despacio
          feedback: Sí, respirar despacio calma el cuerpo.
          correct: true
        - text: Llamar a un amigo
          feedback: Sí, buscar apoyo ayuda.
          correct: true
        - text: Guardar el secreto
          feedback: No, los secretos lo hacen más difícil.
    - id: plan-helps
      prompt: Un plan solo ayuda a quien nunca tiene detonantes.
      type: true_false
      choices:
        - text: "Verdadero"
          feedback: No del todo. Un plan ayuda a todos.
        - text: "Falso"
          feedback: Correcto. Un plan ayuda a todos.
          correct: true
    - id: who-to-tell
      prompt: ¿Con quién puede hablar de su plan?
      type: single
      choices:
        - text: Con alguien de confianza
          feedback: Sí.
          correct: true
        - text: Con nadie, mejor callar
          feedback: Hablar ayuda.
"""

ES_FRONT = """\
---
title: Entender los detonantes
summary: Qué son los detonantes y qué hacer.
audience: [family, patient]
minutes: 10
objectives:
  - Decir qué es un detonante
  - Nombrar dos detonantes
  - Elegir una forma de sobrellevarlos
sources:
  - SAMHSA TIP 39
reviewed: 2025-01-15
"""


def english_version(root: Path, english: str = "family/understanding-triggers.md") -> str:
    """The short version a translation of ``english`` (under ``root``) must name."""
    import hashlib

    return hashlib.sha256((root / english).read_bytes()).hexdigest()[:10]


def spanish_md(
    translated_from: str | None,
    *,
    body: str = ES_BODY,
    quiz: str | None = ES_QUIZ,
    extra: str = "",
) -> str:
    """A Spanish translation of ``module_md()`` (same sections, ids and choices)."""
    text = ES_FRONT + extra
    if translated_from is not None:
        text += f"translated_from: {translated_from}\n"
    return text + (quiz or "") + "---\n" + body
