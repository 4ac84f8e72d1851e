"""Admin actions. Each validates, writes, audits and commits; views stay thin.

Refusals are raised as ``AdminError`` (or ``FieldErrors`` for a form) carrying a message a
person can act on; nothing is written when one is raised.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lms import access, audit, clock, submissions
from lms.auth import services as auth_services
from lms.csvutil import csv_cell
from lms.extensions import db
from lms.models import (
    AuditEvent,
    CareTeamMember,
    EmergencyAccess,
    Patient,
    PatientStatus,
    Role,
    User,
    normalize_email,
)
from lms.passwords import password_problems

STAFF_ROLES = (Role.ADMIN.value, Role.CLINICIAN.value)
AUDIT_PAGE_SIZE = 50


class AdminError(ValueError):
    """A refusal with a message a person can act on (already translated)."""


class FieldErrors(ValueError):
    """Refusals that belong beside form fields: ``{field name: [messages]}``."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for msgs in errors.values() for m in msgs))
        self.errors = errors


# --- staff accounts ------------------------------------------------------------------------


def staff_accounts() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role.in_(STAFF_ROLES))
            .order_by(User.role, func.lower(User.display_name), User.id)
        )
    )


def staff_member(user_id: int) -> User | None:
    """An admin or clinician account, or None (the view turns that into a 404)."""
    user = db.session.get(User, user_id)
    if user is None or user.role not in STAFF_ROLES:
        return None
    return user


def create_staff(
    actor: User,
    *,
    email: str,
    display_name: str,
    role: str,
    password: str,
    submit_token: str | None = None,
) -> User:
    """Create a clinician or admin account. The same form sent twice at once creates one
    account and both get it (``lms.submissions``); the email is unique case-insensitively,
    so another form with the same email is refused with a message."""
    once = submissions.claim(actor, submit_token, "staff.create")
    if once.earlier and (earlier := db.session.get(User, once.result or 0)) is not None:
        return earlier
    try:
        user = _create_staff(
            actor, email=email, display_name=display_name, role=role, password=password
        )
    except FieldErrors:
        db.session.rollback()  # frees the claim: a resend with the mistake fixed goes through
        raise
    submissions.finish(once, user.id)
    db.session.commit()
    return user


def _create_staff(actor: User, *, email: str, display_name: str, role: str, password: str) -> User:
    email = normalize_email(email)
    if role not in STAFF_ROLES:
        raise FieldErrors({"role": [_("Choose clinician or administrator.")]})
    taken = _("An account with this email already exists.")
    if db.session.scalars(User.by_email(email)).first() is not None:
        raise FieldErrors({"email": [taken]})
    problems = password_problems(
        password, email=email, program_name=current_app.config["PROGRAM_NAME"]
    )
    if problems:
        raise FieldErrors({"password": problems})
    try:
        with db.session.begin_nested():
            user = auth_services.create_user(
                email=email, display_name=display_name, role=role, password=password, actor=actor
            )
    except IntegrityError:
        # Another form with this email at the same moment: the unique index lets one through.
        raise FieldErrors({"email": [taken]}) from None
    return user


def set_staff_active(actor: User, user: User, active: bool) -> bool:
    """Deactivate (ending every session of that user at once) or reactivate an account.

    Returns False when the account was already in that state (a double click): nothing is
    written then.
    """
    if user.id == actor.id and not active:
        raise AdminError(
            _("You can't deactivate your own account. Ask another administrator to do it.")
        )
    if bool(user.active) == active:
        return False
    auth_services.set_active(user, active, actor=actor)
    db.session.commit()
    return True


# --- care teams ----------------------------------------------------------------------------


def clinicians(*, active_only: bool) -> list[User]:
    query = select(User).where(User.role == Role.CLINICIAN)
    if active_only:
        query = query.where(User.active.is_(True))
    return list(db.session.scalars(query.order_by(func.lower(User.display_name), User.id)))


def patients_with_care_teams(status: str) -> list[Patient]:
    query = select(Patient).options(
        selectinload(Patient.care_team).selectinload(CareTeamMember.clinician)
    )
    if status in (PatientStatus.ACTIVE, PatientStatus.DISCHARGED):
        query = query.where(Patient.status == status)
    return list(db.session.scalars(query.order_by(func.lower(Patient.display_name), Patient.id)))


