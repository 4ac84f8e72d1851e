"""The course library: load ``courses/``, validate it, render + sanitize once, grade quizzes.

Content is data with an identity: modules are addressed by slug, sections by stable keys,
questions by ids, and each file's sha256 is its version. The library is loaded once when the
app starts (``init_app``) and shared read-only by every request via ``get_library()``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, current_app

from .grading import (
    AnswerError,
    FeedbackEntry,
    GradeResult,
    QuestionResult,
    field_name,
    grade_quiz,
    parse_answers,
)
from .language import STIGMATISING_TERMS, find_stigmatising_terms, prose_text, reading_grade
from .loader import MEDIA_URL_PREFIX, MODULE_URL_PREFIX, check_library, load_library, slugify
from .model import (
    Choice,
    Course,
    LearningPath,
    Library,
    Module,
    Question,
    Quiz,
    Section,
)
from .problems import CheckReport, ContentError, Problem
from .render import render_inline, render_markdown, sanitize
from .reporting import format_report

__all__ = [
    "MEDIA_URL_PREFIX",
    "MODULE_URL_PREFIX",
    "STIGMATISING_TERMS",
    "AnswerError",
    "CheckReport",
    "Choice",
    "ContentError",
    "Course",
    "FeedbackEntry",
    "GradeResult",
    "LearningPath",
    "Library",
    "Module",
    "Problem",
    "Question",
    "QuestionResult",
    "Quiz",
    "Section",
    "check_library",
    "field_name",
    "find_stigmatising_terms",
    "format_report",
    "get_library",
    "grade_quiz",
    "init_app",
    "load_library",
    "parse_answers",
    "prose_text",
    "reading_grade",
    "render_inline",
    "render_markdown",
    "sanitize",
    "slugify",
]

EXTENSION_KEY = "lms_library"
logger = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Load ``COURSES_DIR`` once and keep it at ``app.extensions["lms_library"]``.

    In production a content error stops the app from starting (the message lists every
    ``path:line: problem``): serving half a curriculum is worse than not starting. Elsewhere
    the problems are logged and an empty library carrying them is stored, so a developer's
    site still runs and can show them in a banner.
    """
    root = Path(app.config.get("COURSES_DIR") or "courses")
    try:
        library = load_library(
            root,
            module_url_prefix=app.config.get("LMS_MODULE_URL_PREFIX", MODULE_URL_PREFIX),
            media_url_prefix=app.config.get("LMS_MEDIA_URL_PREFIX", MEDIA_URL_PREFIX),
        )
    except ContentError as exc:
        if app.config.get("LMS_ENV") == "production":
            raise
        for problem in exc.problems:
            if problem.is_error:
                logger.error("course content: %s", problem)
        library = Library.empty(root, exc.problems)
    app.extensions[EXTENSION_KEY] = library


def get_library() -> Library:
    """The library loaded by ``init_app`` for the current app."""
    return current_app.extensions[EXTENSION_KEY]
