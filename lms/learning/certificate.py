"""A certificate of completion: which modules a learner completed, and when.

Often asked for by courts and employers. It states the learner's name, the program, module
titles and completion dates — never a diagnosis, a patient's name, scores or anything about
treatment. The learner may leave modules off it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from lms.content import get_library
from lms.extensions import db
from lms.models import ModuleProgress, User


@dataclass(frozen=True)
class Line:
    slug: str
    title: str
    completed_at: datetime
    included: bool


def lines_for(user: User, lang: str, chosen: Iterable[str] | None = None) -> list[Line]:
    """Every module this learner completed, oldest first; ``chosen`` (slugs) limits what the
    certificate includes (None or empty: all of them)."""
    library = get_library()
    wanted = {slug for slug in (chosen or ()) if slug}
    rows = db.session.scalars(
        select(ModuleProgress)
        .where(ModuleProgress.user_id == user.id, ModuleProgress.completed_at.is_not(None))
        .order_by(ModuleProgress.completed_at, ModuleProgress.id)
    )
    lines = []
    for row in rows:
        module = library.module(row.module_slug, lang)
        if module is None:
            continue  # retired from the library: its title is no longer known
        lines.append(
            Line(
                slug=row.module_slug,
                title=module.title,
                completed_at=row.completed_at,
                included=not wanted or row.module_slug in wanted,
            )
        )
    return lines
