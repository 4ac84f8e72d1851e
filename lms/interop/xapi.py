"""xAPI 1.0.3 statements of what learners did, built from what is recorded.

Each statement describes one row, never an inference: a module first started
(``ModuleProgress.started_at``: *launched*), a section marked read (``SectionRead``:
*experienced*), each answer of a knowledge check (``QuizAnswer``: *answered*), the check itself
(``QuizAttempt``: *passed* or *failed*, with its score) and a module completed
(``ModuleProgress.completed_at``: *completed*). Its ``id`` is a UUID made from that row
(``uuid5``), so building it twice, here or in another process, gives the same statement, and a
learning-record store (LRS) that receives it twice keeps it once.

Who: an ``account`` on this site named ``learner-<user id>``, never an email address or a name
— what someone read in a treatment program is health information, and the LRS is outside it.
What: activities under ``{SITE_URL}/xapi/modules/<slug>/<content version>`` (sections, the
knowledge check and its questions below it), so an edited module is a new activity and an
answer is never read against options it was not given.

Every statement is checked against a JSON Schema of the specification
(``xapi_statement.schema.json``) and the rules a schema cannot state (``problems``) before it
is exported or recorded in the outbox for an LRS (``lms.interop.lrs``). When ``XAPI_LRS_URL``
is set, the learning operations call the ``record_*`` functions in the same transaction as the
event, so a statement exists exactly when its event does.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from importlib import resources
from urllib.parse import quote

from flask import current_app
from flask_babel import lazy_gettext as _l
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lms import access, clock
from lms.content import get_library
from lms.content.model import Library, Module, Question
from lms.dates import program_zone
from lms.extensions import db
from lms.models import (
    FamilyLink,
    LinkState,
    ModuleProgress,
    Patient,
    QuizAnswer,
    QuizAttempt,
    SectionRead,
    User,
    XapiOutbox,
)
from lms.problems import Problem

logger = logging.getLogger(__name__)

VERSION = "1.0.3"

#: ADL verbs (http://adlnet.gov/expapi/verbs/), with the words an LRS shows for them.
VERBS = {
    name: {"id": f"http://adlnet.gov/expapi/verbs/{name}", "display": {"en-US": name}}
    for name in ("launched", "experienced", "answered", "passed", "failed", "completed")
}

#: ADL activity types.
MODULE_TYPE = "http://adlnet.gov/expapi/activities/module"
SECTION_TYPE = "http://adlnet.gov/expapi/activities/lesson"
CHECK_TYPE = "http://adlnet.gov/expapi/activities/assessment"
QUESTION_TYPE = "http://adlnet.gov/expapi/activities/cmi.interaction"
COURSE_TYPE = "http://adlnet.gov/expapi/activities/course"

#: Question types as xAPI interactions. True/false is a choice between its two options: its
#: answers are kept as option ids like every other question's, so the response stays an id.
INTERACTIONS = {
    "single": "choice",
    "multiple": "choice",
    "true_false": "choice",
    "ordering": "sequencing",
}

#: Component lists the specification allows per interaction type (xAPI-Data 2.4.4.1).
COMPONENTS = {
    "choice": {"choices"},
    "sequencing": {"choices"},
    "likert": {"scale"},
    "matching": {"source", "target"},
    "performance": {"steps"},
}
COMPONENT_KEYS = ("choices", "scale", "source", "target", "steps")

#: The longest span one export covers.
MAX_RANGE_DAYS = 366


class InvalidStatement(ValueError):
    """A statement that breaks the xAPI rules; ``problems`` says where and why."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


# --- validation --------------------------------------------------------------------------


def _format_checker() -> FormatChecker:
    """jsonschema's format checks, with ``iri`` answered by the URI check when the text is
    ASCII (an ASCII IRI is a URI, RFC 3987 section 2) and remembered: the full IRI grammar
    takes some 60 ms a value, and a statement carries a dozen IRIs, mostly the same ones."""
    checker = FormatChecker()
    is_uri = checker.checkers["uri"][0]
    is_iri, raises = checker.checkers["iri"]

    @lru_cache(maxsize=4096)
    def iri(value: str) -> bool:
        return is_uri(value) if value.isascii() else is_iri(value)

    def check_iri(value: object) -> bool:
        return iri(value) if isinstance(value, str) else True

    checker.checks("iri", raises=raises)(check_iri)
    return checker


