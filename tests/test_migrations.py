"""Migrations: an empty database upgrades to head, and head matches the models."""

from __future__ import annotations

import os
import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text

from lms import MIGRATIONS, create_app
from lms.config import normalize_database_url
from lms.extensions import db
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


def test_upgrade_closes_duplicate_open_assignments_before_making_them_unique(tmp_path):
    """Double submits before 0006 could leave one module open twice for a learner; the
    upgrade keeps the first, cancels the rest with an audit row, then adds the index."""
    url, cleanup = _fresh_url(tmp_path)
    stamp = "2026-01-01 00:00:00"
    try:
        app = create_app(_test_config(url))
        with app.app_context():
            upgrade(directory=MIGRATIONS, revision="0004")
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        'INSERT INTO "user" (id, email, display_name, role, active, '
                        "session_version, failed_logins, created_at, updated_at) VALUES "
                        "(1, 'f@example.org', 'F', 'family', true, 1, 0, :t, :t)"
                    ),
                    {"t": stamp},
                )
                conn.execute(
                    text(
                        "INSERT INTO patient (id, display_name, status, enrolled_on, created_at) "
                        "VALUES (1, 'P', 'active', '2026-01-01', :t)"
                    ),
                    {"t": stamp},
                )
                for assignment_id, slug in ((1, "a"), (2, "a"), (3, "a"), (4, "b")):
                    conn.execute(
                        text(
                            "INSERT INTO assignment (id, module_slug, learner_id, patient_id, "
                            "assigned_at) VALUES (:id, :slug, 1, 1, :t)"
                        ),
                        {"id": assignment_id, "slug": slug, "t": stamp},
                    )
            upgrade(directory=MIGRATIONS)
            with db.engine.connect() as conn:
                open_ids = conn.execute(
                    text("SELECT id FROM assignment WHERE cancelled_at IS NULL ORDER BY id")
                ).scalars()
                assert list(open_ids) == [1, 4]
                closed = conn.execute(
                    text(
                        "SELECT subject_id, detail FROM audit_event "
                        "WHERE action = 'assignment.cancelled' ORDER BY subject_id"
                    )
                ).all()
                assert [row.subject_id for row in closed] == [2, 3]
                assert "duplicate of assignment 1" in closed[0].detail
            db.engine.dispose()
    finally:
        if cleanup:
            engine, schema = cleanup
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()
