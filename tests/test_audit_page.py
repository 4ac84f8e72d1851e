"""The admin's audit log as people read it: words for actions, the program's local time,
filters by a person's or a patient's name that never put a name in an address, a page that
reads on a phone."""

from __future__ import annotations

import ast
import csv
import html
import io
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from lms import clock, create_app
from lms.audit import log as audit_log
from lms.config import DEFAULT_TIMEZONE, ConfigError, from_environment
from lms.extensions import db
from lms.models import AuditEvent, Patient
from tests.conftest import _test_config
from tests.helpers import csrf_token, login, make_user, text_of

ROOT = Path(__file__).resolve().parent.parent
LMS = ROOT / "lms"


# --- builders --------------------------------------------------------------------------------


def add_event(app, action: str, **values) -> int:
    with app.app_context():
        event = AuditEvent(action=action, at=values.pop("at", None) or clock.utcnow(), **values)
        db.session.add(event)
        db.session.commit()
        return event.id


def add_patient(app, name: str, record: str | None = None) -> int:
    with app.app_context():
        patient = Patient(display_name=name, record_number=record, enrolled_on=clock.today())
        db.session.add(patient)
        db.session.commit()
        return patient.id


def shown_actions(page: str) -> list[str]:
    """The words in each row's "What happened" cell, top to bottom."""
    return [html.unescape(a) for a in re.findall(r'<span class="action">([^<]*)</span>', page)]


def audit_details(app) -> list[str]:
    with app.app_context():
        return [d or "" for d in db.session.scalars(select(AuditEvent.detail))]


@pytest.fixture
def admin(app):
    return make_user("admin", name="Alex Admin", email="alex.admin@example.org")


@pytest.fixture
def as_admin(app, client, admin):
    """Signed in just now, so re-authentication is recent (as in tests/test_admin.py)."""
    assert login(client, admin.email).status_code == 302
    return client


def filter_post(client, data: dict, *, query: str = ""):
    """Send the filter form as a browser would: from the page, with its CSRF token."""
    path = f"/admin/audit{query}"
    token = csrf_token(client, path)
    fields = {"person": "", "patient": "", "action": "", "date_from": "", "date_to": ""}
    return client.post(path, data={**fields, **data, "csrf_token": token})


# --- 1. the first visit ----------------------------------------------------------------------


