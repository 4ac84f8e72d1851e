"""Backups: a consistent copy of the database, restoring one, and per-table checksums.

SQLite is copied with SQLite's online backup API (``sqlite3.Connection.backup``), which reads
one consistent snapshot while the app keeps running, and restored with the same API in the
other direction, so the database file is never half-written by a plain file copy. PostgreSQL
is dumped and restored by ``pg_dump --format=custom`` / ``pg_restore``, run for the operator
when they are on PATH.

``checksums`` gives each table's row count and a SHA-256 of its rows (ordered by primary key,
values in ``lms.canonical`` form), so the same data gives the same lines before a backup and
after a restore.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.engine import URL

from lms.canonical import canonical_bytes, canonical_value
from lms.extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
# Tables that hold something even in a database nobody has used yet.
_ALWAYS_FILLED = frozenset({"audit_chain_head", "alembic_version"})


class BackupError(RuntimeError):
    """A backup or restore was refused or failed; the message says why and what to do."""


@dataclass(frozen=True)
class TableChecksum:
    table: str
    rows: int
    sha256: str


def checksums(connection: Connection, *, batch_size: int = 1000) -> list[TableChecksum]:
    """Every app table, by name: its row count and the SHA-256 of its rows in key order."""
    found = []
    for table in sorted(db.metadata.tables.values(), key=lambda t: t.name):
        digest = hashlib.sha256()
        rows = 0
        result = connection.execute(
            select(table)
            .order_by(*table.primary_key.columns)
            .execution_options(yield_per=batch_size)
        )
        try:
            for row in result:
                digest.update(canonical_bytes([canonical_value(v) for v in row]) + b"\n")
                rows += 1
        finally:
            result.close()
        found.append(TableChecksum(table.name, rows, digest.hexdigest()))
    return found


def checksum_lines(connection: Connection) -> list[str]:
    """``checksums`` as the lines ``backup checksum`` prints: table, row count, hash."""
    found = checksums(connection)
    width = max(len(c.table) for c in found)
    return [f"{c.table:<{width}}  {c.rows:>9} rows  sha256 {c.sha256}" for c in found]


def rows_held(connection: Connection) -> dict[str, int]:
    """The app tables that hold rows in the database the app uses (ignoring the rows every
    database has, such as the chain head), with their counts: empty means safe to restore."""
    present = _table_names(connection)
    held = {}
    for table in sorted(db.metadata.tables.values(), key=lambda t: t.name):
        if table.name in present and table.name not in _ALWAYS_FILLED:
            count = connection.scalar(select(func.count()).select_from(table))
            if count:
                held[table.name] = count
    return held


def _table_names(connection: Connection) -> set[str]:
    """The tables in the schema the app uses (none when that schema does not exist yet).
    Asked directly rather than through the inspector, which keeps the default schema it saw
    when the engine first connected."""
    if connection.dialect.name == "postgresql":
        query = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return set(connection.scalars(text(query)))


def migration_note(engine: Engine, heads: tuple[str, ...]) -> str | None:
    """Say so when the restored database is not at this release's migration ``heads``."""
    with engine.connect() as connection:
        if "alembic_version" not in _table_names(connection):
            return None
        current = connection.scalar(text("SELECT version_num FROM alembic_version"))
    if current in heads:
        return None
    return (
        f"The backup is at migration {current}; this release expects {', '.join(heads)}: "
        "run flask --app wsgi db upgrade before starting the app."
    )


def create(engine: Engine, target: Path) -> str:
    """Write a backup of the app's database to ``target`` (which must not exist yet)."""
    if target.exists():
        raise BackupError(f"{target} already exists; give the backup a new file name")
    if engine.dialect.name == "sqlite":
        return _sqlite_create(sqlite_file(engine), target)
    if engine.dialect.name == "postgresql":
        return _pg_create(engine, target)
    raise BackupError(f"backups of {engine.dialect.name} databases are not supported")


def restore(engine: Engine, source: Path, *, force: bool = False) -> str:
    """Replace the app's database with the backup at ``source``.

    Refuses when the database already holds data, unless ``force``: a restore replaces all of
    it, and restoring onto the wrong database must take a deliberate second step.
    """
    magic = _magic(source)
    with engine.connect() as connection:
        held = rows_held(connection)
    if held and not force:
        listed = ", ".join(f"{name}: {count} rows" for name, count in held.items())
        raise BackupError(
            f"refusing to restore: the database already holds data ({listed}). Restoring "
            "replaces all of it; run again with --force if that is what you want"
        )
    engine.dispose()  # no pooled connection may keep the old contents cached
    if engine.dialect.name == "sqlite":
        if magic != SQLITE_MAGIC:
            raise BackupError(f"{source} is not a SQLite backup (the app uses SQLite)")
        done = _sqlite_restore(source, sqlite_file(engine))
    elif engine.dialect.name == "postgresql":
        if magic != PG_CUSTOM_MAGIC:
            raise BackupError(
                f"{source} is not a pg_dump --format=custom archive (the app uses PostgreSQL)"
            )
        done = _pg_restore(engine, source, force=force)
    else:
        raise BackupError(f"restoring {engine.dialect.name} databases is not supported")
    engine.dispose()
    return done


