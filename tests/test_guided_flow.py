"""One guided flow for a clinician: enrol → add a family member → record their consent →
invite them → they accept. No dead end: the patient page says what is next, the consent page
offers to add a family member when there is none, every consent error shows at once beside its
field, the invitation page says whether the email went and lists every invitation, the accept
form starts filled in, and the email says who sent it."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from lms import clock
from lms.extensions import db
from lms.mail.wording import check_discreet, denied_words
from lms.models import AuditEvent, FamilyLink, Invitation, Patient, User
from tests.forms import form_data, form_posting_to
from tests.helpers import (
    app_context,
    login,
    make_patient,
    make_user,
    post_form,
    smtp_settings,
    text_of,
)

PASSWORD = "a calm evening walk 42"


@pytest.fixture
def clinician(client):
    user = make_user("clinician", name="Casey Rivera")
    login(client, user.email)
    return user


@pytest.fixture
def patient(clinician):
    return make_patient(clinician, name="Sam Example")


@pytest.fixture
def mail_server(app, smtp):
    """Email really goes out, to a local SMTP server."""
    app.config.update(smtp_settings(smtp))
    return smtp


def patient_page(patient) -> str:
    return f"/clinic/patients/{patient.id}"


def add_family(client, patient, email="pat@example.org", name="Pat Parent"):
    return post_form(
        client,
        f"{patient_page(patient)}/family",
        {"display_name": name, "email": email, "relationship": "parent"},
        form_page=patient_page(patient),
    )


def link_of(email="pat@example.org") -> int:
    with app_context():
        return db.session.scalars(select(FamilyLink.id).where(FamilyLink.email == email)).one()


def consent_data(link_id, **overrides) -> dict:
    data = {
        "family_link": str(link_id),
        "disclosure": "That I am enrolled.",
        "purpose": "Education.",
        "revocation_terms": "Any time.",
        "ends_at_discharge": "y",
        "expires_on": "",
        "expiry_event": "",
        "signed_by": "patient",
        "representative_name": "",
        "representative_capacity": "",
        "signature_method": "paper",
        "signed_on": clock.today().isoformat(),
    }
    data.update(overrides)
    return data


def record_consent(client, patient, link_id, **overrides):
    return post_form(
        client, f"{patient_page(patient)}/consents/new", consent_data(link_id, **overrides)
    )


def invite(client, patient, link_id):
    response = post_form(client, f"{patient_page(patient)}/invite", {"family_link": str(link_id)})
    assert response.status_code == 302
    return response.headers["Location"]


def shown_link(page: str) -> str:
    """The path of the invitation link shown once on the invitation page."""
    url = re.search(r'value="(http[^"]+/invite/[^"]+)"', page).group(1)
    return "/invite/" + url.split("/invite/", 1)[1]


def steps_of(patient_id: int):
    from lms.patients.operations import next_steps

    with app_context():
        steps = next_steps(db.session.get(Patient, patient_id))
        if steps is None:
            return None
        return [(s.key, s.done, s.is_next) for s in steps.steps], steps.invitation_id


def audit_count(action: str) -> int:
    with app_context():
        return len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())


def error_beside(page: str, field: str) -> str:
    """The error text shown beside ``field`` (its ``<ul class="errors" id="<field>-error">``)."""
    match = re.search(rf'<ul class="errors" id="{field}-error">(.*?)</ul>', page, re.S)
    assert match, f"no error beside {field}"
    return re.sub(r"<[^>]+>", " ", match.group(1)).replace("&#39;", "'")


# --- the checklist on the patient page -------------------------------------------------------


def test_the_checklist_says_what_is_next_at_each_stage(app, client, clinician, patient):
    order = ["add_family", "consent", "invite", "joined"]

    def expect_next(key: str) -> int | None:
        steps, invitation_id = steps_of(patient.id)
        assert [s[0] for s in steps] == order
        done_until = order.index(key)
        assert [s[1] for s in steps] == [i < done_until for i in range(4)]
        assert [s[0] for s in steps if s[2]] == [key]  # exactly one next step
        return invitation_id

    # Enrolled, nobody added: the add-family form is open, not folded away.
    expect_next("add_family")
    page = text_of(client.get(patient_page(patient)))
    assert '<details id="add-family" open>' in page
    assert 'href="#add-family">Add a family member</a>' in page

    add_family(client, patient)
    link_id = link_of()
    expect_next("consent")
    page = text_of(client.get(patient_page(patient)))
    assert f'href="/clinic/patients/{patient.id}/consents/new?link={link_id}">' in page
    assert "Family member: Pat Parent" in page
    assert re.search(r'<details id="add-family"\s*>', page)  # folded once someone is there

    assert record_consent(client, patient, link_id).status_code == 302
    expect_next("invite")
    page = text_of(client.get(patient_page(patient)))
    assert f'href="/clinic/patients/{patient.id}/invite?link={link_id}">Invite them</a>' in page

    invitation_page = invite(client, patient, link_id)
    invitation_id = expect_next("joined")
    assert invitation_page.endswith(f"/invitations/{invitation_id}")
    page = text_of(client.get(patient_page(patient)))
    assert f'href="{invitation_page}">See the invitation, or send it again</a>' in page
    assert "Everyone added has joined" not in page

    accepted = accept(app.test_client(), shown_link(text_of(client.get(invitation_page))))
    assert accepted.status_code == 302
    steps, _ = steps_of(patient.id)
    assert all(done for _key, done, _next in steps) and not any(n for *_, n in steps)
    assert "Everyone added has joined." in text_of(client.get(patient_page(patient)))


def test_a_second_family_member_starts_the_checklist_again(app, client, clinician, patient):
    add_family(client, patient)
    record_consent(client, patient, link_of())
    invite(client, patient, link_of())
    add_family(client, patient, email="robin@example.org", name="Robin Parent")
    steps, _ = steps_of(patient.id)
    # The first person who has not joined: Pat, invited, waiting to join.
    assert [k for k, _done, is_next in steps if is_next] == ["joined"]
    clock.advance(timedelta(days=8))  # Pat's link expired: inviting is the next step again
    steps, invitation_id = steps_of(patient.id)
    assert [k for k, _done, is_next in steps if is_next] == ["invite"]
    assert invitation_id is None


def test_a_withdrawn_consent_makes_recording_one_next_again(app, client, clinician, patient):
    add_family(client, patient)
    link_id = link_of()
    record_consent(client, patient, link_id)
    invite(client, patient, link_id)
    post_form(
        client,
        f"{patient_page(patient)}/family/{link_id}/withdraw-consent",
        {},
        form_page=patient_page(patient),
    )
    steps, _ = steps_of(patient.id)
    assert [k for k, _done, is_next in steps if is_next] == ["consent"]
    assert [done for _k, done, _n in steps] == [True, False, False, False]


def test_no_checklist_after_discharge(app, client, clinician):
    gone = make_patient(clinician, name="Gone Example", status="discharged")
    with app_context():
        db.session.get(Patient, gone.id).discharged_on = clock.today()
        db.session.commit()
    assert steps_of(gone.id) is None
    assert "Bringing the family in" not in text_of(client.get(patient_page(gone)))


# --- the consent form ------------------------------------------------------------------------


def test_consent_form_with_nobody_to_name_offers_to_add_them(app, client, clinician, patient):
    url = f"{patient_page(patient)}/consents/new"
    response = client.get(url)
    assert response.status_code == 200  # no bounce back to the patient page
    page = text_of(response)
    assert "Add a family member first" not in page
    assert "no family member has been added for Sam Example yet" in page
    action = f"{patient_page(patient)}/family?then=consent"
    data = form_data(
        client,
        url,
        f"{patient_page(patient)}/family",
        display_name="Pat Parent",
        email="pat@example.org",
        relationship="parent",
    )
    # A mistake is shown on the same page, beside the field.
    wrong = client.post(action, data={**data, "email": "not an email"})
    assert wrong.status_code == 400
    assert "First, add the family member" in text_of(wrong)
    assert error_beside(text_of(wrong), "email")
    added = client.post(action, data=data)
    assert added.status_code == 302
    link_id = link_of()
    assert added.headers["Location"] == f"{url}?link={link_id}"
    form_page = text_of(client.get(added.headers["Location"]))
    assert f'<option selected value="{link_id}">Pat Parent (pat@example.org)</option>' in form_page
    assert 'id="disclosure"' in form_page


def test_every_consent_error_shows_at_once_beside_its_field(app, client, clinician, patient):
    add_family(client, patient)
    response = record_consent(
        client,
        patient,
        link_of(),
        disclosure="",  # the form's own check
        signed_by="representative",  # the domain's checks, all at once
        expires_on=(clock.today() - timedelta(days=1)).isoformat(),
        signed_on=(clock.today() + timedelta(days=2)).isoformat(),
        representative_capacity="Guardian",
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "This field is required" in error_beside(page, "disclosure")
    assert "representative's name" in error_beside(page, "representative_name")
    assert "in the past" in error_beside(page, "expires_on")
    assert "representative" not in error_beside(page, "expires_on")
    assert "future" in error_beside(page, "signed_on")
    assert 'id="representative_capacity-error"' not in page  # that one was given
    assert "Consent recorded" not in page
    with app_context():
        from lms.models import Consent

        assert db.session.scalars(select(Consent)).all() == []


def test_saying_when_the_consent_ends_is_asked_beside_that_choice(app, client, clinician, patient):
    add_family(client, patient)
    page = text_of(record_consent(client, patient, link_of(), ends_at_discharge=""))
    assert "Say when the consent ends" in error_beside(page, "ends_at_discharge")
    assert 'aria-describedby="ends_at_discharge-error"' in page


def test_the_domain_names_the_field_of_each_refusal(app, ctx, clinician, patient):
    from lms.consent import operations as consent_ops
    from lms.patients import operations as patient_ops
    from lms.problems import FieldProblems

    me = db.session.get(User, clinician.id)
    sam = db.session.get(Patient, patient.id)
    link = patient_ops.add_family_member(
        me, sam, display_name="Pat", email="pat@example.org", relationship="parent"
    )
    with pytest.raises(FieldProblems) as refused:
        consent_ops.record_consent(
            me,
            sam,
            link,
            signature_method="paper",
            signed_on=clock.today(),
            signed_by="representative",
            representative_name="  ",
            representative_capacity=None,
        )
    assert set(refused.value.errors) == {
        "ends_at_discharge",
        "representative_name",
        "representative_capacity",
    }


def test_after_the_consent_inviting_that_person_is_offered(app, client, clinician, patient):
    add_family(client, patient)
    link_id = link_of()
    response = record_consent(client, patient, link_id)
    assert response.headers["Location"] == f"{patient_page(patient)}/invite?link={link_id}"
    page = text_of(client.get(response.headers["Location"]))
    assert "Consent recorded for Pat Parent." in page
    assert 'value="Invite Pat Parent now"' in page
    assert f'<option selected value="{link_id}">' in page


# --- the invitation pages --------------------------------------------------------------------


def invited(client, patient) -> tuple[int, str]:
    add_family(client, patient)
    link_id = link_of()
    record_consent(client, patient, link_id)
    return link_id, invite(client, patient, link_id)


def test_without_a_mail_server_the_page_says_to_send_the_link_yourself(
    app, client, clinician, patient
):
    assert not app.config.get("MAIL_SERVER")
    _link_id, page_url = invited(client, patient)
    first = text_of(client.get(page_url))
    assert "was not emailed to pat@example.org: this site has no mail server set up" in first
    assert "Copy the link and send it yourself." in first
    # The copy button: a read-only field that works without script, a button the script shows.
    assert re.search(r'<input id="invite-url" type="text" readonly value="http[^"]+/invite/', first)
    assert 'data-copy-for="invite-url" hidden>Copy link</button>' in first
    scripts = re.findall(r"<script[^>]*>", first)
    copy_link = re.search(r'<script src="(/static/js/copy-link\.[0-9a-f]{12}\.js)" defer>', first)
    assert copy_link, scripts
    assert all("src=" in tag for tag in scripts)  # no inline script: the CSP forbids it
    with client.get(copy_link.group(1)) as script:
        assert script.status_code == 200 and "navigator.clipboard" in text_of(script)
    again = text_of(client.get(page_url))
    assert "/invite/" not in again and "copy-link.js" not in again


def test_with_a_mail_server_the_page_says_it_was_emailed(
    app, client, clinician, patient, mail_server
):
    _link_id, page_url = invited(client, patient)
    page = text_of(client.get(page_url))
    assert "The invitation was emailed to pat@example.org." in page
    assert "send it yourself" not in page
    assert len(mail_server.messages) == 1


def test_when_the_mail_server_fails_the_page_says_so(app, client, clinician, patient, smtp):
    from tests.smtp_server import free_port

    app.config.update({**smtp_settings(smtp), "MAIL_PORT": free_port()})  # nobody listens
    _link_id, page_url = invited(client, patient)
    page = text_of(client.get(page_url))
    assert "could not be sent yet; it will be tried again" in page
    assert "copy the link and send it yourself" in page


def test_the_invitation_page_lists_each_invitation_with_its_state(app, client, clinician, patient):
    link_id, first_page = invited(client, patient)
    add_family(client, patient, email="robin@example.org", name="Robin Parent")
    robin = link_of("robin@example.org")
    record_consent(client, patient, robin)
    robin_first = invite(client, patient, robin)
    clock.advance(timedelta(days=8))
    staff = app.test_client()  # a new working day, a new session
    login(staff, clinician.email)
    robin_again = invite(staff, patient, robin)  # replaces the expired one
    accept(app.test_client(), shown_link(text_of(staff.get(robin_again))), "robin@example.org")
    page = text_of(staff.get(first_page))

    def state_of(page_url: str) -> str:
        invitation_id = page_url.rsplit("/", 1)[1]
        item = re.search(
            rf'<li>(?:<a href="[^"]*/invitations/{invitation_id}">|<strong>)(.*?)</li>', page, re.S
        )
        assert item, page_url
        return re.search(r'<span class="badge [a-z]+">([A-Za-z]+)</span>', item.group(1)).group(1)

    assert state_of(first_page) == "Expired"
    assert state_of(robin_first) == "Replaced"
    assert state_of(robin_again) == "Accepted"
    # The expiry in the program's time zone, the way staff read times elsewhere.
    with app_context():
        expires = db.session.get(Invitation, int(first_page.rsplit("/", 1)[1])).expires_at
    local = expires.astimezone(ZoneInfo(app.config["PROGRAM_TIMEZONE"]))
    hour = local.hour % 12 or 12
    expected = f"{local:%b} {local.day}, {local.year}, {hour}:{local:%M %p} {local.tzname()}"
    assert local.tzname() in ("EST", "EDT")
    assert f"expired {expected}" in page
    assert "UTC" not in page


def test_send_again_replaces_the_invitation_and_audits_once(app, client, clinician, patient):
    link_id, page_url = invited(client, patient)
    old_link = shown_link(text_of(client.get(page_url)))  # shown once; then lost
    action = f"{patient_page(patient)}/invite"
    data = form_data(client, page_url, action)
    assert data["family_link"] == str(link_id)
    first = client.post(action, data=data)
    second = client.post(action, data=data)  # a double click
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"] != page_url
    assert audit_count("invite.sent") == 2  # the first invitation, and one more
    with app_context():
        rows = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
        assert len(rows) == 2
        assert rows[0].revoked_at is not None and rows[1].revoked_at is None
    new_page = text_of(client.get(first.headers["Location"]))
    assert shown_link(new_page)
    assert re.search(r"Replaced</span>", new_page)
    assert app.test_client().get(shown_link(new_page)).status_code == 200
    assert app.test_client().get(old_link).status_code == 410  # only the newest link works


def test_send_again_for_a_patient_login(app, client, clinician, patient):
    response = post_form(
        client,
        f"{patient_page(patient)}/patient-login",
        {"login-email": "sam@example.org"},
        form_page=patient_page(patient),
    )
    page_url = response.headers["Location"]
    client.get(page_url)
    action = f"{patient_page(patient)}/patient-login"
    data = form_data(client, page_url, action)
    assert data["login-email"] == "sam@example.org"
    again = client.post(action, data=data)
    assert again.status_code == 302 and again.headers["Location"] != page_url
    assert audit_count("invite.sent") == 2
    assert "(patient login)" in text_of(client.get(again.headers["Location"]))


def test_no_send_again_once_they_joined(app, client, clinician, patient):
    _link_id, page_url = invited(client, patient)
    accept(app.test_client(), shown_link(text_of(client.get(page_url))))
    page = text_of(client.get(page_url))
    assert "Send again" not in page
    assert "Pat Parent has joined." in page


def test_the_invite_page_never_says_everyone_joined_when_nobody_was_added(
    app, client, clinician, patient
):
    page = text_of(client.get(f"{patient_page(patient)}/invite"))
    assert "Everyone added has joined" not in page
    assert "No family member has been added yet" in page
    assert f'href="{patient_page(patient)}/consents/new">Add a family member</a>' in page
    _link_id, page_url = invited(client, patient)
    accept(app.test_client(), shown_link(text_of(client.get(page_url))))
    assert "Everyone added has joined." in text_of(client.get(f"{patient_page(patient)}/invite"))


# --- accepting -------------------------------------------------------------------------------


def accept(visitor, path, email="pat@example.org"):
    return post_form(
        visitor,
        path,
        {"email": email, "display_name": "Pat", "password": PASSWORD, "confirm": PASSWORD},
    )


def test_the_accept_form_starts_filled_in(app, client, clinician, patient):
    _link_id, page_url = invited(client, patient)
    path = shown_link(text_of(client.get(page_url)))
    visitor = app.test_client()
    page = text_of(visitor.get(path))
    form = form_posting_to(page, path, path)
    assert form.fields["email"].values == ["pat@example.org"]
    assert form.fields["display_name"].values == ["Pat Parent"]
    assert re.search(r'<input[^>]*id="email"[^>]*readonly', page)
    assert not re.search(r'<input[^>]*id="display_name"[^>]*readonly', page)
    assert "Sam Example" not in page  # the link still does not name the patient
    assert "short readings for families" in page
    # The name stays editable: what they type is what they are called.
    response = post_form(
        visitor,
        path,
        {
            "email": "pat@example.org",
            "display_name": "Patricia",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert response.status_code == 302
    with app_context():
        user = db.session.scalars(select(User).where(User.email == "pat@example.org")).one()
        assert user.display_name == "Patricia"


def test_a_patient_invitation_uses_patient_wording(app, client, clinician, patient):
    response = post_form(
        client,
        f"{patient_page(patient)}/patient-login",
        {"login-email": "sam@example.org"},
        form_page=patient_page(patient),
    )
    path = shown_link(text_of(client.get(response.headers["Location"])))
    page = text_of(app.test_client().get(path))
    assert "invited you to see your readings" in page
    assert "for families" not in page
    form = form_posting_to(page, path, path)
    assert form.fields["email"].values == ["sam@example.org"]
    assert form.fields["display_name"].values == [""]


# --- the email -------------------------------------------------------------------------------


def test_the_email_names_the_clinician_and_the_care_team(app, client, clinician, patient, smtp):
    app.config.update(smtp_settings(smtp))
    colleague = make_user("clinician", name="Alex Kim")
    with app_context():
        from lms.models import CareTeamMember

        db.session.add(CareTeamMember(patient_id=patient.id, clinician_id=colleague.id))
        db.session.commit()
    invited(client, patient)
    [mail] = smtp.messages
    assert "Casey Rivera invited you to a private website with short readings for families." in (
        mail.text
    )
    assert "Your care team: Casey Rivera and Alex Kim." in mail.text
    assert "Casey Rivera invited you" in mail.html
    check_discreet(mail.subject)
    # Nobody is named where a lock screen shows it: the subject and the first lines.
    for text in [mail.subject, *mail.text.strip().splitlines()[:3]]:
        assert denied_words(text, ("Casey", "Rivera", "Alex", "Kim", "Sam")) == [], text
    # The patient is named nowhere (the invitation's random token can hold any letters).
    words = re.sub(r"/invite/[\w-]+", "/invite/TOKEN", mail.text + mail.html)
    assert "/invite/TOKEN" in words and "Sam" not in words


def test_a_patient_invitation_email_uses_patient_wording(app, client, clinician, patient, smtp):
    app.config.update(smtp_settings(smtp))
    post_form(
        client,
        f"{patient_page(patient)}/patient-login",
        {"login-email": "sam@example.org"},
        form_page=patient_page(patient),
    )
    [mail] = smtp.messages
    assert "Casey Rivera invited you to see your readings" in mail.text
    assert "for families" not in mail.text + mail.html
    check_discreet(mail.subject)
