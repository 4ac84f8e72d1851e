"""Ten identical submits at the same moment record once, and every one gets a calm answer.

A double click, a phone resending on a bad connection, an impatient second tap: the same
rendered form arrives several times at once. Each test here signs in once, reads the form
once (one CSRF token, one one-time ``submit_token``), then ten threads behind a barrier post
the identical request through their own test clients sharing that session cookie, with real
commits. Asserted: one row where one was meant, no answer of 500 or more, the same redirect
for all ten. On SQLite writers take turns (WAL and a busy timeout are set); on PostgreSQL the
nine later ones wait on the first one's unique claim, then read its result.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from lms.extensions import db
from lms.models import (
    AuditEvent,
    QuizAttempt,
    SectionRead,
    User,
)
from tests.forms import form_posting_to
from tests.helpers import (
    app_context,
    login,
    make_family,
    make_patient,
    make_user,
    text_of,
)

N = 10
COOKIE = "lms_session"


def signed_in(app, user):  # noqa: ANN001, ANN201
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def form_data(client, page: str, action: str, **values) -> dict:  # noqa: ANN001
    """The form on ``page`` that posts to ``action``: its hidden fields (the CSRF token and
    the one-time submit token) as rendered, plus ``values``."""
    response = client.get(page)
    assert response.status_code == 200, page
    form = form_posting_to(text_of(response), page, action)
    data = {
        name: f.values[0]
        for name, f in form.fields.items()
        if f.kind == "hidden" and f.values and f.values[0]
    }
    assert any(name.endswith("csrf_token") for name in data), f"no CSRF token on {page}"
    return {**data, **values}


def at_once(app, client, url: str, data: dict, n: int = N) -> list[tuple[int, str]]:  # noqa: ANN001
    """Post ``data`` to ``url`` from ``n`` threads at the same moment, all with ``client``'s
    session cookie. Returns (status, Location) per thread."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    barrier = threading.Barrier(n)
    results: list[tuple[int, str] | None] = [None] * n
    errors: list[BaseException] = []

    def post(i: int) -> None:
        other = app.test_client()
        other.set_cookie(COOKIE, cookie.value)
        try:
            barrier.wait(timeout=30)
            response = other.post(url, data=data)
            results[i] = (response.status_code, response.headers.get("Location", ""))
            response.close()
        except BaseException as exc:  # noqa: BLE001 -- reported below with the others
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    assert errors == []
    return [r for r in results if r is not None]


def assert_calm(results: list[tuple[int, str]]) -> str:
    """Every answer is the same redirect, none an error. Returns where they all went."""
    assert len(results) == N
    assert all(status < 500 for status, _ in results), results
    assert {status for status, _ in results} == {302}, results
    locations = {location for _, location in results}
    assert len(locations) == 1, results
    return locations.pop()


def count(model, *where) -> int:  # noqa: ANN001
    with app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_count(action: str) -> int:
    return count(AuditEvent, AuditEvent.action == action)


@pytest.fixture
def clinician():
    return make_user("clinician", name="Casey Clinician")


@pytest.fixture
def patient(clinician):
    return make_patient(clinician, name="Sam Example")


@pytest.fixture
def staff_client(app, clinician):
    return signed_in(app, clinician)


def two_learners(patient) -> list[User]:
    learners = [make_user("family"), make_user("family")]
    for learner in learners:
        make_family(patient, learner)
    return learners


# --- learning --------------------------------------------------------------------------------


def test_submitting_a_knowledge_check(app, patient):
    learner = two_learners(patient)[0]
    client = signed_in(app, learner)
    url = "/learn/modules/first-steps/check"
    data = form_data(
        client, url, url, **{"q-pick-one": "0", "q-pick-many": ["0", "1"], "q-true-false": "0"}
    )
    location = assert_calm(at_once(app, client, url, data))
    assert count(QuizAttempt) == 1
    with app_context():
        attempt_id = db.session.scalars(select(QuizAttempt.id)).one()
    assert location == f"/learn/modules/first-steps/attempts/{attempt_id}"


def test_marking_a_section_read(app, patient):
    learner = two_learners(patient)[0]
    client = signed_in(app, learner)
    page = "/learn/modules/first-steps?section=what-a-trigger-is"
    url = "/learn/modules/first-steps/sections/what-a-trigger-is/read"
    data = form_data(client, page, url)
    location = assert_calm(at_once(app, client, url, data))
    assert location == "/learn/modules/first-steps?section=one-skill-to-try"
    assert count(SectionRead) == 1
