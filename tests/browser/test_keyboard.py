"""Journey 2 with the keyboard only: Tab, Shift+Tab, Enter and Space (and the arrow keys inside
a radio group, the standard way to choose a radio button). No mouse clicks, no ``fill``."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import support
from tests.browser.test_journeys import NEW_PASSWORD, first_module_of_path, quiz_of

pytestmark = support.requires_browser

EMAIL = "kim.keyboard@example.org"


def family_invitation(server) -> str:
    """Behind the scenes: a patient with a consented, invited family member."""
    from lms.consent import operations as consent_ops
    from lms.extensions import db
    from lms.invitations import operations as invitation_ops
    from lms.models import User
    from lms.patients import operations as patient_ops

    def make():
        clinician = db.session.get(User, server.users[support.ACCOUNTS["clinician"]])
        patient = patient_ops.enroll_patient(
            clinician, display_name="Lee Keys", record_number=None, enrolled_on=support.due_in(0)
        )
        link = patient_ops.add_family_member(
            clinician, patient, display_name="Kim Keys", email=EMAIL, relationship="sibling"
        )
        consent_ops.record_consent(
            clinician,
            patient,
            link,
            disclosure="Assignments and progress.",
            purpose="Family education.",
            revocation_terms="At any time.",
            expires_on=support.due_in(90),
            expiry_event=None,
            signed_by="patient",
            representative_name=None,
            representative_capacity=None,
            signature_method="paper",
            signed_on=support.due_in(0),
        )
        return invitation_ops.invite(clinician, patient, link).token

    return server.run(make)


def assign_path(server) -> None:
    from sqlalchemy import select

    from lms.assignments import operations as assignment_ops
    from lms.content import get_library
    from lms.extensions import db
    from lms.models import Patient, User

    def make():
        clinician = db.session.get(User, server.users[support.ACCOUNTS["clinician"]])
        patient = db.session.scalar(select(Patient).where(Patient.display_name == "Lee Keys"))
        learner = db.session.scalar(User.by_email(EMAIL))
        assignment_ops.assign(
            clinician,
            patient,
            module_slugs=list(get_library().path("family-weeks-1-4").module_slugs),
            learners=[learner],
            first_due=support.due_in(2),
            spread_days=7,
            note=None,
            path_slug="family-weeks-1-4",
        )

    server.run(make)


def tab_to(page, selector: str, limit: int = 150) -> None:
    """Press Tab until the focused element matches ``selector``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement?.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")


def press_and_wait(page, key: str = "Enter") -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


def answer_by_keyboard(page, quiz, *, correct: bool) -> None:
    for qid, qtype, right, wrong in quiz:
        picks = right if correct else wrong[:1]
        if qtype == "multiple":
            for index in picks:
                tab_to(page, f"#q-{qid}-{index}")
                page.keyboard.press("Space")
        elif qtype == "ordering":
            raise AssertionError(f"{qid}: this journey's module has no ordering question")
        else:
            tab_to(page, f"input[name='q-{qid}']")  # focus enters the group on its first radio
            (index,) = picks
            # Options are shuffled per attempt: arrow keys move in the order shown.
            shown = page.locator(f"input[name='q-{qid}']").evaluate_all(
                "els => els.map(e => e.value)"
            )
            place = shown.index(str(index))
            if place == 0:
                page.keyboard.press("Space")
            for _ in range(place):
                page.keyboard.press("ArrowDown")
        for index in picks:
            expect(page.locator(f"#q-{qid}-{index}")).to_be_checked()
    tab_to(page, "form.quiz button[type=submit]")
    press_and_wait(page)


def test_family_journey_by_keyboard_only(new_page, server):
    slug, title, sections = first_module_of_path(server)
    quiz = quiz_of(server, slug)
    page = new_page()
    page.goto(f"{server.url}/invite/{family_invitation(server)}")

    # The email comes filled in (read-only) and the name as the clinician entered it.
    expect(page.locator("#email")).to_have_value(EMAIL)
    expect(page.locator("#display_name")).to_have_value("Kim Keys")
    for selector, text in (
        ("#display_name", "Kim K."),  # the name as they like to be called
        ("#password", NEW_PASSWORD),
        ("#confirm", NEW_PASSWORD),
    ):
        tab_to(page, selector)
        page.keyboard.press("ControlOrMeta+a")  # replace what is there, as a person would
        page.keyboard.type(text)
    expect(page.locator("#display_name")).to_have_value("Kim K.")
    press_and_wait(page)  # Enter in the last field submits the form
    expect(page).to_have_url(re.compile(r"/learn/$"))

    assign_path(server)
    page.reload()
    tab_to(page, f"main a[href$='/learn/modules/{slug}']")
    press_and_wait(page)

    for n in range(sections):
        expect(page.get_by_text(f"{n} of {sections} sections read")).to_be_visible()
        tab_to(page, "form[action*='/read'] button")
        press_and_wait(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Knowledge check: {title}")

    answer_by_keyboard(page, quiz, correct=False)
    expect(page.get_by_text("Not passed yet.")).to_be_visible()
    expect(page.get_by_text("The right answer:")).to_have_count(0)  # not on a first try
    tab_to(page, "main a[href$='/check']")
    press_and_wait(page)

    answer_by_keyboard(page, quiz, correct=True)
    expect(page.get_by_text("Well done — you passed.")).to_be_visible()
    expect(page.locator(".result .badge")).to_have_text("Completed")

    # Back to the start page by keyboard: the assignment is done.
    tab_to(page, "nav a[href$='/learn/']")
    press_and_wait(page)
    row = page.locator("li.reading-row", has=page.get_by_role("link", name=title))
    expect(row.locator(".badge")).to_have_text("Completed")


def test_focus_is_always_visible(new_page, server):
    """Every control reached by Tab on a learner page shows a focus outline."""
    page = new_page("family")
    page.goto(server.url + "/learn/")
    seen = 0
    for _ in range(25):
        page.keyboard.press("Tab")
        outline = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; }"
        )
        if outline[0] == "BODY":
            break
        assert outline[1] != "none" and outline[2] != "0px", outline
        seen += 1
    assert seen > 5
