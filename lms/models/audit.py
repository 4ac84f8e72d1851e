"""The append-only, hash-chained audit trail.

Rows are only ever inserted: the ORM refuses updates and deletes, and database triggers
(created with the tables, on SQLite and PostgreSQL) refuse them below the ORM too, and on
PostgreSQL refuse TRUNCATE. Each row also carries its place in a hash chain (``chain_seq``,
``prev_hash``, ``row_hash``; computed in ``lms.audit.chain`` when the row is flushed), so an
edit or a removal made by someone who can bypass the triggers still shows in
``flask audit verify``. ``AuditChainHead`` is the chain's end: one row, written first by every
transaction that adds audit rows, which is what keeps two transactions from chaining onto the
same previous row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, CheckConstraint, ForeignKey, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from lms import clock
from lms.extensions import db
from lms.models.base import UTCDateTime

# The "previous hash" of the first row: there is no row before it.
GENESIS_HASH = "0" * 64


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
    # The hash chain: 1, 2, 3… with no gaps; the previous row's hash; this row's hash.
    chain_seq: Mapped[int] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.action} {self.outcome}>"


class AuditChainHead(db.Model):
    """The last link of the audit chain (always exactly one row, id 1).

    Removing rows from the end of the chain leaves this row ahead of the table, which is how
    ``audit verify`` notices it.
    """

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditImmutableError(RuntimeError):
    pass


@event.listens_for(AuditEvent, "before_update")
def _no_update(mapper, connection, target):
    raise AuditImmutableError("audit events cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _no_delete(mapper, connection, target):
    raise AuditImmutableError("audit events cannot be deleted")


# The row a new, empty chain starts from; tables made by ``create_all`` get it at once.
_INSERT_HEAD = "INSERT INTO audit_chain_head (id, last_seq, last_hash) VALUES "
HEAD_ROW_SQL = _INSERT_HEAD + f"(1, 0, '{GENESIS_HASH}')"

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

# Added with the hash chain (migration 0005). SQLite has no TRUNCATE: its DELETE trigger
# covers an unqualified DELETE too. The head row is updated in place, never removed.
POSTGRES_NO_TRUNCATE = (
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
)
SQLITE_HEAD_TRIGGERS = (
    "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head "
    "BEGIN SELECT RAISE(ABORT, 'audit_chain_head cannot be deleted from'); END",
)
POSTGRES_HEAD_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION audit_chain_head_keep() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_chain_head cannot be deleted from or truncated'; END; $$ "
    "LANGUAGE plpgsql",
    "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE OR TRUNCATE ON audit_chain_head "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_keep()",
)


def append_only_statements(dialect_name: str) -> tuple[str, ...]:
    """The append-only trigger DDL of migration 0001 (kept as it was: that migration uses it)."""
    if dialect_name == "sqlite":
        return SQLITE_TRIGGERS
    if dialect_name == "postgresql":
        return POSTGRES_TRIGGERS
    return ()


def chain_statements(dialect_name: str) -> tuple[str, ...]:
    """The triggers added with the hash chain; run after ``append_only_statements``."""
    if dialect_name == "sqlite":
        return SQLITE_HEAD_TRIGGERS
    if dialect_name == "postgresql":
        return POSTGRES_NO_TRUNCATE + POSTGRES_HEAD_TRIGGERS
    return ()


# ``create_all`` (tests, first start) gets the same triggers and the head row. Each table's
# statements hang on that table's own creation, because the two tables carry no foreign key
# between them and so may be created in either order.
for _dialect, _statements in (
    ("sqlite", SQLITE_TRIGGERS),
    ("postgresql", POSTGRES_TRIGGERS + POSTGRES_NO_TRUNCATE),
):
    for _sql in _statements:
        event.listen(AuditEvent.__table__, "after_create", DDL(_sql).execute_if(dialect=_dialect))

event.listen(AuditChainHead.__table__, "after_create", DDL(HEAD_ROW_SQL))
for _dialect, _statements in (
    ("sqlite", SQLITE_HEAD_TRIGGERS),
    ("postgresql", POSTGRES_HEAD_TRIGGERS),
):
    for _sql in _statements:
        event.listen(
            AuditChainHead.__table__, "after_create", DDL(_sql).execute_if(dialect=_dialect)
        )
