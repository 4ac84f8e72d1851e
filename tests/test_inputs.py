"""Bad input is a message a person can act on, never an error page.

Each test here was a 500 before its fix; ``tests/test_fuzz.py`` looks for more.
"""

from __future__ import annotations

import importlib
import re

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from lms import create_app
from lms.accounts.passwords import MAX_LENGTH, password_problems
from lms.extensions import db
from lms.forms import BaseForm
from lms.models import Assignment, Patient
from tests.conftest import _test_config
from tests.helpers import (
    PASSWORD,
    csrf_token,
    login,
    make_family,
    make_patient,
    make_user,
    post_form,
    text_of,
)

# A strong sentence, cut to any length from 12 to 128 characters.
SENTENCE = (
    "violet harbours hum under slow copper rain while eleven quiet herons "
    "fold maps of the northern marsh beside a lantern nobody remembers lighting ok"
)


@pytest.mark.parametrize("length", [72, 73, 100, MAX_LENGTH])
def test_long_passwords_up_to_the_limit_are_judged_not_crashed_on(length):
    password = SENTENCE[:length]
    assert len(password) == length
    assert password_problems(password, email="pat@example.org", program_name="Family") == []


def test_a_long_password_can_be_chosen_on_the_account_page(app, client):
    user = make_user("family")
    login(client, user.email)
    new = SENTENCE[:100]
    response = post_form(
        client,
        "/auth/security",
        {
            "pw-current_password": PASSWORD,
            "pw-new_password": new,
            "pw-confirm": new,
            "pw-submit": "Change password",
        },
    )
    assert response.status_code == 302
    other = app.test_client()
    assert login(other, user.email, new).status_code == 302


# --- ids in URLs ---------------------------------------------------------------------------

# Beyond PostgreSQL's INTEGER, beyond 64 bits, not ASCII digits, zero, padded.
BAD_IDS = ["2147483648", "99999999999999999999", "²", "٣", "0", "-1", "007", "1.0"]
OTHER_ARGS = {"slug": "first-steps", "key": "what-a-trigger-is"}
ID_RULES = [
    r
    for r in create_app(_test_config("sqlite://")).url_map.iter_rules()
    if any(arg.endswith("_id") for arg in r.arguments)
]


@pytest.mark.parametrize("rule", ID_RULES, ids=lambda r: f"{r.endpoint}:{r.rule}")
def test_ids_out_of_range_or_not_plain_digits_are_404(app, client, rule):
    admin = make_user("admin")
    login(client, admin.email)
    token = csrf_token(client, "/auth/account")
    for bad in BAD_IDS:
        url = rule.rule
        for arg in rule.arguments:
            value = bad if arg.endswith("_id") else OTHER_ARGS.get(arg, "x")
            url = re.sub(rf"<(?:\w+:)?{arg}>", value, url)
        if "GET" in rule.methods:
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token})
        response.close()
        assert response.status_code == 404, f"{url}: {response.status_code}"


# --- query parameters ----------------------------------------------------------------------


@pytest.mark.parametrize("page", ["²", "٣", "-5", "0", "1e3", "9" * 5000, "", "１"])
def test_caseload_page_number_that_is_not_a_number_shows_a_page(app, client, page):
    clinician = make_user("clinician")
    make_patient(clinician, name="Listed Person")
    login(client, clinician.email)
    response = client.get("/clinic/", query_string={"page": page})
    assert response.status_code == 200
    assert "Listed Person" in text_of(response)


def test_caseload_filters_outside_the_choices_fall_back_to_the_defaults(client):
    clinician = make_user("clinician")
    make_patient(clinician, name="Active Person")
    login(client, clinician.email)
    page = text_of(
        client.get("/clinic/", query_string={"status": "<b>", "show": "x", "sort": "¯\\_(ツ)_/¯"})
    )
    assert "Active Person" in page
    assert '<option value="active" selected>' in page
    assert '<option value="all" selected>' in page
    assert '<option value="needs_help" selected>' in page
    assert "%3Cb%3E" not in page and "&lt;b&gt;" not in page