@cache
def _validator() -> Draft202012Validator:
    text = resources.files("lms.interop").joinpath("xapi_statement.schema.json").read_text()
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_format_checker())


def _where(path) -> str:
    return "/".join(str(part) for part in path) or "(statement)"


def problems(statement: object) -> list[str]:
    """Every way ``statement`` breaks xAPI 1.0.3: the schema's findings, then the rules a
    schema cannot state. Empty for a valid statement."""
    found = [
        f"{_where(error.absolute_path)}: {error.message}"
        for error in sorted(_validator().iter_errors(statement), key=lambda e: list(e.path))
    ]
    if found or not isinstance(statement, dict):
        return found
    return _rule_problems(statement)


def _rule_problems(statement: dict) -> list[str]:
    found: list[str] = []
    if "id" in statement and uuid.UUID(statement["id"]).variant != uuid.RFC_4122:
        found.append("id: a UUID of the RFC 4122 variant is required")
    for path, obj in _walk(statement):
        score = obj.get("score") if path.endswith("result") else None
        if isinstance(score, dict):
            low, high, raw = score.get("min"), score.get("max"), score.get("raw")
            if low is not None and high is not None and not low < high:
                found.append(f"{path}/score: min must be less than max")
            if raw is not None and low is not None and raw < low:
                found.append(f"{path}/score: raw is below min")
            if raw is not None and high is not None and raw > high:
                found.append(f"{path}/score: raw is above max")
        if path.endswith("definition"):
            kind = obj.get("interactionType")
            allowed = COMPONENTS.get(kind, set())
            for key in COMPONENT_KEYS:
                if key not in obj:
                    continue
                if key not in allowed:
                    found.append(f"{path}/{key}: not used with interactionType {kind!r}")
                ids = [component.get("id") for component in obj[key]]
                if len(ids) != len(set(ids)):
                    found.append(f"{path}/{key}: component ids must be unique")
    stamp = statement.get("timestamp")
    if isinstance(stamp, str):
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        # The provider must not send a time in the future (2.4.7); the later of the real and
        # the app's clock, so a test that moved the app's clock is not refused.
        now = max(datetime.now(UTC), clock.utcnow())
        if at.tzinfo is None or at > now:
            found.append("timestamp: must carry a zone and not be in the future")
    return found


