"""The read side's exports and printable reports: the caseload and family CSV exports, the
printable caseload and family reports, and the admin's program report.

An export is a stream, whatever the caseload's size, read in two parts in the export's order
(patient name, learner name, due date): the patients named up to the ``REPORT_FIRST_NAMES``-th
name — a small indexed query, so the first rows go out at once — then all the others in one
query, which the database plans as one pass over the tables and one sort (keyset pages of a
few hundred names each read the whole of the smaller tables again for every page). Neither
part is ever held whole: ``report_rows`` reads them through a server-side cursor
(``yield_per``) and yields one row of text at a time; on PostgreSQL ``report_csv`` has the
database write the CSV itself (``COPY … TO STDOUT``, every cell as ``csv_cell`` would write it)
and passes it on in chunks. On PostgreSQL both parts read one snapshot (``REPEATABLE READ``),
so a change made while an export streams is wholly in it or not at all.

The export is audited before the first byte (in the request's own transaction, committed
before the body is sent); the rows are read after that commit, in a read-only transaction of
their own that ends with the response."""

from __future__ import annotations

import sqlite3
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    DateTime,
    Engine,
    Float,
    Select,
    String,
    and_,
    case,
    cast,
    event,
    func,
    literal,
    literal_column,
    null,
    select,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from lms import access, clock, notices
from lms.assignments import queries as assignment_q
from lms.assignments import status as status_rules
from lms.content import get_library
from lms.csvutil import copy_chunks, csv_chunks, sql_cell
from lms.extensions import db
from lms.goals import queries as goal_q
from lms.models import Assignment, FamilyLink, LinkState, ModuleProgress, Patient, Role, User

#: Patient names in the first part of an export (every patient of one name in the same part).
FIRST_NAMES = 50
#: Rows fetched at a time from the server-side cursor of ``report_rows``.
FETCH_ROWS = 2000


@dataclass(frozen=True)
class LearnerSummary:
    """One learner's line in the summary at the top of a family report."""

    name: str
    assigned: int
    completed: int
    overdue: int
    paused: int


def family_summary(patient_id: int, today: date | None = None) -> list[LearnerSummary]:
    """Per learner of this patient: readings assigned (not cancelled), completed, overdue,
    and paused (consent or discharge) — the same status rule as every other page."""
    counts: dict[str, dict[str, int]] = {}
    for row in assignment_q.for_patient(patient_id, today):
        if row.status not in status_rules.COUNTED:
            continue
        tally = counts.setdefault(
            row.assignment.learner.display_name,
            {"assigned": 0, "completed": 0, "overdue": 0, "paused": 0},
        )
        tally["assigned"] += 1
        tally["completed"] += row.status in status_rules.DONE
        tally["overdue"] += row.status == status_rules.AssignmentStatus.OVERDUE
        tally["paused"] += row.status in status_rules.SUSPENDED
    return [LearnerSummary(name, **tally) for name, tally in sorted(counts.items())]


# The CSV export's column names, in the reader's language (lower case, words joined by "_":
# a spreadsheet's names for its columns).
REPORT_HEADER = (
    # TRANSLATORS: column names of the caseload CSV export: lower case, "_" between words.
    _l("patient"),
    _l("learner"),
    _l("relationship"),
    _l("module"),
    _l("assigned"),
    _l("due"),
    _l("status"),
    _l("completed"),
    _l("best_score"),
    # Per patient (the same on each of the patient's rows): their learning goals by state.
    _l("goals_met"),
    _l("goals_open"),
    _l("goals_missed"),
)


def _scope(user: User, patient_id: int | None) -> Select:
    ids = access.caseload(user).with_only_columns(Patient.id)
    if patient_id is not None:
        ids = ids.where(Patient.id == patient_id)
    return ids


