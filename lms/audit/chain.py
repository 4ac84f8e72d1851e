"""The audit trail's hash chain: linking rows as they are written, and checking the links.

Every audit row gets ``chain_seq`` (1, 2, 3… with no gaps), ``prev_hash`` (the previous row's
``row_hash``; ``GENESIS_HASH`` for the first) and ``row_hash``: SHA-256 over a canonical
serialization of ``HASHED_FIELDS``. Changing a row's contents breaks its own hash; removing a
row leaves a gap in the seq; removing rows from the end leaves ``audit_chain_head`` ahead of
the table. ``verify`` walks the chain and names the first broken link.

The links are made in a ``before_flush`` listener, so callers keep using ``lms.audit.record``
and never see the chain. Two transactions must never chain onto the same previous row, so the
listener first *writes* the one-row ``audit_chain_head`` and only then reads it: on PostgreSQL
that UPDATE holds the row lock until commit, on SQLite it takes the database write lock (the
driver only opens a transaction at the first data-changing statement, so a read first would
not be protected). A rolled-back transaction rolls the head back with its rows, which keeps
the seq gapless.

The chain proves rows were not changed or removed *after* they were written; it is not keyed,
so someone able to rewrite every later row and the head could forge a consistent chain. Keep
the last hash ``audit verify`` prints somewhere outside the database (docs/deploy.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from lms import clock
from lms.canonical import canonical_bytes, canonical_value
from lms.models.audit import GENESIS_HASH, AuditChainHead, AuditEvent

__all__ = ["GENESIS_HASH", "HASHED_FIELDS", "ChainCheck", "ChainError", "row_hash", "verify"]

# Every column that says what happened, plus the link to the previous row. ``id`` is left out:
# it is the database's own counter and is not known until the row is inserted.
HASHED_FIELDS: tuple[str, ...] = (
    "chain_seq",
    "at",
    "actor_id",
    "action",
    "subject_type",
    "subject_id",
    "patient_id",
    "outcome",
    "ip",
    "detail",
    "prev_hash",
)
_INT_FIELDS = frozenset({"chain_seq", "actor_id", "subject_id", "patient_id"})
_REQUIRED = frozenset({"chain_seq", "at", "action", "outcome", "prev_hash"})

_HEAD = AuditChainHead.__table__
_EVENTS = AuditEvent.__table__


class ChainError(RuntimeError):
    """The chain cannot be extended (its head row is missing, or a value cannot be hashed)."""


def row_hash(fields: Mapping[str, object]) -> str:
    """The hex SHA-256 of one audit row's ``HASHED_FIELDS``.

    Types are checked strictly: a value the database would store differently from how it was
    hashed (a number passed as text, a naive time) would make the row fail verification later.
    """
    document: dict[str, object] = {}
    for name in HASHED_FIELDS:
        value = fields[name]
        if value is None:
            if name in _REQUIRED:
                raise ChainError(f"audit field {name} is empty")
        elif name in _INT_FIELDS:
            if not isinstance(value, int) or isinstance(value, bool):
                raise ChainError(f"audit field {name} must be a whole number, got {value!r}")
        elif name == "at":
            if not isinstance(value, datetime):
                raise ChainError(f"audit field at must be a datetime, got {value!r}")
        elif not isinstance(value, str):
            raise ChainError(f"audit field {name} must be text, got {value!r}")
        document[name] = canonical_value(value)
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def _apply_default(event_row: AuditEvent, name: str, value: object) -> None:
    """Fill a column default now: the hash needs the value before the INSERT would set it."""
    if name not in inspect(event_row).dict:
        setattr(event_row, name, value)


@event.listens_for(Session, "before_flush")
def _link_new_audit_rows(session: Session, flush_context, instances) -> None:
    pending = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if not pending:
        return
    # The order they were added to the session: the order ``record`` was called in.
    pending.sort(key=lambda obj: inspect(obj).insert_order)
    connection = session.connection(bind_arguments={"mapper": inspect(AuditEvent)})
    # Write before reading (see the module docstring): this is the lock.
    head = connection.execute(
        update(_HEAD)
        .where(_HEAD.c.id == 1)
        .values(last_seq=_HEAD.c.last_seq)
        .returning(_HEAD.c.last_seq, _HEAD.c.last_hash)
    ).one_or_none()
    if head is None:
        raise ChainError(
            "the audit chain head (audit_chain_head, id 1) is missing; "
            "audit rows cannot be linked until it is restored"
        )
    seq, previous = head
    for row in pending:
        _apply_default(row, "at", clock.utcnow())
        _apply_default(row, "outcome", "success")
        seq += 1
        row.chain_seq = seq
        row.prev_hash = previous
        row.row_hash = previous = row_hash({name: getattr(row, name) for name in HASHED_FIELDS})
    connection.execute(
        update(_HEAD).where(_HEAD.c.id == 1).values(last_seq=seq, last_hash=previous)
    )


@dataclass(frozen=True)
class ChainCheck:
    """What ``verify`` found: the rows checked and the last hash, or the first broken link."""

    rows: int
    last_hash: str
    problem: str | None = None
    row_id: int | None = None
    seq: int | None = None
    # True when the problem is what follows the named row (rows removed at the end).
    after_row: bool = False

    @property
    def intact(self) -> bool:
        return self.problem is None

    def message(self) -> str:
        if self.intact:
            return f"Audit trail intact: {self.rows} rows, last hash {self.last_hash}"
        where = "at the chain head"
        if self.row_id is not None:
            where = f"{'after' if self.after_row else 'at'} row id {self.row_id} (seq {self.seq})"
        return f"Audit trail BROKEN {where}: {self.problem}"


def _read_head(session: Session):
    return session.execute(
        select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == 1)
    ).one_or_none()


def verify(session: Session, *, batch_size: int = 1000) -> ChainCheck:
    """Walk every audit row in ``chain_seq`` order, recomputing each link; stop at the first
    broken one. Rows stream in batches, so the trail's size does not matter.

    The head is read first: rows committed while the walk runs come after it and are checked
    like the rest; only a head *behind* the rows at the end means rows bypassed the chain.
    """
    head = _read_head(session)
    if head is None:
        return ChainCheck(
            0,
            GENESIS_HASH,
            "the chain head row (audit_chain_head, id 1) is missing, "
            "so rows removed from the end cannot be ruled out",
        )
    columns = [_EVENTS.c.id, *(_EVENTS.c[name] for name in HASHED_FIELDS), _EVENTS.c.row_hash]
    result = session.execute(
        select(*columns).order_by(_EVENTS.c.chain_seq).execution_options(yield_per=batch_size)
    )
    expected, previous, last_id = 1, GENESIS_HASH, None
    try:
        for row in result:
            where = {"row_id": row.id, "seq": row.chain_seq}
            if row.chain_seq != expected:
                missing = row.chain_seq - expected
                return ChainCheck(
                    expected - 1,
                    previous,
                    f"seq gap: expected seq {expected}, so {missing} row(s) before this one "
                    "are missing (removed)",
                    **where,
                )
            if row_hash(row._mapping) != row.row_hash:
                return ChainCheck(
                    expected - 1,
                    previous,
                    "its hash does not match its contents: the row was changed after it was "
                    "written",
                    **where,
                )
            if row.prev_hash != previous:
                before = "the genesis value" if last_id is None else f"row id {last_id}'s hash"
                return ChainCheck(
                    expected - 1,
                    previous,
                    f"its previous hash does not match {before}: a row before it was "
                    "changed or replaced and the chain re-linked",
                    **where,
                )
            if row.chain_seq == head.last_seq and row.row_hash != head.last_hash:
                return ChainCheck(
                    expected - 1,
                    previous,
                    "its hash does not match the last hash the chain head recorded for it",
                    **where,
                )
            previous, last_id = row.row_hash, row.id
            expected += 1
    finally:
        result.close()
    count = expected - 1
    if count < head.last_seq:
        return ChainCheck(
            count,
            previous,
            f"the chain head records {head.last_seq} rows but the chain ends at seq {count}: "
            f"the last {head.last_seq - count} row(s) were removed",
            row_id=last_id,
            seq=count if last_id is not None else None,
            after_row=True,
        )
    if count > head.last_seq:
        now = _read_head(session)
        if now is None or now.last_seq < count:
            return ChainCheck(
                count,
                previous,
                f"the chain head records {now.last_seq if now else 0} rows but the chain "
                f"holds {count}: rows were added without going through the chain",
                row_id=last_id,
                seq=count,
                after_row=True,
            )
    return ChainCheck(count, previous)
