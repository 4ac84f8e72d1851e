"""Quick exit on family and patient pages: the button, Escape pressed twice, the visit left
out of the back button's history, the session ended (so Back shows the sign-in page, not the
last page), and a plain link when JavaScript is off. The neutral site is answered by
``page.route``, so no network is needed.

Leaving signs the person out everywhere, so the tests that leave while signed in use an
account of their own, never the shared demo sign-ins other tests reuse."""

from __future__ import annotations

import re
import secrets
import time

from playwright.sync_api import expect

from tests.browser import support

pytestmark = support.requires_browser

NEUTRAL = re.compile(re.escape(support.NEUTRAL_SITE) + ".*")
PATIENT_NAME = "Sam Taylor"  # the demo's DEMO-1


def neutral_site(page) -> None:
    page.route(
        NEUTRAL,
        lambda route: route.fulfill(
            status=200,
            content_type="text/html",
            body="<!doctype html><html lang='en'><title>Weather</title><p>Forecast</p></html>",
        ),
    )


def linked_member(server) -> tuple[str, int]:
    """A new family member of the demo patient (consent in force, one reading given):
    their home page names the patient. Returns the email and the user's id."""
    from sqlalchemy import select

    from lms import demo
    from lms.accounts.passwords import hash_password
    from lms.content import get_library
    from lms.extensions import db
    from lms.models import Patient, User

    email = f"leaving.{secrets.token_hex(4)}@example.org"

    def make():
        clinician = db.session.get(User, server.users[support.ACCOUNTS["clinician"]])
        patient = db.session.scalar(select(Patient).where(Patient.record_number == "DEMO-1"))
        user = demo.ensure_user(
            email, "Robin Leaving", "family", hash_password(support.DEMO_PASSWORD)
        )
        db.session.flush()
        link = demo.ensure_link(clinician, patient, "Robin Leaving", email, "parent", user)
        demo.ensure_consent(clinician, patient, link, withdrawn=False)
        slug = next(m.slug for m in get_library().modules() if "family" in m.audience)
        demo.ensure_assignments(clinician, patient, user, [slug], [3])
        return user.id

    return email, server.run(make)


def own_patient(server) -> str:
    """A new patient with a login of their own."""
    from lms import demo
    from lms.accounts.passwords import hash_password
    from lms.extensions import db
    from lms.models import User

    email = f"patient.{secrets.token_hex(4)}@example.org"

    def make():
        clinician = db.session.get(User, server.users[support.ACCOUNTS["clinician"]])
        user = demo.ensure_user(
            email, "Jo Patient", "patient", hash_password(support.DEMO_PASSWORD)
        )
        db.session.flush()
        demo.ensure_patient(f"QE-{secrets.token_hex(3)}", "Jo Patient", clinician, user)

    server.run(make)
    return email


def session_version(server, user_id: int) -> int:
    from lms.extensions import db
    from lms.models import User

    return server.run(lambda: db.session.get(User, user_id).session_version or 0)


def expect_sign_in_page(page) -> None:
    assert "/auth/login" in page.url, page.url
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page.get_by_text("To support")).to_have_count(0)
    expect(page.get_by_text(PATIENT_NAME)).to_have_count(0)


def test_escape_twice_signs_out_and_back_shows_sign_in(new_page, server):
    email, user_id = linked_member(server)
    page = new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    neutral_site(page)
    support.sign_in(page, server.url, email)
    page.goto(server.url + "/learn/progress")
    page.goto(server.url + "/learn/")
    expect(page.get_by_text(PATIENT_NAME).first).to_be_visible()  # "To support Sam Taylor"
    before = session_version(server, user_id)

    page.keyboard.press("Escape")
    page.wait_for_timeout(200)
    assert page.url.endswith("/learn/")  # once is not enough

    # A server a little slow to answer (0.3 s): the hidden page waits for the sign-out, so
    # it is recorded before the neutral site opens and a Back pressed at once cannot race it.
    sign_out = server.app.view_functions["auth.quick_exit"]

    def slow_sign_out():
        time.sleep(0.3)
        return sign_out()

    server.app.view_functions["auth.quick_exit"] = slow_sign_out
    try:
        with page.expect_navigation(url=NEUTRAL):
            page.keyboard.press("Escape")
        assert session_version(server, user_id) == before + 1
    finally:
        server.app.view_functions["auth.quick_exit"] = sign_out
    expect(page).to_have_title("Weather")

    page.go_back()  # the home page's entry was replaced: Back opens the page before it...
    page.wait_for_load_state()
    expect_sign_in_page(page)  # ...which, signed out, is the sign-in page
    page.go_back()  # and the page before that (where signing in led)
    page.wait_for_load_state()
    expect_sign_in_page(page)
    assert not errors, errors  # e.g. a CSP refusal of the script


