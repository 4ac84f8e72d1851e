"""The audit log's pages cost the same at its start, middle and end: the whole log's size is
the chain head's (no count of every row), a page past the middle is read from the other end
and shows exactly the rows reading forward would, the list of actions is read by index
probes, and the number of queries does not grow with the log."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, func, select

from lms import clock
from lms.audit import log as audit_log
from lms.extensions import db
from lms.models import AuditEvent, User
from tests.helpers import count_queries, login, make_user, text_of


def add_events(app, n: int, *, start: int = 0) -> None:
    """``n`` events a minute apart, several with the same time (the order must still be
    total: by time, then id)."""
    with app.app_context():
        base = clock.utcnow() - timedelta(days=3)
        for i in range(start, start + n):
            db.session.add(
                AuditEvent(
                    action=("patient.view", "login.success", "caseload.view")[i % 3],
                    at=base + timedelta(minutes=i // 2),
                    detail=f"event {i}",
                )
            )
        db.session.commit()


def signed_in_admin(app):
    admin = make_user("admin")
    client = app.test_client()
    assert login(client, admin.email).status_code == 302
    return admin, client


def forward_page(filters: audit_log.AuditFilters, page: int) -> list[int]:
    size = audit_log.AUDIT_PAGE_SIZE
    query = audit_log.audit_query(filters).limit(size).offset((page - 1) * size)
    return [e.id for e in db.session.scalars(query)]


def test_every_page_shows_what_reading_forward_would(app):
    admin, _client = signed_in_admin(app)
    add_events(app, 170)
    with app.app_context():
        actor = db.session.get(User, admin.id)
        for filters in (
            audit_log.AuditFilters(),
            audit_log.AuditFilters(action="login.success"),
        ):
            total = db.session.scalar(
                select(func.count()).select_from(
                    audit_log.audit_query(filters).order_by(None).subquery()
                )
            )
            pages = -(-total // audit_log.AUDIT_PAGE_SIZE)
            assert pages >= 2
            for page in range(1, pages + 2):
                expected = forward_page(filters, page)
                result = audit_log.audit_page(actor, filters, page)
                assert [row.event.id for row in result.rows] == expected, (filters, page)
                assert result.pagination.total == total
                db.session.rollback()  # the page's own audit row: not part of the next count


def test_the_whole_logs_size_is_the_chain_heads(app):
    admin, client = signed_in_admin(app)
    add_events(app, 60)
    with app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(AuditEvent))
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement.lower())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        page = text_of(client.get("/admin/audit"))
        filtered = text_of(client.get("/admin/audit?action=login.success"))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    # The sign-in above and the events: every row the chain holds, counted without a count;
    # a filtered log is counted.
    assert f"{rows} events match." in page
    assert sum("count(" in s for s in statements) == 1
    with app.app_context():
        logins = db.session.scalar(select(func.count()).where(AuditEvent.action == "login.success"))
    assert f"{logins} events match." in filtered


def test_the_actions_are_every_action_in_the_log(app):
    signed_in_admin(app)
    add_events(app, 9)
    with app.app_context():
        distinct = set(db.session.scalars(select(AuditEvent.action).distinct()))
        listed = audit_log.audit_actions()
    assert {action for action, _words in listed} == distinct
    assert len(listed) == len(distinct)
    assert [words.casefold() for _a, words in listed] == sorted(
        words.casefold() for _a, words in listed
    )


def test_queries_do_not_grow_with_the_log_or_the_page(app):
    _admin, client = signed_in_admin(app)
    add_events(app, 120)
    small = [count_queries(app, client, f"/admin/audit?page={p}") for p in (1, 3)]
    add_events(app, 300, start=120)
    large = [count_queries(app, client, f"/admin/audit?page={p}") for p in (1, 5, 9)]
    assert len(set(small + large)) == 1, (small, large)