def _active_clinician(clinician_id: int | None) -> User:
    user = db.session.get(User, clinician_id) if clinician_id else None
    if user is None or user.role != Role.CLINICIAN or not user.active:
        raise AdminError(_("Choose an active clinician."))
    return user


def _lock_patient(patient: Patient) -> None:
    """Serialize care-team changes to one patient (PostgreSQL; SQLite has one writer)."""
    db.session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())


def _team_ids(patient_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(CareTeamMember.clinician_id).where(CareTeamMember.patient_id == patient_id)
        )
    )


def add_to_care_team(actor: User, patient: Patient, clinician_id: int | None) -> bool:
    """Add an active clinician. Returns False if they were already on the team."""
    clinician = _active_clinician(clinician_id)
    _lock_patient(patient)
    if clinician.id in _team_ids(patient.id):
        return False
    db.session.add(CareTeamMember(patient_id=patient.id, clinician_id=clinician.id))
    audit.record(
        "care_team.added",
        actor=actor,
        subject=patient,
        patient_id=patient.id,
        detail=f"clinician={clinician.id}",
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # added by someone else at the same moment
        return False
    return True


def remove_from_care_team(actor: User, patient: Patient, clinician_id: int | None) -> None:
    """Take a clinician (active or not) off a care team; never the last one of an active
    patient, who would then have nobody."""
    _lock_patient(patient)
    member = db.session.scalars(
        select(CareTeamMember).where(
            CareTeamMember.patient_id == patient.id, CareTeamMember.clinician_id == clinician_id
        )
    ).first()
    if member is None:
        raise AdminError(_("That clinician is not on this patient's care team."))
    if patient.is_active and len(_team_ids(patient.id)) <= 1:
        raise AdminError(
            _(
                "%(name)s is the only clinician on this active patient's care team. "
                "Add another clinician first.",
                name=member.clinician.display_name,
            )
        )
    db.session.delete(member)
    audit.record(
        "care_team.removed",
        actor=actor,
        subject=patient,
        patient_id=patient.id,
        detail=f"clinician={member.clinician_id}",
    )
    db.session.commit()


def move_caseload(actor: User, from_id: int | None, to_id: int | None) -> int:
    """Every patient of clinician A goes to clinician B: B is added where missing, A is
    removed. Returns how many patients moved. All or nothing."""
    source = db.session.get(User, from_id) if from_id else None
    if source is None or source.role != Role.CLINICIAN:
        raise AdminError(_("Choose the clinician whose patients should move."))
    target = _active_clinician(to_id)
    if source.id == target.id:
        raise AdminError(_("Choose two different clinicians."))
    members = list(
        db.session.scalars(
            select(CareTeamMember)
            .where(CareTeamMember.clinician_id == source.id)
            .order_by(CareTeamMember.patient_id)
            .with_for_update()
        )
    )
    for member in members:
        patient_id = member.patient_id
        if target.id not in _team_ids(patient_id):
            db.session.add(CareTeamMember(patient_id=patient_id, clinician_id=target.id))
            audit.record(
                "care_team.added",
                actor=actor,
                subject=member.patient,
                patient_id=patient_id,
                detail=f"clinician={target.id}",
            )
        db.session.delete(member)
        audit.record(
            "care_team.removed",
            actor=actor,
            subject=member.patient,
            patient_id=patient_id,
            detail=f"clinician={source.id}",
        )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AdminError(
            _("Another change to these care teams happened at the same moment. Try again.")
        ) from None
    return len(members)


# --- emergency (break-glass) access ---------------------------------------------------------


def open_emergency_access(
    actor: User, patient: Patient, *, reason: str, minutes: int
) -> EmergencyAccess:
    """Open one patient's records to this administrator, outside every care team, for a
    limited time; the reason goes into the audit log (HIPAA 164.312(a)(2)(ii)). An open grant
    for the same patient is extended rather than duplicated (a double click)."""
    if not actor.is_admin:
        raise AdminError(_("Only administrators can use emergency access."))
    reason = " ".join((reason or "").split())
    if len(reason) < 20:
        raise FieldErrors({"reason": [_("Write the reason in 20 to 400 characters.")]})
    now = clock.utcnow()
    expires = now + timedelta(minutes=minutes)
    grant = access.emergency_grant(actor, patient.id)
    if grant is None:
        grant = EmergencyAccess(
            user_id=actor.id, patient_id=patient.id, reason=reason[:400], expires_at=expires
        )
        db.session.add(grant)
    else:
        grant.expires_at = max(grant.expires_at, expires)
    db.session.flush()
    audit.record(
        "emergency_access.opened",
        actor=actor,
        subject=grant,
        patient_id=patient.id,
        detail=f"{minutes} min; reason: {reason[:400]}",
    )
    db.session.commit()
    return grant


def end_emergency_access(actor: User, grant: EmergencyAccess) -> bool:
    if grant.user_id != actor.id or not grant.is_open():
        return False
    grant.ended_at = clock.utcnow()
    audit.record("emergency_access.ended", actor=actor, subject=grant, patient_id=grant.patient_id)
    db.session.commit()
    return True


def recent_emergency_access(days: int = 30) -> list[EmergencyAccess]:
    """Every grant of the last ``days`` days, newest first, for the admin overview."""
    since = clock.utcnow() - timedelta(days=days)
    return list(
        db.session.scalars(
            select(EmergencyAccess)
            .where(EmergencyAccess.opened_at >= since)
            .options(selectinload(EmergencyAccess.user), selectinload(EmergencyAccess.patient))
            .order_by(EmergencyAccess.opened_at.desc())
        )
    )


# --- audit log -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    user_id: int | None = None
    patient_id: int | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def describe(self) -> str:
        """For the audit row of a view or export: ids and dates only."""
        parts = [f"{k}={v}" for k, v in self.__dict__.items() if v not in (None, "")]
        return " ".join(parts) or "all"


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.UTC)