def _walk(node, path: str = ""):
    """Every object in the statement with its path (a SubStatement's parts too)."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}" if path else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def check(statement: dict) -> dict:
    """The statement, if valid; else ``InvalidStatement``."""
    found = problems(statement)
    if found:
        raise InvalidStatement(found)
    return statement


# --- building ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Site:
    """What every statement of one build shares: addresses, the platform, the library."""

    url: str
    platform: str
    library: Library
    namespace: uuid.UUID

    @classmethod
    def current(cls) -> _Site:
        url = (current_app.config.get("SITE_URL") or "http://127.0.0.1:5000").rstrip("/")
        return cls(
            url=url,
            platform=current_app.config.get("PROGRAM_NAME") or "Family Learning",
            library=get_library(),
            namespace=uuid.uuid5(uuid.NAMESPACE_URL, f"{url}/xapi"),
        )

    def statement_id(self, key: str) -> str:
        return str(uuid.uuid5(self.namespace, key))

    # Addresses: a slug, key or question id is quoted, so any text makes a valid IRI.
    def module_id(self, slug: str, version: str) -> str:
        return f"{self.url}/xapi/modules/{quote(slug, safe='')}/{quote(version, safe='')}"

    def course_id(self, slug: str) -> str:
        return f"{self.url}/xapi/courses/{quote(slug, safe='')}"

    # Content as it is now, by language: names come from the current files (a title of an
    # earlier version is still the module's title); the options and right answers of a
    # question only when the recorded version is the current one.
    def modules(self, slug: str) -> list[Module]:
        english = self.library.module(slug)
        if english is None or english.slug != slug:
            return []
        found = [english]
        for lang in english.translations:
            translated = self.library.module(slug, lang)
            if translated is not None and translated.lang == lang:
                found.append(translated)
        return found

    def lang_of_version(self, slug: str, version: str) -> str | None:
        """The language of the file a version was recorded against, while it is current."""
        for module in self.modules(slug):
            if module.version == version:
                return module.lang
        return None

    def is_current(self, slug: str, version: str) -> bool:
        return self.lang_of_version(slug, version) is not None


def _timestamp(at: datetime) -> str:
    at = clock.aware(at).astimezone(UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _names(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {lang: text for lang, text in pairs if text}


def _activity(activity_id: str, kind: str, name: dict[str, str] | None = None, **more) -> dict:
    definition: dict = {"type": kind}
    if name:
        definition["name"] = name
    definition.update(more)
    return {"objectType": "Activity", "id": activity_id, "definition": definition}


def _module_activity(site: _Site, slug: str, version: str) -> dict:
    modules = site.modules(slug)
    name = _names((m.lang, m.title) for m in modules)
    description = _names((m.lang, m.summary) for m in modules)
    more = {"description": description} if description else {}
    return _activity(site.module_id(slug, version), MODULE_TYPE, name, **more)


def _course_activity(site: _Site, slug: str) -> dict | None:
    course = site.library.course_of(slug)
    if course is None:
        return None
    langs = {m.lang for m in site.modules(slug)}
    name = _names((lang, course.title_in(lang)) for lang in sorted(langs))
    return _activity(site.course_id(course.slug), COURSE_TYPE, name)


def _check_activity(site: _Site, slug: str, version: str) -> dict:
    name = _names((m.lang, m.title) for m in site.modules(slug))
    return _activity(f"{site.module_id(slug, version)}/check", CHECK_TYPE, name)


def _question_definition(site: _Site, slug: str, version: str, question_id: str) -> dict:
    """A question as an interaction, in every current language; only its type when the
    answer was given to another version of the module."""
    if not site.is_current(slug, version):
        return {}
    asked: list[tuple[str, Question]] = []
    for module in site.modules(slug):
        question = module.quiz.question(question_id) if module.quiz else None
        if question is not None:
            asked.append((module.lang, question))
    if not asked:
        return {}
    english = asked[0][1]
    kind = INTERACTIONS.get(english.type, "other")
    right = (
        list(range(len(english.choices)))
        if english.is_ordering
        else sorted(english.correct_indices)
    )
    return {
        "name": _names((lang, q.prompt) for lang, q in asked),
        "interactionType": kind,
        "correctResponsesPattern": ["[,]".join(str(i) for i in right)],
        "choices": [
            {
                "id": str(index),
                "description": _names(
                    (lang, q.choices[index].text) for lang, q in asked if index < len(q.choices)
                ),
            }
            for index in range(len(english.choices))
        ],
    }


def _actor(site: _Site, user_id: int) -> dict:
    return {"objectType": "Agent", "account": {"homePage": site.url, "name": f"learner-{user_id}"}}


def _context(
    site: _Site, lang: str | None, parent: list[dict], grouping: list[dict | None]
) -> dict:
    context: dict = {"platform": site.platform}
    if lang:
        context["language"] = lang
    activities: dict = {}
    if parent:
        activities["parent"] = parent
    grouping = [g for g in grouping if g is not None]
    if grouping:
        activities["grouping"] = grouping
    if activities:
        context["contextActivities"] = activities
    return context


def _statement(
    site: _Site, key: str, user_id: int, verb: str, obj: dict, at: datetime, context: dict
) -> dict:
    return {
        "id": site.statement_id(key),
        "actor": _actor(site, user_id),
        "verb": VERBS[verb],
        "object": obj,
        "context": context,
        "timestamp": _timestamp(at),
        "version": VERSION,
    }


def launched(site: _Site, progress: ModuleProgress, version: str) -> dict:
    """The module first started (its progress row), against the version the starting event
    (the first section read or check tried) recorded."""
    slug = progress.module_slug
    return _statement(
        site,
        f"launched:module_progress:{progress.id}",
        progress.user_id,
        "launched",
        _module_activity(site, slug, version),
        progress.started_at,
        _context(site, site.lang_of_version(slug, version), [], [_course_activity(site, slug)]),
    )


def experienced(site: _Site, read: SectionRead) -> dict:
    """A section marked read."""
    slug, version = read.module_slug, read.content_version
    names = []
    for module in site.modules(slug):
        section = module.section(read.section_key)
        if section is not None:
            names.append((module.lang, section.title))
    obj = _activity(
        f"{site.module_id(slug, version)}/sections/{quote(read.section_key, safe='')}",
        SECTION_TYPE,
        _names(names),
    )
    return _statement(
        site,
        f"experienced:section_read:{read.id}",
        read.user_id,
        "experienced",
        obj,
        read.read_at,
        _context(
            site,
            site.lang_of_version(slug, version),
            [_module_activity(site, slug, version)],
            [_course_activity(site, slug)],
        ),
    )


def answered(site: _Site, attempt: QuizAttempt, answer: QuizAnswer) -> dict:
    """One answer of a knowledge check: right or not, and the option ids chosen (in the
    learner's order for an ordering question)."""
    slug, version = attempt.module_slug, attempt.content_version
    question_iri = (
        f"{site.module_id(slug, version)}/check/questions/{quote(answer.question_id, safe='')}"
    )
    definition = _question_definition(site, slug, version, answer.question_id)
    obj = {
        "objectType": "Activity",
        "id": question_iri,
        "definition": {"type": QUESTION_TYPE, **definition},
    }
    statement = _statement(
        site,
        f"answered:quiz_answer:{answer.id}",
        attempt.user_id,
        "answered",
        obj,
        attempt.submitted_at,
        _context(
            site,
            attempt.lang,
            [_check_activity(site, slug, version)],
            [_module_activity(site, slug, version), _course_activity(site, slug)],
        ),
    )
    statement["result"] = {
        "success": bool(answer.correct),
        "response": "[,]".join(str(i) for i in answer.chosen_sequence),
    }
    return statement


def judged(site: _Site, attempt: QuizAttempt) -> dict:
    """A knowledge check passed or failed, with its score (share right, and questions right
    out of all)."""
    slug, version = attempt.module_slug, attempt.content_version
    statement = _statement(
        site,
        f"attempt:quiz_attempt:{attempt.id}",
        attempt.user_id,
        "passed" if attempt.passed else "failed",
        _check_activity(site, slug, version),
        attempt.submitted_at,
        _context(
            site,
            attempt.lang,
            [_module_activity(site, slug, version)],
            [_course_activity(site, slug)],
        ),
    )
    score: dict = {"scaled": round(min(max(float(attempt.score), 0.0), 1.0), 4)}
    if attempt.total > 0:
        score.update(raw=attempt.correct_count, min=0, max=attempt.total)
    statement["result"] = {"score": score, "success": bool(attempt.passed), "completion": True}
    return statement


def completed(site: _Site, progress: ModuleProgress) -> dict:
    """A module completed, against the version it was completed on."""
    slug = progress.module_slug
    version = progress.completed_version or _current_version(site, slug)
    statement = _statement(
        site,
        f"completed:module_progress:{progress.id}",
        progress.user_id,
        "completed",
        _module_activity(site, slug, version),
        progress.completed_at,
        _context(site, site.lang_of_version(slug, version), [], [_course_activity(site, slug)]),
    )
    statement["result"] = {"completion": True}
    return statement


def _current_version(site: _Site, slug: str) -> str:
    module = site.library.module(slug)
    return module.version if module is not None else "unknown"


# --- the span of an export --------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """Days ``first``..``last`` (both included, in the program's zone) as the UTC span
    ``[start, end)``."""

    first: date
    last: date
    start: datetime
    end: datetime


def parse_range(start_text: str | None, end_text: str | None) -> Span:
    """``from`` and ``to`` (YYYY-MM-DD, both days included, in the program's time zone); a
    ``Problem`` that says what to change otherwise."""
    days = []
    for text in (start_text, end_text):
        text = (text or "").strip()
        if not text:
            raise Problem(_l("Choose both a first and a last day, written as YYYY-MM-DD."))
        try:
            day = date.fromisoformat(text) if len(text) == 10 else None
        except ValueError:
            day = None
        if day is None or not 1900 <= day.year <= 2099:
            raise Problem(_l("Write each day as YYYY-MM-DD, for example 2026-01-31."))
        days.append(day)
    first, last = days
    if last < first:
        raise Problem(_l("The last day comes before the first day. Swap them and try again."))
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise Problem(
            _l(
                "Choose at most %(days)d days at a time, then export the rest separately.",
                days=MAX_RANGE_DAYS,
            )
        )
    zone = program_zone()
    start = datetime.combine(first, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return Span(first, last, start, end)


# --- reading history ---------------------------------------------------------------------


def _first_versions(user_ids: list[int]) -> dict[tuple[int, str], str]:
    """The version each learner's first event in each module recorded (the first section read
    or check tried, whichever came first): what *launched* is about. Two queries."""
    found: dict[tuple[int, str], tuple[datetime, str]] = {}
    for model, at in ((SectionRead, SectionRead.read_at), (QuizAttempt, QuizAttempt.submitted_at)):
        ranked = (
            select(
                model.user_id,
                model.module_slug,
                at.label("at"),
                model.content_version,
                func.row_number()
                .over(partition_by=(model.user_id, model.module_slug), order_by=(at, model.id))
                .label("n"),
            )
            .where(model.user_id.in_(user_ids))
            .subquery()
        )
        rows = db.session.execute(
            select(
                ranked.c.user_id, ranked.c.module_slug, ranked.c.at, ranked.c.content_version
            ).where(ranked.c.n == 1)
        )
        for user_id, slug, when, version in rows:
            when = clock.aware(when)
            key = (user_id, slug)
            if key not in found or when < found[key][0]:
                found[key] = (when, version)
    return {key: version for key, (_, version) in found.items()}


def _launch_version(
    site: _Site, progress: ModuleProgress, first: dict[tuple[int, str], str]
) -> str:
    return (
        first.get((progress.user_id, progress.module_slug))
        or progress.completed_version
        or _current_version(site, progress.module_slug)
    )


def _in(column, start: datetime | None, end: datetime | None):
    clauses = []
    if start is not None:
        clauses.append(column >= start)
    if end is not None:
        clauses.append(column < end)
    return clauses


def statements_for(
    user_ids: Collection[int], start: datetime | None = None, end: datetime | None = None
) -> list[dict]:
    """Every statement of these learners whose event happened in ``[start, end)`` (UTC; None:
    no bound), oldest first, each validated. Six queries, whatever the number of learners."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    site = _Site.current()
    progress_rows = db.session.scalars(
        select(ModuleProgress).where(
            ModuleProgress.user_id.in_(ids),
            or_(
                *(
                    _and(_in(ModuleProgress.started_at, start, end)),
                    _and(
                        [
                            ModuleProgress.completed_at.is_not(None),
                            *_in(ModuleProgress.completed_at, start, end),
                        ]
                    ),
                )
            ),
        )
    ).all()
    reads = db.session.scalars(
        select(SectionRead).where(
            SectionRead.user_id.in_(ids), *_in(SectionRead.read_at, start, end)
        )
    ).all()
    attempts = db.session.scalars(
        select(QuizAttempt)
        .where(QuizAttempt.user_id.in_(ids), *_in(QuizAttempt.submitted_at, start, end))
        .options(selectinload(QuizAttempt.answers))
    ).all()
    first = _first_versions(ids) if progress_rows else {}
    built: list[dict] = []
    for progress in progress_rows:
        if _within(progress.started_at, start, end):
            built.append(launched(site, progress, _launch_version(site, progress, first)))
        if progress.completed_at is not None and _within(progress.completed_at, start, end):
            built.append(completed(site, progress))
    built.extend(experienced(site, read) for read in reads)
    for attempt in attempts:
        built.extend(answered(site, attempt, answer) for answer in attempt.answers)
        built.append(judged(site, attempt))
    built.sort(key=order_key)
    return [check(statement) for statement in built]


_VERB_ORDER = {verb["id"]: n for n, verb in enumerate(VERBS.values())}


def order_key(statement: dict) -> tuple:
    """Oldest first; at the same instant, in the order things happen (launched first)."""
    return (statement["timestamp"], _VERB_ORDER[statement["verb"]["id"]], statement["id"])


def learners_with_history() -> list[int]:
    """Everyone who has started a module (whose events make statements)."""
    return list(
        db.session.scalars(
            select(ModuleProgress.user_id).distinct().order_by(ModuleProgress.user_id)
        )
    )


def _and(clauses: list):
    return and_(*clauses) if clauses else true()


def _within(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    at = clock.aware(at)
    return (start is None or at >= start) and (end is None or at < end)


def caseload_learners(user: User) -> list[int]:
    """The learners of every patient on this staff member's caseload (``access.caseload``):
    the patient's own login and each family member not removed — the SQL twin of
    ``insight.learner_of``, the learner drill-down's rule."""
    patients = access.caseload(user).with_only_columns(Patient.id).scalar_subquery()
    own = select(Patient.user_id).where(Patient.id.in_(patients), Patient.user_id.is_not(None))
    family = select(FamilyLink.user_id).where(
        FamilyLink.patient_id.in_(patients),
        FamilyLink.user_id.is_not(None),
        FamilyLink.state != LinkState.REMOVED,
    )
    return sorted(set(db.session.scalars(own.union(family))))


# --- the outbox --------------------------------------------------------------------------


def _enabled() -> bool:
    return bool(current_app.config.get("XAPI_LRS_URL"))


def enqueue(statements: Iterable[dict]) -> int:
    """Record statements for the LRS in the caller's transaction, each once: a statement id
    already in the outbox is left as it is. Each is validated first; an invalid one is
    refused (``InvalidStatement``). Returns how many were new."""
    new = 0
    for statement in statements:
        check(statement)
        values = {
            "statement_id": statement["id"],
            "statement": json.dumps(statement, separators=(",", ":"), sort_keys=True),
            "created_at": clock.utcnow(),
            "attempts": 0,
        }
        dialect = db.session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:  # pragma: no cover -- other databases: a savepoint
            try:
                with db.session.begin_nested():
                    db.session.add(XapiOutbox(**values))
                new += 1
            except IntegrityError:
                pass
            continue
        inserted = db.session.execute(
            insert(XapiOutbox)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["statement_id"])
            .returning(XapiOutbox.id)
        ).scalar()
        new += inserted is not None
    return new


def _record(build) -> None:
    """Record the statements ``build(site)`` makes, when an LRS is configured. A statement
    that fails validation is a fault of this module, never the learner's: it is logged (its
    problems, not its content) and the learning event is kept."""
    if not _enabled():
        return
    site = _Site.current()
    statements = build(site)
    try:
        enqueue(statements)
    except InvalidStatement as exc:
        logger.error("xapi: statement not recorded: %s", exc)


def record_started(progress: ModuleProgress, version: str) -> None:
    """A learner's first event in a module: *launched*. ``version`` is the one that event
    records."""
    _record(lambda site: [launched(site, progress, version)])


def record_section_read(read: SectionRead) -> None:
    _record(lambda site: [experienced(site, read)])


def record_attempt(attempt: QuizAttempt) -> None:
    _record(
        lambda site: [
            *(answered(site, attempt, answer) for answer in attempt.answers),
            judged(site, attempt),
        ]
    )


def record_completed(progress: ModuleProgress) -> None:
    _record(lambda site: [completed(site, progress)])


def enqueue_history(since: datetime | None) -> int:
    """Fill the outbox with every statement of events since ``since`` (an LRS configured
    after learning began); what is already there is kept. Returns how many were new."""
    user_ids = learners_with_history()
    new = 0
    for offset in range(0, len(user_ids), 200):
        new += enqueue(statements_for(user_ids[offset : offset + 200], since, None))
    return new
