"""The idle-timeout warning: a minute before the idle sign-out a dialog asks "Stay signed
in?"; staying keeps the session past the first limit, ignoring it lands on the sign-in page.

Time is moved on both sides: the page's with Playwright's ``page.clock`` (installed before
the page loads, then fast-forwarded, which runs the page's timers), the server's with
``lms.clock.advance`` (the live server runs in this process). Each test signs in an account
of its own: the shared demo sign-ins must not be timed out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from lms import clock
from tests.browser import support

pytestmark = support.requires_browser


@pytest.fixture
def server_clock():
    """Move the live server's clock; put it back afterwards."""
    yield clock.advance
    clock.reset()


def open_signed_in(new_page, server, **options):
    page = new_page(**options)
    page.clock.install()
    support.sign_in(page, server.url, support._fresh_member(server))
    page.goto(server.url + "/auth/account")
    idle = int(page.locator("body").get_attribute("data-idle-seconds"))
    assert idle == server.app.config["SESSION_IDLE_MINUTES"] * 60
    return page, idle


def test_warning_a_minute_before_and_staying_signed_in(new_page, server, server_clock):
    page, idle = open_signed_in(new_page, server)
    dialog = page.get_by_role("dialog", name="Are you still there?")
    expect(dialog).to_be_hidden()

    page.clock.fast_forward((idle - 90) * 1000)
    server_clock(timedelta(seconds=idle - 90))
    expect(dialog).to_be_hidden()  # not yet

    page.clock.fast_forward(40 * 1000)  # 50 seconds to go
    server_clock(timedelta(seconds=40))
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(
        "For your privacy you will be signed out in 1 minute. Stay signed in?"
    )
    stay = dialog.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()
    expect(dialog.get_by_role("button", name="Sign out now")).to_be_visible()
    violations = support.axe_violations(page)
    assert not violations, support.describe(violations)

    with page.expect_response(lambda r: r.url.endswith("/auth/keep-alive")) as answer:
        stay.click()
    assert answer.value.status == 204
    expect(dialog).to_be_hidden()

    # Past the first limit, the page is still open and the session still good.
    page.clock.fast_forward(5 * 60 * 1000)
    server_clock(timedelta(minutes=5))
    expect(dialog).to_be_hidden()
    assert page.url.endswith("/auth/account")
    page.reload()
    assert page.url.endswith("/auth/account")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_ignoring_the_warning_lands_on_sign_in(new_page, server, server_clock):
    page, idle = open_signed_in(new_page, server)
    dialog = page.get_by_role("dialog", name="Are you still there?")

    page.clock.fast_forward((idle - 50) * 1000)
    server_clock(timedelta(seconds=idle - 50))
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")  # closes the dialog; the time runs on
    expect(dialog).to_be_hidden()
    assert page.url.endswith("/auth/account")

    server_clock(timedelta(seconds=60))
    with page.expect_navigation(url="**/auth/login**"):
        page.clock.fast_forward(60 * 1000)
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page.get_by_text("You were signed out to keep your information private")).to_be_visible()


def test_sign_out_now_on_a_phone(new_page, server, server_clock):
    page, idle = open_signed_in(new_page, server, viewport=support.PHONE)
    page.clock.fast_forward((idle - 30) * 1000)
    server_clock(timedelta(seconds=idle - 30))
    dialog = page.get_by_role("dialog", name="Are you still there?")
    expect(dialog).to_be_in_viewport(ratio=1)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    violations = support.axe_violations(page)
    assert not violations, support.describe(violations)
    dialog.get_by_role("button", name="Sign out now").click()
    page.wait_for_load_state()
    assert "/auth/login" in page.url
    expect(page.get_by_text("You have signed out.")).to_be_visible()


def test_no_timer_for_someone_signed_out(new_page, server):
    page = new_page()
    page.goto(server.url + "/auth/login")
    assert page.locator("body").get_attribute("data-idle-seconds") is None
    expect(page.locator("dialog")).to_have_count(0)