# --- dates ---------------------------------------------------------------------------------


def test_a_due_date_in_year_9999_is_a_message_and_assigns_nothing(app, client):
    clinician = make_user("clinician")
    patient = make_patient(clinician)
    family = make_user("family")
    make_family(patient, family)
    login(client, clinician.email)
    url = f"/clinic/patients/{patient.id}/assign"
    response = post_form(
        client,
        url,
        {"what": "path:test-path", "learners": [str(family.id)], "due_on": "9999-12-31"},
    )
    assert response.status_code == 200
    assert "Enter a date between 1900-01-01 and 2099-12-31." in text_of(response)
    with app.app_context():
        assert db.session.scalar(select(func.count(Assignment.id))) == 0


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.csv"])
def test_an_audit_filter_date_in_year_9999_is_a_message(client, path):
    admin = make_user("admin")
    login(client, admin.email)
    response = client.get(path, query_string={"date_from": "0001-01-01", "date_to": "9999-12-31"})
    assert response.status_code == 200
    if path == "/admin/audit":
        page = text_of(response)
        assert "Enter a date between 1900-01-01 and 2099-12-31." in page
        assert 'id="date_from-error"' in page and 'id="date_to-error"' in page


# --- characters no database keeps ----------------------------------------------------------

HIDDEN = "Sam\x00Example"
HIDDEN_MESSAGE = "invisible character"


def test_a_name_with_a_nul_character_is_a_message_and_saves_nothing(app, client):
    clinician = make_user("clinician")
    login(client, clinician.email)
    response = post_form(
        client,
        "/clinic/patients/new",
        {"display_name": HIDDEN, "record_number": "R\x01", "enrolled_on": "2025-03-14"},
    )
    assert response.status_code == 200
    page = text_of(response)
    assert HIDDEN_MESSAGE in page
    assert 'id="display_name-error"' in page and 'id="record_number-error"' in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Patient.id))) == 0


@pytest.mark.parametrize("path", ["/auth/login", "/auth/forgot"])
def test_an_email_with_a_nul_character_is_a_message(client, path):
    response = post_form(client, path, {"email": "a\x00b@example.org", "password": PASSWORD})
    assert response.status_code == 200
    assert HIDDEN_MESSAGE in text_of(response)


def test_tabs_and_line_breaks_are_kept(app, client):
    clinician = make_user("clinician")
    patient = make_patient(clinician)
    family = make_user("family")
    make_family(patient, family)
    login(client, clinician.email)
    note = "Line one\r\nLine two\twith a tab"
    response = post_form(
        client,
        f"/clinic/patients/{patient.id}/assign",
        {"what": "module:first-steps", "learners": [str(family.id)], "note": note},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(Assignment.note)).one() == note


def test_every_form_checks_for_characters_no_database_keeps():
    """A new form that skips ``BaseForm`` would let a NUL reach PostgreSQL (an error page)."""
    for module in ("admin", "auth", "clinic", "invite", "learn"):
        importlib.import_module(f"lms.blueprints.{module}.routes")  # defines or imports every form

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [c for c in subclasses(FlaskForm) if c.__module__.startswith("lms.")]
    assert len(ours) > 20
    assert [c.__qualname__ for c in ours if not issubclass(c, BaseForm) and c is not BaseForm] == []


@pytest.mark.parametrize("bad", ["٣", "+3", "007", "1.5", " 3", "3 ", "0", "2147483648", "", None])
def test_text_ids_follow_the_same_rule_as_the_id_converter(app, bad):
    from werkzeug.exceptions import NotFound

    from lms.access import parse_id

    with app.test_request_context(), pytest.raises(NotFound):
        parse_id(bad)


def test_a_plain_id_is_read(app):
    from lms.access import parse_id

    with app.test_request_context():
        assert parse_id("3") == 3 and parse_id(2147483647) == 2147483647
