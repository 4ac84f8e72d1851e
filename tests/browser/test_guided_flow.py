"""The guided flow in Chromium, with no dead end: a clinician enrols a patient, follows the
checklist on the patient page, opens the consent page before anyone is added (it offers the
add-family form instead of bouncing back), records the consent after seeing every error at
once, invites the person, copies the link (no mail server is set up here, and the page says
so), and the family member accepts with the form already filled in."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import support

pytestmark = support.requires_browser

PATIENT = "Morgan Lee"
FAMILY = "Taylor Lee"
FAMILY_EMAIL = "taylor.lee@example.org"
NEW_PASSWORD = "willow harbor lantern 9 slowly"


def checklist(page):
    return page.locator("section", has=page.get_by_role("heading", name="Bringing the family in"))


def expect_next(page, label: str) -> None:
    """The checklist's one "Next" step is ``label``."""
    steps = checklist(page).locator("li")
    expect(steps).to_have_count(4)
    expect(checklist(page).locator("li", has_text="Next")).to_have_count(1)
    expect(checklist(page).locator("li", has_text="Next")).to_contain_text(label)


def no_violations(page) -> None:
    violations = support.axe_violations(page)
    assert violations == [], support.describe(violations)


def test_enrol_add_consent_invite_accept_without_a_dead_end(new_page, server):
    clinician = new_page("clinician", permissions=["clipboard-read", "clipboard-write"])
    clinician.goto(server.url + "/clinic/")
    clinician.get_by_role("link", name="Enroll a patient").click()
    clinician.get_by_label("Patient's name").fill(PATIENT)
    clinician.get_by_label("Record number (optional)").fill("ML-3001")
    clinician.get_by_label("Enrolled on").fill(support.due_in(0).isoformat())
    clinician.get_by_role("button", name="Enroll patient").click()
    expect(clinician.get_by_role("heading", level=1)).to_have_text(PATIENT)
    patient_url = clinician.url

    # The checklist: adding a family member is next, and its form is open, not folded away.
    expect_next(clinician, "Add a family member")
    family_form = clinician.locator("form[action$='/family']")
    expect(family_form.get_by_label("Name", exact=True)).to_be_visible()
    no_violations(clinician)

    # The consent page, opened before anyone is added: it explains and offers the form.
    clinician.get_by_role("link", name="Record a consent").click()
    expect(clinician.get_by_role("heading", name="First, add the family member")).to_be_visible()
    no_violations(clinician)
    add_here = clinician.locator("form[action*='/family']")
    add_here.get_by_label("Name", exact=True).fill(FAMILY)
    add_here.get_by_label("Email", exact=True).fill(FAMILY_EMAIL)
    add_here.get_by_label("Relationship to the patient").select_option(label="Parent")
    add_here.get_by_role("button", name="Add family member").click()

    # Straight on to their consent, with them chosen.
    expect(clinician.get_by_role("heading", level=1)).to_have_text("Record a consent")
    chosen = clinician.get_by_label("Family member named in the consent")
    expect(chosen.locator("option:checked")).to_have_text(f"{FAMILY} ({FAMILY_EMAIL})")
    clinician.get_by_label("A legal representative").check()
    clinician.get_by_label("Date signed").fill(support.due_in(3).isoformat())
    clinician.get_by_role("button", name="Record consent").click()
    # Every error at once, each beside its own field.
    summary = clinician.locator(".error-summary")
    expect(summary).to_contain_text("Representative's name")
    expect(summary).to_contain_text("Representative's capacity")
    expect(summary).to_contain_text("Date signed")
    name_field = clinician.locator(".field", has=clinician.get_by_label("Representative's name"))
    expect(name_field.locator(".errors")).to_contain_text("enter the representative's name")
    expires_field = clinician.locator(".field", has=clinician.get_by_label("Expires on"))
    expect(expires_field.locator(".errors")).to_have_count(0)
    no_violations(clinician)
    clinician.get_by_label("The patient", exact=True).check()
    clinician.get_by_label("Date signed").fill(support.due_in(0).isoformat())
    clinician.get_by_role("button", name="Record consent").click()

    # Next: the invitation, offered by name.
    expect(clinician.get_by_text(f"Consent recorded for {FAMILY}.")).to_be_visible()
    clinician.get_by_role("button", name=f"Invite {FAMILY} now").click()

    # No mail server here: the page says so; the link can be copied with one click.
    expect(clinician.get_by_role("heading", level=1)).to_have_text(f"Invitation for {FAMILY}")
    expect(clinician.locator("#email-status")).to_contain_text(
        "Copy the link and send it yourself."
    )
    link_field = clinician.get_by_label("Link", exact=True)
    invite_url = link_field.input_value()
    assert invite_url.startswith(f"{server.url}/invite/")
    expect(link_field).not_to_be_editable()
    copy = clinician.get_by_role("button", name="Copy link")
    expect(copy).to_be_visible()  # the script showed it
    copy.click()
    expect(clinician.get_by_text("Link copied.")).to_be_visible()
    assert clinician.evaluate("navigator.clipboard.readText()") == invite_url
    waiting = clinician.locator("li", has_text=FAMILY).filter(has_text="Waiting")
    expect(waiting).to_contain_text(re.compile(r"works until \w{3} \d{1,2}, \d{4}, .* E[SD]T"))
    no_violations(clinician)

    # Back on the patient page: waiting for them to join.
    clinician.goto(patient_url)
    expect_next(clinician, "They joined")
    expect(checklist(clinician).get_by_text("Done")).to_have_count(3)

    # The family member accepts: their email and name are already there.
    family = new_page(viewport=support.PHONE)
    family.goto(invite_url)
    expect(family.get_by_role("heading", level=1)).to_have_text("Welcome")
    expect(family.get_by_label("Your email")).to_have_value(FAMILY_EMAIL)
    expect(family.get_by_label("Your name")).to_have_value(FAMILY)
    family.get_by_label("Choose a password").fill(NEW_PASSWORD)
    family.get_by_label("Type the password again").fill(NEW_PASSWORD)
    family.get_by_role("button", name="Create my account").click()
    expect(family).to_have_url(re.compile(r"/learn/$"))

    clinician.reload()
    expect(checklist(clinician).get_by_text("Done")).to_have_count(4)
    expect(checklist(clinician)).to_contain_text("Everyone added has joined.")


def test_the_invitation_page_fits_a_phone(new_page, server):
    """Readable at 390 px: no sideways scroll on the page with the link."""
    from sqlalchemy import select

    from lms.extensions import db
    from lms.invitations import operations as invitation_ops
    from lms.models import FamilyLink, User

    def make():
        link = db.session.scalar(
            select(FamilyLink).where(FamilyLink.email == "chris.morgan@example.org")
        )
        clinician = db.session.get(User, server.users[support.ACCOUNTS["clinician"]])
        new = invitation_ops.invite(clinician, link.patient, link)
        return link.patient_id, new.invitation.id

    patient_id, invitation_id = server.run(make)
    page = new_page("clinician", viewport=support.PHONE)
    page.goto(f"{server.url}/clinic/patients/{patient_id}/invitations/{invitation_id}")
    expect(page.get_by_role("button", name=re.compile("^Send again"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= support.PHONE["width"]
    no_violations(page)
