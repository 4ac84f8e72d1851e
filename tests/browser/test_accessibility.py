"""axe-core with the WCAG 2.0/2.1/2.2 A and AA rules on every page type, at desktop width
(1280×800) and on a phone (390×844): zero violations. Fix findings in templates and CSS."""

from __future__ import annotations

import pytest

from tests.browser import support

pytestmark = support.requires_browser


@pytest.mark.parametrize("page_type", support.PAGE_TYPES, ids=lambda t: t.name)
def test_no_axe_violations(new_page, server, page_type):
    page = new_page(page_type.role, viewport=support.DESKTOP)
    page_type.open(page, server)
    found = {}
    for name, viewport in support.VIEWPORTS.items():
        page.set_viewport_size(viewport)  # the layout is CSS only: no reload needed
        violations = support.axe_violations(page)
        if violations:
            found[name] = support.describe(violations)
        # Every user has a phone: the page itself never scrolls sideways (wide tables
        # scroll inside their own labelled region instead).
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            found[f"{name} width"] = f"the page is {overflow}px wider than the screen"
    assert not found, "\n".join(f"[{page_type.name} @ {k}]\n{v}" for k, v in found.items())


def test_every_page_type_is_checked():
    """The list the report and the test share covers the page types the issue names."""
    names = {t.name for t in support.PAGE_TYPES}
    for required in (
        "login",
        "login-errors",
        "invitation",
        "invitation-errors",
        "learner-home",
        "library",
        "module-section",
        "module-all",
        "check",
        "check-error",
        "result",
        "progress",
        "print",
        "patient-family",
        "caseload",
        "patient-page",
        "enroll-errors",
        "consent-form",
        "consent-print",
        "invite",
        "assign",
        "admin-overview",
        "admin-staff",
        "admin-caseloads",
        "admin-audit",
        "account",
        "not-found",
        "account-security",
        "two-step-setup",
        "two-step-code",
        "admin-emergency-form",
        "patient-page-emergency-access",
    ):
        assert required in names
