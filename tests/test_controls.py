"""Controls that span the whole app, and the map from every control to its proof.

``docs/security-controls.md`` names, for each of the 33 controls of
``SECURITY-CONTROLS.md``, the tests that prove it; ``test_every_control_names_tests_that_exist``
keeps that map honest (a renamed or deleted test fails it).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers import (
    login,
    make_family,
    make_patient,
    make_user,
    production_config,
    redis_available,
    text_of,
)
from tests.test_access_matrix import PAGE_RULES, build_world, url_for_rule

ROOT = Path(__file__).resolve().parent.parent
MAP = ROOT / "docs" / "security-controls.md"


# --- 18 and 19: headers on every response, no caching of pages -------------------------------


def test_every_page_of_every_role_carries_the_security_headers(app):
    world = build_world(app)
    checked = 0
    for role in ("anonymous", "family_active", "clinician_on", "admin"):
        client = app.test_client()
        if role != "anonymous":
            login(client, world.users[role])
        for rule in PAGE_RULES:
            if "GET" not in rule.methods:
                continue
            response = client.get(url_for_rule(rule, world.ids))
            response.close()
            headers = response.headers
            csp = headers.get("Content-Security-Policy", "")
            for part in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
                assert part in csp, (role, rule.rule, csp)
            assert headers.get("X-Content-Type-Options") == "nosniff", (role, rule.rule)
            assert headers.get("Referrer-Policy") == "same-origin", (role, rule.rule)
            assert headers.get("Cache-Control") == "no-store", (role, rule.rule)
            checked += 1
    assert checked > 100


@pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379")
def test_production_errors_are_generic_and_carry_hsts(make_app):
    app = make_app(**production_config())

    @app.route("/explode")
    def explode():
        raise RuntimeError("internal detail: postgres password hunter2")

    response = app.test_client().get("/explode", base_url="https://learn.example.org")
    page = text_of(response)
    assert response.status_code == 500
    assert "hunter2" not in page and "Traceback" not in page and "RuntimeError" not in page
    assert "Something went wrong on our side" in page
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


# --- 23: password length boundaries --------------------------------------------------------

LONG_128 = (
    "orchard lantern drifts past seven copper kettles while a violet heron naps "
    "beside the quiet harbour of our old blue town, ok the"
)
assert len(LONG_128) == 128


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("lantern oak", False),  # 11 characters: one short
        ("lantern oaks", True),  # 12
        ("ñandú río sol", True),  # Unicode counts as characters, not bytes
        ("🦉 owls hoot at nine 🌙", True),
        (LONG_128, True),
        (LONG_128 + "!", False),  # 129
    ],
)
def test_password_length_boundaries_without_composition_rules(password, accepted):
    from lms.accounts.passwords import password_problems

    problems = password_problems(password, email="x@example.org", program_name="Family Learning")
    assert (problems == []) is accepted, problems


# --- 3: IDOR answers the same whether the record exists or not -----------------------------


def test_someone_elses_patient_and_a_missing_one_look_alike(app):
    mine, theirs = make_user("clinician"), make_user("clinician")
    other = make_patient(theirs, name="Hidden Person")
    client = app.test_client()
    login(client, mine.email)
    foreign = client.get(f"/clinic/patients/{other.id}")
    missing = client.get("/clinic/patients/999999")
    assert foreign.status_code == missing.status_code == 404

    def page(response) -> str:  # the sign-out form's CSRF token carries a timestamp; the
        # language switch comes back to the address asked for, which the asker knows anyway
        text = re.sub(r'name="csrf_token" value="[^"]*"', "", text_of(response))
        return re.sub(r'name="back" value="[^"]*"', "", text)

    assert page(foreign) == page(missing)
    member = make_user("family")
    make_family(other, member)
    fam_client = app.test_client()
    login(fam_client, member.email)
    assert fam_client.get(f"/clinic/patients/{other.id}").status_code == 404


# --- the map ---------------------------------------------------------------------------------

TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def _defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_control_names_tests_that_exist():
    text = MAP.read_text()
    rows = [line for line in text.splitlines() if re.match(r"\| \d+ \|", line)]
    numbers = [int(line.split("|")[1]) for line in rows]
    assert numbers == list(range(1, 34)), "the map must list controls 1 to 33 in order"
    for line in rows:
        assert TEST_REF.findall(line), f"no test named for: {line[:60]}"
    for file, name in TEST_REF.findall(text):  # the findings table too
        path = ROOT / file
        assert path.exists(), f"{file} does not exist"
        assert name in _defined_tests(path), f"{file}::{name} does not exist"
