"""A new family member's first visit, end to end in Chromium, at phone size and on a desktop:

first sign-in orientation → "Up next" → read the first reading → its knowledge check (a first
fail does not reveal the answers) → retake and pass → "Next reading" → certificate of
completion; then Esc pressed twice leaves, and Back shows the sign-in page, not the last page.
Every page on the way: axe 0 violations and nothing scrolls sideways.
"""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.browser import support
from tests.browser.test_journeys import answer, quiz_of

pytestmark = support.requires_browser

PATH = "family-weeks-1-4"
NAME = "Casey Newcomer"


def new_family_member_with_the_path(server) -> tuple[str, list[str]]:
    """A family member who has just joined: linked to the demo patient with a consent in
    force, given the "Family weeks 1–4" path by the clinician. Returns (email, path slugs)."""
    from datetime import timedelta

    from sqlalchemy import select

    from lms import clock
    from lms.accounts import services
    from lms.accounts.passwords import hash_password
    from lms.assignments import operations as assignment_ops
    from lms.content import get_library
    from lms.extensions import db
    from lms.models import Consent, FamilyLink, Patient, User

    email = f"casey.{secrets.token_hex(4)}@example.org"

    def make():
        user = services.create_user(email=email, display_name=NAME, role="family", password=None)
        user.password_hash = hash_password(support.DEMO_PASSWORD)
        patient = db.session.scalar(select(Patient).where(Patient.record_number == "DEMO-1"))
        link = FamilyLink(
            patient_id=patient.id,
            user_id=user.id,
            display_name=NAME,
            email=email,
            relationship_kind="parent",
            state="active",
        )
        db.session.add(link)
        db.session.flush()
        db.session.add(
            Consent(
                patient_id=patient.id,
                family_link_id=link.id,
                program_name="Demo program",
                recipient_name=NAME,
                signature_method="paper",
                signed_on=clock.today(),
                expires_on=clock.today() + timedelta(days=90),
            )
        )
        clinician = db.session.get(User, server.users[support.ACCOUNTS["clinician"]])
        slugs = list(get_library().path(PATH).module_slugs)
        assignment_ops.assign(
            clinician,
            patient,
            module_slugs=slugs,
            learners=[user],
            first_due=clock.today() + timedelta(days=3),
            spread_days=3,
            note="Start with the first one this week.",
            path_slug=PATH,
            announce=False,
        )
        return slugs

    return email, server.run(make)


def titles(server, slugs: list[str]) -> list[str]:
    from lms.content import get_library

    return server.run(lambda: [get_library().module(s).title for s in slugs])


def section_count(server, slug: str) -> int:
    from lms.content import get_library

    return server.run(lambda: len(get_library().module(slug).sections))


def looks_right(page, where: str) -> None:
    """axe 0 violations and no sideways scroll on the page as it is now."""
    violations = support.axe_violations(page)
    assert violations == [], f"{where}:\n{support.describe(violations)}"
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"{where}: scrolls sideways by {wide}px"


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_new_family_member_finds_their_way(new_page, server, viewport):
    email, slugs = new_family_member_with_the_path(server)
    first, second = titles(server, slugs[:2])
    quiz = quiz_of(server, slugs[0])
    page = new_page(viewport=support.VIEWPORTS[viewport])
    page.context.route(
        re.compile(r"^https://www\.weather\.gov/.*"),
        lambda route: route.fulfill(
            body="<title>Weather</title><p>Forecast</p>", content_type="text/html"
        ),
    )
    support.sign_in(page, server.url, email)
    expect(page).to_have_url(re.compile(r"/learn/$"))

    # The first sign-in orientation: the care team, privacy, quick exit; then "Got it".
    orientation = page.get_by_role("region", name=re.compile("how this site works"))
    expect(orientation).to_be_visible()
    expect(orientation).to_contain_text("Your care team")
    expect(orientation).to_contain_text("Esc key twice")
    looks_right(page, f"home with orientation ({viewport})")
    page.get_by_role("button", name="Got it").click()
    expect(page.get_by_role("button", name="Got it")).to_have_count(0)

    # "Up next" leads, with one big Start button; the path is shown as weeks.
    up_next = page.get_by_role("region", name="Up next")
    expect(up_next).to_contain_text(first)
    expect(page.get_by_text(re.compile(r"^Week 1 of \d+"))).to_be_visible()
    expect(page.get_by_text("Start with the first one this week.")).to_have_count(1)
    looks_right(page, f"home ({viewport})")
    up_next.get_by_role("link", name=re.compile("^Start reading")).click()

    # Reading, section by section, to the check.
    expect(page.get_by_role("heading", level=1)).to_have_text(first)
    looks_right(page, f"module section ({viewport})")
    sections = section_count(server, slugs[0])
    for n in range(sections):
        # Wait for each page before the next click (a count taken mid-navigation can be 0).
        expect(page.get_by_text(f"{n} of {sections} sections read")).to_be_visible()
        page.get_by_role("button", name=re.compile(r"^Mark as read")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Knowledge check: {first}")

    # A first fail shows the learner's own choices, not the right answers.
    answer(page, quiz, correct=False)
    expect(page.get_by_text("Not passed yet.")).to_be_visible()
    expect(page.get_by_text("The right answer:")).to_have_count(0)
    looks_right(page, f"result, first fail ({viewport})")
    retake = page.get_by_role("link", name=re.compile(r"Retake|Take the check again")).first
    retake.click()
    answer(page, quiz, correct=True)
    expect(page.get_by_text("Well done — you passed.")).to_be_visible()

    # "Next reading" after finishing.
    next_reading = page.get_by_role("region", name="Next reading")
    expect(next_reading).to_contain_text(second)
    looks_right(page, f"result, passed ({viewport})")
    next_reading.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(second)

    # The certificate names the finished reading and its date, never the patient.
    page.goto(server.url + "/learn/")
    page.get_by_role("link", name="Certificate of completion").click()
    certificate = page.locator("article.certificate")
    expect(certificate).to_contain_text(NAME)
    expect(certificate).to_contain_text(first)
    expect(certificate).not_to_contain_text("Sam Taylor")
    looks_right(page, f"certificate ({viewport})")

    # Esc twice leaves and signs out: Back shows the sign-in page, not this one.
    page.goto(server.url + "/learn/")
    expect(page.get_by_text(re.compile("To support"))).not_to_have_count(0)
    page.locator("body").press("Escape")
    page.locator("body").press("Escape")
    expect(page).to_have_url(re.compile(r"^https://www\.weather\.gov/"))
    page.go_back()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"/auth/login"))
    expect(page.locator("body")).not_to_contain_text("To support")
