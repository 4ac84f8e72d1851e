"""xAPI statements: built from what is recorded, valid by the specification, stable, naming
nobody; exported per learner and per span (access, audit, bad dates); recorded with their event
and pushed to a real local learning-record store (LRS) that can be down — nothing lost, nothing
sent twice. SQLite, and PostgreSQL with TEST_DATABASE_URL."""

from __future__ import annotations

import base64
import copy
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms import demo
from lms.extensions import db
from lms.goals.queries import program_today  # the day ranges are the program's days
from lms.interop import lrs, xapi
from lms.learning import operations as learning
from lms.models import AuditEvent, Patient, SectionRead, User, XapiOutbox
from tests.helpers import login, make_family, make_patient, make_user, text_of

SHIPPED = Path(__file__).resolve().parent.parent / "courses"
DEMO_PASSWORD = "demo orchard lantern 2026"
LRS_USER = "lrs-user"
LRS_PASSWORD = "lrs secret 8d1f"
VERBS = {"launched", "experienced", "answered", "passed", "failed", "completed"}


# --- a real LRS on a local port --------------------------------------------------------------


class LRS:
    """A tiny LRS: POST /xapi/statements with the xAPI version header and basic auth stores
    the statements (every one received, duplicates included); ``mode`` "down" answers 503."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.mode = "up"
        self.delay = 0.0
        self.requests = 0
        self.lock = threading.Lock()
        lrs_self = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                """Quiet: the test reads what arrived from ``received``, not the log."""

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with lrs_self.lock:
                    lrs_self.requests += 1
                expected = (
                    "Basic " + base64.b64encode(f"{LRS_USER}:{LRS_PASSWORD}".encode()).decode()
                )
                if self.path != "/xapi/statements":
                    return self._answer(404)
                if self.headers.get("X-Experience-API-Version") != "1.0.3":
                    return self._answer(400)
                if self.headers.get("Authorization") != expected:
                    return self._answer(401)
                if lrs_self.mode == "down":
                    return self._answer(503)
                if lrs_self.delay:
                    threading.Event().wait(lrs_self.delay)
                statements = json.loads(body)
                with lrs_self.lock:
                    lrs_self.received.extend(statements)
                self._answer(200, json.dumps([s["id"] for s in statements]).encode())

            def _answer(self, code: int, body: bytes = b"") -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/xapi"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LRS:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def program_day(app):
    """Today in the program's time zone: the days of an export's range are the program's
    (``xapi.parse_range``), not UTC's, which differ for some hours of every day."""
    with app.app_context():
        return program_today()


@pytest.fixture
def lrs_server():
    with LRS() as server:
        yield server


@pytest.fixture
def app_config(app_config, lrs_server):
    return {
        **app_config,
        "COURSES_DIR": str(SHIPPED),
        "SITE_URL": "https://learning.example.org",
        "XAPI_LRS_URL": lrs_server.url,
        "XAPI_LRS_USERNAME": LRS_USER,
        "XAPI_LRS_PASSWORD": LRS_PASSWORD,
        "XAPI_LRS_TIMEOUT": 5,
    }


@pytest.fixture
def demo_data(app):
    with app.app_context():
        users = demo.build(DEMO_PASSWORD)
        db.session.commit()
        return {email: user.id for email, user in users.items()}


def demo_learner_statements(app, demo_data) -> list[dict]:
    with app.app_context():
        return xapi.statements_for([demo_data["family@example.org"]])


def outbox(app) -> list[XapiOutbox]:
    with app.app_context():
        rows = db.session.scalars(select(XapiOutbox).order_by(XapiOutbox.id)).all()
        db.session.expunge_all()
        return rows


# --- statements ------------------------------------------------------------------------------


