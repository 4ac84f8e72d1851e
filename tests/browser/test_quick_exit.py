"""Quick exit on family and patient pages: the button, Escape pressed twice, the visit left
out of the back button's history, and a plain link when JavaScript is off. The neutral site
is answered by ``page.route``, so no network is needed."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import support

pytestmark = support.requires_browser

NEUTRAL = re.compile(re.escape(support.NEUTRAL_SITE) + ".*")


def neutral_site(page) -> None:
    page.route(
        NEUTRAL,
        lambda route: route.fulfill(
            status=200,
            content_type="text/html",
            body="<!doctype html><html lang='en'><title>Weather</title><p>Forecast</p></html>",
        ),
    )


def test_escape_twice_leaves_and_the_page_is_not_in_back_history(new_page, server):
    page = new_page("family")
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    neutral_site(page)
    page.goto(server.url + "/learn/")
    page.goto(server.url + "/learn/progress")
    expect(page.get_by_role("link", name="Quick exit")).to_be_visible()

    page.keyboard.press("Escape")
    page.wait_for_timeout(200)
    assert "/learn/progress" in page.url  # once is not enough

    with page.expect_navigation(url=NEUTRAL):
        page.keyboard.press("Escape")
    expect(page).to_have_title("Weather")

    page.go_back()  # the exited page was replaced: back goes to the page before it
    assert "/learn/progress" not in page.url
    assert page.url.endswith("/learn/")
    assert not errors, errors  # e.g. a CSP refusal of the script


def test_button_leaves_from_a_patient_page(new_page, server):
    page = new_page("patient", viewport=support.PHONE)
    neutral_site(page)
    page.goto(server.url + "/learn/family")
    button = page.get_by_role("link", name="Quick exit")
    expect(button).to_be_in_viewport()
    with page.expect_navigation(url=NEUTRAL):
        button.click()
    expect(page.get_by_text("Forecast")).to_be_visible()


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


def test_not_on_staff_pages(new_page, server):
    page = new_page("clinician")
    page.goto(server.url + "/clinic/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Quick exit")).to_have_count(0)