def test_leaves_at_once_when_the_server_does_not_answer(new_page, server):
    """A sign-out that never comes back does not keep anyone on the page: the hidden page
    leaves after its short wait, and the sign-out request is still sent."""
    email, _ = linked_member(server)
    page = new_page()
    neutral_site(page)
    support.sign_in(page, server.url, email)
    page.goto(server.url + "/learn/")
    held = []
    page.route(re.compile(r".*/auth/quick-exit$"), lambda route: held.append(route))
    started = time.monotonic()
    with page.expect_navigation(url=NEUTRAL, timeout=5000):
        page.get_by_role("link", name="Quick exit").click()
    waited = time.monotonic() - started
    expect(page).to_have_title("Weather")
    assert len(held) == 1 and held[0].request.method == "POST"
    assert "csrf_token" in (held[0].request.post_data or "")
    assert waited < 3, waited


def test_button_signs_out_from_a_patient_page(new_page, server):
    email = own_patient(server)
    page = new_page(viewport=support.PHONE)
    neutral_site(page)
    support.sign_in(page, server.url, email)
    page.goto(server.url + "/learn/family")
    button = page.get_by_role("link", name="Quick exit")
    expect(button).to_be_in_viewport()
    with page.expect_navigation(url=NEUTRAL):
        button.click()
    expect(page.get_by_text("Forecast")).to_be_visible()
    page.wait_for_timeout(300)
    page.goto(server.url + "/learn/family")
    assert "/auth/login" in page.url


def test_stays_in_view_while_scrolling(new_page, server):
    page = new_page("family", viewport=support.PHONE)
    page.goto(server.url + "/learn/library")
    page.mouse.wheel(0, 3000)
    page.wait_for_function("window.scrollY > 1000")
    expect(page.get_by_role("link", name="Quick exit")).to_be_in_viewport()


def test_works_without_javascript(new_page, server):
    page = new_page(java_script_enabled=False)
    neutral_site(page)
    page.goto(server.url + "/auth/login")
    button = page.get_by_role("link", name="Quick exit")
    expect(button).to_have_attribute("href", support.NEUTRAL_SITE)
    with page.expect_navigation(url=NEUTRAL):
        button.click()


def test_signs_out_without_javascript_and_back_shows_sign_in(new_page, server):
    """The link goes through the sign-out, then on to the neutral site by a redirect, which
    ``page.route`` cannot answer: the live server's health check stands in for it."""
    email, user_id = linked_member(server)
    page = new_page(java_script_enabled=False)
    support.sign_in(page, server.url, email)
    page.goto(server.url + "/learn/progress")
    page.goto(server.url + "/learn/")
    expect(page.get_by_text(PATIENT_NAME).first).to_be_visible()
    button = page.get_by_role("link", name="Quick exit")
    expect(button).to_have_attribute("href", re.compile(r"^/auth/leave\?t=[\w.-]+$"))
    before = session_version(server, user_id)
    neutral = server.url + "/healthz"
    server.app.config["QUICK_EXIT_URL"] = neutral
    try:
        with page.expect_navigation(url=neutral):
            button.click()
    finally:
        server.app.config["QUICK_EXIT_URL"] = support.NEUTRAL_SITE
    assert session_version(server, user_id) == before + 1  # signed out on the way

    page.go_back()
    page.wait_for_load_state()
    expect_sign_in_page(page)


def test_not_on_staff_pages(new_page, server):
    page = new_page("clinician")
    page.goto(server.url + "/clinic/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Quick exit")).to_have_count(0)