def test_demo_learner_statements_are_valid_and_cover_every_verb(app, demo_data):
    statements = demo_learner_statements(app, demo_data)
    assert statements
    with app.app_context():
        for statement in statements:
            assert xapi.problems(statement) == [], statement["id"]
    verbs = {s["verb"]["id"].rsplit("/", 1)[1] for s in statements}
    assert verbs == VERBS
    assert all(s["verb"]["id"].startswith("http://adlnet.gov/expapi/verbs/") for s in statements)
    assert all(s["version"] == "1.0.3" for s in statements)
    assert all(s["timestamp"].endswith("Z") for s in statements)
    assert [s["timestamp"] for s in statements] == sorted(s["timestamp"] for s in statements)
    # The actor is an opaque account on this site.
    actors = {json.dumps(s["actor"], sort_keys=True) for s in statements}
    assert actors == {
        json.dumps(
            {
                "objectType": "Agent",
                "account": {
                    "homePage": "https://learning.example.org",
                    "name": f"learner-{demo_data['family@example.org']}",
                },
            },
            sort_keys=True,
        )
    }


def test_activities_come_from_the_module_slug_and_version(app, demo_data):
    statements = demo_learner_statements(app, demo_data)
    with app.app_context():
        library = app.extensions["lms_library"]
        for statement in statements:
            obj = statement["object"]["id"]
            assert obj.startswith("https://learning.example.org/xapi/modules/")
            slug, version = obj.split("/xapi/modules/")[1].split("/")[:2]
            module = library.module(slug)
            assert module is not None
            assert version in {
                module.version,
                *(library.module(slug, lang).version for lang in module.translations),
            }
        passed = next(s for s in statements if s["verb"]["id"].endswith("/passed"))
        score = passed["result"]["score"]
        assert passed["result"]["success"] is True
        assert 0 <= score["raw"] <= score["max"] and score["min"] == 0
        assert score["scaled"] == pytest.approx(score["raw"] / score["max"], abs=1e-4)
        assert passed["object"]["definition"]["type"].endswith("/assessment")
        answered = next(s for s in statements if s["verb"]["id"].endswith("/answered"))
        definition = answered["object"]["definition"]
        assert definition["type"] == "http://adlnet.gov/expapi/activities/cmi.interaction"
        assert definition["interactionType"] in {"choice", "sequencing"}
        assert {"choices", "correctResponsesPattern"} <= set(definition)
        chosen = answered["result"]["response"].split("[,]")
        assert set(chosen) <= {c["id"] for c in definition["choices"]}
        parents = answered["context"]["contextActivities"]["parent"]
        assert parents[0]["id"] == answered["object"]["id"].split("/questions/")[0]
        section = next(s for s in statements if s["verb"]["id"].endswith("/experienced"))
        assert "/sections/" in section["object"]["id"]
        assert section["object"]["definition"]["type"].endswith("/lesson")
        assert section["object"]["definition"]["name"]["en"]


def test_ids_are_stable_and_equal_to_the_recorded_ones(app, demo_data, make_app):
    first = demo_learner_statements(app, demo_data)
    second = demo_learner_statements(app, demo_data)
    assert first == second
    # Another process (another app on the same database) builds the same statements.
    other = make_app()
    with other.app_context():
        assert xapi.statements_for([demo_data["family@example.org"]]) == first
    # The demo's learning was recorded with an LRS configured: the outbox holds exactly the
    # statements the history gives, byte for byte once parsed.
    with app.app_context():
        everyone = xapi.statements_for(xapi.learners_with_history())
    recorded = {row.statement_id: json.loads(row.statement) for row in outbox(app)}
    assert recorded == {s["id"]: s for s in everyone}
    assert len({s["id"] for s in everyone}) == len(everyone)


def test_no_email_or_name_anywhere(app, demo_data):
    with app.app_context():
        everyone = xapi.statements_for(xapi.learners_with_history())
        text = json.dumps(everyone, ensure_ascii=False).lower()
        users = db.session.scalars(select(User)).all()
        patients = db.session.scalars(select(Patient)).all()
        assert users and patients
        for user in users:
            assert user.email.lower() not in text
            assert user.display_name.lower() not in text
        for patient in patients:
            assert patient.display_name.lower() not in text
            assert patient.record_number.lower() not in text
    assert "mbox" not in text and "@" not in text


