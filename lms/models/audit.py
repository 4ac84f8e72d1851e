"""The append-only audit trail.

Rows are only ever inserted: the ORM refuses updates and deletes, and a database trigger
(created with the table, on SQLite and PostgreSQL) refuses them below the ORM too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, ForeignKey, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from lms import clock
from lms.extensions import db
from lms.models.base import UTCDateTime


class AuditEvent(db.Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    # The patient a staff action concerns, so the log can be filtered per patient.
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="success")
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(500))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.action} {self.outcome}>"


class AuditImmutableError(RuntimeError):
    pass


@event.listens_for(AuditEvent, "before_update")
def _no_update(mapper, connection, target):  # noqa: ANN001, ANN202
    raise AuditImmutableError("audit events cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _no_delete(mapper, connection, target):  # noqa: ANN001, ANN202
    raise AuditImmutableError("audit events cannot be deleted")


SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
)
POSTGRES_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
)


def append_only_statements(dialect_name: str) -> tuple[str, ...]:
    """The trigger DDL for a dialect; shared by ``create_all`` and the migration."""
    if dialect_name == "sqlite":
        return SQLITE_TRIGGERS
    if dialect_name == "postgresql":
        return POSTGRES_TRIGGERS
    return ()


for _dialect, _statements in (("sqlite", SQLITE_TRIGGERS), ("postgresql", POSTGRES_TRIGGERS)):
    for _sql in _statements:
        event.listen(AuditEvent.__table__, "after_create", DDL(_sql).execute_if(dialect=_dialect))
