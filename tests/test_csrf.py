"""CSRF: every state of the token, and the Referer check on HTTPS.

A refused form is a 400 that says nothing was saved, and nothing is: the database is checked.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from lms.extensions import db
from lms.models import AuditEvent, Patient
from tests.helpers import PASSWORD, csrf_token, login, make_user, text_of

HTTPS = "https://localhost"


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def tampered(token: str) -> str:
    """One character of the signature changed (the first: every bit of it counts, unlike the
    last base64 character's padding bits)."""
    payload, _dot, signature = token.rpartition(".")
    first = "A" if signature[0] != "A" else "B"
    return f"{payload}.{first}{signature[1:]}"


def token_states(app, client, page: str) -> dict[str, dict]:
    """The csrf_token part of a post, for each way it can be wrong."""
    good = csrf_token(client, page)
    other = app.test_client()
    from_other_session = csrf_token(other, "/auth/login")
    return {
        "missing": {},
        "empty": {"csrf_token": ""},
        "forged": {"csrf_token": "forged"},
        "other session": {"csrf_token": from_other_session},
        "tampered": {"csrf_token": tampered(good)},
    }


def assert_refused(response) -> None:
    assert response.status_code == 400
    assert "Nothing was saved" in text_of(response)


@pytest.mark.parametrize("state", ["missing", "empty", "forged", "other session", "tampered"])
def test_sign_in_with_a_bad_token_is_refused_and_records_nothing(app, client, state):
    user = make_user("family")
    before = count(app, AuditEvent)
    token = token_states(app, client, "/auth/login")[state]
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, **token})
    assert_refused(response)
    assert count(app, AuditEvent) == before  # not even a failed sign-in is recorded
    assert client.get("/auth/account").status_code == 302  # still signed out


@pytest.mark.parametrize("state", ["missing", "empty", "forged", "other session", "tampered"])
def test_enrolment_with_a_bad_token_is_refused_and_saves_nothing(app, client, state):
    clinician = make_user("clinician")
    login(client, clinician.email)
    before = count(app, AuditEvent)
    token = token_states(app, client, "/clinic/patients/new")[state]
    data = {"display_name": "Not Saved", "enrolled_on": date.today().isoformat(), **token}
    assert_refused(client.post("/clinic/patients/new", data=data))
    assert count(app, Patient) == 0
    assert count(app, AuditEvent) == before


def test_a_valid_token_is_accepted(app, client):
    clinician = make_user("clinician")
    login(client, clinician.email)
    token = csrf_token(client, "/clinic/patients/new")
    data = {"display_name": "Saved", "enrolled_on": date.today().isoformat(), "csrf_token": token}
    assert client.post("/clinic/patients/new", data=data).status_code == 302
    assert count(app, Patient) == 1


# --- over HTTPS, the Referer must be this site --------------------------------------------


def https_sign_in(client, user, referer: str | None):
    token = csrf_token_over_https(client)
    headers = {"Referer": referer} if referer is not None else {}
    return client.post(
        "/auth/login",
        base_url=HTTPS,
        headers=headers,
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )


def csrf_token_over_https(client) -> str:
    import html
    import re

    page = text_of(client.get("/auth/login", base_url=HTTPS))
    return html.unescape(re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1))


@pytest.mark.parametrize(
    "referer",
    [
        None,
        "https://evil.example/auth/login",
        "http://localhost/auth/login",  # the same host without TLS
        "https://localhost.evil.example/",
        "https://localhost:port.evil.example/",  # a port that is not a number
        "https://localhost:99999/",  # a port out of range
        "https://[localhost/",  # not a URL at all
    ],
    ids=["missing", "cross-origin", "http", "lookalike host", "bad port", "port range", "broken"],
)
def test_https_post_without_this_sites_referer_is_refused(app, client, referer):
    user = make_user("family")
    before = count(app, AuditEvent)
    assert_refused(https_sign_in(client, user, referer))
    assert count(app, AuditEvent) == before
    assert client.get("/auth/account", base_url=HTTPS).status_code == 302


def test_https_post_from_this_site_is_accepted(app, client):
    user = make_user("family")
    response = https_sign_in(client, user, f"{HTTPS}/auth/login")
    assert response.status_code == 302
    assert client.get("/auth/account", base_url=HTTPS).status_code == 200
