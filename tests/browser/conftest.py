"""Browser fixtures: the app served on a free 127.0.0.1 port in a thread, with the shipped
courses and the demo data, on its own temporary SQLite file (always SQLite, also when
``TEST_DATABASE_URL`` is set: see ``support.py``); one Chromium for the session; a fresh
browser context per test, signed in as a demo account when asked.

Every test module here carries ``support.requires_browser``: the tests are skipped only when
/usr/bin/chromium or Playwright is missing, and the skip reason names which.
"""

from __future__ import annotations

import pytest

from tests.browser import support


@pytest.fixture(scope="session")
def server():
    live = support.LiveServer()
    yield live
    live.close()


@pytest.fixture(scope="session")
def playwright_driver():
    """One Playwright for the run (a second one cannot start in the same thread)."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    yield playwright
    playwright.stop()


@pytest.fixture(scope="session")
def browser(playwright_driver):
    chromium = support.launch(playwright_driver)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def signed_in_states(server, browser):
    """Cookies of a signed-in session per demo role, made once (sign-in is slow by design)."""
    states: dict[str, dict] = {}

    def state_for(role: str) -> dict:
        if role not in states:
            context = browser.new_context()
            page = context.new_page()
            support.sign_in(page, server.url, support.ACCOUNTS[role])
            states[role] = context.storage_state()
            context.close()
        return states[role]

    return state_for


@pytest.fixture
def new_page(server, browser, signed_in_states):
    """``new_page(role=None, viewport=DESKTOP, **context_options)``: a page in a fresh context;
    every context is closed after the test."""
    contexts = []

    def make(role: str | None = None, viewport: dict = support.DESKTOP, **options):
        if role is not None:
            options["storage_state"] = signed_in_states(role)
        context = browser.new_context(viewport=viewport, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