def test_a_date_range_keeps_only_its_events(app, demo_data):
    with app.app_context():
        learner = demo_data["family@example.org"]
        every = xapi.statements_for([learner])
        today = program_today().isoformat()
        span = xapi.parse_range(today, today)
        assert xapi.statements_for([learner], span.start, span.end) == every  # all today
        long_ago = xapi.parse_range("2001-01-01", "2001-12-31")
        assert xapi.statements_for([learner], long_ago.start, long_ago.end) == []


# --- validation ------------------------------------------------------------------------------


def _base() -> dict:
    return {
        "id": "6d4f0e2a-6f0c-4d5e-9a43-0b8a2c1f9e11",
        "actor": {"objectType": "Agent", "account": {"homePage": "https://x.org", "name": "l-1"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed"}},
        "object": {"id": "https://x.org/xapi/modules/a/b/check", "objectType": "Activity"},
        "result": {"score": {"scaled": 0.5, "raw": 1, "min": 0, "max": 2}, "success": True},
        "context": {"platform": "Family Learning", "language": "en"},
        "timestamp": "2024-01-31T10:00:00.000Z",
        "version": "1.0.3",
    }


def _with(path: str, value):
    statement = _base()
    *parents, last = path.split(".")
    node = statement
    for key in parents:
        node = node[key]
    if value is _DROP:
        del node[last]
    else:
        node[last] = value
    return statement


_DROP = object()

INVALID = {
    "two identifiers": _with("actor.mbox", "mailto:someone@example.org"),
    "no identifier": _with("actor.account", _DROP),
    "scaled above 1": _with("result.score.scaled", 2.0),
    "raw above max": _with("result.score.raw", 3),
    "raw below min": _with("result.score.raw", -1),
    "min not below max": _with("result.score.min", 2),
    "verb without id": _with("verb.id", _DROP),
    "verb id not an IRI": _with("verb.id", "passed"),
    "bad language tag": _with("verb.display", {"english please": "passed"}),
    "unknown property": _with("mood", "happy"),
    "id not a UUID": _with("id", "statement-1"),
    "timestamp not ISO 8601": _with("timestamp", "31/01/2024 10:00"),
    "timestamp in the future": _with("timestamp", "2999-01-01T00:00:00Z"),
    "duration not ISO 8601": _with("result.duration", "5 minutes"),
    "platform with an Agent object": _with(
        "object", {"objectType": "Agent", "account": {"homePage": "https://x.org", "name": "b"}}
    ),
    "version 2": _with("version", "2.0.0"),
    "choices on a numeric interaction": _with(
        "object.definition",
        {"interactionType": "numeric", "choices": [{"id": "0", "description": {"en": "a"}}]},
    ),
    "repeated component ids": _with(
        "object.definition",
        {"interactionType": "choice", "choices": [{"id": "0"}, {"id": "0"}]},
    ),
    "anonymous group without members": _with("actor", {"objectType": "Group"}),
}


def test_a_valid_statement_passes(app):
    with app.app_context():
        assert xapi.problems(_base()) == []
        group = _with(
            "actor",
            {"objectType": "Group", "member": [{"mbox": "mailto:a@example.org"}]},
        )
        assert xapi.problems(group) == []


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_statements_are_refused(app, name):
    with app.app_context():
        found = xapi.problems(copy.deepcopy(INVALID[name]))
        assert found, name
        with pytest.raises(xapi.InvalidStatement):
            xapi.check(copy.deepcopy(INVALID[name]))
        with pytest.raises(xapi.InvalidStatement):
            xapi.enqueue([copy.deepcopy(INVALID[name])])
        assert db.session.scalar(select(func.count(XapiOutbox.id))) == 0


# --- the outbox is filled with the event -----------------------------------------------------


def _learner(app):
    with app.app_context():
        clinician = make_user("clinician")
        member = make_user("family")
        patient = make_patient(clinician)
        make_family(patient, member)
        db.session.commit()
        return member.id


def test_events_record_their_statements_once_in_the_same_transaction(app):
    member_id = _learner(app)
    with app.app_context():
        user = db.session.get(User, member_id)
        module = app.extensions["lms_library"].module("what-is-iop")
        # A request has written before (pysqlite opens its transaction at the first write,
        # and a savepoint opened outside one is committed when it is released).
        user.timezone = "America/Chicago"
        db.session.flush()
        learning.record_section_read(user, module, module.sections[0].key)
        db.session.rollback()  # the event is undone: so are its statements
        assert db.session.scalar(select(func.count(XapiOutbox.id))) == 0
        learning.record_section_read(user, module, module.sections[0].key)
        learning.record_section_read(user, module, module.sections[0].key)  # a double click
        db.session.commit()
        verbs = sorted(
            json.loads(row.statement)["verb"]["display"]["en-US"]
            for row in db.session.scalars(select(XapiOutbox))
        )
        assert verbs == ["experienced", "launched"]
        assert db.session.scalar(select(func.count(SectionRead.id))) == 1


def test_without_an_lrs_nothing_is_recorded(app):
    member_id = _learner(app)
    app.config["XAPI_LRS_URL"] = None
    with app.app_context():
        user = db.session.get(User, member_id)
        module = app.extensions["lms_library"].module("what-is-iop")
        learning.record_section_read(user, module, module.sections[0].key)
        db.session.commit()
        assert db.session.scalar(select(func.count(XapiOutbox.id))) == 0


def test_enqueue_history_fills_what_is_missing_only(app, demo_data, runner):
    before = {row.statement_id: row.statement for row in outbox(app)}
    with app.app_context():
        db.session.execute(XapiOutbox.__table__.delete().where(XapiOutbox.id % 2 == 0))
        db.session.commit()
    result = runner.invoke(args=["xapi", "enqueue"])
    assert result.exit_code == 0, result.output
    assert f"Recorded {len(before) // 2} statement(s)" in result.output
    assert {row.statement_id: row.statement for row in outbox(app)} == before
    again = runner.invoke(args=["xapi", "enqueue", "--since", program_day(app).isoformat()])
    assert "Recorded 0 statement(s)" in again.output


# --- exports -------------------------------------------------------------------------------


def _exports(app) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "xapi.export").order_by(AuditEvent.id)
        ).all()
        db.session.expunge_all()
        return rows


