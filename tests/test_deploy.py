"""docs/deploy.md's least-privilege SQL, applied exactly as written, holds on PostgreSQL: the
app role can write the audit trail through the app and cannot change, remove or unguard it."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from lms import MIGRATIONS, audit, create_app
from lms.audit.chain import verify
from lms.config import normalize_database_url
from lms.extensions import db
from lms.models import AuditEvent, User
from tests.conftest import _test_config, _with_search_path

PG_URL = os.environ.get("TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(
    not PG_URL, reason="TEST_DATABASE_URL is not set (roles and grants are PostgreSQL's)"
)

DEPLOY_DOC = Path(__file__).resolve().parent.parent / "docs" / "deploy.md"

REFUSED = (
    "UPDATE audit_event SET detail = 'changed'",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
    "ALTER TABLE audit_event DISABLE TRIGGER USER",
    "DELETE FROM audit_chain_head",
    "TRUNCATE audit_chain_head",
    "CREATE TABLE smuggled (id integer)",
)


def privileges_sql(schema: str, owner: str, app_role: str) -> str:
    """The one ```sql block of docs/deploy.md, with this test's schema and role names."""
    blocks = re.findall(r"^```sql\n(.*?)^```", DEPLOY_DOC.read_text(), flags=re.M | re.S)
    assert len(blocks) == 1, "docs/deploy.md should hold exactly one ```sql block"
    sql = (
        blocks[0]
        .replace("SCHEMA public", f'SCHEMA "{schema}"')
        .replace("lms_owner", f'"{owner}"')
        .replace("lms_app", f'"{app_role}"')
    )
    assert not re.search(r"\bpublic\b|\blms_", sql), "a name in the block was not replaced"
    return sql


def role_url(schema: str, role: str | None = None, driver: str = "postgresql+psycopg") -> str:
    """TEST_DATABASE_URL as ``role`` (default: its own user), looking in ``schema``."""
    url = make_url(normalize_database_url(PG_URL)).set(drivername=driver)
    if role is not None:
        url = url.set(username=role, password=None)
    return _with_search_path(url.render_as_string(hide_password=False), schema)


@pytest.fixture
def deployed(tmp_path):
    """A fresh schema migrated by its owner role, then given the documented privileges;
    yields an app connected as the app role. Schema and roles are dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    schema, owner, app_role = f"deploy_{suffix}", f"owner_{suffix}", f"app_{suffix}"
    superuser = create_engine(normalize_database_url(PG_URL))
    made = []
    try:
        with superuser.begin() as conn:
            conn.execute(text(f'CREATE ROLE "{owner}" LOGIN'))
            conn.execute(text(f'CREATE ROLE "{app_role}" LOGIN'))
            conn.execute(text(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{owner}"'))
        owner_app = create_app(_test_config(role_url(schema, owner)))
        made.append(owner_app)
        with owner_app.app_context():
            upgrade(directory=MIGRATIONS)
        # As an operator would with psql: the whole block, unparsed, in one transaction.
        with psycopg.connect(role_url(schema, driver="postgresql")) as conn:
            conn.execute(privileges_sql(schema, owner, app_role))
        app = create_app(_test_config(role_url(schema, app_role)))
        made.append(app)
        yield app
    finally:
        for each in made:
            with each.app_context():
                db.session.remove()
                db.engine.dispose()
        with superuser.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            for role in (app_role, owner):
                exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
                if exists:
                    conn.execute(text(f'DROP OWNED BY "{role}"'))
                    conn.execute(text(f'DROP ROLE "{role}"'))
        superuser.dispose()


def test_app_role_appends_to_the_audit_trail_and_can_do_nothing_else_to_it(deployed):
    with deployed.app_context():
        assert db.session.scalar(text("SELECT current_user")).startswith("app_")
        # Ordinary tables: the app role writes rows as the app does.
        user = User(email="deploy@example.org", display_name="Deploy Check", role="admin")
        db.session.add(user)
        db.session.commit()
        user.display_name = "Deploy Check 2"
        audit.record("deploy.check", actor=user, detail="written by the app role")
        db.session.commit()
        check = verify(db.session)
        assert check.intact and check.rows == 1, check.message()

        for statement in REFUSED:
            with pytest.raises(ProgrammingError) as refused:
                db.session.execute(text(statement))
            assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege), statement
            db.session.rollback()

        row = db.session.scalars(select(AuditEvent)).one()
        assert row.detail == "written by the app role"
        assert verify(db.session).intact
