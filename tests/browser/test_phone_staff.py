"""Staff on a phone: every staff page type (clinician and admin) at 390 px wide fits the
screen — the page never scrolls sideways — and the caseload dashboard becomes one card per
family with its needs-help reasons first."""

from __future__ import annotations

import pytest

from tests.browser import support

pytestmark = support.requires_browser

STAFF_ROLES = ("clinician", "admin")


def _followup_form(page, server) -> None:
    from sqlalchemy import select

    from lms.extensions import db
    from lms.models import User

    family_id = server.run(
        lambda: db.session.scalar(select(User.id).where(User.email == support.ACCOUNTS["family"]))
    )
    patient_id = support._demo_patient_id(server)
    page.goto(f"{server.url}/clinic/patients/{patient_id}/learners/{family_id}/contacted")


def _followup_errors(page, server) -> None:
    """The form sent with a date in the past and an over-long note: nothing is recorded."""
    _followup_form(page, server)
    page.get_by_label("Note (optional)").evaluate("el => el.removeAttribute('maxlength')")
    page.get_by_label("Note (optional)").fill("A long note. " * 60)
    page.get_by_label("Follow up on").fill("2000-01-01")
    page.get_by_role("button", name="Record contact").click()
    page.wait_for_load_state()


# The follow-up pages are new with this test; the shared list covers every other page type.
EXTRA = [
    support.PageType("followup-form", "clinician", _followup_form),
    support.PageType("followup-form-errors", "clinician", _followup_errors),
    support.PageType("caseload-search", "clinician", support._goto("/clinic/?q=taylor")),
    support.PageType("caseload-everyone", "clinician", support._goto("/clinic/?status=all")),
]
STAFF_PAGES = [t for t in support.PAGE_TYPES if t.role in STAFF_ROLES] + EXTRA


def test_the_staff_pages_are_all_here():
    names = {t.name for t in STAFF_PAGES}
    assert {"caseload", "patient-page", "admin-audit", "followup-form"} <= names
    assert len(STAFF_PAGES) >= 25


@pytest.mark.parametrize("page_type", STAFF_PAGES, ids=lambda t: t.name)
def test_no_staff_page_scrolls_sideways_on_a_phone(new_page, server, page_type):
    page = new_page(page_type.role, viewport=support.PHONE)
    page_type.open(page, server)
    assert not page.url.endswith("/auth/login"), f"{page_type.name}: sent to sign in"
    width = page.evaluate(
        "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert width["scroll"] <= width["inner"], (
        f"{page_type.name} at {page.url}: the page is {width['scroll']}px wide "
        f"on a {width['inner']}px screen"
    )


def test_the_dashboard_is_cards_with_the_reasons_first_on_a_phone(new_page, server):
    page = new_page("clinician", viewport=support.PHONE)
    page.goto(server.url + "/clinic/?show=needs_help")
    card = page.locator("table.dashboard tbody tr.needs-help").first
    assert card.evaluate("el => getComputedStyle(el).display") == "flex"
    name = card.locator("th").bounding_box()
    reasons = card.locator("td.help").bounding_box()
    family = card.locator("td").first.bounding_box()
    assert name["y"] < reasons["y"] < family["y"], "name, then the reasons, then the rest"
    assert card.locator("td.help .flags li").count() >= 1
    # Still a table to a screen reader: its rows and cells keep their roles.
    assert page.get_by_role("table").count() == 1
    assert page.get_by_role("row").count() >= 2
    assert page.get_by_role("rowheader").count() >= 1
    assert page.get_by_role("cell").count() >= 6
    # On a wide screen it is an ordinary table again.
    page.set_viewport_size(support.DESKTOP)
    assert card.evaluate("el => getComputedStyle(el).display") == "table-row"


@pytest.mark.parametrize("page_type", EXTRA, ids=lambda t: t.name)
def test_the_new_pages_pass_axe(new_page, server, page_type):
    """The shared list (``support.PAGE_TYPES``) does not have these yet; axe checks them here
    at both sizes, as ``test_accessibility`` does for the rest."""
    page = new_page(page_type.role, viewport=support.DESKTOP)
    page_type.open(page, server)
    found = {}
    for name, viewport in support.VIEWPORTS.items():
        page.set_viewport_size(viewport)
        violations = support.axe_violations(page)
        if violations:
            found[name] = support.describe(violations)
    assert not found, "\n".join(f"[{page_type.name} @ {k}]\n{v}" for k, v in found.items())