def _sam_and_pat(app, demo_data) -> tuple[int, int]:
    with app.app_context():
        sam = db.session.scalars(select(Patient).where(Patient.record_number == "DEMO-1")).one()
        return sam.id, demo_data["family@example.org"]


def test_learner_export_is_the_learners_statements_and_is_audited(app, client, demo_data):
    patient_id, learner_id = _sam_and_pat(app, demo_data)
    login(client, "clinician@example.org", DEMO_PASSWORD)
    response = client.get(f"/clinic/patients/{patient_id}/learners/{learner_id}/xapi")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_json()
    assert body == demo_learner_statements(app, demo_data)
    rows = _exports(app)
    assert len(rows) == 1
    assert rows[0].patient_id == patient_id and rows[0].subject_id == learner_id
    assert f"{len(body)} statements" in rows[0].detail


def test_another_clinicians_learner_is_404(app, client, demo_data):
    patient_id, learner_id = _sam_and_pat(app, demo_data)
    login(client, "clinician2@example.org", DEMO_PASSWORD)
    response = client.get(f"/clinic/patients/{patient_id}/learners/{learner_id}/xapi")
    assert response.status_code == 404
    assert _exports(app) == []
    # Someone who is not this patient's learner, on the clinician's own patient: 404 too.
    own = app.test_client()
    login(own, "clinician@example.org", DEMO_PASSWORD)
    other = demo_data["clinician2@example.org"]
    assert own.get(f"/clinic/patients/{patient_id}/learners/{other}/xapi").status_code == 404


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("", "Choose both a first and a last day"),
        ("?from=2026-01-01", "Choose both a first and a last day"),
        ("?from=yesterday&to=2026-01-02", "Write each day as YYYY-MM-DD"),
        ("?from=2026-02-30&to=2026-03-02", "Write each day as YYYY-MM-DD"),
        ("?from=2026-03-02&to=2026-03-01", "The last day comes before the first day"),
        ("?from=2024-01-01&to=2025-12-31", "Choose at most 366 days at a time"),
        ("?from=%00&to=%FF", "Write each day as YYYY-MM-DD"),
    ],
)
def test_bad_dates_are_a_400_saying_what_to_change(app, client, demo_data, query, words):
    login(client, "clinician@example.org", DEMO_PASSWORD)
    response = client.get(f"/clinic/xapi{query}")
    assert response.status_code == 400
    assert words in text_of(response)
    assert _exports(app) == []