def audit_query(filters: AuditFilters) -> Select:
    query = select(AuditEvent)
    if filters.user_id is not None:
        query = query.where(AuditEvent.actor_id == filters.user_id)
    if filters.patient_id is not None:
        query = query.where(AuditEvent.patient_id == filters.patient_id)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.date_from is not None:
        query = query.where(AuditEvent.at >= _day_start(filters.date_from))
    if filters.date_to is not None:
        query = query.where(AuditEvent.at < _day_start(filters.date_to + timedelta(days=1)))
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def audit_actions() -> list[str]:
    return list(
        db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )


def all_users() -> list[User]:
    return list(
        db.session.scalars(select(User).order_by(User.role, func.lower(User.display_name), User.id))
    )


@dataclass
class AuditPage:
    pagination: object  # flask_sqlalchemy.pagination.Pagination
    events: list[AuditEvent]
    users: dict[int, User]


def audit_page(actor: User, filters: AuditFilters, page: int, users: list[User]) -> AuditPage:
    """One page of the log, newest first, in a fixed number of queries; the viewing is
    itself audited. ``users`` (every account, loaded once for the filter) names the actors."""
    pagination = db.paginate(
        audit_query(filters), page=page, per_page=AUDIT_PAGE_SIZE, error_out=False, count=True
    )
    events = list(pagination.items)
    # Keep what was loaded: the commit below must not expire it into one query per row.
    for obj in (*events, *users):
        if obj in db.session and obj is not actor:
            db.session.expunge(obj)
    audit.record("audit.view", actor=actor, detail=f"page={pagination.page} {filters.describe()}")
    db.session.commit()
    return AuditPage(pagination=pagination, events=events, users={u.id: u for u in users})


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
)


_cell = csv_cell


def audit_csv(actor: User, filters: AuditFilters) -> str:
    """Every event that matches the filters, newest first, as CSV; the export is audited."""
    rows = db.session.execute(
        audit_query(filters)
        .add_columns(User.email, User.display_name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for event, email, name in rows:
        writer.writerow(
            [
                _cell(event.at.strftime("%Y-%m-%d %H:%M:%S")),
                _cell(event.actor_id),
                _cell(email),
                _cell(name),
                _cell(event.action),
                _cell(event.subject_type),
                _cell(event.subject_id),
                _cell(event.patient_id),
                _cell(event.outcome),
                _cell(event.ip),
                _cell(event.detail),
            ]
        )
    audit.record("audit.export", actor=actor, detail=f"rows={len(rows)} {filters.describe()}")
    db.session.commit()
    return out.getvalue()