def test_first_visit_shows_the_log_without_any_message(app, as_admin):
    """With no query string the log opened with "Who: Not a valid choice." beside an empty
    select: a filter nobody had chosen was refused."""
    add_event(app, "patient.view", patient_id=3)
    response = as_admin.get("/admin/audit")
    assert response.status_code == 200
    page = text_of(response)
    assert "error-summary" not in page
    assert "has-error" not in page
    assert "Not a valid choice" not in page
    assert "Viewed a patient&#39;s page" in page or "Viewed a patient's page" in page
    assert '<option selected value="">Anything</option>' in page
    csv_response = as_admin.get("/admin/audit.csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"


def test_the_download_link_is_followed_not_saved(as_admin):
    """When the password must be confirmed first, the CSV address answers with a redirect to
    that page; a ``download`` link would save the confirmation page as the file."""
    page = text_of(as_admin.get("/admin/audit"))
    link = re.search(r'<a [^>]*href="/admin/audit\.csv"[^>]*>', page).group(0)
    assert "download" not in link


# --- 2. words for actions --------------------------------------------------------------------


def _audit_aliases(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names this module calls ``lms.audit`` by, and names ``lms.audit.record`` is bound to."""
    modules, functions = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "lms":
            modules |= {a.asname or a.name for a in node.names if a.name == "audit"}
        if isinstance(node, ast.ImportFrom) and node.module == "lms.audit":
            functions |= {a.asname or a.name for a in node.names if a.name == "record"}
    return modules, functions


def _literals(node: ast.expr) -> list[str] | None:
    """The action names an argument can be: a string, or either side of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _literals(node.body), _literals(node.orelse)
        return None if body is None or orelse is None else body + orelse
    return None


# The calls whose action is a variable: ``record`` builds the row from its own argument, and
# patient_for passes on its ``audit=`` argument, whose values come from patient_for's callers;
# the clinic's ask-first pages pass on ``audit_as=``, likewise checked at each call.
PASS_THROUGH = {
    ("lms/access.py", "audit"),
    ("lms/audit/__init__.py", "action"),
    ("lms/blueprints/clinic/routes.py", "audit_as"),
}


def recorded_actions() -> tuple[dict[str, list[str]], list[str]]:
    """Every action lms/ records, with where: the first argument (or ``action=``) of
    ``audit.record`` however the module imports it, the ``audit=`` argument of
    ``patient_for`` and ``audit_as=`` of the clinic's ``_ask_first``, and ``action=`` of an
    ``AuditEvent`` built by hand (a migration).
    Also the places whose action is not written as a string, which this cannot read.

    The syntax tree rather than a regex: calls spread over several lines, conditional
    names and aliases (``from lms import audit as audit_log``) are all read the same way."""
    found: dict[str, list[str]] = {}
    unreadable: list[str] = []
    for path in sorted(LMS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        modules, functions = _audit_aliases(tree)
        where_file = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            argument = None
            is_record = (
                isinstance(func, ast.Attribute)
                and func.attr == "record"
                and (
                    (isinstance(func.value, ast.Name) and func.value.id in modules)
                    or ast.unparse(func.value) == "lms.audit"
                )
            ) or (isinstance(func, ast.Name) and func.id in functions)
            keywords = {k.arg: k.value for k in node.keywords}
            if is_record:
                argument = node.args[0] if node.args else keywords.get("action")
            elif ast.unparse(func).split(".")[-1] == "patient_for" and "audit" in keywords:
                argument = keywords["audit"]
            elif ast.unparse(func).split(".")[-1] == "_ask_first" and "audit_as" in keywords:
                argument = keywords["audit_as"]
            elif ast.unparse(func) == "AuditEvent" and "action" in keywords:
                argument = keywords["action"]
            if argument is None:
                continue
            where = f"{where_file}:{node.lineno}"
            names = _literals(argument)
            if names is None:
                if isinstance(argument, ast.Constant) and argument.value is None:
                    continue  # patient_for(..., audit=None): nothing recorded
                if (str(where_file), ast.unparse(argument)) not in PASS_THROUGH:
                    unreadable.append(f"{where}: {ast.unparse(argument)}")
                continue
            for name in names:
                found.setdefault(name, []).append(where)
    return found, unreadable


def test_every_recorded_action_has_words():
    found, unreadable = recorded_actions()
    # The scan itself works: it sees actions from plain calls, aliases, patient_for and
    # conditional names, in domains and in blueprints.
    for sample in (
        "patient.view",  # patient_for(..., audit="patient.view")
        "patient.denied",  # audit_log.record(...) in lms/access.py
        "access.denied",
        "login.failure",
        "account.reactivated",  # the "else" side of a conditional name
        "consent.revoked",
        "audit.view",
    ):
        assert sample in found, f"the scan missed {sample}"
    assert len(found) >= 60
    assert not unreadable, (
        "Write the action as a string literal (or a literal in `a if c else b`) so this test "
        "can check it has words:\n" + "\n".join(unreadable)
    )
    missing = {
        name: places for name, places in found.items() if name not in audit_log.ACTION_LABELS
    }
    assert not missing, (
        "Add words for these actions to ACTION_LABELS in lms/audit/log.py:\n"
        + "\n".join(f"{name} ({', '.join(places)})" for name, places in sorted(missing.items()))
    )


def test_the_scan_would_catch_an_action_without_words(tmp_path, monkeypatch):
    """The scan reads a new module the way it reads the real ones."""
    package = tmp_path / "lms"
    package.mkdir()
    (package / "thing.py").write_text(
        "from lms import audit as log\n"
        "def act(user):\n"
        "    log.record(\n"
        "        'thing.done' if user else 'thing.skipped',\n"
        "        actor=user,\n"
        "    )\n"
        "    access.patient_for(user, 1, audit='thing.view')\n"
        "    log.record(f'thing.{user}')\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "LMS", package)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found, unreadable = recorded_actions()
    assert set(found) == {"thing.done", "thing.skipped", "thing.view"}
    assert unreadable == ["lms/thing.py:8: f'thing.{user}'"]


def test_words_are_distinct_so_the_action_list_reads_unambiguously():
    labels = [str(label) for label in audit_log.ACTION_LABELS.values()]
    assert all(label.strip() for label in labels)
    assert len(set(labels)) == len(labels)


def test_the_brief_examples():
    assert audit_log.action_label("patient.view") == "Viewed a patient's page"
    assert audit_log.action_label("consent.revoked") == "Recorded a consent withdrawal"
    assert audit_log.action_label("access.denied") == "Was refused a record"
    assert audit_log.action_label("login.failure") == "Sign-in failed"
    assert audit_log.action_label("zz.unknown") == "zz.unknown"


def test_the_page_shows_words_and_keeps_the_raw_name_beside_them(app, as_admin):
    add_event(app, "login.failure", outcome="failure", detail="wrong password")
    add_event(app, "zz.unknown")
    page = text_of(as_admin.get("/admin/audit"))
    actions = shown_actions(page)
    assert "Sign-in failed" in actions and "zz.unknown" in actions
    assert "<code>login.failure</code>" in page  # to match the CSV and the docs
    assert '<span class="badge bad">Failed</span>' in page
    # The action filter offers the words, and sends the raw name.
    assert '<option value="login.failure">Sign-in failed</option>' in page
    assert '<option value="zz.unknown">zz.unknown</option>' in page


def test_the_action_filter_uses_the_raw_name(app, as_admin):
    add_event(app, "consent.revoked", patient_id=4)
    add_event(app, "consent.recorded", patient_id=4)
    page = text_of(as_admin.get("/admin/audit?action=consent.revoked"))
    assert shown_actions(page) == ["Recorded a consent withdrawal"]
    assert '<option selected value="consent.revoked">Recorded a consent withdrawal</option>' in page


# --- 3. local time ---------------------------------------------------------------------------


def test_times_show_in_the_program_time_zone(app, as_admin):
    add_event(app, "zz.winter", at=datetime(2026, 11, 27, 14, 14, 5, tzinfo=UTC))
    add_event(app, "zz.summer", at=datetime(2026, 7, 4, 16, 30, tzinfo=UTC))
    page = text_of(as_admin.get("/admin/audit"))
    assert "Nov 27, 2026, 9:14 AM EST" in page
    assert "Jul 4, 2026, 12:30 PM EDT" in page
    assert 'datetime="2026-11-27T14:14:05+00:00"' in page  # the exact UTC moment stays
    assert "America/New_York" in page


def test_another_program_time_zone(app, as_admin):
    app.config["PROGRAM_TIMEZONE"] = "Europe/London"
    add_event(app, "zz.london", at=datetime(2026, 11, 27, 14, 14, tzinfo=UTC))
    page = text_of(as_admin.get("/admin/audit"))
    assert "Nov 27, 2026, 2:14 PM GMT" in page
    assert "Europe/London" in page


def test_date_filters_are_days_in_the_program_time_zone(app, as_admin):
    # 10 PM on Nov 27 in New York is already Nov 28 in UTC.
    add_event(app, "zz.late", at=datetime(2026, 11, 28, 3, 0, tzinfo=UTC))
    # 11 PM on Nov 26 in New York is Nov 27 in UTC.
    add_event(app, "zz.eve", at=datetime(2026, 11, 27, 4, 0, tzinfo=UTC))
    on_27th = text_of(as_admin.get("/admin/audit?date_from=2026-11-27&date_to=2026-11-27"))
    assert "zz.late" in shown_actions(on_27th)
    assert "zz.eve" not in shown_actions(on_27th)
    from_28th = text_of(as_admin.get("/admin/audit?date_from=2026-11-28"))
    assert "zz.late" not in shown_actions(from_28th)
    assert "program&#39;s time zone (America/New_York)" in on_27th


def test_csv_keeps_iso_utc_and_adds_local_time_and_words(app, as_admin):
    add_event(app, "patient.view", at=datetime(2026, 11, 27, 14, 14, 5, tzinfo=UTC), patient_id=9)
    response = as_admin.get("/admin/audit.csv?action=patient.view")
    rows = list(csv.DictReader(io.StringIO(text_of(response))))
    assert len(rows) == 1
    assert rows[0]["time_utc"] == "2026-11-27T14:14:05Z"
    assert rows[0]["time_local"] == "2026-11-27T09:14:05-05:00"
    assert rows[0]["action"] == "patient.view"
    assert rows[0]["action_label"] == "Viewed a patient's page"
    # The columns scripts read by position stay where they were.
    header = text_of(response).splitlines()[0].split(",")
    assert header[:11] == list(audit_log.CSV_HEADER[:11])
    assert header[0] == "time_utc" and header[4] == "action" and header[7] == "patient_id"


def test_program_timezone_is_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("PROGRAM_TIMEZONE", raising=False)
    assert from_environment(str(tmp_path))["PROGRAM_TIMEZONE"] == DEFAULT_TIMEZONE
    assert DEFAULT_TIMEZONE == "America/New_York"
    monkeypatch.setenv("PROGRAM_TIMEZONE", "America/Chicago")
    assert from_environment(str(tmp_path))["PROGRAM_TIMEZONE"] == "America/Chicago"


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "america/new_york", "", "../etc/passwd", "/etc/localtime"]
)
def test_an_unknown_time_zone_refuses_to_start(tmp_path, zone):
    config = _test_config(f"sqlite:///{tmp_path / 'x.sqlite3'}", PROGRAM_TIMEZONE=zone)
    with pytest.raises(ConfigError, match="PROGRAM_TIMEZONE must be a time zone name"):
        create_app(config)


def test_the_refusal_is_one_line_naming_the_setting(tmp_path):
    env = {
        **os.environ,
        "PROGRAM_TIMEZONE": "Eastern Time",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("Refusing to start: PROGRAM_TIMEZONE")
    assert "'Eastern Time'" in result.stderr


# --- 4. filters by name, with ids in the address ---------------------------------------------


@pytest.fixture
def people(app):
    return {
        "casey": make_user("clinician", name="Casey Rivera", email="c.rivera@example.org"),
        "jordan": make_user("clinician", name="Jordan Lee", email="jlee@example.org"),
        "pat": make_user("family", name="Pat Taylor", email="pat@example.org"),
    }


def location_args(response) -> dict[str, list[str]]:
    assert response.status_code == 302, response.status_code
    parts = urlsplit(response.headers["Location"])
    assert parts.path == "/admin/audit"
    return parse_qs(parts.query)


def test_a_typed_person_becomes_an_id_in_the_address(app, as_admin, people):
    casey, jordan = people["casey"], people["jordan"]
    add_event(app, "zz.by-casey", actor_id=casey.id)
    add_event(app, "zz.by-jordan", actor_id=jordan.id)
    response = filter_post(as_admin, {"person": "  cASey  "})
    assert location_args(response) == {"actor_id": [str(casey.id)]}
    assert "casey" not in response.headers["Location"].lower()
    page = text_of(as_admin.get(response.headers["Location"]))
    assert shown_actions(page) == ["zz.by-casey"]
    # The page names whom it is showing, and how to stop.
    assert "Now showing what these people did:" in page and "Casey Rivera" in page
    assert 'href="/admin/audit">Show everyone</a>' in page


def test_a_person_is_found_by_part_of_their_email(app, as_admin, people):
    response = filter_post(as_admin, {"person": "JLEE@"})
    assert location_args(response) == {"actor_id": [str(people["jordan"].id)]}


def test_a_typed_patient_name_becomes_ids_of_every_match(app, as_admin):
    sam = add_patient(app, "Sam Taylor", "MRN-100")
    jo = add_patient(app, "Jo TAYLOR-Smith")
    add_patient(app, "Riley Morgan", "MRN-200")
    add_event(app, "zz.sam", patient_id=sam)
    add_event(app, "zz.jo", patient_id=jo)
    add_event(app, "zz.other", patient_id=999)
    response = filter_post(as_admin, {"patient": "taylor"})
    assert location_args(response) == {"patient_id": [str(sam), str(jo)]}
    assert "taylor" not in response.headers["Location"].lower()
    page = text_of(as_admin.get(response.headers["Location"]))
    assert sorted(shown_actions(page)) == ["zz.jo", "zz.sam"]
    assert "Sam Taylor" in page and "Jo TAYLOR-Smith" in page and "record MRN-100" in page
    by_record = filter_post(as_admin, {"patient": "mrn-1"})
    assert location_args(by_record) == {"patient_id": [str(sam)]}


def test_no_match_is_a_message_beside_the_box_and_no_redirect(app, as_admin, people):
    add_event(app, "zz.shown", actor_id=people["casey"].id)
    response = filter_post(as_admin, {"person": "Quinn Nobody", "patient": "Nobody At All"})
    assert response.status_code == 200
    page = html.unescape(text_of(response))
    assert 'id="person-error"' in page and "Nobody's name or email contains that" in page
    assert 'id="patient-error"' in page and "No patient's name or record number" in page
    assert "Please fix this:" in page
    assert 'value="Quinn Nobody"' in page  # kept in the box to correct, not in an address
    assert "zz.shown" in shown_actions(page)  # the log as it was
    assert not any("Quinn" in d or "Nobody" in d for d in audit_details(app))


def test_too_many_matches_asks_for_more_of_the_name(app, as_admin):
    for n in range(audit_log.MAX_NAME_MATCHES + 1):
        add_patient(app, f"Morgan Example {n}")
    response = filter_post(as_admin, {"patient": "morgan"})
    assert response.status_code == 200
    assert "More than 20 patients match. Type more of the name." in text_of(response)


def test_percent_and_underscore_are_matched_as_typed(app, as_admin, people):
    odd = make_user("family", name="Odd_Name 100%", email="odd@example.org")
    assert location_args(filter_post(as_admin, {"person": "d_n"})) == {"actor_id": [str(odd.id)]}
    assert location_args(filter_post(as_admin, {"person": "0%"})) == {"actor_id": [str(odd.id)]}
    # "_" is not "any one character": "Casey Rivera" has no "y_r".
    response = filter_post(as_admin, {"person": "y_r"})
    assert response.status_code == 200 and 'id="person-error"' in text_of(response)


def test_an_empty_box_keeps_the_applied_person_and_other_filters_change(app, as_admin, people):
    casey = people["casey"]
    add_event(app, "zz.keep", actor_id=casey.id)
    add_event(app, "zz.drop", actor_id=casey.id)
    add_event(app, "zz.keep", actor_id=people["jordan"].id)
    query = f"?actor_id={casey.id}"
    response = filter_post(as_admin, {"action": "zz.keep"}, query=query)
    assert location_args(response) == {"actor_id": [str(casey.id)], "action": ["zz.keep"]}
    page = text_of(as_admin.get(response.headers["Location"]))
    assert shown_actions(page) == ["zz.keep"]
    assert 'href="/admin/audit?action=zz.keep">Show everyone</a>' in page
    # A new name replaces the applied person.
    again = filter_post(as_admin, {"person": "Jordan"}, query=query)
    assert location_args(again) == {"actor_id": [str(people["jordan"].id)]}


def test_dates_travel_through_the_form(app, as_admin):
    response = filter_post(as_admin, {"date_from": "2026-11-01", "date_to": "2026-11-27"})
    assert location_args(response) == {"date_from": ["2026-11-01"], "date_to": ["2026-11-27"]}
    bad = filter_post(as_admin, {"date_from": "2026-11-27", "date_to": "2026-11-01"})
    assert bad.status_code == 200
    assert "The end date is before the start date." in text_of(bad)


def test_the_filter_form_needs_its_csrf_token(app, as_admin, people):
    response = as_admin.post("/admin/audit", data={"person": "Casey"})
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_rows_link_to_their_person_and_patient_by_id(app, as_admin, people):
    casey = people["casey"]
    add_event(app, "zz.row", actor_id=casey.id, patient_id=42)
    page = text_of(as_admin.get("/admin/audit"))
    assert f'<a href="/admin/audit?actor_id={casey.id}">Casey Rivera</a>' in page
    assert 'href="/admin/audit?patient_id=42" aria-label="Only patient id 42">42</a>' in page


def test_the_audit_row_of_a_filtered_view_holds_ids_only(app, as_admin, people, admin):
    sam = add_patient(app, "Sam Taylor")
    response = filter_post(as_admin, {"person": "Casey", "patient": "Sam Tay"})
    as_admin.get(response.headers["Location"])
    with app.app_context():
        views = list(
            db.session.scalars(
                select(AuditEvent.detail)
                .where(AuditEvent.action == "audit.view")
                .order_by(AuditEvent.id.desc())
            )
        )
    assert f"actor_ids={people['casey'].id}" in views[0]
    assert f"patient_ids={sam}" in views[0]
    assert not any("Taylor" in d or "Casey" in d for d in audit_details(app))


@pytest.mark.parametrize(
    "query",
    [
        "actor_id=abc",
        "actor_id=0",
        "actor_id=007",
        f"actor_id={2**31}",
        "patient_id=%D9%A3",  # an Arabic-Indic digit
        "patient_id=1e3",
        "&".join(f"patient_id={n}" for n in range(1, 23)),
    ],
)
def test_a_forged_id_in_the_address_is_a_message_and_not_applied(app, as_admin, query):
    add_event(app, "zz.shown", patient_id=5, actor_id=None)
    response = as_admin.get(f"/admin/audit?{query}")
    assert response.status_code == 200
    page = text_of(response)
    assert "Some filters were not applied:" in page
    assert "in this link is not valid" in page
    assert "zz.shown" in shown_actions(page)
    assert as_admin.get(f"/admin/audit.csv?{query}").status_code == 200


def test_names_in_the_address_are_ignored(app, as_admin, people):
    """Only the form's POST reads names: a hand-made ?person=… filters nothing."""
    add_event(app, "zz.any", actor_id=people["jordan"].id)
    page = text_of(as_admin.get("/admin/audit?person=Casey&patient=Sam"))
    assert "zz.any" in shown_actions(page)
    assert 'value="Casey"' not in page and 'value="Sam"' not in page


def test_name_search_works_as_one_query_per_box(app, as_admin, people):
    """Matching happens in the database (ILIKE on PostgreSQL, lower() LIKE on SQLite)."""
    with app.app_context():
        statement = audit_log.people_matching("Ab%").compile(dialect=db.engine.dialect)
    text = str(statement).lower()
    assert "like" in text and "escape" in text


# --- 5. a phone ------------------------------------------------------------------------------

# As long as a detail can be (audit.record keeps 500 characters; PostgreSQL refuses more).
_DETAIL_PARTS = ("route=clinic.patient ", "x" * 300, " reason: ", "averyveryverylongword" * 12)
LONG_DETAIL = "".join(_DETAIL_PARTS)[:500]


def _phone_check_html(page: str) -> str:
    """A document that shows the page in a 390 px wide frame (a headless browser window has
    a larger minimum width), with the page's own style sheets inlined and a script that
    reports how many pixels the page, and the table's region, are wider than the frame; the
    outer document writes that into its title."""
    css = "".join((ROOT / "static" / "css" / n).read_text() for n in ("app.css", "clinic.css"))
    page = re.sub(r'<link rel="stylesheet"[^>]*>', "", page)
    page = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    probe = (
        "<script>addEventListener('load', () => {"
        "const d = document.documentElement;"
        "const r = document.querySelector('.table-scroll');"
        "parent.postMessage([d.scrollWidth - d.clientWidth,"
        " r.scrollWidth - r.clientWidth, d.clientWidth].join(' '), '*');"
        "});</script>"
    )
    inner = page.replace("</head>", f"<style>{css}</style>{probe}</head>", 1)
    return (
        "<!doctype html><html><head><title>waiting</title><script>"
        "addEventListener('message', e => { document.title = 'overflow ' + e.data; });"
        "</script></head><body style='margin:0'>"
        f'<iframe style="width:390px;height:844px;border:0" srcdoc="{html.escape(inner)}">'
        "</iframe></body></html>"
    )


@pytest.mark.skipif(
    not shutil.which("chromium"), reason="needs Chromium (apt-get install chromium)"
)
def test_the_table_reads_on_a_phone_without_sideways_scrolling(app, as_admin, tmp_path):
    long_email = "someone.with.a.very.long.address" * 3 + "@example.org"
    person = make_user("family", name="Person With A Long Name", email=long_email)
    add_event(app, "access.denied", actor_id=person.id, outcome="denied", detail=LONG_DETAIL)
    add_event(app, "zz.an_action_nobody_named_with_a_very_long_raw_name", patient_id=123456)
    page = text_of(as_admin.get("/admin/audit"))
    target = tmp_path / "audit.html"
    target.write_text(_phone_check_html(page), encoding="utf-8")
    result = subprocess.run(
        [
            shutil.which("chromium"),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=800,900",
            "--hide-scrollbars",
            "--virtual-time-budget=3000",
            "--dump-dom",
            target.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    title = re.search(r"<title>overflow (-?\d+) (-?\d+) (\d+)</title>", result.stdout)
    assert title, result.stderr[-2000:]
    page_overflow, table_overflow, width = map(int, title.groups())
    assert width == 390  # the check ran at phone width
    assert page_overflow <= 0, f"the page is {page_overflow}px wider than the phone"
    assert table_overflow <= 0, f"the table scrolls {table_overflow}px sideways"


def test_detail_text_wraps(app):
    css = (ROOT / "static" / "css" / "clinic.css").read_text()
    rule = re.search(r"\.audit-table \.detail \{([^}]*)\}", css)
    assert rule and "overflow-wrap: anywhere" in rule.group(1)