def test_caseload_export_covers_the_caseload_in_the_span(app, client, demo_data):
    today = program_day(app)
    login(client, "clinician@example.org", DEMO_PASSWORD)
    first = (today - timedelta(days=365)).isoformat()
    response = client.get(f"/clinic/xapi?from={first}&to={today.isoformat()}")
    assert response.status_code == 200
    body = response.get_json()
    with app.app_context():
        clinician = db.session.get(User, demo_data["clinician@example.org"])
        learners = xapi.caseload_learners(clinician)
        assert body == xapi.statements_for(learners)
        assert body  # the demo family learned today
        names = {s["actor"]["account"]["name"] for s in body}
        assert names <= {f"learner-{i}" for i in learners}
    (row,) = _exports(app)
    assert f"{first} to {today.isoformat()}" in row.detail and row.patient_id is None
    # The other clinician's caseload has no learning: an empty array, audited too.
    colleague = app.test_client()
    login(colleague, "clinician2@example.org", DEMO_PASSWORD)
    other = colleague.get(f"/clinic/xapi?from={first}&to={today.isoformat()}")
    assert other.status_code == 200 and other.get_json() == []
    assert len(_exports(app)) == 2


def test_caseload_learners_follow_the_drill_down_rule(app, demo_data):
    from lms import access, insight

    with app.app_context():
        clinician = db.session.get(User, demo_data["clinician@example.org"])
        expected = set()
        for patient in db.session.scalars(access.caseload(clinician)):
            candidates = [patient.user_id, *(link.user_id for link in patient.family_links)]
            expected |= {
                uid for uid in candidates if uid and insight.learner_of(patient, uid) is not None
            }
        assert set(xapi.caseload_learners(clinician)) == expected
        assert expected


