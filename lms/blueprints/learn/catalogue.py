"""Learner pages: the library, the learner's own progress, printable handouts, module images."""

from __future__ import annotations

import posixpath
from pathlib import Path

from flask import abort, render_template, request, send_from_directory
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lms.blueprints.learn.routes import _lang, _variant_context, bp, module_or_404
from lms.content import get_library
from lms.extensions import db
from lms.learning import catalogue
from lms.learning import operations as services

#: The library's audience filter: (``for`` value, label); "" is every reading.
AUDIENCE_CHOICES = (
    ("", _l("All readings")),
    ("family", _l("For families")),
    ("patient", _l("For patients")),
)


@bp.route("/library")
def library():
    """Every course and module with this learner's status for each; ``q`` searches titles,
    summaries and objectives, ``for`` (family or patient) filters by audience. Bad values
    are ignored or cut (``lms.learning.catalogue``), never refused."""
    lib = get_library()
    found = catalogue.search(
        lib,
        _lang(),
        request.args.get("q"),
        request.args.get("for"),
        services.progress_by_slug(current_user.id),
    )
    unreviewed = any(m.reviewed_by is None for m in lib.modules())
    return render_template(
        "learn/library.html",
        found=found,
        audiences=AUDIENCE_CHOICES,
        paths=lib.paths,
        unreviewed=unreviewed,
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
