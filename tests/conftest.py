"""Fixtures: an app per test on a fresh database, a client, and data builders.

SQLite (default): a new database file per test, copied from a file the schema was created in
once per run (a copy of the same tables, triggers and audit chain head that ``create_all``
makes, in a fraction of the time). PostgreSQL (``TEST_DATABASE_URL`` set): one fresh schema
for the run, every table emptied after each test, the schema dropped at the end.

With pytest-xdist (``-n``), each worker process has its own database (its own schema on
PostgreSQL) and temporary folders; a test marked ``exclusive`` runs while no other worker runs
a test.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from lms import clock, create_app
from lms.config import normalize_database_url
from lms.extensions import db
from tests import compile_cache
from tests.databases import copy_sqlite, empty_tables, sqlite_file

compile_cache.install()  # route builders and templates compiled once per process, not per app


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Under pytest-xdist, a test marked ``exclusive`` (one that measures time) waits until the
    other workers have finished their current test, and they wait until it is done: a lock on
    a file in the run's temporary folder, shared by every other test, taken whole by it (a
    second "gate" lock keeps new tests from slipping in while it waits). Fixtures that the
    test sets up or tears down first or last are inside the lock too."""
    worker_temp = getattr(item.config.option, "basetemp", None)  # set by xdist: <run>/popen-gwN
    if "PYTEST_XDIST_WORKER" not in os.environ or not worker_temp:
        yield
        return
    root = Path(worker_temp).parent  # the run's temporary folder, every worker's
    exclusive = item.get_closest_marker("exclusive") is not None
    with open(root / "exclusive.gate", "a") as gate, open(root / "exclusive.lock", "a") as lock:
        fcntl.flock(gate, fcntl.LOCK_EX)
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        if not exclusive:
            fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            if exclusive:
                fcntl.flock(gate, fcntl.LOCK_UN)


def pytest_configure(config):
    """pytest 9.2 drops the group pytest-xdist's ``--dist loadgroup`` gives each test marked
    ``xdist_group`` (pytest-xdist issue 1386): they would run on any worker, at the same time,
    and share what they must not. Refuse that combination rather than run it."""
    from packaging.version import Version

    parallel = config.getoption("numprocesses", None) not in (None, 0)
    grouped = config.getoption("dist", "no") == "loadgroup"
    if parallel and grouped and Version(pytest.__version__) >= Version("9.2"):
        raise pytest.UsageError(
            f"pytest {pytest.__version__} loses pytest-xdist's test groups: install the "
            "test extra (pip install -e '.[test]'), or run in one process with -n 0"
        )


TEST_SECRET = "test-secret-key-0123456789abcdefghijklmnop"
PG_URL = os.environ.get("TEST_DATABASE_URL")


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def pg_schema():
    """A private schema on the PostgreSQL server for this run (for this worker process, with
    pytest-xdist), with every table created; its name, or None on SQLite."""
    if not PG_URL:
        yield None
        return
    base = normalize_database_url(PG_URL)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    app = create_app(_test_config(_with_search_path(base, schema)))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    yield schema
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_schema_url(pg_schema):
    """The URL of the run's PostgreSQL schema (as its search_path), or None on SQLite."""
    if pg_schema is None:
        return None
    return _with_search_path(normalize_database_url(PG_URL), pg_schema)


def _test_config(url: str, **extra) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "SQLALCHEMY_DATABASE_URI": url,
        "AUTO_MIGRATE": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "REDIS_URL": None,
        "LMS_ENV": "development",
        "SERVER_NAME": None,
        "ARGON2_PROFILE": "test",
    }
    config.update(extra)
    return config


@pytest.fixture
def courses(tmp_path):
    """A tiny course tree, so tests do not depend on the shipped curriculum."""
    from tests.helpers import write_course

    root = tmp_path / "courses"
    write_course(root)
    return root


@pytest.fixture
def app_config(pg_schema_url, tmp_path, courses) -> dict:
    """Override entries in a test by wrapping this fixture."""
    url = pg_schema_url or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return _test_config(url, COURSES_DIR=str(courses))


@pytest.fixture(scope="session")
def sqlite_template(pg_schema_url, tmp_path_factory) -> Path | None:
    """On SQLite, a database file holding the empty schema (``db.create_all()`` run once),
    for tests to copy; None on PostgreSQL."""
    if pg_schema_url is not None:
        return None
    path = tmp_path_factory.mktemp("schema") / "schema.sqlite3"
    app = create_app(_test_config(f"sqlite:///{path}"))
    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()
    return path


@pytest.fixture
def app(app_config, pg_schema_url, sqlite_template):
    from tests import helpers

    target = sqlite_file(app_config["SQLALCHEMY_DATABASE_URI"])
    fresh_copy = sqlite_template is not None and target is not None and not target.exists()
    if fresh_copy:
        copy_sqlite(sqlite_template, target)
    app = create_app(app_config)
    with app.app_context():
        if pg_schema_url is None and not fresh_copy:
            db.create_all()
    helpers.CURRENT["app"] = app
    yield app
    helpers.CURRENT["app"] = None
    with app.app_context():
        db.session.remove()
        if pg_schema_url is not None:
            _empty_tables()
        db.engine.dispose()


def _empty_tables() -> None:
    with db.engine.begin() as conn:
        empty_tables(conn)


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An application context for calling services directly."""
    with app.app_context():
        yield


@pytest.fixture
def make_app(app, app_config):
    """Create extra apps (other settings) whose database connections are closed afterwards."""
    made = []

    def _make(**overrides):
        new = create_app({**app_config, **overrides})
        made.append(new)
        return new

    yield _make
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on a free local port; ``.messages`` holds what it got."""
    from tests.smtp_server import SMTPServer

    with SMTPServer() as server:
        yield server
