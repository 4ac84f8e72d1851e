"""The audit trail's hash chain: rows link as they are written, `audit verify` finds the first
edit or removal made below the application (as a table owner could), and TRUNCATE is refused.
"""

from __future__ import annotations

import os
import re
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from lms import audit, demo
from lms.audit.chain import GENESIS_HASH, HASHED_FIELDS, ChainError, row_hash, verify
from lms.extensions import db
from lms.models import AuditEvent
from lms.models.audit import SQLITE_HEAD_TRIGGERS, SQLITE_TRIGGERS, AuditChainHead

ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))
DEMO_PASSWORD = "demo orchard lantern 2026"
INTACT = re.compile(r"^Audit trail intact: (\d+) rows, last hash ([0-9a-f]{64})$")


@pytest.fixture
def demo_data(app):
    with app.app_context():
        demo.build(DEMO_PASSWORD)
        db.session.commit()


def links(app) -> list[tuple[int, int, str, str]]:
    """(id, chain_seq, prev_hash, row_hash) of every row, in chain order."""
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                select(
                    AuditEvent.id, AuditEvent.chain_seq, AuditEvent.prev_hash, AuditEvent.row_hash
                ).order_by(AuditEvent.chain_seq)
            )
        ]


def as_owner(app, statement: str, **params) -> None:
    """Change audit_event below the application, as the table's owner could: lift the
    append-only triggers, run the statement, put the triggers back."""
    with app.app_context(), db.engine.begin() as conn:
        if ON_POSTGRES:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_chain_head DISABLE TRIGGER USER"))
            conn.execute(text(statement), params)
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_chain_head ENABLE TRIGGER USER"))
        else:
            for name in ("audit_event_no_update", "audit_event_no_delete"):
                conn.execute(text(f"DROP TRIGGER {name}"))
            conn.execute(text("DROP TRIGGER audit_chain_head_no_delete"))
            conn.execute(text(statement), params)
            for ddl in SQLITE_TRIGGERS + SQLITE_HEAD_TRIGGERS:
                conn.execute(text(ddl))


def run_verify(runner):
    return runner.invoke(args=["audit", "verify"])


def test_verify_passes_on_demo_data(app, runner, demo_data):
    result = run_verify(runner)
    assert result.exit_code == 0, result.output
    match = INTACT.match(result.output.strip())
    assert match, result.output
    rows = links(app)
    assert int(match.group(1)) == len(rows) > 10
    assert [seq for _, seq, _, _ in rows] == list(range(1, len(rows) + 1))
    # Each row points at the one before; the first at the genesis value.
    assert rows[0][2] == GENESIS_HASH
    assert all(rows[n][2] == rows[n - 1][3] for n in range(1, len(rows)))
    assert match.group(2) == rows[-1][3]
    with app.app_context():
        head = db.session.get(AuditChainHead, 1)
        assert (head.last_seq, head.last_hash) == (len(rows), rows[-1][3])


def test_rows_of_one_transaction_chain_in_the_order_recorded(app, ctx):
    for n in range(3):
        audit.record("test.ordered", detail=f"step {n}")
    db.session.commit()
    rows = db.session.execute(
        select(AuditEvent.detail, AuditEvent.chain_seq).order_by(AuditEvent.chain_seq)
    ).all()
    assert [tuple(r) for r in rows] == [("step 0", 1), ("step 1", 2), ("step 2", 3)]


def test_a_rolled_back_transaction_leaves_no_gap(app, ctx):
    audit.record("test.kept")
    db.session.commit()
    audit.record("test.abandoned")
    db.session.flush()
    assert db.session.scalar(select(func.max(AuditEvent.chain_seq))) == 2
    db.session.rollback()
    audit.record("test.kept")
    db.session.commit()
    seqs = db.session.scalars(select(AuditEvent.chain_seq).order_by(AuditEvent.chain_seq)).all()
    assert seqs == [1, 2]
    assert verify(db.session).intact


def test_hash_round_trips_through_the_database(app, ctx):
    """What is hashed before the INSERT equals what is read back: an offset time with
    microseconds, an empty string kept apart from NULL, text beyond ASCII."""
    india = timezone(timedelta(hours=5, minutes=30))
    written = AuditEvent(
        action="test.round-trip",
        at=datetime(2026, 3, 1, 23, 59, 59, 123456, tzinfo=india),
        ip="",
        detail="café — ünïcode ✓",
        subject_type=None,
    )
    db.session.add(written)
    db.session.commit()
    key, expected = written.id, written.row_hash
    db.session.remove()
    row = db.session.get(AuditEvent, key)
    assert row.at == datetime(2026, 3, 1, 18, 29, 59, 123456, tzinfo=UTC)
    assert row.ip == "" and row.subject_type is None
    assert row_hash({name: getattr(row, name) for name in HASHED_FIELDS}) == expected
    assert verify(db.session).intact


