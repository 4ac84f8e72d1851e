"""What a learner should read next, and how their home page is laid out.

The one rule behind "Up next" on the home page, "Next reading" after a module is finished, the
week view of a path and the starter readings offered when nothing is assigned. Statuses come
from ``lms.assignments.status`` (the one rule for those); this module only orders and groups.

Order of "Up next", first that exists:

1. an open reading from the care team: overdue first, then by due date, then in the order of
   its path (a reading already started comes before an unstarted one with the same due date);
2. a reading the learner started on their own and has not finished (most recent first);
3. nothing — the home page then offers the starter readings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import selectinload

from lms import access, clock
from lms.assignments import status as assignment_rules
from lms.assignments.queries import Row
from lms.content import get_library
from lms.content.model import Library, Module
from lms.extensions import db
from lms.learning import operations as learning
from lms.models import Assignment, ModuleProgress, Role, User

#: Readings shown together as one week of a path.
WEEK_DAYS = 7


@dataclass(frozen=True)
class Item:
    """One reading from the care team, as the learner sees it."""

    module: Module | None  # None: the module left the library (shown by its slug)
    row: Row

    @property
    def slug(self) -> str:
        return self.row.assignment.module_slug

    @property
    def status(self) -> str:
        return self.row.status

    @property
    def is_done(self) -> bool:
        return self.row.is_done

    @property
    def started(self) -> bool:
        return self.row.progress is not None


@dataclass(frozen=True)
class Week:
    number: int
    items: tuple[Item, ...]
    current: bool

    @property
    def done(self) -> bool:
        return all(item.is_done for item in self.items)


@dataclass(frozen=True)
class PathPlan:
    """A path given to the learner: its readings, grouped in weeks by their due dates."""

    slug: str
    title: str
    patient_name: str
    items: tuple[Item, ...]
    weeks: tuple[Week, ...]  # empty when the readings have no due dates
    notes: tuple[str, ...]  # the care team's note(s), each shown once for the whole path

    @property
    def done_count(self) -> int:
        return sum(1 for item in self.items if item.is_done)

    @property
    def finished(self) -> bool:
        return bool(self.items) and self.done_count == len(self.items)

    @property
    def current_week(self) -> Week | None:
        return next((week for week in self.weeks if week.current), None)


@dataclass(frozen=True)
class UpNext:
    module: Module
    item: Item | None  # the care team's reading, or None for one the learner started
    progress: ModuleProgress | None

    @property
    def started(self) -> bool:
        return self.progress is not None


@dataclass(frozen=True)
class Home:
    up_next: UpNext | None
    paths: tuple[PathPlan, ...]
    singles: tuple[Item, ...]  # readings given one by one (not as part of a path)
    own: tuple[tuple[Module, ModuleProgress], ...]  # started on their own, not finished
    starters: tuple[Module, ...]  # offered when nothing is assigned or started
    items: tuple[Item, ...] = field(default=())
    queue: tuple[Item, ...] = field(default=())  # open readings, in "Up next" order

    @property
    def done_count(self) -> int:
        return sum(1 for item in self.items if item.is_done)

    @property
    def others(self) -> tuple[tuple[Module, ModuleProgress], ...]:
        """Started on their own, apart from the one already shown as "Up next"."""
        shown = self.up_next.module.slug if self.up_next else None
        return tuple((m, row) for m, row in self.own if m.slug != shown)


def _items(user: User, library: Library, lang: str, today: date, progress) -> list[Item]:
    assignments = db.session.scalars(
        access.visible_assignments(user, today)
        .options(selectinload(Assignment.patient))
        .order_by(Assignment.due_on.is_(None), Assignment.due_on, Assignment.id)
    ).all()
    items = []
    for a in assignments:
        module = library.module(a.module_slug, lang)
        row = progress.get(a.module_slug)
        # Listed only while the learner may see it (access.visible_assignments), so a family
        # member's consent is in force for each.
        facts = assignment_rules.facts_for(a, row, a.patient, consent_in_force=True)
        english = library.module(a.module_slug)
        status = assignment_rules.status_of(facts, english.version if english else None, today)
        items.append(Item(module, Row(a, row, status)))
    return items


def _order_key(library: Library):
    def key(item: Item):
        a = item.row.assignment
        overdue = item.status == assignment_rules.AssignmentStatus.OVERDUE
        path = library.path(a.path_slug) if a.path_slug else None
        order = path.module_slugs if path else ()
        position = order.index(a.module_slug) if a.module_slug in order else 0
        return (
            not overdue,
            a.due_on is None,
            a.due_on or date.max,
            not item.started,
            position,
            a.id,
        )

    return key


def _weeks(items: list[Item]) -> tuple[Week, ...]:
    """Weeks counted from the first due date of the path; the current week is the first with
    a reading still to do."""
    dues = [item.row.assignment.due_on for item in items if item.row.assignment.due_on]
    if not dues:
        return ()
    first = min(dues)
    numbered: dict[int, list[Item]] = {}
    for item in items:
        due = item.row.assignment.due_on
        number = ((due - first).days // WEEK_DAYS + 1) if due else max(numbered, default=1)
        numbered.setdefault(number, []).append(item)
    current = next((n for n in sorted(numbered) if not all(i.is_done for i in numbered[n])), None)
    return tuple(
        Week(number=n, items=tuple(numbered[n]), current=n == current) for n in sorted(numbered)
    )


def _paths(items: list[Item], library: Library, lang: str) -> tuple[list[PathPlan], list[Item]]:
    groups: dict[tuple[str, int], list[Item]] = {}
    singles = []
    for item in items:
        a = item.row.assignment
        if a.path_slug:
            groups.setdefault((a.path_slug, a.patient_id), []).append(item)
        else:
            singles.append(item)
    plans = []
    for (slug, _patient_id), group in groups.items():
        path = library.path(slug)
        order = list(path.module_slugs) if path else []
        group.sort(
            key=lambda i: (
                i.row.assignment.due_on or date.max,
                order.index(i.slug) if i.slug in order else len(order),
            )
        )
        notes: list[str] = []
        for item in group:
            note = item.row.assignment.note
            if note and note not in notes:
                notes.append(note)
        plans.append(
            PathPlan(
                slug=slug,
                title=path.title_in(lang) if path else slug,
                patient_name=group[0].row.assignment.patient.display_name,
                items=tuple(group),
                weeks=_weeks(group),
                notes=tuple(notes),
            )
        )
    return plans, singles


def starter_readings(library: Library, role: str, lang: str) -> tuple[Module, ...]:
    """The first course written for this kind of learner: where someone with nothing assigned
    is pointed."""
    audience = "family" if role == Role.FAMILY else "patient"
    for course in library.courses:
        if audience in course.audience:
            return tuple(
                m for m in (library.module(s, lang) for s in course.module_slugs) if m is not None
            )
    return ()


def _first_up(queue, own, skip: str | None = None) -> UpNext | None:
    """The first open reading from the care team, else the latest started on their own."""
    first = next((i for i in queue if i.module is not None and i.slug != skip), None)
    if first is not None:
        return UpNext(first.module, first, first.row.progress)
    mine = next(((m, row) for m, row in own if m.slug != skip), None)
    return UpNext(mine[0], None, mine[1]) if mine else None


def home_for(user: User, lang: str, today: date) -> Home:
    """Everything the learner's home page shows, decided here (the template only displays)."""
    library = get_library()
    progress = learning.progress_by_slug(user.id)
    items = _items(user, library, lang, today, progress)
    queue = sorted((i for i in items if i.row.is_open), key=_order_key(library))
    assigned = {i.slug for i in items}
    own = []
    for slug, row in sorted(progress.items(), key=lambda kv: kv[1].last_activity_at, reverse=True):
        module = library.module(slug, lang)
        if module is not None and row.completed_at is None and slug not in assigned:
            own.append((module, row))
    paths, singles = _paths(items, library, lang)
    starters = () if items or own else starter_readings(library, user.role, lang)
    return Home(
        up_next=_first_up(queue, own),
        paths=tuple(paths),
        singles=tuple(singles),
        own=tuple(own),
        starters=starters,
        items=tuple(items),
        queue=tuple(queue),
    )


def next_after(user: User, slug: str, lang: str | None = None, today: date | None = None):
    """The reading to offer once ``slug`` is finished: what "Up next" would show without it
    (None: nothing waiting)."""
    from flask_babel import get_locale

    lang = lang or str(get_locale() or "en")
    home = home_for(user, lang, today or clock.today())
    up = _first_up(home.queue, home.own, skip=slug)
    return up.module if up else None
