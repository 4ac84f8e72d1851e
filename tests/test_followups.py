"""Follow-ups on needs-help flags, and the dashboard a clinician can act on: marking a family
contacted snoozes its flags until the follow-up date, search by name, the consent column and
the summary tiles."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from lms import clock, insight
from lms.consent import operations as consent_ops
from lms.content import get_library
from lms.extensions import db
from lms.followups import operations as followup_ops
from lms.followups import queries as followup_q
from lms.learning import operations as learning
from lms.models import (
    Assignment,
    AuditEvent,
    Consent,
    FamilyLink,
    FollowUp,
    Invitation,
    Patient,
    User,
)
from lms.problems import FieldProblems
from tests.forms import form_data
from tests.helpers import (
    app_context,
    login,
    make_assignment,
    make_family,
    make_patient,
    make_user,
    shown_day,
    text_of,
)
from tests.test_concurrency import assert_calm, at_once
from tests.test_insight import WRONG, queries_for


def later(days: int) -> str:
    """The date `days` from today, as the form takes it."""
    return (clock.today() + timedelta(days=days)).isoformat()


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def failed_twice(user, slug: str = "first-steps") -> None:
    with app_context():
        module = get_library().module(slug)
        member = db.session.get(User, user.id)
        for n in range(2):
            learning.submit_attempt(member, module, WRONG, f"fail-{user.id}-{slug}-{n}")
        db.session.commit()


def overdue_family(clinician, name: str = "Morgan Family", member_name: str = "Jordan Morgan"):
    """A patient whose joined, consented family member has one overdue reading."""
    patient = make_patient(clinician, name=name)
    member = make_user("family", name=member_name)
    link_id, _consent = make_family(patient, member)
    make_assignment(patient, member, "no-check", due_in_days=-2)
    return patient, member, link_id


def row_of(page: str, name: str) -> str:
    start = page.index(name)
    return page[start : page.index("</tr>", start)]


def page_of(client, url: str = "/clinic/") -> str:
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return text_of(response)


def needs_help_page(client) -> str:
    return page_of(client, "/clinic/?show=needs_help")


def contact_url(patient, member=None) -> str:
    if member is None:
        return f"/clinic/patients/{patient.id}/contacted"
    return f"/clinic/patients/{patient.id}/learners/{member.id}/contacted"


def mark_contacted(client, url: str, **values):
    data = form_data(client, url, url, **values)
    return client.post(url, data=data)


def followups() -> list[FollowUp]:
    with app_context():
        return list(db.session.scalars(select(FollowUp).order_by(FollowUp.id)))


def actions(name: str) -> list[AuditEvent]:
    with app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == name)))


# --- marking a family contacted --------------------------------------------------------


def test_marking_contacted_snoozes_the_flag_until_the_follow_up_date(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    patient, member, link_id = overdue_family(clinician)
    assert "Morgan Family" in needs_help_page(client)
    assert "Mark contacted" in row_of(page_of(client), "Morgan Family")

    url = contact_url(patient, member)
    form_page = page_of(client, url)
    assert "1 overdue" in form_page  # the reasons it will set aside are named
    assert later(7) in form_page  # a week ahead by default
    follow_up_on = later(3)
    response = mark_contacted(
        client, url, note="Called; the family will read it this weekend.", follow_up_on=follow_up_on
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/clinic/")
    [recorded] = followups()
    assert recorded.family_link_id == link_id  # whom: the learner in the address
    assert recorded.contacted_on == clock.today()
    assert recorded.note == "Called; the family will read it this weekend."

    row = row_of(page_of(client), "Morgan Family")
    follow_up_day = shown_day(date.fromisoformat(follow_up_on))
    assert f"Contacted {shown_day(clock.today())} — follow up on {follow_up_day}" in row
    assert "Spoke with Jordan Morgan" in row
    assert "Mark contacted" not in row
    assert "Morgan Family" not in needs_help_page(client)

    clock.advance(timedelta(days=2))  # the day before: still set aside
    client = signed_in(app, clinician)  # (a fresh sign-in: days have passed)
    assert "Morgan Family" not in needs_help_page(client)
    clock.advance(timedelta(days=1))  # the follow-up date: the reason still holds
    client = signed_in(app, clinician)
    back = needs_help_page(client)
    assert "Morgan Family" in back
    assert f"Last contacted {shown_day(recorded.contacted_on)}" in row_of(back, "Morgan Family")


def test_on_the_follow_up_date_a_reason_that_no_longer_holds_stays_away(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    patient, member, _link = overdue_family(clinician)
    mark_contacted(client, contact_url(patient), follow_up_on=later(2))
    with app_context():
        for row in db.session.scalars(select(Assignment)):
            row.cancelled_at = clock.utcnow()  # the reading is no longer asked of them
        db.session.commit()
    clock.advance(timedelta(days=2))
    client = signed_in(app, clinician)
    page = page_of(client)
    assert "Morgan Family" not in needs_help_page(client)
    assert "On track" in row_of(page, "Morgan Family")


def test_a_new_reason_shows_at_once_during_a_snooze(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    patient, member, _link = overdue_family(clinician)
    mark_contacted(client, contact_url(patient, member), follow_up_on=later(7))
    assert "Morgan Family" not in needs_help_page(client)
    failed_twice(member)  # not among the reasons the contact covered
    row = row_of(needs_help_page(client), "Morgan Family")
    assert "did not pass" in row.split("snoozed-flags")[0]  # an active flag
    assert "1 overdue" in row.split("snoozed-flags")[1]  # still set aside


def test_the_snooze_rule(app):
    today = date(2030, 5, 10)
    followup = FollowUp(follow_up_on=date(2030, 5, 12), reasons="overdue\nfailed:3:first-steps")
    assert followup_q.snoozes(followup, "overdue", today)
    assert followup_q.snoozes(followup, "failed:3:first-steps", date(2030, 5, 11))
    assert not followup_q.snoozes(followup, "overdue", date(2030, 5, 12))  # the date itself
    assert not followup_q.snoozes(followup, "inactive", today)  # not covered
    assert not followup_q.snoozes(None, "overdue", today)


def test_withdrawal_still_unflags_and_ends_following_up_with_that_person(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    patient, member, link_id = overdue_family(clinician)
    failed_twice(member)
    url = contact_url(patient, member)
    mark_contacted(client, url, follow_up_on=later(1))
    with app_context():
        consent_ops.withdraw_consent(
            db.session.get(User, clinician.id), db.session.get(FamilyLink, link_id)
        )
        db.session.commit()
    clock.advance(timedelta(days=1))  # the snooze is over: nothing of theirs comes back
    client = signed_in(app, clinician)
    row = row_of(page_of(client), "Morgan Family")
    assert "did not pass" not in row and "overdue" not in row
    assert "Morgan Family" not in needs_help_page(client)
    assert client.get(url).status_code == 404  # no longer someone to follow up with
    family_form = page_of(client, contact_url(patient))
    assert "Jordan Morgan" not in family_form.split('id="who"')[1].split("</select>")[0]
    with app_context():
        refused = db.session.get(Patient, patient.id)
        with pytest.raises(FieldProblems) as problem:
            followup_ops.record_followup(
                db.session.get(User, clinician.id),
                refused,
                family_link=db.session.get(FamilyLink, link_id),
                note=None,
                follow_up_on=clock.today(),
            )
        assert "consent" in str(problem.value.errors["who"][0])


def test_a_double_submit_records_once(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    patient, member, _link = overdue_family(clinician)
    url = contact_url(patient, member)
    data = form_data(client, url, url, follow_up_on=later(5), note="Left a message.")
    first = client.post(url, data=data)
    second = client.post(url, data=data)  # the same rendered form: a double click
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert len(followups()) == 1
    assert len(actions("followup.recorded")) == 1


def test_ten_identical_submits_at_once_record_once(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    patient, member, _link = overdue_family(clinician)
    url = contact_url(patient, member)
    data = form_data(client, url, url, follow_up_on=later(5))
    assert_calm(at_once(app, client, url, data))
    assert len(followups()) == 1
    assert len(actions("followup.recorded")) == 1


def test_audit_rows_name_the_patient_and_never_the_note(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    patient, member, link_id = overdue_family(clinician)
    url = contact_url(patient, member)
    assert client.get(url).status_code == 200
    [viewed] = actions("followup.form_view")
    assert viewed.patient_id == patient.id and viewed.actor_id == clinician.id
    mark_contacted(client, url, note="Worried about relapse", follow_up_on=later(4))
    [recorded] = actions("followup.recorded")
    assert recorded.patient_id == patient.id and recorded.subject_type == "follow_up"
    assert f"family_link {link_id}" in recorded.detail and later(4) in recorded.detail
    assert "relapse" not in recorded.detail.lower()


def test_bad_dates_and_long_notes_get_a_clear_message(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    patient, _member, _link = overdue_family(clinician)
    url = contact_url(patient)

    past = mark_contacted(client, url, follow_up_on=later(-1))
    assert past.status_code == 400
    assert "The follow-up date must be today or later." in text_of(past)

    garbled = mark_contacted(client, url, follow_up_on="next tuesday")
    assert garbled.status_code == 400
    assert "Enter a date as YYYY-MM-DD" in text_of(garbled)
    assert "Enter the date to look at this family again." not in text_of(garbled)

    both = mark_contacted(client, url, follow_up_on=later(-3), note="y" * 600)
    assert "The follow-up date must be today or later." in text_of(both)  # both at once
    assert "(it has 600)" in text_of(both)

    empty = mark_contacted(client, url, follow_up_on="")
    assert "Enter the date to look at this family again." in text_of(empty)

    long = mark_contacted(client, url, follow_up_on=later(1), note="x" * 501)
    assert long.status_code == 400
    assert "Keep the note to 500 characters or fewer (it has 501)." in text_of(long)
    # Beside its field, with the summary linking to it.
    assert 'id="note-error"' in text_of(long) and 'href="#note"' in text_of(long)

    today = mark_contacted(client, url, follow_up_on=later(0), note="x" * 500)
    assert today.status_code == 302  # today and exactly 500 characters are fine
    assert len(followups()) == 1


def test_only_the_care_team_reaches_the_form_and_only_for_their_people(app):
    clinician = make_user("clinician")
    patient, member, _link = overdue_family(clinician)
    other = signed_in(app, make_user("clinician"))
    assert other.get(contact_url(patient)).status_code == 404
    assert other.get(contact_url(patient, member)).status_code == 404
    client = signed_in(app, clinician)
    stranger = make_user("family")
    assert client.get(contact_url(patient, stranger)).status_code == 404
    assert client.get(f"/clinic/patients/{patient.id}/learners/0/contacted").status_code == 404
    assert followups() == []


def test_a_discharged_patient_has_nothing_to_follow_up(app):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Gone Family", status="discharged")
    client = signed_in(app, clinician)
    response = client.get(contact_url(patient))
    assert response.status_code == 302
    assert "nothing to follow up" in text_of(client.get(response.headers["Location"]))


# --- search, consent column, tiles ------------------------------------------------------


def test_search_finds_by_patient_and_by_family_name_and_keeps_the_name_out_of_the_log(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    overdue_family(clinician, "Riley Alvarez", "Sam Okafor")
    overdue_family(clinician, "Casey Brennan", "Dana Brennan")

    by_patient = page_of(client, "/clinic/?q=alvarez")
    assert "Riley Alvarez" in by_patient and "Casey Brennan" not in by_patient
    by_family = page_of(client, "/clinic/?q=OKAFOR")
    assert "Riley Alvarez" in by_family and "Casey Brennan" not in by_family
    spaced = text_of(client.get("/clinic/", query_string={"q": "  dana   brennan "}))
    assert "Casey Brennan" in spaced and "Riley Alvarez" not in spaced
    for odd in ("<script>alert(1)</script>", "x" * 5000, "\x00\u202e", "%", "_"):
        answer = client.get("/clinic/", query_string={"q": odd})
        assert answer.status_code == 200
        assert "<script>alert(1)" not in text_of(answer)
    nobody = page_of(client, "/clinic/?q=zzz")
    assert "Nobody on this list has a name containing" in nobody
    assert 'value="zzz"' in nobody  # the box keeps what was typed

    with app_context():
        details = list(
            db.session.scalars(
                select(AuditEvent.detail).where(AuditEvent.action == "caseload.view")
            )
        )
    assert "search, 1 families found" in details and "search, 0 families found" in details
    assert not any(re.search(r"alvarez|okafor|brennan|zzz", d or "", re.I) for d in details)


def test_the_consent_column_shows_each_members_standing_and_expiry(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    patient = make_patient(clinician, name="Consent Family")
    in_force = make_user("family", name="Ina Force")
    make_family(patient, in_force)
    withdrawn = make_user("family", name="Wes Drawn")
    make_family(patient, withdrawn, consent="withdrawn")
    with app_context():
        expires = db.session.scalars(
            select(Consent.expires_on).where(Consent.recipient_name == "Ina Force")
        ).one()
    row = row_of(page_of(client), "Consent Family")
    assert f'Ina Force: <span class="badge ok">in force until {shown_day(expires)}' in row
    assert f"Consent withdrawn {shown_day(clock.today())}" in row


def test_the_tiles_count_and_link_to_their_lists(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    overdue_family(clinician, "Overdue One", "Member One")
    two, member_two, _ = overdue_family(clinician, "Overdue Two", "Member Two")
    make_assignment(two, member_two, "first-steps", due_in_days=-1)  # two overdue here
    joined = make_patient(clinician, name="Joined Family")
    newcomer = make_user("family", name="New Comer")
    link_id, consent_id = make_family(joined, newcomer)
    with app_context():
        db.session.add(
            Invitation(
                token_hash="h" * 64,
                email=newcomer.email,
                role="family",
                patient_id=joined.id,
                family_link_id=link_id,
                expires_at=clock.utcnow() + timedelta(days=7),
                used_at=clock.utcnow() - timedelta(days=2),
                used_by_id=newcomer.id,
            )
        )
        db.session.get(Consent, consent_id).expires_on = clock.today() + timedelta(days=10)
        db.session.commit()
    make_patient(clinician, name="Quiet Family")

    with app_context():
        rows = insight.caseload_rows(db.session.get(User, clinician.id))
        summary = insight.summarize(rows)
    # Needs help: both overdue families, and the consent ending in 10 days.
    assert (summary.needs_help, summary.overdue, summary.overdue_readings) == (3, 2, 3)
    assert (summary.joined, summary.consents_ending) == (1, 1)

    page = page_of(client)
    tiles = page.split('class="tiles"')[1].split("</ul>")[0]
    squashed = " ".join(re.sub(r"<[^>]+>", " ", tiles).split())
    assert "3 families need help" in squashed
    assert "3 overdue readings (2 families)" in squashed
    assert "1 family member joined this week" in squashed
    assert "1 consent ends in the next 14 days" in squashed
    for show in ("needs_help", "overdue", "joined", "consent_ending"):
        assert f"show={show}" in tiles
    assert "joined " + shown_day(clock.today() - timedelta(days=2)) in row_of(page, "Joined Family")

    only_joined = page_of(client, "/clinic/?show=joined")
    assert "Joined Family" in only_joined and "Overdue One" not in only_joined
    ending = page_of(client, "/clinic/?show=consent_ending")
    assert "Joined Family" in ending and "Quiet Family" not in ending

    # A family marked contacted leaves the "needs help" tile until its follow-up date.
    mark_contacted(client, contact_url(two), follow_up_on=later(3))
    assert "2 families need help" in " ".join(
        re.sub(r"<[^>]+>", " ", page_of(client).split('class="tiles"')[1]).split()
    )


def test_dashboard_queries_stay_fixed_with_follow_ups_and_newcomers(app):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)

    def families(n: int, start: int) -> None:
        for i in range(start, start + n):
            patient, member, link_id = overdue_family(clinician, f"P{i:03d}", f"M{i:03d}")
            with app_context():
                db.session.add(
                    FollowUp(
                        patient_id=patient.id,
                        family_link_id=link_id,
                        clinician_id=clinician.id,
                        contacted_on=clock.today(),
                        follow_up_on=clock.today() + timedelta(days=i % 3),
                        reasons="overdue",
                    )
                )
                db.session.add(
                    Invitation(
                        token_hash=f"{i:064d}",
                        email=member.email,
                        role="family",
                        patient_id=patient.id,
                        family_link_id=link_id,
                        expires_at=clock.utcnow(),
                        used_at=clock.utcnow(),
                        used_by_id=member.id,
                    )
                )
                db.session.commit()

    families(5, 0)
    small = queries_for(app, client, "/clinic/?q=p0")
    families(45, 5)
    assert queries_for(app, client, "/clinic/?q=p0") == small


def test_a_searched_name_never_reaches_the_sign_in_address(app, client):
    """Signed out for being idle while a search was on the page: the way back keeps the
    filters but not the name typed."""
    from datetime import timedelta

    from lms import clock
    from tests.helpers import login, make_user

    clinician = make_user("clinician")
    login(client, clinician.email)
    clock.advance(timedelta(hours=3))
    response = client.get("/clinic/?q=Robin+Example&show=needs_help")
    location = response.headers["Location"]
    assert "next=" in location and "show%3Dneeds_help" in location
    assert "Robin" not in location and "q%3D" not in location