def _magic(path: Path) -> bytes:
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head.startswith(PG_CUSTOM_MAGIC):
        return PG_CUSTOM_MAGIC
    return head


# SQLite ---------------------------------------------------------------------------------------


def sqlite_file(engine: Engine) -> Path:
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupError(f"the SQLite database {name!r} is not a plain file")
    return Path(name)


def _integrity(connection: sqlite3.Connection) -> str:
    return connection.execute("PRAGMA integrity_check").fetchone()[0]


def _sqlite_create(source: Path, target: Path) -> str:
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    # Written beside the target and renamed when complete and checked, so a backup file that
    # exists is never a partial one.
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with closing(sqlite3.connect(source, timeout=30)) as src:
        with closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)
            # One self-contained file, whatever mode the live database runs in.
            dst.execute("PRAGMA journal_mode=DELETE")
            verdict = _integrity(dst)
    if verdict != "ok":
        partial.unlink()
        raise BackupError(f"the copy failed its integrity check: {verdict}")
    os.replace(partial, target)
    return f"Backed up {source} to {target} ({target.stat().st_size} bytes, integrity ok)."


def _sqlite_restore(source: Path, target: Path) -> str:
    with closing(sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True)) as src:
        verdict = _integrity(src)
        if verdict != "ok":
            raise BackupError(f"{source} fails SQLite's integrity check: {verdict}")
        tables = {row[0] for row in src.execute("SELECT name FROM sqlite_master")}
        if not {"user", "audit_event"} <= tables:
            raise BackupError(f"{source} is a SQLite database but not a backup of this app")
        with closing(sqlite3.connect(target, timeout=30)) as dst:
            src.backup(dst)
            verdict = _integrity(dst)
    if verdict != "ok":
        raise BackupError(f"the restored database fails its integrity check: {verdict}")
    return f"Restored {source} into {target}."


# PostgreSQL -----------------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not on PATH: install the PostgreSQL client tools (the server's major "
            f"version or newer), or run {name} yourself as docs/deploy.md shows"
        )
    return found


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The app's URL as a libpq connection URI, with the password passed in the environment
    (never on a command line, where other users of the machine could read it)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        tool = Path(command[0]).name
        raise BackupError(f"{tool} failed (exit {done.returncode}): {done.stderr.strip()}")


def _pg_create(engine: Engine, target: Path) -> str:
    pg_dump = _pg_tool("pg_dump")
    with engine.connect() as connection:
        schema = connection.scalar(text("SELECT current_schema()"))
    if schema is None:
        raise BackupError("the schema on the app's search_path does not exist: nothing to back up")
    dsn, env = _libpq(engine.url)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    quoted = '"' + schema.replace('"', '""') + '"'
    _run(
        [pg_dump, "--format=custom", f"--schema={quoted}", f"--file={partial}", f"--dbname={dsn}"],
        env,
    )
    os.replace(partial, target)
    return f"Backed up schema {schema} to {target} ({target.stat().st_size} bytes, pg_dump custom)."


# A table-of-contents line of ``pg_restore --list`` that creates a schema, e.g.
# ``6; 2615 82496 SCHEMA - lms postgres``.
_SCHEMA_ENTRY = re.compile(r"^\d+; \d+ \d+ SCHEMA - (\S+) ")


def _pg_restore(engine: Engine, source: Path, *, force: bool) -> str:
    pg_restore = _pg_tool("pg_restore")
    dsn, env = _libpq(engine.url)
    listing = subprocess.run(  # noqa: S603
        [pg_restore, "--list", str(source)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0:
        raise BackupError(f"pg_restore cannot read {source}: {listing.stderr.strip()}")
    with engine.connect() as connection:
        schemas = set(connection.scalars(text("SELECT nspname FROM pg_namespace")))
    # A schema that already exists (``public`` in a new database, or an empty one prepared
    # for the restore) is kept, not created again: that would stop the restore.
    entries = []
    for line in listing.stdout.splitlines():
        match = _SCHEMA_ENTRY.match(line)
        entries.append(f";{line}" if match and match.group(1) in schemas else line)
    command = [pg_restore, "--exit-on-error", "--single-transaction", f"--dbname={dsn}"]
    if force:
        command += ["--clean", "--if-exists"]
    with tempfile.TemporaryDirectory() as scratch:
        use_list = Path(scratch) / "restore.list"
        use_list.write_text("\n".join(entries) + "\n")
        _run([*command, f"--use-list={use_list}", str(source)], env)
    return f"Restored {source} with pg_restore."