def _reading_rows(ids: Select, today: date) -> tuple[Select, dict]:
    """One row per learner-assignment (not cancelled) of the patients ``ids``, and the
    expressions of its columns and ``ORDER_KEYS`` by name (``_report_select`` puts it in a
    ``UNION ALL`` with ``_goal_only_rows`` and sorts the two together).

    The learner's relationship comes from their active family link of that patient, else
    "patient" when they are the patient: one outer join on the link's own keys (the union of
    every learner of the caseload it replaced was rebuilt for each assignment when the
    planner had no statistics, and read "patient" as a family relationship, failing).

    The patient's goals met, open and missed (``goals.queries.state_expression``, counted per
    patient once in a grouped subquery) are outer-joined on the patient: the same query, so
    the export stays one stream and its query count does not grow."""
    query, expression, progress = assignment_q.status_select(today)
    link = aliased(FamilyLink, name="learner_link")
    goals = goal_q.counts_by_patient(ids, today)
    columns = {
        "patient": Patient.display_name,
        "learner": User.display_name,
        "relationship": case(
            (link.id.is_not(None), type_coerce(link.relationship_kind, String)),
            (
                and_(Patient.user_id.is_not(None), Patient.user_id == Assignment.learner_id),
                literal("patient", String),
            ),
            else_=null(),
        ),
        "module": Assignment.module_slug,
        "assigned": Assignment.assigned_at,
        "due": Assignment.due_on,
        "status": expression,
        "completed": progress.completed_at,
        "best": progress.best_score,
        "goals_met": func.coalesce(goals.c.met, 0),
        "goals_open": func.coalesce(goals.c.open, 0),
        "goals_missed": func.coalesce(goals.c.missed, 0),
    }
    query = (
        query.join(User, User.id == Assignment.learner_id)
        .outerjoin(
            link,
            and_(
                link.patient_id == Assignment.patient_id,
                link.user_id == Assignment.learner_id,
                link.state == LinkState.ACTIVE,
            ),
        )
        .outerjoin(goals, goals.c.patient_id == Assignment.patient_id)
        .where(Assignment.patient_id.in_(ids), Assignment.cancelled_at.is_(None))
    )
    keys = (Patient.display_name, User.display_name, Assignment.due_on, Assignment.id)
    return query, {**columns, **dict(zip(ORDER_KEYS, keys, strict=True))}


def _goal_only_rows(ids: Select, today: date) -> tuple[Select, dict]:
    """One row per patient of ``ids`` who has learning goals (not cancelled) but no reading
    given (not cancelled): the patient and the goal counts, every other cell empty, so a
    goal set before any reading is in the report too. Same names as ``_reading_rows``."""
    goals = goal_q.counts_by_patient(ids, today)
    given = (
        select(Assignment.id)
        .where(Assignment.patient_id == Patient.id, Assignment.cancelled_at.is_(None))
        .exists()
    )
    empty = {
        "learner": String,
        "relationship": String,
        "module": String,
        "assigned": DateTime,
        "due": Date,
        "status": String,
        "completed": DateTime,
        "best": Float,
    }
    columns = {
        "patient": Patient.display_name,
        **{name: cast(null(), kind) for name, kind in empty.items()},
        "goals_met": goals.c.met,
        "goals_open": goals.c.open,
        "goals_missed": goals.c.missed,
    }
    query = (
        select(Patient.id)
        .join(goals, goals.c.patient_id == Patient.id)
        .where(Patient.id.in_(ids), ~given)
    )
    keys = (
        Patient.display_name,
        cast(null(), String),
        cast(null(), Date),
        cast(null(), BigInteger),
    )
    return query, {**columns, **dict(zip(ORDER_KEYS, keys, strict=True))}


#: The export's order: patient, learner, due date (then the assignment, for a stable order).
ORDER_KEYS = ("k_patient", "k_learner", "k_due", "k_id")
#: The export's columns by name, in ``REPORT_HEADER``'s order.
COLUMNS = (
    "patient",
    "learner",
    "relationship",
    "module",
    "assigned",
    "due",
    "status",
    "completed",
    "best",
    "goals_met",
    "goals_open",
    "goals_missed",
)


def _report_select(ids: Select, today: date, part=None, shape=None) -> Select:
    """The export's rows in its order: every reading given (``_reading_rows``) and every
    patient with goals but no reading (``_goal_only_rows``), as one ``UNION ALL`` sorted by
    ``ORDER_KEYS``. ``part`` limits both to some patients (``_parts``); ``shape`` turns a
    branch's columns (a dict by name) into the cells selected (by default the columns)."""
    shape = shape or (lambda columns: [columns[name] for name in COLUMNS])
    branches = []
    for query, columns in (_reading_rows(ids, today), _goal_only_rows(ids, today)):
        cells = [cell.label(f"c{n}") for n, cell in enumerate(shape(columns))]
        keys = [columns[key].label(key) for key in ORDER_KEYS]
        branch = query.with_only_columns(*cells, *keys)
        branches.append(branch.where(part) if part is not None else branch)
    rows = union_all(*branches).subquery("report_rows")
    cells = [column for column in rows.c if column.key not in ORDER_KEYS]
    return select(*cells).order_by(
        rows.c.k_patient, rows.c.k_learner.nulls_first(), rows.c.k_due, rows.c.k_id
    )