def test_edited_row_is_named(app, runner, demo_data):
    rows = links(app)
    key, seq = rows[len(rows) // 2][:2]
    as_owner(app, "UPDATE audit_event SET detail = 'nothing to see' WHERE id = :id", id=key)
    result = run_verify(runner)
    assert result.exit_code == 1
    assert f"BROKEN at row id {key} (seq {seq})" in result.output
    assert "hash does not match its contents" in result.output


@pytest.mark.parametrize("position", ["first", "middle"])
def test_deleted_row_is_found_at_the_gap(app, runner, demo_data, position):
    rows = links(app)
    index = 0 if position == "first" else len(rows) // 2
    as_owner(app, "DELETE FROM audit_event WHERE id = :id", id=rows[index][0])
    result = run_verify(runner)
    assert result.exit_code == 1
    next_id, next_seq = rows[index + 1][:2]
    assert f"BROKEN at row id {next_id} (seq {next_seq})" in result.output
    assert "seq gap" in result.output and "1 row(s) before this one are missing" in result.output


def test_deleted_last_rows_are_found_against_the_head(app, runner, demo_data):
    rows = links(app)
    as_owner(app, "DELETE FROM audit_event WHERE chain_seq > :seq", seq=len(rows) - 2)
    result = run_verify(runner)
    assert result.exit_code == 1
    last_id, last_seq = rows[-3][:2]
    assert f"BROKEN after row id {last_id} (seq {last_seq})" in result.output
    assert f"records {len(rows)} rows" in result.output
    assert "the last 2 row(s) were removed" in result.output


def test_a_relinked_row_is_found_at_the_next_link(app, runner, ctx):
    """Editing a row and recomputing its own hash still breaks the link from the next row."""
    for n in range(3):
        audit.record("test.event", detail=f"n={n}")
    db.session.commit()
    middle = db.session.scalars(select(AuditEvent).where(AuditEvent.chain_seq == 2)).one()
    forged = {name: getattr(middle, name) for name in HASHED_FIELDS} | {"detail": "forged"}
    third = db.session.scalars(select(AuditEvent).where(AuditEvent.chain_seq == 3)).one()
    db.session.rollback()
    as_owner(
        app,
        "UPDATE audit_event SET detail = 'forged', row_hash = :hash WHERE chain_seq = 2",
        hash=row_hash(forged),
    )
    result = run_verify(runner)
    assert result.exit_code == 1
    assert f"BROKEN at row id {third.id} (seq 3)" in result.output
    assert "previous hash does not match" in result.output


def test_rows_added_around_the_chain_are_found(app, runner, ctx):
    audit.record("test.event")
    db.session.commit()
    first = db.session.scalars(select(AuditEvent)).one()
    fields = {name: getattr(first, name) for name in HASHED_FIELDS} | {
        "chain_seq": 2,
        "prev_hash": first.row_hash,
    }
    db.session.rollback()
    # A Core INSERT skips the ORM, and with it the chain head.
    with db.engine.begin() as conn:
        conn.execute(AuditEvent.__table__.insert().values(**fields, row_hash=row_hash(fields)))
    result = run_verify(runner)
    assert result.exit_code == 1
    assert "records 1 rows but the chain holds 2" in result.output


def test_chain_head_cannot_be_deleted(app, ctx):
    with pytest.raises(Exception, match="audit_chain_head cannot be deleted"):
        db.session.execute(text("DELETE FROM audit_chain_head"))
    db.session.rollback()
    assert db.session.get(AuditChainHead, 1) is not None


def test_a_missing_head_stops_audit_writes_loudly(app, runner, ctx):
    as_owner(app, "DELETE FROM audit_chain_head")
    audit.record("test.event")
    with pytest.raises(ChainError, match="audit chain head"):
        db.session.commit()
    db.session.rollback()
    result = run_verify(runner)
    assert result.exit_code == 1 and "chain head row" in result.output


@pytest.mark.skipif(
    not ON_POSTGRES, reason="TEST_DATABASE_URL is not set (TRUNCATE is PostgreSQL's)"
)
def test_truncate_is_refused(app, ctx):
    audit.record("test.event")
    db.session.commit()
    for table in ("audit_event", "audit_chain_head"):
        with pytest.raises(Exception, match="append-only|cannot be deleted from or truncated"):
            db.session.execute(text(f"TRUNCATE {table}"))
        db.session.rollback()
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 1
    assert verify(db.session).rows == 1


def test_concurrent_writers_never_share_a_link(app, demo_data):
    with app.app_context():
        before = verify(db.session)
    assert before.intact
    writers = 10
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with app.app_context():
                db.session.execute(select(1))  # a connection of its own, ready before the race
                barrier.wait(timeout=30)
                audit.record("test.concurrent", detail=f"writer {n}")
                db.session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    with app.app_context():
        after = verify(db.session)
        assert after.intact, after.message()
        assert after.rows == before.rows + writers
        seqs = db.session.scalars(select(AuditEvent.chain_seq).order_by(AuditEvent.chain_seq))
        assert list(seqs) == list(range(1, after.rows + 1))
        details = db.session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "test.concurrent")
        )
        assert sorted(details) == sorted(f"writer {n}" for n in range(writers))
