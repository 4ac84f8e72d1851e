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
from lms.audit.chain import verify
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


def test_upgrade_keeps_every_row_that_points_at_a_user(tmp_path):
    """Upgrading from 0004 changes the user table; on SQLite a rebuilt table would take every
    row that references a user ON DELETE CASCADE with it. Every such row must survive."""
    url, cleanup = _fresh_url(tmp_path)
    stamp = "2026-01-01 00:00:00"
    rows = {
        "care_team": "INSERT INTO care_team (id, patient_id, clinician_id, added_at) "
        "VALUES (1, 1, 2, :t)",
        "family_link": "INSERT INTO family_link (id, patient_id, user_id, display_name, email, "
        "relationship, state, created_at) VALUES (1, 1, 1, 'F', 'f@example.org', 'parent', "
        "'active', :t)",
        "consent": "INSERT INTO consent (id, patient_id, family_link_id, program_name, "
        "recipient_name, disclosure, purpose, revocation_terms, signed_by, signature_method, "
        "signed_on, created_at) VALUES (1, 1, 1, 'P', 'F', 'd', 'p', 'r', 'patient', 'paper', "
        "'2026-01-01', :t)",
        "assignment": "INSERT INTO assignment (id, module_slug, learner_id, patient_id, "
        "assigned_at) VALUES (1, 'a', 1, 1, :t)",
        "section_read": "INSERT INTO section_read (id, user_id, module_slug, section_key, "
        "content_version, read_at) VALUES (1, 1, 'a', 's', 'v', :t)",
        "module_progress": "INSERT INTO module_progress (id, user_id, module_slug, started_at, "
        "last_activity_at, sections_read, sections_total) VALUES (1, 1, 'a', :t, :t, 1, 2)",
        "quiz_attempt": "INSERT INTO quiz_attempt (id, user_id, module_slug, content_version, "
        "lang, submit_token, score, correct_count, total, pass_mark, passed, submitted_at) "
        "VALUES (1, 1, 'a', 'v', 'en', 'tok', 1.0, 1, 1, 0.8, true, :t)",
        "quiz_answer": "INSERT INTO quiz_answer (id, attempt_id, position, question_id, chosen, "
        "correct) VALUES (1, 1, 0, 'q', '0', true)",
    }
    try:
        app = create_app(_test_config(url))
        with app.app_context():
            upgrade(directory=MIGRATIONS, revision="0004")
            with db.engine.begin() as conn:
                for user_id, role in ((1, "family"), (2, "clinician")):
                    conn.execute(
                        text(
                            'INSERT INTO "user" (id, email, display_name, role, active, '
                            "session_version, failed_logins, created_at, updated_at) VALUES "
                            "(:id, :email, 'U', :role, true, 1, 0, :t, :t)"
                        ),
                        {
                            "id": user_id,
                            "email": f"u{user_id}@example.org",
                            "role": role,
                            "t": stamp,
                        },
                    )
                conn.execute(
                    text(
                        "INSERT INTO patient (id, display_name, status, enrolled_on, created_at) "
                        "VALUES (1, 'P', 'active', '2026-01-01', :t)"
                    ),
                    {"t": stamp},
                )
                for statement in rows.values():
                    conn.execute(text(statement), {"t": stamp})
            upgrade(directory=MIGRATIONS)
            with db.engine.connect() as conn:
                for table in ("user", "patient", *rows):
                    count = conn.execute(
                        sa.select(sa.func.count()).select_from(sa.table(table))
                    ).scalar()
                    assert count == (2 if table == "user" else 1), table
            db.engine.dispose()
    finally:
        if cleanup:
            engine, schema = cleanup
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


def test_upgrade_names_the_assignment_of_reminders_still_to_send(tmp_path):
    """0009: reminders not yet sent learn their assignment from their dedupe key, so they
    are asked again before sending; sent ones, other mail and keys naming no assignment that
    exists are left alone. Downgrade removes the columns."""
    url, cleanup = _fresh_url(tmp_path)
    stamp = "2026-01-01 00:00:00"
    try:
        app = create_app(_test_config(url))
        with app.app_context():
            upgrade(directory=MIGRATIONS, revision="0008")
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        'INSERT INTO "user" (id, email, display_name, role, active, '
                        "session_version, created_at, updated_at) VALUES "
                        "(1, 'f@example.org', 'F', 'family', true, 1, :t, :t)"
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
                conn.execute(
                    text(
                        "INSERT INTO assignment (id, module_slug, learner_id, patient_id, "
                        "assigned_at) VALUES (7, 'a', 1, 1, :t)"
                    ),
                    {"t": stamp},
                )
                for row_id, key, kind, sent in (
                    (1, "reminder:7:due-soon", "reminder", None),
                    (2, "reminder:7:overdue", "reminder_overdue", stamp),
                    (3, "reminder:99:overdue", "reminder_overdue", None),
                    (4, "invite:5", "invitation", None),
                ):
                    conn.execute(
                        text(
                            "INSERT INTO outbox (id, dedupe_key, kind, recipient, user_id, "
                            "subject, body_text, body_html, sensitive, created_at, sent_at, "
                            "attempts) VALUES (:id, :key, :kind, 'f@example.org', 1, 's', 't', "
                            "'h', false, :t, :sent, 1)"
                        ),
                        {"id": row_id, "key": key, "kind": kind, "t": stamp, "sent": sent},
                    )
            upgrade(directory=MIGRATIONS, revision="0009")
            with db.engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT id, assignment_id, dropped_at FROM outbox ORDER BY id")
                ).all()
            assert [tuple(r) for r in rows] == [
                (1, 7, None),
                (2, None, None),
                (3, None, None),
                (4, None, None),
            ]
            downgrade(directory=MIGRATIONS, revision="0008")
            columns = {c["name"] for c in inspect(db.engine).get_columns("outbox")}
            assert "assignment_id" not in columns and "dropped_at" not in columns
            with db.engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM outbox")).scalar() == 4
            db.engine.dispose()
    finally:
        if cleanup:
            engine, schema = cleanup
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