def patients_in_scope(user: User) -> int:
    """How many patients a caseload export or report covers: what its audit row records
    before the first byte (counting its rows would cost as much as reading them)."""
    ids = _scope(user, None).subquery()
    return db.session.scalar(select(func.count()).select_from(ids)) or 0


def report_count(user: User, patient_id: int, today: date | None = None) -> int:
    """How many rows one family's export holds now (its audit row, before the first byte)."""
    rows = _report_select(_scope(user, patient_id), today or clock.today()).order_by(None)
    return db.session.scalar(select(func.count()).select_from(rows.subquery())) or 0


def _parts(ids: Select) -> Iterator[ColumnElement[bool]]:
    """The export's two parts, in its order, as conditions on the patient: named up to the
    ``REPORT_FIRST_NAMES``-th name of the patients ``ids``, then every later name."""
    size = current_app.config.get("REPORT_FIRST_NAMES", FIRST_NAMES)
    names = (
        select(Patient.display_name)
        .where(Patient.id.in_(ids))
        .distinct()
        .order_by(Patient.display_name)
        .limit(size)
        .subquery()
    )
    last = db.session.scalar(select(func.max(names.c.display_name)))
    if last is None:
        return
    yield Patient.display_name <= last
    yield Patient.display_name > last


def _begin_export() -> None:
    """On PostgreSQL, the export's own transaction (after the request's commit) reads one
    snapshot (``REPEATABLE READ``) and is not compiled to machine code (``jit``: its queries
    are short; compiling them took longer than running them), and writes dates as ISO
    (``report_csv`` has them written by the database)."""
    session = db.session()
    if session.get_bind().dialect.name != "postgresql":
        return
    if not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text("SET LOCAL datestyle = 'ISO'"))


def report_rows(
    user: User, patient_id: int | None = None, today: date | None = None
) -> Iterator[tuple[str, ...]]:
    """One row per learner-assignment on the caseload (or one patient's), as text, ordered by
    patient, learner, due date: a stream (module docstring)."""
    today = today or clock.today()
    ids = _scope(user, patient_id)
    fetch = current_app.config.get("EXPORT_FETCH_ROWS", FETCH_ROWS)
    library = get_library()
    titles: dict[str, str] = {}
    labels = {status.value: status_rules.label(status) for status in status_rules.AssignmentStatus}
    _begin_export()
    for part in _parts(ids):
        query = _report_select(ids, today, part).execution_options(yield_per=fetch)
        result = db.session.execute(query)
        try:
            for (
                patient,
                learner,
                relation,
                slug,
                assigned,
                due,
                status,
                done,
                best,
                goals_met,
                goals_open,
                goals_missed,
            ) in result:
                title = titles.get(slug)
                if title is None and slug is not None:
                    module = library.module(slug)
                    title = titles[slug] = module.title if module else slug
                yield (
                    patient,
                    learner or "",
                    (relation or "").replace("_", " "),
                    title or "",
                    clock.aware(assigned).date().isoformat() if assigned else "",
                    due.isoformat() if due else "",
                    labels[status] if status else "",
                    clock.aware(done).date().isoformat() if done else "",
                    f"{round(best * 100)}%" if best is not None else "",
                    str(int(goals_met)),
                    str(int(goals_open)),
                    str(int(goals_missed)),
                )
        finally:
            result.close()


# --- the CSV file --------------------------------------------------------------------------


def _csv_cells(columns: dict) -> list:
    """A branch's columns as the CSV's twelve cells, as ``report_rows`` and ``csv_cell``
    write them, computed by PostgreSQL."""
    library = get_library()
    titles = {m.slug: m.title for m in library.modules()}
    labels = {status.value: status_rules.label(status) for status in status_rules.AssignmentStatus}
    module = columns["module"]
    return [
        sql_cell(columns["patient"]),
        sql_cell(columns["learner"]),
        sql_cell(func.replace(columns["relationship"], "_", " ")),
        sql_cell(case(titles, value=module, else_=module)),
        # The day in the session's zone, as the driver hands a time to Python.
        cast(cast(columns["assigned"], Date), String),
        cast(columns["due"], String),
        sql_cell(case(labels, value=columns["status"])),
        cast(cast(columns["completed"], Date), String),
        # round() of a double rounds half to even, as Python's round() does.
        cast(cast(func.round(columns["best"] * 100), BigInteger), String) + "%",
        cast(columns["goals_met"], String),
        cast(columns["goals_open"], String),
        cast(columns["goals_missed"], String),
    ]


