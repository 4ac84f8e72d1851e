"""The audit log as admins read it: filters, pages and the CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, select

from lms import audit, clock
from lms.csvutil import csv_cell
from lms.extensions import db
from lms.models import (
    AuditEvent,
    User,
)

AUDIT_PAGE_SIZE = 50


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
    audit.record("audit.view", actor=actor, detail=f"page={pagination.page} {filters.describe()}")
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
    return out.getvalue()
