"""Learner pages: the library, the learner's own progress, printable handouts, module images."""

from __future__ import annotations

import posixpath
from pathlib import Path

from flask import abort, render_template, send_from_directory
from flask_login import current_user

from lms.blueprints.learn.routes import _lang, _variant_context, bp, module_or_404
from lms.content import get_library
from lms.extensions import db
from lms.learning import operations as services


@bp.route("/library")
def library():
    """Every course and module, with this learner's status for each."""
    lib = get_library()
    progress = services.progress_by_slug(current_user.id)
    courses = []
    for course in lib.courses:
        items = []
        for slug in course.module_slugs:
            module = lib.module(slug, _lang())
            if module is None:
                continue
            row = progress.get(slug)
            items.append((module, row, services.status_of(row, lib.module(slug))))
        courses.append((course, items))
    unreviewed = any(m.reviewed_by is None for m in lib.modules())
    return render_template(
        "learn/library.html", courses=courses, paths=lib.paths, unreviewed=unreviewed
    )


@bp.route("/modules/<slug>/print")
def print_view(slug: str):
    """A handout: every section, no navigation."""
    mod = module_or_404(slug)
    return render_template("learn/print.html", module=mod, **_variant_context(mod))


@bp.route("/progress")
def progress():
    """The learner's own modules, statuses, and every knowledge-check result."""
    lib = get_library()
    rows = services.progress_by_slug(current_user.id)
    modules = []
    for slug, row in rows.items():
        mod = lib.module(slug, _lang())
        modules.append((slug, mod, row, services.status_of(row, lib.module(slug))))
    modules.sort(key=lambda item: item[2].last_activity_at, reverse=True)
    attempts = db.session.scalars(services.attempts_for(current_user.id)).all()
    titles = {m.slug: m.title for m in lib.modules()}
    return render_template("learn/progress.html", modules=modules, attempts=attempts, titles=titles)


@bp.route("/media/<course>/<path:filename>")
def media(course: str, filename: str):
    """Images that modules use; only from a known course's images/ folder."""
    lib = get_library()
    normalized = posixpath.normpath(filename)
    if lib.course(course) is None or normalized != filename or not normalized.startswith("images/"):
        abort(404)
    return send_from_directory(Path(lib.root) / course, normalized)
