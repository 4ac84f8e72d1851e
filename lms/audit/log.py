"""The audit log as admins read it: filters, pages, words for actions, local times, the CSV.

Rows are stored in UTC with a dotted action name (``patient.view``). People read them in the
program's time zone (``PROGRAM_TIMEZONE``) and in words (``ACTION_LABELS``); the CSV keeps the
raw values beside the readable ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import Select, String, cast, column, func, or_, select, text, values

from lms import audit
from lms.config import program_timezone
from lms.csvutil import copy_chunks, csv_chunks, sql_cell
from lms.extensions import db
from lms.models import AuditEvent, Patient, User
from lms.models.audit import AuditChainHead
from lms.problems import FieldProblems

AUDIT_PAGE_SIZE = 50
# A typed name that matches more people or patients than this asks for more of the name:
# the matches travel as ids in the address, and a filter that broad filters nothing.
MAX_NAME_MATCHES = 20

# Every action the code records, in words an administrator reads at a glance (the actor is
# the "Who" beside it). ``tests/test_audit_page.py`` scans lms/ and fails when an action has
# no words here. Actions no longer written (older rows) keep theirs.
ACTION_LABELS = {
    # Signing in and accounts
    "login.success": _l("Signed in"),
    "login.failure": _l("Sign-in failed"),
    "login.password_ok": _l("Entered the right password (a code was still needed)"),
    "login.locked": _l("Sign-in blocked after too many tries"),
    "logout": _l("Signed out"),
    "mfa.failure": _l("Entered a wrong sign-in code"),
    "mfa.setup_failed": _l("Two-step sign-in setup failed (wrong code)"),
    "mfa.enabled": _l("Turned on two-step sign-in"),
    "mfa.disabled": _l("Turned off two-step sign-in"),
    "mfa.reset": _l("Reset someone's two-step sign-in"),
    "mfa.recovery_codes_renewed": _l("Made new recovery codes"),
    "reauth.success": _l("Confirmed it was them (password again)"),
    "reauth.failure": _l("Failed to confirm it was them"),
    "account.created": _l("Created an account"),
    "account.deactivated": _l("Deactivated an account"),
    "account.reactivated": _l("Reactivated an account"),
    "account.lockout": _l("Account locked after failed sign-ins"),
    "account.password_changed": _l("Changed a password"),
    "account.password_change_failed": _l("Password change refused (wrong current password)"),
    "account.preferences_changed": _l("Changed their account settings"),
    "practice_note.shared": _l("Shared a private note with the care team"),
    "practice_note.unshared": _l("Stopped sharing a private note"),
    "account.reminders_on": _l("Turned reminder emails on"),
    "account.reminders_off": _l("Turned reminder emails off"),
    "account.email_change_requested": _l("Asked to change their sign-in email"),
    "account.email_changed": _l("Changed their sign-in email"),
    "password.reset_requested": _l("Asked for a password reset email"),
    "password.reset": _l("Set a new password from an emailed link"),
    # Patients, families and care teams
    "patient.enrolled": _l("Enrolled a patient"),
    "patient.view": _l("Viewed a patient's page"),
    "patient.discharged": _l("Discharged a patient"),
    "patient.readmitted": _l("Readmitted a patient"),
    "patient.denied": _l("Was refused a patient's records"),
    "access.denied": _l("Was refused a record"),
    "family.added": _l("Added a family member"),
    "learner.view": _l("Viewed a learner's progress"),
    "care_team.added": _l("Added a clinician to a care team"),
    "care_team.removed": _l("Removed a clinician from a care team"),
    "discharge.form_view": _l("Opened the discharge form"),
    "readmit.form_view": _l("Opened the readmission form"),
    "patient.edited": _l("Corrected a patient's details"),
    "patient_edit.form_view": _l("Opened the edit-patient form"),
    "patient.voided": _l("Voided a duplicate enrolment"),
    "void.form_view": _l("Opened the void-enrolment form"),
    "family.edited": _l("Corrected a family member's details"),
    "family_edit.form_view": _l("Opened the edit-family-member form"),
    "consent.entered_in_error": _l("Marked a consent as entered in error"),
    "consent_error.form_view": _l("Opened the entered-in-error form"),
    "followup.recorded": _l("Recorded contact with a family member"),
    "followup.form_view": _l("Opened the contact form"),
    "path.cancelled": _l("Cancelled a path of readings"),
    "path.restored": _l("Restored a path of readings"),
    "path_cancel.form_view": _l("Opened the cancel-path page"),
    "staff.deactivate_form_view": _l("Opened the deactivation page of a staff account"),
    "caseload.move_preview_view": _l("Previewed moving a caseload"),
    "caseload.move_view": _l("Opened a caseload move"),
    "caseload.moved": _l("Moved a caseload"),
    "caseload.move_undone": _l("Moved a caseload back"),
    "caseload.cover_form_view": _l("Opened the cover-for-a-colleague form"),
    "caseload.cover_preview_view": _l("Previewed a cover for a colleague"),
    "care_team.cover_added": _l("Added a clinician to a care team to cover for a colleague"),
    "care_team.cover_ended": _l("Ended a colleague's cover early"),
    # Consent (42 CFR Part 2)
    "consent.form_view": _l("Opened the consent form"),
    "consent.recorded": _l("Recorded a consent"),
    "consent.superseded": _l("Replaced an earlier consent"),
    "consent.revoked": _l("Recorded a consent withdrawal"),
    "consent.expired": _l("A consent expired"),
    "consent.ended": _l("Ended a consent at discharge"),
    "consent.print": _l("Printed a consent"),
    "withdrawal.form_view": _l("Opened the consent withdrawal form"),
    # Invitations
    "invite.form_view": _l("Opened the invitation form"),
    "invite.sent": _l("Sent an invitation"),
    "invite.accepted": _l("Accepted an invitation"),
    "invitation.view": _l("Viewed an invitation"),
    # Readings
    "assignment.form_view": _l("Opened the assign-readings form"),
    "assignment.created": _l("Assigned a reading"),
    "cancel.form_view": _l("Opened the cancel-assignment form"),
    "assignment.cancelled": _l("Cancelled an assignment"),
    "assignment.restored": _l("Restored a cancelled reading"),
    "goal.form_view": _l("Opened the set-a-goal form"),
    "goal.set": _l("Set a learning goal"),
    "goal.cancelled": _l("Cancelled a learning goal"),
    # Education sessions
    "sessions.view": _l("Viewed the education sessions"),
    "session.form_view": _l("Opened the log-a-session form"),
    "session.logged": _l("Logged an education session"),
    "session.view": _l("Viewed an education session"),
    "attendance.recorded": _l("Recorded attendance"),
    "session_edit.form_view": _l("Opened the edit-a-session form"),
    "session.edited": _l("Edited an education session"),
    "attendance.changed": _l("Changed attendance"),
    "session_void.form_view": _l("Opened the void-a-session form"),
    "session.voided": _l("Voided an education session"),
    # Dashboards and reports
    "caseload.view": _l("Viewed their caseload"),
    "items.view": _l("Viewed question analysis"),
    "report.view": _l("Viewed a report"),
    "report.export": _l("Downloaded a report (CSV)"),
    "fhir.export": _l("Downloaded records for the health record (FHIR)"),
    "xapi.export": _l("Downloaded learning records (xAPI)"),
    # Family members' own actions
    "wellbeing.checkin": _l("Answered or set aside a wellbeing check-in"),
    "report.program_view": _l("Viewed the program report"),
    # Administration
    "admin.overview.view": _l("Viewed the admin overview"),
    "admin.caseloads.view": _l("Viewed care teams (admin)"),
    "emergency_access.form_view": _l("Opened the emergency access form"),
    "emergency_access.opened": _l("Opened emergency access to a patient"),
    "emergency_access.ended": _l("Ended emergency access"),
    "api_token.created": _l("Made an API access token"),
    "api_token.revoked": _l("Revoked an API access token"),
    "api.call": _l("Read data through the API"),
    "roster.previewed": _l("Uploaded a patient roster (preview)"),
    "roster.view": _l("Viewed a patient roster import"),
    "roster.applied": _l("Applied a patient roster"),
    "audit.view": _l("Viewed the audit log"),
    "audit.export": _l("Downloaded the audit log (CSV)"),
}

OUTCOME_LABELS = {
    "success": _l("Done"),
    "failure": _l("Failed"),
    "denied": _l("Refused"),
}

SUBJECT_LABELS = {
    "user": _l("Account"),
    "patient": _l("Patient"),
    "family_link": _l("Family member"),
    "consent": _l("Consent"),
    "invitation": _l("Invitation"),
    "assignment": _l("Assignment"),
    "education_session": _l("Education session"),
    "emergency_access": _l("Emergency access"),
    "practice_note": _l("Private note"),
    "api_token": _l("API access token"),
    "learning_goal": _l("Learning goal"),
    "wellbeing_check": _l("Wellbeing check-in"),
    "roster_import": _l("Roster import"),
}


def action_label(action: str) -> str:
    """The words for an action; an action without words shows its raw name."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def outcome_label(outcome: str) -> str:
    label = OUTCOME_LABELS.get(outcome)
    return str(label) if label is not None else outcome


