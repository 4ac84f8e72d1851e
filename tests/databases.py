"""Test databases: PostgreSQL's tables emptied between tests, SQLite files copied, and named
copies of a database's contents, put back before each test that needs them.

Building the same data for hundreds of tests (the access matrix's users, patients, consents,
attempts and sign-ins) cost more than the tests themselves. A test module builds it once,
saves it under a name, and every test starts from an exact copy:

- SQLite: the database file, copied whole into the test's own folder (the test's app then
  opens a file nobody else uses, as with a new database).
- PostgreSQL: every table copied into a schema of its own beside the run's schema, with the
  sequences' positions; restoring empties the run's tables (as after every test), copies the
  rows back and puts the sequences where they were, in one transaction, so ids and the audit
  hash chain are as they were saved.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine

from lms.extensions import db
from lms.models.audit import HEAD_ROW_SQL

# The audit tables refuse DELETE and TRUNCATE by trigger; the tests' owner may lift that, as
# an owner could, inside the one transaction that empties every table (and fills them again).
GUARDED = ("audit_event", "audit_chain_head")
_NAME = re.compile(r"^[a-z0-9_]+$")
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


def close_app_database(app) -> None:
    """Close every connection ``app`` holds (so its SQLite file can be copied)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


class Snapshots:
    """Saved database contents by name. ``folder`` holds the SQLite copies; ``pg_url`` is the
    run's PostgreSQL schema URL (with its search_path) or None on SQLite."""

    def __init__(self, folder: Path, pg_url: str | None, pg_schema: str | None) -> None:
        self.folder = folder
        self.pg_url = pg_url
        self.pg_schema = pg_schema
        self.saved: dict[str, dict[str, tuple[int, bool]]] = {}
        self._engine: Engine | None = None

    # --- where a test's database is ---------------------------------------------------------

    def fresh_url(self, folder: Path) -> str:
        """The database URL for a test whose files go in ``folder``."""
        if self.pg_url:
            return self.pg_url
        return f"sqlite:///{folder / 'test.sqlite3'}"

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.pg_url)
        return self._engine

    # --- saving and restoring -----------------------------------------------------------------

    def save(self, name: str, app) -> None:
        """Save the contents of ``app``'s database as ``name`` (``app``'s connections are
        closed first)."""
        assert _NAME.match(name), name
        close_app_database(app)
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        if not self.pg_url:
            copy_sqlite(sqlite_file(url), self.folder / f"{name}.sqlite3")
            self.saved[name] = {}
            return
        snap = self._schema(name)
        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{snap}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{snap}"'))
            for table in _tables():
                conn.execute(text(f'CREATE TABLE "{snap}"."{table}" AS TABLE "{table}"'))
            sequences = conn.scalars(
                text(
                    "SELECT sequence_name FROM information_schema.sequences "
                    "WHERE sequence_schema = :schema ORDER BY sequence_name"
                ),
                {"schema": self.pg_schema},
            ).all()
            positions = {}
            for sequence in sequences:
                query = f'SELECT last_value, is_called FROM "{sequence}"'  # noqa: S608 -- a name from the catalog
                row = conn.execute(text(query)).one()
                positions[sequence] = (row.last_value, row.is_called)
        self.saved[name] = positions

    def restore(self, name: str, folder: Path) -> str:
        """Put the contents saved as ``name`` in place for a test whose files go in
        ``folder``; returns its database URL. Nothing may have that database open."""
        url = self.fresh_url(folder)
        if not self.pg_url:
            copy_sqlite(self.folder / f"{name}.sqlite3", sqlite_file(url))
            return url
        snap = self._schema(name)
        with self.engine.begin() as conn:
            _delete_everything(conn)
            conn.exec_driver_sql(
                "; ".join(
                    f'INSERT INTO "{table}" SELECT * FROM "{snap}"."{table}"'  # noqa: S608 -- model names
                    for table in _tables()
                )
            )
            positions = list(self.saved[name].items())
            if positions:
                calls = ", ".join(f"setval(:s{i}, :v{i}, :c{i})" for i in range(len(positions)))
                values = {}
                for i, (sequence, (value, called)) in enumerate(positions):
                    values |= {f"s{i}": f'"{sequence}"', f"v{i}": value, f"c{i}": called}
                conn.execute(text(f"SELECT {calls}"), values)
        return url

    def empty(self) -> None:
        """Leave the run's PostgreSQL schema empty (as every test finds it)."""
        if self.pg_url:
            with self.engine.begin() as conn:
                empty_tables(conn)

    def close(self) -> None:
        """Drop the saved copies (PostgreSQL schemas; the SQLite files go with their folder)
        and empty the run's schema."""
        if self.pg_url:
            self.empty()
            with self.engine.begin() as conn:
                for name in self.saved:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{self._schema(name)}" CASCADE'))
            self.engine.dispose()
        self.saved.clear()

    def _schema(self, name: str) -> str:
        return f"{self.pg_schema}_{name}"
