"""The three journeys of the issue, end to end in Chromium against the served app.

1. A clinician signs in, enrolls a patient, adds a family member, records the consent and
   creates the invitation link.
2. The family member accepts it and sets a password; the clinician assigns the "Family weeks
   1–4" path with due dates; the family member reads the first module section by section,
   fails the knowledge check, reads the feedback, retakes it, passes and sees it completed.
3. The clinician sees the completion on the patient page; the patient (given a login from the
   patient page) withdraws the consent; the family member then sees no patient information.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import support

pytestmark = support.requires_browser

PATIENT = "Jordan Avery"
FAMILY = "Robin Avery"
FAMILY_EMAIL = "robin.avery@example.org"
PATIENT_EMAIL = "jordan.avery@example.org"
NEW_PASSWORD = "lantern maple river 7 quietly"
PATH = "family-weeks-1-4"


def path_length(server) -> int:
    from lms.content import get_library

    return server.run(lambda: len(get_library().path(PATH).module_slugs))


def quiz_of(server, slug: str) -> list[tuple[str, str, list[int], list[int]]]:
    """(question id, type, correct indices, wrong indices) for each question."""
    from lms.content import get_library

    def read():
        quiz = get_library().module(slug).quiz
        return [
            (
                q.id,
                q.type,
                sorted(q.correct_indices),
                sorted(set(range(len(q.choices))) - set(q.correct_indices)),
            )
            for q in quiz.questions
        ]

    return server.run(read)


def first_module_of_path(server) -> tuple[str, str, int]:
    """(slug, title, number of sections) of the first module of the path."""
    from lms.content import get_library

    def read():
        library = get_library()
        module = library.module(library.path(PATH).module_slugs[0])
        return module.slug, module.title, len(module.sections)

    return server.run(read)


def day_text(server, day) -> str:
    """A due date as learners read it ("Mon, Nov 30")."""
    from lms import dates

    return server.run(lambda: dates.day_text(day))


def answer(page, quiz, *, correct: bool) -> None:
    for qid, _type, right, wrong in quiz:
        picks = right if correct else wrong[:1]
        for index in picks:
            page.locator(f"#q-{qid}-{index}").check()
    page.get_by_role("button", name="Check my answers").click()


def accept_invitation(page, url: str, email: str, name: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome")
    expect(page.get_by_label("Your email")).to_have_value(email)  # from the invitation
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Choose a password").fill(NEW_PASSWORD)
    page.get_by_label("Type the password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page).to_have_url(re.compile(r"/learn/$"))


def test_axe_really_runs(new_page):
    """Guard against a silent zero: axe reports a known violation."""
    page = new_page()
    page.set_content('<html lang="en"><title>x</title><main><img src="x.png"></main></html>')
    assert "image-alt" in {v["id"] for v in support.axe_violations(page)}


def test_three_journeys(new_page, server):
    slug, title, sections = first_module_of_path(server)
    quiz = quiz_of(server, slug)

    # Journey 1: the clinician enrolls, adds family, records consent, invites.
    clinician = new_page("clinician")
    clinician.goto(server.url + "/")
    expect(clinician).to_have_url(re.compile(r"/clinic/$"))
    clinician.get_by_role("link", name="Enroll a patient").click()
    clinician.get_by_label("Patient's name").fill(PATIENT)
    clinician.get_by_label("Record number (optional)").fill("JA-2001")
    clinician.get_by_label("Enrolled on").fill(support.due_in(0).isoformat())
    clinician.get_by_role("button", name="Enroll patient").click()
    expect(clinician.get_by_role("heading", level=1)).to_have_text(PATIENT)
    patient_url = clinician.url

    clinician.get_by_role("link", name="Add a family member").click()  # the checklist
    family_form = clinician.locator("form[action$='/family']")
    family_form.get_by_label("Name", exact=True).fill(FAMILY)
    family_form.get_by_label("Email", exact=True).fill(FAMILY_EMAIL)
    family_form.get_by_label("Relationship to the patient").select_option(label="Parent")
    family_form.get_by_role("button", name="Add family member").click()
    expect(clinician.get_by_text("Family member added.")).to_be_visible()

    clinician.locator("a[href*='/consents/new']").first.click()
    expect(clinician.get_by_role("heading", level=1)).to_have_text("Record a consent")
    clinician.get_by_label("Family member named in the consent").select_option(
        label=f"{FAMILY} ({FAMILY_EMAIL})"
    )
    clinician.get_by_label("Expires on").fill(support.due_in(180).isoformat())
    clinician.get_by_label("Date signed").fill(support.due_in(0).isoformat())
    clinician.get_by_role("button", name="Record consent").click()

    # Recording the consent leads on to inviting that person.
    expect(clinician.get_by_label("Family member to invite")).to_have_value(re.compile(r"^\d+$"))
    clinician.get_by_role("button", name=f"Invite {FAMILY} now").click()
    invite_url = clinician.get_by_label("Link").input_value()
    assert invite_url.startswith(f"{server.url}/invite/")

    # Journey 2: the family member joins; the clinician assigns the path with due dates.
    family = new_page(viewport=support.PHONE)
    accept_invitation(family, invite_url, FAMILY_EMAIL, FAMILY)
    expect(family.get_by_text("Readings from your care team")).to_have_count(0)

    clinician.goto(patient_url)
    clinician.locator("a[href$='/assign']").first.click()
    clinician.get_by_label("Module or path").select_option(f"path:{PATH}")
    learner = clinician.get_by_label(re.compile(rf"^{FAMILY} \(family\)"))
    expect(learner).to_be_checked()
    first_due = support.due_in(3)
    clinician.get_by_label("Due date (first module)").fill(first_due.isoformat())
    clinician.get_by_label("Days between modules of a path").fill("4")
    clinician.get_by_role("button", name="Assign", exact=True).click()
    expect(clinician.get_by_text(f"{path_length(server)} assignments created.")).to_be_visible()

    family.reload()
    expect(family.get_by_text("Readings from your care team")).to_be_visible()
    # The path is one card, as weeks; each reading a row with its status and plain due day.
    plan = family.locator("section.path-plan")
    expect(plan).to_contain_text(f"To support {PATIENT}")
    expect(plan).to_contain_text(re.compile(r"Week 1 of \d+"))
    first = plan.locator("li.reading-row", has=family.get_by_role("link", name=title))
    expect(first).to_contain_text(f"Due {day_text(server, first_due)}")
    expect(first).to_contain_text("Not started")
    first.get_by_role("link", name=title).click()

    for n in range(sections):
        expect(family.get_by_text(f"{n} of {sections} sections read")).to_be_visible()
        family.get_by_role("button", name=re.compile(r"^Mark as read")).click()
    expect(family.get_by_role("heading", level=1)).to_have_text(f"Knowledge check: {title}")

    answer(family, quiz, correct=False)
    expect(family.get_by_text("Not passed yet.")).to_be_visible()
    expect(family.locator(".badge.bad", has_text="Not quite")).to_have_count(len(quiz))
    # A first try that did not pass shows feedback on the family's own choices only.
    expect(family.get_by_text("The right answer:")).to_have_count(0)
    expect(family.locator(".feedback").first).not_to_be_empty()
    family.get_by_role("link", name="Take the check again").first.click()  # the top one

    answer(family, quiz, correct=True)
    expect(family.get_by_text("Well done — you passed.")).to_be_visible()
    expect(family.locator(".result .badge")).to_have_text("Completed")
    family.goto(server.url + "/learn/")
    expect(first.locator(".badge")).to_have_text("Completed")

    # Journey 3: the clinician sees it; the patient withdraws consent; the family sees nothing.
    clinician.goto(patient_url)
    # The path given to the family member is one unit: its line names them; it opens.
    group = clinician.locator("details.path-group", has_text=FAMILY)
    expect(group.locator("summary")).to_contain_text(FAMILY)
    group.locator("summary").click()
    row = group.get_by_role("row", name=re.compile(re.escape(title)))
    expect(row).to_contain_text("Completed")

    # By the form, not the label: the family form's email field has the same id ("email"),
    # so the label "Patient's email" points at that one (reported; templates/clinic/patient.html).
    login_form = clinician.locator("form[action$='/patient-login']")
    login_form.get_by_label("Patient's email").fill(PATIENT_EMAIL)
    login_form.get_by_role("button", name="Create patient invitation link").click()
    patient_invite = clinician.get_by_label("Link").input_value()

    patient = new_page()
    accept_invitation(patient, patient_invite, PATIENT_EMAIL, PATIENT)
    patient.get_by_role("link", name="My family", exact=True).click()
    card = patient.locator("li.card", has_text=FAMILY)
    expect(card).to_contain_text("Consent active")
    card.get_by_role("button", name=f"Withdraw consent for {FAMILY}").click()
    expect(patient.get_by_text("Consent withdrawn. That person no longer sees")).to_be_visible()
    expect(patient.locator("li.card", has_text=FAMILY)).to_contain_text("Consent withdrawn")

    family.goto(server.url + "/learn/")
    expect(family.get_by_role("heading", level=1)).to_have_text("My learning")
    expect(family.locator("main")).not_to_contain_text(PATIENT)
    expect(family.get_by_text("Readings from your care team")).to_have_count(0)
    family.goto(server.url + "/learn/progress")
    expect(family.locator("main")).not_to_contain_text(PATIENT)

    clinician.goto(patient_url)
    expect(clinician.locator("main")).to_contain_text("Withdrawn")