def subject_label(subject_type: str | None, subject_id: int | None) -> str | None:
    if not subject_type:
        return None
    label = SUBJECT_LABELS.get(subject_type)
    words = str(label) if label is not None else subject_type
    return f"{words} {subject_id}" if subject_id is not None else words


# --- time ----------------------------------------------------------------------------------


def program_zone() -> ZoneInfo:
    """``PROGRAM_TIMEZONE`` (checked when the app starts)."""
    return program_timezone(current_app.config["PROGRAM_TIMEZONE"])


def _locale() -> str:
    return str((get_locale() if has_request_context() else None) or "en")


def local_time_text(at: datetime, zone: ZoneInfo, locale: str = "en") -> str:
    """A stored UTC time as people in the program read it: "Nov 27, 2026, 9:14 AM EST"."""
    local = at.astimezone(zone)
    return f"{format_datetime(local, 'MMM d, y, h:mm a', locale=locale)} {local.tzname()}"


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of ``day`` in the program's zone, in UTC: filters mean the program's days."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


# --- filters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    """What the log is narrowed to. People and patients are ids only: names are resolved to
    ids once (``ids_for_names``) and never travel in an address."""

    actor_ids: tuple[int, ...] = ()
    patient_ids: tuple[int, ...] = ()
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    @property
    def everything(self) -> bool:
        """Nothing narrows the log."""
        return not any(value not in (None, "", ()) for value in self.__dict__.values())

    def describe(self) -> str:
        """For the audit row of a view or export: ids and dates only."""
        parts = []
        for key, value in self.__dict__.items():
            if isinstance(value, tuple):
                value = ",".join(str(v) for v in value)
            if value not in (None, ""):
                parts.append(f"{key}={value}")
        return " ".join(parts) or "all"


def audit_query(
    filters: AuditFilters, zone: ZoneInfo | None = None, *, oldest_first: bool = False
) -> Select:
    """The events the filters keep, newest first (``oldest_first``: the same order reversed;
    ``at`` then ``id``, so the order is total and a page is the same rows either way)."""
    zone = zone or program_zone()
    query = select(AuditEvent)
    if filters.actor_ids:
        query = query.where(AuditEvent.actor_id.in_(filters.actor_ids))
    if filters.patient_ids:
        query = query.where(AuditEvent.patient_id.in_(filters.patient_ids))
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.date_from is not None:
        query = query.where(AuditEvent.at >= _day_start(filters.date_from, zone))
    if filters.date_to is not None:
        query = query.where(AuditEvent.at < _day_start(filters.date_to + timedelta(days=1), zone))
    if oldest_first:
        return query.order_by(AuditEvent.at, AuditEvent.id)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def audit_actions() -> list[tuple[str, str]]:
    """Every action in the log as (action, words), in the order of the words.

    Read as a loose index scan (each action is the smallest one after the previous, one
    probe of the action index each): a few dozen probes however long the log, where
    ``SELECT DISTINCT`` would read every row."""
    found = select(func.min(AuditEvent.action).label("action")).cte("actions", recursive=True)
    following = (
        select(func.min(AuditEvent.action))
        .where(AuditEvent.action > found.c.action)
        .scalar_subquery()
    )
    found = found.union_all(select(following).where(found.c.action.is_not(None)))
    actions = db.session.scalars(select(found.c.action).where(found.c.action.is_not(None)))
    return sorted(((a, action_label(a)) for a in actions), key=lambda pair: pair[1].casefold())


_SPACES = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def people_matching(text: str) -> Select:
    """Accounts whose name or email contains ``text``, any capitals (``ILIKE`` on PostgreSQL,
    ``lower() LIKE`` on SQLite; ``%`` and ``_`` are matched as themselves)."""
    wanted = _squash(text)
    return (
        select(User.id)
        .where(
            or_(
                User.display_name.icontains(wanted, autoescape=True),
                User.email.icontains(wanted, autoescape=True),
            )
        )
        .order_by(User.id)
    )


def patients_matching(text: str) -> Select:
    """Patients whose name or record number contains ``text``, any capitals."""
    wanted = _squash(text)
    return (
        select(Patient.id)
        .where(
            or_(
                Patient.display_name.icontains(wanted, autoescape=True),
                Patient.record_number.icontains(wanted, autoescape=True),
            )
        )
        .order_by(Patient.id)
    )


def _resolve(query: Select, field_name: str, none: str, many: str, errors: dict) -> tuple:
    ids = tuple(db.session.scalars(query.limit(MAX_NAME_MATCHES + 1)))
    if not ids:
        errors[field_name] = [none]
    elif len(ids) > MAX_NAME_MATCHES:
        errors[field_name] = [many]
    return ids


def ids_for_names(
    person: str | None, patient: str | None
) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """The ids a typed person and patient name stand for (None for a box left empty).
    Raises ``FieldProblems`` (``person``, ``patient``) when nothing, or too much, matches."""
    errors: dict[str, list] = {}
    actor_ids = patient_ids = None
    if person and _squash(person):
        actor_ids = _resolve(
            people_matching(person),
            "person",
            _l("Nobody's name or email contains that. Check the spelling, or type less of it."),
            _l(
                "More than %(n)d people match. Type more of the name or the email.",
                n=MAX_NAME_MATCHES,
            ),
            errors,
        )
    if patient and _squash(patient):
        patient_ids = _resolve(
            patients_matching(patient),
            "patient",
            _l(
                "No patient's name or record number contains that. Check the spelling, "
                "or type less of it."
            ),
            _l("More than %(n)d patients match. Type more of the name.", n=MAX_NAME_MATCHES),
            errors,
        )
    if errors:
        raise FieldProblems(errors)
    return actor_ids, patient_ids


def people_by_id(ids) -> list[User]:
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(User).where(User.id.in_(ids)).order_by(func.lower(User.display_name), User.id)
        )
    )


def patients_by_id(ids) -> list[Patient]:
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Patient)
            .where(Patient.id.in_(ids))
            .order_by(func.lower(Patient.display_name), Patient.id)
        )
    )


# --- one page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRow:
    """One event as the page shows it."""

    event: AuditEvent
    actor: User | None
    when: str
    action: str
    outcome: str
    subject: str | None

    @property
    def labelled(self) -> bool:
        """The action has words of its own (else ``action`` is the raw name)."""
        return self.event.action in ACTION_LABELS


@dataclass
class AuditPage:
    pagination: object  # flask_sqlalchemy.pagination.Pagination
    rows: list[AuditRow]
    zone: str
    # The people and patients the filter's ids stand for, to name them beside the boxes.
    people: list[User] = field(default_factory=list)
    patients: list[Patient] = field(default_factory=list)


class _AuditPagination(SelectPagination):
    """Pages of the log that cost the same at the start, the middle or the end of it.

    The whole log's size is the chain head's last seq (the seq counts rows with no gaps;
    ``audit verify`` checks that it does), so it is not counted row by row; a filtered log is
    counted. A page past the middle is read from the other end (``oldest_first``, a smaller
    offset) and turned round: the same rows, as the order is total."""

    _counted: int | None = None

    def _query_count(self) -> int:
        if self._counted is None:
            if self._query_args["filters"].everything:
                head = select(AuditChainHead.last_seq).where(AuditChainHead.id == 1)
                self._counted = self._query_args["session"].scalar(head) or 0
            else:
                self._counted = super()._query_count()
        return self._counted

    def _query_items(self) -> list:
        total = self._query_count()  # first: which end of the log is nearer
        offset = (self.page - 1) * self.per_page
        if offset >= total or offset * 2 < total:
            return super()._query_items()
        end = min(total, offset + self.per_page)
        reversed_page = (
            audit_query(self._query_args["filters"], self._query_args["zone"], oldest_first=True)
            .limit(end - offset)
            .offset(total - end)
        )
        return list(reversed(self._query_args["session"].scalars(reversed_page).all()))


def audit_page(actor: User, filters: AuditFilters, page: int) -> AuditPage:
    """One page of the log, newest first, in a fixed number of queries whatever the log's
    length or the page (``_AuditPagination``); the viewing is itself audited."""
    zone = program_zone()
    pagination = _AuditPagination(
        select=audit_query(filters, zone),
        session=db.session(),
        filters=filters,
        zone=zone,
        page=page,
        per_page=AUDIT_PAGE_SIZE,
        error_out=False,
    )
    events = list(pagination.items)
    actors = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_({e.actor_id for e in events if e.actor_id}))
        )
    }
    locale = _locale()
    rows = [
        AuditRow(
            event=e,
            actor=actors.get(e.actor_id) if e.actor_id else None,
            when=local_time_text(e.at, zone, locale),
            action=action_label(e.action),
            outcome=outcome_label(e.outcome),
            subject=subject_label(e.subject_type, e.subject_id),
        )
        for e in events
    ]
    audit.record("audit.view", actor=actor, detail=f"page={pagination.page} {filters.describe()}")
    return AuditPage(
        pagination=pagination,
        rows=rows,
        zone=zone.key,
        people=people_by_id(filters.actor_ids),
        patients=patients_by_id(filters.patient_ids),
    )


# --- the CSV -------------------------------------------------------------------------------

CSV_HEADER = (
    "time_utc",
    "actor_id",
    "actor_email",
    "actor_name",
    "action",
    "subject_type",
    "subject_id",
    "patient_id",
    "outcome",
    "ip",
    "detail",
    # Added after the columns above, so scripts that read those by position keep working.
    "time_local",
    "action_label",
)


def audit_csv(actor: User, filters: AuditFilters) -> Iterator[bytes]:
    """Every event that matches the filters, newest first, as CSV chunks to stream.

    The export is audited first (``rows=`` how many match now), in the caller's transaction;
    the rows are read lazily, as the chunks are taken (after the request has committed), up to
    the export's own row: the file holds what matched when it was asked for, never itself.
    Times: ISO 8601 in UTC, and the same moment in the program's zone with its offset. On
    PostgreSQL the database writes the rows (``csvutil.copy_chunks``), the same bytes."""
    zone = program_zone()
    query = audit_query(filters, zone)
    count = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    own = audit.record("audit.export", actor=actor, detail=f"rows={count} {filters.describe()}")
    db.session.flush()  # its id bounds what the file holds
    query = query.outerjoin(User, User.id == AuditEvent.actor_id).where(AuditEvent.id < own.id)

    def lines() -> Iterator[list[object]]:
        labels: dict[str, str] = {}
        result = db.session.execute(
            query.with_only_columns(
                AuditEvent.at,
                AuditEvent.actor_id,
                User.email,
                User.display_name,
                AuditEvent.action,
                AuditEvent.subject_type,
                AuditEvent.subject_id,
                AuditEvent.patient_id,
                AuditEvent.outcome,
                AuditEvent.ip,
                AuditEvent.detail,
            ).execution_options(yield_per=current_app.config.get("EXPORT_FETCH_ROWS", 2000))
        )
        try:
            for at, actor_id, email, name, action, *rest in result:
                at = at.astimezone(UTC)
                label = labels.get(action)
                if label is None:
                    label = labels[action] = action_label(action)
                yield [
                    at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    actor_id,
                    email,
                    name,
                    action,
                    *rest,
                    at.astimezone(zone).isoformat(timespec="seconds"),
                    label,
                ]
        finally:
            result.close()

    def written_by_postgresql() -> Iterator[bytes]:
        session = db.session()
        session.execute(text("SET LOCAL jit = off"))
        # to_char writes a time in the session's zone: the program's, for time_local
        session.execute(select(func.set_config("TimeZone", zone.key, True)))
        words = (
            values(column("action", String), column("words", String), name="action_words")
            .data([(action, str(words)) for action, words in ACTION_LABELS.items()])
            .alias("action_words")
        )
        rows = query.outerjoin(words, words.c.action == AuditEvent.action).with_only_columns(
            func.to_char(func.timezone("UTC", AuditEvent.at), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
            cast(AuditEvent.actor_id, String),
            sql_cell(User.email),
            sql_cell(User.display_name),
            sql_cell(AuditEvent.action),
            sql_cell(AuditEvent.subject_type),
            cast(AuditEvent.subject_id, String),
            cast(AuditEvent.patient_id, String),
            sql_cell(AuditEvent.outcome),
            sql_cell(AuditEvent.ip),
            sql_cell(AuditEvent.detail),
            func.to_char(AuditEvent.at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'),
            sql_cell(func.coalesce(words.c.words, AuditEvent.action)),
        )
        yield from copy_chunks(b"".join(csv_chunks(CSV_HEADER, ())), [rows])

    if db.session.get_bind().dialect.name == "postgresql":
        return written_by_postgresql()
    return csv_chunks(CSV_HEADER, lines())