def test_0020_adds_the_dashboards_index_and_downgrade_removes_it(tmp_path):
    """The index the dashboard reads learners' last activity from, and on PostgreSQL the
    statistics that keep the question analysis's plan a hash: added on top of a database
    that has progress and attempts, removed by the downgrade, results unchanged."""
    url, cleanup = _fresh_url(tmp_path)
    try:
        app = create_app(_test_config(url))
        with app.app_context():
            upgrade(directory=MIGRATIONS, revision="0019")
            stamp = clock.utcnow()
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        'INSERT INTO "user" (id, email, display_name, role, active, '
                        "session_version, reminders_enabled, created_at, updated_at) VALUES "
                        "(1, 'l@example.org', 'L', 'family', true, 1, true, :t, :t)"
                    ),
                    {"t": stamp},
                )
                conn.execute(
                    text(
                        "INSERT INTO module_progress (id, user_id, module_slug, started_at, "
                        "last_activity_at, sections_read, sections_total) VALUES "
                        "(1, 1, 'a', :t, :t, 1, 2), (2, 1, 'b', :t, :late, 2, 2)"
                    ),
                    {"t": stamp, "late": stamp + timedelta(hours=1)},
                )

            def state():
                names = {i["name"] for i in inspect(db.engine).get_indexes("module_progress")}
                stats = None
                if db.engine.dialect.name == "postgresql":
                    with db.engine.connect() as conn:
                        stats = conn.execute(
                            text(
                                "SELECT count(*) FROM pg_statistic_ext WHERE stxname = "
                                "'st_quiz_attempt_module_version' AND stxnamespace = "
                                "to_regnamespace(current_schema())"
                            )
                        ).scalar()
                return "ix_module_progress_user_activity" in names, stats

            assert state()[0] is False
            upgrade(directory=MIGRATIONS, revision="0020")
            has_index, stats = state()
            assert has_index and stats in (None, 1)
            with db.engine.connect() as conn:
                latest = conn.execute(
                    text(
                        "SELECT module_slug FROM module_progress WHERE user_id = 1 "
                        "ORDER BY last_activity_at DESC LIMIT 1"
                    )
                ).scalar()
            assert latest == "b"
            downgrade(directory=MIGRATIONS, revision="0019")
            assert state() == (False, None if stats is None else 0)
            with db.engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM module_progress")).scalar() == 2
            db.engine.dispose()
    finally:
        if cleanup:
            engine, schema = cleanup
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


def test_0023_seals_two_step_secrets_in_place_and_downgrade_opens_them(tmp_path):
    """Existing TOTP secrets are sealed into the new columns (nothing that references the
    user is lost: "user" is not rebuilt), read back whole through the model, and opened
    again by the downgrade."""
    url, cleanup = _fresh_url(tmp_path)
    secret, pending = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
    try:
        app = create_app(_test_config(url))
        with app.app_context():
            upgrade(directory=MIGRATIONS, revision="0022")
            stamp = clock.utcnow()
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        'INSERT INTO "user" (id, email, display_name, role, active, '
                        "session_version, reminders_enabled, created_at, updated_at, "
                        "totp_secret, totp_pending_secret) VALUES "
                        "(1, 's@example.org', 'S', 'clinician', true, 1, true, :t, :t, :s, NULL),"
                        "(2, 'p@example.org', 'P', 'clinician', true, 1, true, :t, :t, NULL, :p),"
                        "(3, 'n@example.org', 'N', 'family', true, 1, true, :t, :t, NULL, NULL)"
                    ),
                    {"t": stamp, "s": secret, "p": pending},
                )
                conn.execute(
                    text(
                        "INSERT INTO recovery_code (id, user_id, code_hash, created_at) "
                        "VALUES (1, 1, 'h', :t)"
                    ),
                    {"t": stamp},
                )
            upgrade(directory=MIGRATIONS, revision="0023")
            with db.engine.connect() as conn:
                rows = conn.execute(
                    text(
                        'SELECT id, totp_secret_sealed, totp_pending_sealed FROM "user" ORDER BY id'
                    )
                ).all()
                assert conn.execute(text("SELECT count(*) FROM recovery_code")).scalar() == 1
            assert rows[0][1].startswith("fernet:") and secret not in rows[0][1]
            assert rows[0][2] is None and rows[1][1] is None
            assert rows[1][2].startswith("fernet:") and rows[2][1:] == (None, None)
            from lms.models import User

            assert db.session.get(User, 1).totp_secret == secret
            assert db.session.get(User, 2).totp_pending_secret == pending
            db.session.remove()
            downgrade(directory=MIGRATIONS, revision="0022")
            with db.engine.connect() as conn:
                back = conn.execute(
                    text('SELECT totp_secret, totp_pending_secret FROM "user" ORDER BY id')
                ).all()
            assert [tuple(row) for row in back] == [(secret, None), (None, pending), (None, None)]
            db.engine.dispose()
    finally:
        if cleanup:
            engine, schema = cleanup
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()