def test_cli_export(app, runner, demo_data):
    today = program_day(app).isoformat()
    learner = demo_data["family@example.org"]
    result = runner.invoke(
        args=["xapi", "export", "--from", today, "--to", today, "--learner-id", str(learner)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == demo_learner_statements(app, demo_data)
    everyone = runner.invoke(args=["xapi", "export", "--from", today, "--to", today])
    with app.app_context():
        assert json.loads(everyone.output) == xapi.statements_for(xapi.learners_with_history())
    none = runner.invoke(args=["xapi", "export", "--from", "2001-01-01", "--to", "2001-01-02"])
    assert json.loads(none.output) == []
    bad = runner.invoke(args=["xapi", "export", "--from", "soon", "--to", today])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


# --- the push ------------------------------------------------------------------------------


def push(runner) -> str:
    result = runner.invoke(args=["xapi", "push"])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_down_lrs_loses_nothing_and_each_statement_arrives_once(
    app, runner, demo_data, lrs_server
):
    recorded = {row.statement_id for row in outbox(app)}
    assert recorded
    lrs_server.mode = "down"
    output = push(runner)
    assert f"Sent 0 statement(s); {len(recorded)} failed; {len(recorded)} waiting." in output
    rows = outbox(app)
    assert all(r.sent_at is None and r.attempts == 1 for r in rows)
    assert {r.last_error for r in rows} == {"the LRS answered 503"}
    status = runner.invoke(args=["xapi", "status"]).output
    assert f"0 waiting, 0 sent, {len(recorded)} failing" in status
    assert "the LRS answered 503" in status and LRS_PASSWORD not in status
    assert lrs_server.received == []

    lrs_server.mode = "up"
    assert f"Sent {len(recorded)} statement(s); 0 failed; 0 waiting." in push(runner)
    ids = [s["id"] for s in lrs_server.received]
    assert sorted(ids) == sorted(recorded)  # every one, exactly once
    assert {s["id"]: s for s in lrs_server.received} == {
        r.statement_id: json.loads(r.statement) for r in outbox(app)
    }
    assert all(r.sent_at is not None and r.last_error is None for r in outbox(app))
    assert "Sent 0 statement(s)" in push(runner)  # nothing is sent again
    assert len(lrs_server.received) == len(recorded)
    assert (
        f"0 waiting, {len(recorded)} sent, 0 failing"
        in runner.invoke(args=["xapi", "status"]).output
    )


def test_nothing_listening_then_listening(app, runner, demo_data, lrs_server):
    real = app.config["XAPI_LRS_URL"]
    with LRS() as gone:
        nowhere = gone.url
    app.config["XAPI_LRS_URL"] = nowhere  # that port is closed now
    push(runner)
    rows = outbox(app)
    assert all(r.sent_at is None for r in rows)
    assert {r.last_error for r in rows} == {"could not reach the LRS (ConnectionError)"}
    app.config["XAPI_LRS_URL"] = real
    push(runner)
    assert sorted(s["id"] for s in lrs_server.received) == sorted(r.statement_id for r in rows)


def test_wrong_credentials_are_kept_for_later(app, runner, demo_data, lrs_server):
    app.config["XAPI_LRS_PASSWORD"] = "not the password"
    push(runner)
    assert {r.last_error for r in outbox(app)} == {"the LRS answered 401"}
    app.config["XAPI_LRS_PASSWORD"] = LRS_PASSWORD
    push(runner)
    assert len(lrs_server.received) == len(outbox(app))


def test_two_pushes_at_once_never_send_a_statement_twice(app, demo_data, lrs_server, monkeypatch):
    monkeypatch.setattr(lrs, "BATCH", 4)  # many small batches, so the two runs overlap
    lrs_server.delay = 0.05
    start = threading.Barrier(2)
    results, errors = [], []

    def host():
        try:
            with app.app_context():
                start.wait()
                results.append(lrs.push())
                db.session.remove()
        except Exception as exc:  # pragma: no cover -- reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=host) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    recorded = sorted(r.statement_id for r in outbox(app))
    ids = sorted(s["id"] for s in lrs_server.received)
    assert ids == recorded
    assert sum(r.sent for r in results) == len(recorded)
    assert all(r.failed == 0 for r in results)


def test_push_without_an_lrs_says_so(app, runner):
    app.config["XAPI_LRS_URL"] = None
    result = runner.invoke(args=["xapi", "push"])
    assert result.exit_code != 0 and "XAPI_LRS_URL is not set" in result.output


def test_the_pages_offer_the_exports(app, client, demo_data):
    patient_id, learner_id = _sam_and_pat(app, demo_data)
    login(client, "clinician@example.org", DEMO_PASSWORD)
    learner_page = text_of(client.get(f"/clinic/patients/{patient_id}/learners/{learner_id}"))
    assert f'href="/clinic/patients/{patient_id}/learners/{learner_id}/xapi"' in learner_page
    caseload = text_of(client.get("/clinic/"))
    assert 'action="/clinic/xapi"' in caseload
    assert '<label for="xapi-from">' in caseload and '<label for="xapi-to">' in caseload


def test_production_refuses_an_lrs_over_plain_http(app):
    from lms.config import ConfigError, check_production
    from tests.helpers import production_config

    config = production_config(XAPI_LRS_URL="http://lrs.example.org/xapi")
    with pytest.raises(ConfigError, match="XAPI_LRS_URL must be an https"):
        check_production(config)
    check_production({**config, "XAPI_LRS_URL": "https://lrs.example.org/xapi"})
