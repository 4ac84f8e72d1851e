"""Backups round-trip: after a restore every table has the same rows (count and checksum),
the audit chain verifies, and people can sign in. SQLite always; PostgreSQL through
pg_dump/pg_restore when TEST_DATABASE_URL is set and the tools are installed."""

from __future__ import annotations

import os
import re
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text

from lms import audit, demo
from lms.config import normalize_database_url
from lms.extensions import db
from tests.conftest import _with_search_path
from tests.helpers import login, text_of

PG_URL = os.environ.get("TEST_DATABASE_URL")
DEMO_PASSWORD = "demo orchard lantern 2026"
CHECKSUM_LINE = re.compile(r"^(\w+) +(\d+) rows  sha256 ([0-9a-f]{64})$")


def invoke(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def checksum(app) -> list[str]:
    result = invoke(app, "backup", "checksum")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(db.metadata.tables)
    assert all(CHECKSUM_LINE.match(line) for line in lines), lines
    return lines


def verified(app) -> str:
    result = invoke(app, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Audit trail intact: ")
    return result.output


def assert_sign_in_works(app) -> None:
    client = app.test_client()
    response = login(client, "clinician@example.org", DEMO_PASSWORD)
    assert response.status_code == 302, text_of(response)
    assert "Riley Morgan" in text_of(client.get("/clinic/"))


def test_sqlite_round_trip_with_the_demo_data(make_app, tmp_path):
    source = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'live.sqlite3'}")
    with source.app_context():
        db.create_all()
        demo.build(DEMO_PASSWORD)
        db.session.commit()
    before, chain = checksum(source), verified(source)
    assert any(line.startswith("audit_event ") and " 0 rows" not in line for line in before)

    backup = tmp_path / "backups" / "nightly.sqlite3"
    backup.parent.mkdir()
    # The app stays up: a transaction is writing (holding SQLite's write lock) meanwhile.
    with source.app_context():
        audit.record("test.uncommitted")
        db.session.flush()
        created = invoke(source, "backup", "create", str(backup))
        db.session.rollback()
    assert created.exit_code == 0, created.output
    assert "integrity ok" in created.output and backup.is_file()
    assert not backup.with_name("nightly.sqlite3.partial").exists()
    again = invoke(source, "backup", "create", str(backup))
    assert again.exit_code == 1 and "already exists" in again.output

    restored = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'restored.sqlite3'}")
    result = invoke(restored, "backup", "restore", str(backup))
    assert result.exit_code == 0, result.output
    assert checksum(restored) == before
    assert verified(restored) == chain
    assert_sign_in_works(restored)

    # Signing in wrote audit rows: the database now holds data, and a restore says so.
    refused = invoke(restored, "backup", "restore", str(backup))
    assert refused.exit_code == 1
    assert "already holds data" in refused.output and "--force" in refused.output
    assert "audit_event: " in refused.output
    forced = invoke(restored, "backup", "restore", "--force", str(backup))
    assert forced.exit_code == 0, forced.output
    assert checksum(restored) == before


def test_restore_refuses_a_file_that_is_not_a_backup(make_app, tmp_path):
    target = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    result = invoke(target, "backup", "restore", str(junk))
    assert result.exit_code == 1 and "is not a SQLite backup" in result.output


def test_checksum_changes_with_the_data(app):
    first = checksum(app)
    with app.app_context():
        audit.record("test.event")
        db.session.commit()
    second = checksum(app)
    changed = [b for a, b in zip(first, second, strict=True) if a != b]
    assert [line.split()[0] for line in changed] == ["audit_chain_head", "audit_event"]


MISSING_PG_TOOLS = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: TEST_DATABASE_URL is not set")
@pytest.mark.skipif(
    bool(MISSING_PG_TOOLS), reason=f"needs {' and '.join(MISSING_PG_TOOLS)} on PATH"
)
def test_postgres_round_trip_with_pg_dump_and_pg_restore(make_app, tmp_path):
    """pg_dump of a schema of its own; that schema dropped and created again, empty (the
    names must match: pg_restore cannot rename a schema); pg_restore into it."""
    schema = f"backup_{uuid.uuid4().hex[:10]}"
    superuser = create_engine(normalize_database_url(PG_URL))
    url = _with_search_path(normalize_database_url(PG_URL), schema)
    try:
        with superuser.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        source = make_app(SQLALCHEMY_DATABASE_URI=url)
        with source.app_context():
            db.create_all()
            demo.build(DEMO_PASSWORD)
            db.session.commit()
        before, chain = checksum(source), verified(source)
        backup = tmp_path / "nightly.pgdump"
        created = invoke(source, "backup", "create", str(backup))
        assert created.exit_code == 0, created.output
        assert f"schema {schema}" in created.output
        with source.app_context():
            db.engine.dispose()
        with superuser.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))

        restored = make_app(SQLALCHEMY_DATABASE_URI=url)
        result = invoke(restored, "backup", "restore", str(backup))
        assert result.exit_code == 0, result.output
        assert checksum(restored) == before
        assert verified(restored) == chain
        assert_sign_in_works(restored)

        refused = invoke(restored, "backup", "restore", str(backup))
        assert refused.exit_code == 1 and "already holds data" in refused.output
        forced = invoke(restored, "backup", "restore", "--force", str(backup))
        assert forced.exit_code == 0, forced.output
        assert checksum(restored) == before
        with restored.app_context():
            db.engine.dispose()
    finally:
        with superuser.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        superuser.dispose()
