"""Migrations: an empty database upgrades to head, head matches the models, and the audit
hash chain is added to a database that already has audit rows."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from lms import MIGRATIONS, audit, clock, create_app
from lms.audit_chain import verify
from lms.config import normalize_database_url
from lms.extensions import db
from lms.models.base import UTCDateTime
from tests.conftest import _test_config, _with_search_path


def _fresh_url(tmp_path):
    pg = os.environ.get("TEST_DATABASE_URL")
    if not pg:
        return f"sqlite:///{tmp_path / 'migrated.sqlite3'}", None
    schema = f"mig_{uuid.uuid4().hex[:10]}"
    engine = create_engine(normalize_database_url(pg))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return _with_search_path(normalize_database_url(pg), schema), (engine, schema)


def test_upgrade_to_head_on_empty_database_matches_models(tmp_path):
    url, cleanup = _fresh_url(tmp_path)
    try:
        app = create_app(_test_config(url))
        with app.app_context():
            upgrade(directory=MIGRATIONS)
            tables = set(inspect(db.engine).get_table_names())
            assert {"user", "audit_event", "alembic_version"} <= tables
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(context, db.metadata)
            assert diff == [], f"models and migrations differ: {diff}"
            db.engine.dispose()
    finally:
        if cleanup:
            engine, schema = cleanup
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


def test_embedded_default_migrates_itself_on_first_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'first.sqlite3'}"
    app = create_app({**_test_config(url), "AUTO_MIGRATE": True})
    with app.app_context():
        assert "user" in inspect(db.engine).get_table_names()
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        db.engine.dispose()
    response = app.test_client().get("/healthz")
    assert response.status_code == 200


def test_upgrade_links_existing_audit_rows_and_downgrade_undoes_it(tmp_path):
    """Rows written before the hash chain existed are linked in id order by migration 0005,
    the append-only triggers survive the backfill, and the chain keeps growing from there."""
    url, cleanup = _fresh_url(tmp_path)
    try:
        app = create_app(_test_config(url))
        with app.app_context():
            upgrade(directory=MIGRATIONS, revision="0004")
            before_chain = sa.table(
                "audit_event",
                sa.column("at", UTCDateTime()),
                sa.column("action", sa.String()),
                sa.column("outcome", sa.String()),
                sa.column("detail", sa.String()),
            )
            start = clock.utcnow()
            with db.engine.begin() as conn:
                conn.execute(
                    before_chain.insert(),
                    [
                        {
                            "at": start - timedelta(minutes=n, microseconds=n),
                            "action": "old.event",
                            "outcome": "success",
                            "detail": None if n == 1 else f"n={n}",
                        }
                        for n in range(3)
                    ],
                )
            upgrade(directory=MIGRATIONS)
            check = verify(db.session)
            assert check.intact and check.rows == 3, check.message()
            order = db.session.execute(text("SELECT id FROM audit_event ORDER BY chain_seq"))
            assert [row.id for row in order] == [1, 2, 3]
            with pytest.raises(Exception, match="append-only"):
                db.session.execute(text("UPDATE audit_event SET detail = 'x'"))
            db.session.rollback()
            if db.engine.dialect.name == "postgresql":
                with pytest.raises(Exception, match="append-only"):
                    db.session.execute(text("TRUNCATE audit_event"))
                db.session.rollback()
            audit.record("new.event")
            db.session.commit()
            assert verify(db.session).rows == 4
            db.session.remove()

            downgrade(directory=MIGRATIONS, revision="0004")
            assert "audit_chain_head" not in inspect(db.engine).get_table_names()
            columns = {c["name"] for c in inspect(db.engine).get_columns("audit_event")}
            assert "row_hash" not in columns
            with pytest.raises(Exception, match="append-only"):
                db.session.execute(text("DELETE FROM audit_event"))
            db.session.rollback()
            db.session.remove()

            upgrade(directory=MIGRATIONS)
            check = verify(db.session)
            assert check.intact and check.rows == 4, check.message()
            db.session.remove()
            db.engine.dispose()
    finally:
        if cleanup:
            engine, schema = cleanup
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()
