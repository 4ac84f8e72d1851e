"""Test databases: PostgreSQL's tables emptied between tests, SQLite files copied."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

from lms.extensions import db
from lms.models.audit import HEAD_ROW_SQL

# The audit tables refuse DELETE and TRUNCATE by trigger; the tests' owner may lift that, as
# an owner could, inside the one transaction that empties every table (and fills them again).
GUARDED = ("audit_event", "audit_chain_head")
# Every sequence of the schema back to its first value, as TRUNCATE ... RESTART IDENTITY does.
_RESTART_SEQUENCES = (
    "SELECT setval(format('%I', sequence_name)::regclass, start_value::bigint, false) "
    "FROM information_schema.sequences WHERE sequence_schema = current_schema()"
)


def _tables() -> list[str]:
    return [t.name for t in db.metadata.sorted_tables]


def _delete_everything(conn: Connection) -> None:
    """Every row of every table gone (dependents first), audit guards lifted meanwhile; in one
    round trip. DELETE, not TRUNCATE: the same empty tables for a few handfuls of rows, in a
    tenth of the time (TRUNCATE makes new files for every table)."""
    statements = [f"ALTER TABLE {t} DISABLE TRIGGER USER" for t in GUARDED]
    statements += [f'DELETE FROM "{t}"' for t in reversed(_tables())]  # noqa: S608 -- model names
    statements += [f"ALTER TABLE {t} ENABLE TRIGGER USER" for t in GUARDED]
    conn.exec_driver_sql("; ".join(statements))


def empty_tables(conn: Connection) -> None:
    """Every table emptied and its ids restarted, with a new audit chain (PostgreSQL)."""
    _delete_everything(conn)
    conn.execute(text(HEAD_ROW_SQL))
    conn.execute(text(_RESTART_SEQUENCES))


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, or None for any other database."""
    prefix = "sqlite:///"
    return Path(url[len(prefix) :]) if url.startswith(prefix) else None


def copy_sqlite(source: Path, target: Path) -> None:
    """A database file copied whole. Nothing may have it open: SQLite merges the write-ahead
    log into the file when the last connection closes, and a copy without it would miss
    committed rows."""
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{source}{suffix}").exists(), f"{source} is still open"
    shutil.copyfile(source, target)
