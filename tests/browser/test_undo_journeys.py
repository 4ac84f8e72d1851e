"""Undo and follow-up in Chromium, as a clinician does them: discharge a patient and re-admit
them; cancel a whole path and restore it; mark a flagged family contacted and see the flag
set aside. Each works on a family of its own, made behind the scenes, so the demo families
other tests look at are left as they are."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from tests.browser import support

pytestmark = support.requires_browser

PATH = "family-weeks-1-4"


def _family(server, name: str, email: str, *, overdue: bool = False) -> int:
    """A patient with a joined, consented family member given the family path; with
    ``overdue``, the first reading was due a week ago (a needs-help flag)."""
    from lms import clock
    from lms.accounts import services
    from lms.assignments import operations as assignment_ops
    from lms.consent import operations as consent_ops
    from lms.content import get_library
    from lms.extensions import db
    from lms.models import LinkState, User
    from lms.patients import operations as patient_ops

    def make() -> int:
        clinician = db.session.get(User, server.users[support.ACCOUNTS["clinician"]])
        patient = patient_ops.enroll_patient(
            clinician, display_name=name, record_number=None, enrolled_on=support.due_in(-20)
        )
        member = services.create_user(
            email=email, display_name=f"{name} Parent", role="family", password=None
        )
        link = patient_ops.add_family_member(
            clinician, patient, display_name=member.display_name, email=email, relationship="parent"
        )
        link.user_id, link.state = member.id, LinkState.ACTIVE
        consent_ops.record_consent(
            clinician,
            patient,
            link,
            disclosure="Assignments and progress.",
            purpose="Family education.",
            revocation_terms="At any time.",
            ends_at_discharge=True,
            expires_on=None,
            expiry_event=None,
            signed_by="patient",
            representative_name=None,
            representative_capacity=None,
            signature_method="paper",
            signed_on=support.due_in(-20),
        )
        first_due = clock.today() - timedelta(days=7) if overdue else support.due_in(3)
        assignment_ops.assign(
            clinician,
            patient,
            module_slugs=list(get_library().path(PATH).module_slugs),
            learners=[member],
            first_due=first_due,
            spread_days=7,
            note=None,
            path_slug=PATH,
        )
        return patient.id

    return server.run(make)


def test_discharge_then_readmit(new_page, server):
    patient_id = _family(server, "Dana Undo", "dana.undo@example.org")
    page = new_page("clinician")
    page.goto(f"{server.url}/clinic/patients/{patient_id}")
    page.get_by_role("link", name="Discharge patient…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Discharge Dana Undo?")
    expect(page.get_by_text("Dana Undo Parent", exact=False).first).to_be_visible()
    page.get_by_role("button", name="Discharge patient").click()
    expect(page.get_by_text("Patient discharged.")).to_be_visible()
    page.get_by_role("link", name="Re-admit patient…").click()
    expect(page.get_by_text("Consents that ended at discharge stay ended")).to_be_visible()
    page.get_by_role("button", name="Re-admit patient").click()
    expect(page.get_by_text("Patient re-admitted.")).to_be_visible()
    expect(page.locator("h1 + p .badge").first).to_have_text("Active")
    expect(page.get_by_role("link", name="Discharge patient…")).to_be_visible()


def test_cancel_a_path_then_restore_it(new_page, server):
    patient_id = _family(server, "Eli Undo", "eli.undo@example.org")
    page = new_page("clinician")
    page.goto(f"{server.url}/clinic/patients/{patient_id}")
    group = page.locator("details.path-group")
    expect(group).to_have_count(1)
    group.locator("summary").click()
    group.get_by_role("link", name="Cancel the whole path…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("for Eli Undo Parent?")
    page.get_by_role("button", name="Cancel these readings").click()
    expect(page.get_by_text(re.compile(r"\d+ readings of the path cancelled"))).to_be_visible()
    group = page.locator("details.path-group")
    group.locator("summary").click()
    expect(group.get_by_role("link", name="Cancel the whole path…")).to_have_count(0)
    group.get_by_role("button", name="Restore the path").click()
    expect(page.get_by_text(re.compile(r"\d+ readings of the path restored"))).to_be_visible()
    page.locator("details.path-group summary").click()
    expect(page.locator("details.path-group").get_by_text("Cancelled")).to_have_count(0)


def test_mark_contacted_sets_the_flag_aside(new_page, server):
    _family(server, "Fay Undo", "fay.undo@example.org", overdue=True)
    page = new_page("clinician")
    page.goto(f"{server.url}/clinic/?show=needs_help&q=Fay+Undo")
    row = page.locator("tr", has=page.get_by_role("link", name="Fay Undo"))
    expect(row).to_contain_text("overdue")
    row.get_by_role("link", name=re.compile("Mark contacted")).click()
    follow_up = page.get_by_label(re.compile("Follow up on"))
    expect(follow_up).to_have_value(re.compile(r"\d{4}-\d{2}-\d{2}"))
    page.get_by_role("button", name="Record contact").click()
    page.goto(f"{server.url}/clinic/?show=needs_help&q=Fay+Undo")
    expect(page.get_by_role("link", name="Fay Undo")).to_have_count(0)
    page.goto(f"{server.url}/clinic/?status=active&q=Fay+Undo")
    expect(page.locator("tr", has=page.get_by_role("link", name="Fay Undo"))).to_contain_text(
        "Contacted"
    )
