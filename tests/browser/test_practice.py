"""A family member keeps a note of a question and fills in the family's safety plan on a
phone: every step works at 390 px, nothing scrolls sideways, and axe finds nothing on the
notepad, the worksheet or its print view."""

from __future__ import annotations

import pytest

from tests.browser import support

pytestmark = support._requires_browser()

SECTION = "/learn/modules/suicide-risk-and-safety-plan?section=write-a-safety-plan-together"
SHEET = "/learn/modules/suicide-risk-and-safety-plan/worksheets/safety-plan"


def sideways(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def assert_calm(page, where: str) -> None:
    """No axe violation and no sideways scroll on the page showing now."""
    violations = support.axe_violations(page)
    assert not violations, f"{where}:\n{support.describe(violations)}"
    assert sideways(page) <= 0, f"{where} scrolls sideways by {sideways(page)}px"


def test_a_family_member_keeps_a_question_and_fills_in_the_safety_plan(new_page, server):
    page = new_page(viewport=support.PHONE)
    support.sign_in(page, server.url, support.ACCOUNTS["family"])

    page.goto(server.url + "/learn/notes")
    question = "Can we go over the safety plan at the next session?"
    page.get_by_label("Your question or note").fill(question)
    assert not page.get_by_label("Share with my care team").is_checked()  # private by default
    page.get_by_role("button", name="Save note").click()
    page.wait_for_load_state()
    assert page.get_by_text("Note saved.").is_visible()
    assert page.locator(".practice-note-text", has_text=question).first.is_visible()
    assert_calm(page, "notes")

    page.goto(server.url + SECTION)
    page.get_by_role("link", name="Our family's safety plan").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(SHEET)
    page.get_by_label("Warning signs that a crisis may be starting").fill(
        "He stops answering texts.\nHe gives his games away."
    )
    page.get_by_label("Care team and crisis lines").fill("Counselor Ana. Call or text 988.")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    assert page.url.endswith(SHEET)
    assert page.get_by_text("Saved.").is_visible()
    assert (
        "He gives his games away."
        in page.get_by_label("Warning signs that a crisis may be starting").input_value()
    )
    assert_calm(page, "worksheet")

    page.get_by_role("link", name="Print my plan").click()
    page.wait_for_load_state()
    assert page.url.endswith(SHEET + "/print")
    assert page.get_by_text("Counselor Ana. Call or text 988.").is_visible()
    assert_calm(page, "worksheet print view")
    page.emulate_media(media="print")
    assert not page.get_by_role("link", name="Back to the worksheet").is_visible()


@pytest.mark.parametrize("path", ["/learn/notes", SHEET, SHEET + "/print", SECTION])
def test_practice_pages_pass_axe_on_a_desktop(new_page, server, path):
    page = new_page(viewport=support.DESKTOP)
    support.sign_in(page, server.url, support.ACCOUNTS["family"])
    page.goto(server.url + path)
    assert page.locator("h1").first.is_visible()
    assert_calm(page, path)