def report_csv(user: User, patient_id: int | None = None, today: date | None = None):
    """The caseload's (or one patient's) CSV file in UTF-8 chunks: the 42 CFR 2.32 notice,
    the header, then ``report_rows`` — byte for byte what ``csv_chunks`` writes of them."""
    preamble = notices.csv_notice_rows()
    if db.session.get_bind().dialect.name != "postgresql":
        yield from csv_chunks(
            REPORT_HEADER, report_rows(user, patient_id, today), preamble=preamble
        )
        return
    today = today or clock.today()
    ids = _scope(user, patient_id)
    head = b"".join(csv_chunks(REPORT_HEADER, (), preamble=preamble))
    _begin_export()
    parts = (_report_select(ids, today, part, _csv_cells) for part in _parts(ids))
    yield from copy_chunks(head, parts)


class _days_between(FunctionElement):
    """Days from the first timestamp to the second, as a fraction (portable SQL)."""

    type = Float()
    inherit_cache = True
    name = "days_between"


@compiles(_days_between)
def _days_sqlite(element, compiler, **kw):
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(julianday({end}) - julianday({start}))"


@compiles(_days_between, "postgresql")
def _days_postgresql(element, compiler, **kw):
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 86400.0)"


class _median(FunctionElement):
    """The median of a group's values, NULLs left out (as ``statistics.median``: the mean of
    the middle two of an even count). PostgreSQL: ``percentile_cont(0.5)``; SQLite: the
    ``median`` aggregate registered below."""

    type = Float()
    inherit_cache = True
    name = "median"


@compiles(_median)
def _median_sqlite(element, compiler, **kw):
    (value,) = element.clauses
    return f"median({compiler.process(value, **kw)})"


@compiles(_median, "postgresql")
def _median_postgresql(element, compiler, **kw):
    (value,) = element.clauses
    return f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {compiler.process(value, **kw)})"


class _SQLiteMedian:
    def __init__(self):
        self.values: list[float] = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return statistics.median(self.values) if self.values else None


@event.listens_for(Engine, "connect")
def _sqlite_median(dbapi_connection, connection_record):
    """SQLite has no median aggregate: give each connection one (a group's values at a time)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_aggregate("median", 1, _SQLiteMedian)


def _completion(key) -> Select:
    """Per ``key``: assignments (not cancelled), completed, and the median days from assigned
    to completed (a completion before the assignment counts as 0 days). One grouped query."""
    assigned_by = aliased(User, name="assigned_by")
    days = _days_between(Assignment.assigned_at, ModuleProgress.completed_at)
    group = key(assigned_by).label("key")
    return (
        select(
            group,
            func.count(),
            func.count(ModuleProgress.completed_at),
            _median(case((days < 0, 0.0), else_=days)),
        )
        .select_from(Assignment)
        .outerjoin(
            ModuleProgress,
            and_(
                ModuleProgress.user_id == Assignment.learner_id,
                ModuleProgress.module_slug == Assignment.module_slug,
                ModuleProgress.completed_at.is_not(None),
            ),
        )
        .outerjoin(
            assigned_by,
            and_(
                assigned_by.id == Assignment.assigned_by_id,
                assigned_by.role.in_([Role.CLINICIAN, Role.ADMIN]),
            ),
        )
        .where(Assignment.cancelled_at.is_(None))
        .group_by(group)
    )


def program_sections() -> Iterator[tuple[str, list[dict]]]:
    """Admins: completion by module, then by clinician (who assigned; by name, "—" for
    nobody on the staff), with the median days to completion: ``("module", lines)`` then
    ``("clinician", lines)``, each one grouped query, run when its section is reached (the
    page streams: its head goes out before the first is computed), both in one snapshot."""
    library = get_library()
    _begin_export()

    def module_label(slug: str) -> str:
        module = library.module(slug)
        return module.title if module else slug

    def summarize(query: Select, label) -> list[dict]:
        result = []
        for key, assigned, completed, median in sorted(db.session.execute(query).all()):
            result.append(
                {
                    "label": label(key),
                    "assigned": assigned,
                    "completed": completed,
                    "rate": completed / assigned if assigned else 0.0,
                    "median_days": float(median) if median is not None else None,
                }
            )
        return result

    yield "module", summarize(_completion(lambda _by: Assignment.module_slug), module_label)
    # "—" written into the SQL, not bound: GROUP BY must name the same expression as SELECT.
    nobody = literal_column("'—'")
    yield (
        "clinician",
        summarize(_completion(lambda by: func.coalesce(by.display_name, nobody)), str),
    )


def program_report() -> tuple[list[dict], list[dict]]:
    """``program_sections`` at once: (by module, by clinician)."""
    by_module, by_clinician = (lines for _kind, lines in program_sections())
    return by_module, by_clinician
