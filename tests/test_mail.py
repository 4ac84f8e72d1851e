"""Email over a real SMTP server: invitations, password reset, reminders (one digest per
person per run), the "new reading" email, the outbox.

Every test that sends talks to aiosmtpd on a free local port (``tests/smtp_server.py``).
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms import clock, uow
from lms.extensions import db
from lms.mail import messages, outbox
from lms.mail.reminders import send_reminders, stage_for
from lms.mail.wording import DENY_WORDS, IndiscreetSubject, check_discreet, denied_words
from lms.models import Assignment, AuditEvent, ModuleProgress, Outbox, Patient, User
from lms.models.mail import OutboxReading
from tests.helpers import (
    NO_CHECK,
    app_context,
    csrf_token,
    give_consent,
    login,
    make_assignment,
    make_family,
    make_invited_link,
    make_patient,
    make_user,
    post_form,
    smtp_settings,
    text_of,
)
from tests.smtp_server import free_port

NEW_PASSWORD = "a quiet harbor morning 77"
URL_RE = re.compile(r"https?://[^\s<>\"]+")


@pytest.fixture
def app_config(app_config, smtp):
    return {**app_config, **smtp_settings(smtp)}


EXTRA = [f"extra-{n}" for n in range(1, 6)]
SEVEN = ["first-steps", "no-check", *EXTRA]
TITLES = ("First steps", "No check here", *(f"Extra reading {n}" for n in range(1, 6)))


@pytest.fixture
def courses(courses):
    """The test course with five more short readings, and a path of all seven."""
    course = courses / "test-course"
    for n, slug in enumerate(EXTRA, start=1):
        text = NO_CHECK.replace("title: No check here", f"title: Extra reading {n}")
        (course / f"{slug}.md").write_text(text)
    (course / "course.yml").write_text(
        "title: Test course\n"
        "summary: A small course for tests.\n"
        "audience: [family, patient]\n"
        f"modules: [{', '.join(SEVEN)}]\n"
        "paths:\n"
        "  - slug: test-path\n"
        "    title: Test path\n"
        "    summary: Both modules.\n"
        "    modules: [first-steps, no-check]\n"
        "  - slug: whole-course\n"
        "    title: Whole course\n"
        "    summary: All seven.\n"
        f"    modules: [{', '.join(SEVEN)}]\n"
    )
    return courses


def links(text: str, path_part: str) -> list[str]:
    return [u for u in URL_RE.findall(text) if path_part in u]


def outbox_rows(app) -> list[Outbox]:
    with app.app_context():
        rows = list(db.session.scalars(select(Outbox).order_by(Outbox.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def send(runner) -> str:
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def covered(app) -> list[tuple[int, int, str]]:
    """(outbox id, assignment id, stage): which readings each email is about."""
    with app.app_context():
        rows = db.session.execute(
            select(
                OutboxReading.outbox_id, OutboxReading.assignment_id, OutboxReading.stage
            ).order_by(OutboxReading.outbox_id, OutboxReading.assignment_id)
        )
        return [tuple(row) for row in rows]


def assert_no_titles(mail) -> None:
    for title in TITLES:
        assert title not in mail.subject + mail.text + mail.html, title


# --- a family with readings -----------------------------------------------------------------


@pytest.fixture
def family(app):
    """A clinician's patient "Sam Example" and a consented family member with two readings:
    one due tomorrow, one three days overdue (as the demo data has)."""
    clinician = make_user("clinician", name="Casey Clinician")
    patient = make_patient(clinician, name="Sam Example")
    member = make_user("family", email="pat@example.org", name="Pat Example")
    make_family(patient, member, consent="active")
    due_soon = make_assignment(patient, member, "first-steps", due_in_days=1, by=clinician)
    overdue = make_assignment(patient, member, "no-check", due_in_days=-3, by=clinician)
    return {
        "clinician": clinician,
        "patient": patient,
        "member": member,
        "due_soon": due_soon,
        "overdue": overdue,
    }


# --- invitations ----------------------------------------------------------------------------


def test_invitation_is_emailed_with_the_same_link_shown_once(app, client, smtp):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Sam Example")
    link_id = make_invited_link(patient.id)
    login(client, clinician.email)
    response = post_form(
        client, f"/clinic/patients/{patient.id}/invite", {"family_link": str(link_id)}
    )
    assert response.status_code == 302
    page = text_of(client.get(response.headers["Location"]))
    shown = re.search(r'value="(http[^"]+/invite/[^"]+)"', page).group(1)
    token = shown.rsplit("/", 1)[1]

    [mail] = smtp.messages
    assert mail.rcpt_tos == ["chris@example.org"]
    assert mail.subject == "You're invited to set up your account"
    assert mail.message["From"] == "Family Learning <no-reply@example.org>"
    assert links(mail.text, "/invite/") == [f"https://learn.example.org/invite/{token}"]
    assert f"https://learn.example.org/invite/{token}" in mail.html
    assert "Sam" not in mail.text + mail.html + mail.subject
    # The link works from the email.
    assert app.test_client().get(f"/invite/{token}").status_code == 200
    [row] = outbox_rows(app)
    assert row.sent_at is not None and row.attempts == 1 and row.last_error is None
    assert token not in row.body_text + row.body_html  # one-time links are not kept once sent


def test_invitation_when_the_server_is_down_stays_in_the_outbox(app, client, smtp, runner):
    clinician = make_user("clinician")
    patient = make_patient(clinician)
    with app_context():
        from lms.invitations import operations as invitation_ops
        from lms.patients import operations as patient_ops

        app.config["MAIL_PORT"] = free_port()  # nothing listens there
        link = patient_ops.add_family_member(
            clinician,
            db.session.get(Patient, patient.id),
            display_name="Chris",
            email="chris@example.org",
            relationship="partner",
        )
        db.session.commit()
        give_consent(patient.id, link.id)
        new = invitation_ops.invite(db.session.get(User, clinician.id), link.patient, link)
        uow.commit()  # the request's commit, then the email
        token = new.token  # the clinician still gets the link to pass on
    [row] = outbox_rows(app)
    assert row.sent_at is None and row.attempts == 1
    assert "ConnectionRefused" in row.last_error or "Errno" in row.last_error
    assert smtp.messages == []

    app.config["MAIL_PORT"] = smtp.port
    result = runner.invoke(args=["mail", "flush"])
    assert result.exit_code == 0 and "Sent 1 email" in result.output
    [mail] = smtp.messages
    assert links(mail.text, "/invite/") == [f"https://learn.example.org/invite/{token}"]
    result = runner.invoke(args=["mail", "flush"])
    assert "Sent 0 email" in result.output
    assert len(smtp.messages) == 1


# --- password reset -------------------------------------------------------------------------


def request_reset(client, email: str):
    """Post the form, then close the response as a WSGI server does once it is sent: the
    reset email is delivered only after the answer has gone out."""
    response = post_form(client, "/auth/forgot", {"email": email})
    response.close()
    return response


def reset_path(mail) -> str:
    [url] = links(mail.text, "/auth/reset/")
    return url.split("learn.example.org", 1)[1]


def test_forgot_answers_the_same_whatever_the_email(app, client, smtp):
    user = make_user("family", email="known@example.org")
    inactive = make_user("family", email="gone@example.org", active=False)
    pages = []
    for email in (user.email, "nobody@example.org", inactive.email, "not an email"):
        response = request_reset(client, email)
        assert response.status_code == 200
        pages.append(re.sub(r'value="[^"]+"', "", text_of(response)))
    assert len(set(pages)) == 1
    [mail] = smtp.messages
    assert mail.rcpt_tos == ["known@example.org"]
    assert mail.subject == "Reset your password"
    assert reset_path(mail).startswith("/auth/reset/")
    assert audit_actions(app).count("password.reset_requested") == 4


def test_login_page_links_to_forgot(client):
    assert 'href="/auth/forgot"' in text_of(client.get("/auth/login"))


def test_reset_sets_password_ends_other_sessions_and_is_single_use(app, client, smtp):
    user = make_user("family", email="known@example.org")
    elsewhere = app.test_client()
    assert login(elsewhere, user.email).status_code == 302
    assert elsewhere.get("/auth/account").status_code == 200

    request_reset(client, user.email)
    path = reset_path(smtp.messages[0])
    assert "Choose a new password" in text_of(client.get(path))
    # The password rules apply.
    weak = post_form(client, path, {"new_password": "password", "confirm": "password"})
    assert weak.status_code == 200 and 'aria-invalid="true"' in text_of(weak)

    done = post_form(client, path, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/auth/login")
    # Every other session has ended.
    assert elsewhere.get("/auth/account").status_code == 302
    # The link works once.
    again = client.get(path)
    assert again.status_code == 400 and "does not work any more" in text_of(again)
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302
    assert {"password.reset_requested", "password.reset", "account.password_changed"} <= set(
        audit_actions(app)
    )


def test_reset_link_expires_after_an_hour(app, client, smtp):
    user = make_user("family", email="known@example.org")
    request_reset(client, user.email)
    path = reset_path(smtp.messages[0])
    clock.advance(timedelta(minutes=59))
    assert client.get(path).status_code == 200
    clock.advance(timedelta(minutes=2))
    assert client.get(path).status_code == 400
    token = csrf_token(client, "/auth/login")
    late = client.post(
        path, data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token}
    )
    assert late.status_code == 400
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code != 302


def test_forged_or_tampered_reset_links_do_nothing(app, client, smtp):
    user = make_user("family", email="known@example.org")
    request_reset(client, user.email)
    path = reset_path(smtp.messages[0])
    assert client.get(path[:-2] + ("aa" if not path.endswith("aa") else "bb")).status_code == 400
    assert client.get("/auth/reset/not-a-token").status_code == 400


def test_repeated_requests_within_minutes_send_one_email(app, client, smtp):
    user = make_user("family", email="known@example.org")
    request_reset(client, user.email)
    request_reset(client, user.email)
    assert len(smtp.messages) == 1


# --- reminders ------------------------------------------------------------------------------


def test_reminders_run_twice_send_once(app, runner, smtp, family):
    first = send(runner)
    assert "Reminders: 2 new, 0 skipped.\nRecorded 1 reminder email(s)" in first
    assert "Sent 1 email(s)" in first
    [mail] = smtp.messages  # one email for both readings
    assert mail.rcpt_tos == ["pat@example.org"]
    assert mail.subject == "2 readings are waiting for you"
    assert "1 reading is due tomorrow." in mail.text
    assert "1 reading is past its due date." in mail.text
    assert links(mail.text, "/learn/") == ["https://learn.example.org/learn/"]
    assert "https://learn.example.org/learn/" in mail.html
    assert (
        mail.message["List-Unsubscribe"]
        .strip()
        .startswith("<https://learn.example.org/auth/reminders/off/")
    )
    assert_no_titles(mail)

    second = send(runner)
    assert "Reminders: 0 new, 2 skipped (2 already reminded)." in second
    assert "Recorded 0 reminder email(s)" in second
    assert "Sent 0 email(s)" in second
    assert len(smtp.messages) == 1
    [row] = outbox_rows(app)
    with app.app_context():
        assert row.dedupe_key == f"reminder_digest:{family['member'].id}:{clock.today()}"
    assert row.kind == "reminder_digest"
    assert covered(app) == [
        (row.id, family["due_soon"], "due-soon"),
        (row.id, family["overdue"], "overdue"),
    ]


def test_seven_due_readings_make_one_email(app, runner, smtp, family):
    """A family member with seven readings due soon or overdue gets one email that counts
    them, and names none of them."""
    patient, member, clinician = family["patient"], family["member"], family["clinician"]
    days = {"extra-1": 0, "extra-2": 2, "extra-3": -8, "extra-4": -10, "extra-5": -1}
    for slug, due_in_days in days.items():
        make_assignment(patient, member, slug, due_in_days=due_in_days, by=clinician)
    # Someone else's readings are their own email.
    other = make_user("family", email="lee@example.org")
    make_family(patient, other, consent="active")
    make_assignment(patient, other, "first-steps", due_in_days=2, by=clinician)

    output = send(runner)
    assert "Reminders: 8 new, 0 skipped.\nRecorded 2 reminder email(s)" in output
    assert "Sent 2 email(s)" in output
    [mail] = [m for m in smtp.messages if m.rcpt_tos == ["pat@example.org"]]
    assert mail.subject == "7 readings are waiting for you"
    check_discreet(mail.subject)
    assert "3 readings are due soon, the first today." in mail.text
    assert "4 readings are past their due date." in mail.text
    assert "3 readings are due soon" in mail.html and "4 readings are past" in mail.html
    assert "Sam" not in mail.subject + mail.text + mail.html
    assert_no_titles(mail)
    [theirs] = [m for m in smtp.messages if m.rcpt_tos == ["lee@example.org"]]
    with app.app_context():
        assert theirs.subject == f"A reading is due {(clock.today() + timedelta(days=2)):%A}"
    assert len(covered(app)) == 8

    output = send(runner)  # the same day again: nothing new
    assert "Reminders: 0 new, 8 skipped (8 already reminded)." in output
    assert len(smtp.messages) == 2
    assert len(outbox_rows(app)) == 2


def test_overdue_repeats_weekly_and_due_soon_only_within_two_days(app, runner, smtp, family):
    send(runner)
    assert len(smtp.messages) == 1
    clock.advance(timedelta(days=2))  # due-soon one now overdue; the other 5 days overdue
    send(runner)
    assert len(smtp.messages) == 2
    assert smtp.messages[-1].subject == "A reading is waiting for you"
    clock.advance(timedelta(days=2))  # 7 days overdue: the weekly reminder
    send(runner)
    assert len(smtp.messages) == 3
    send(runner)
    assert len(smtp.messages) == 3
    with app.app_context():
        today = clock.today()
        assert stage_for(today + timedelta(days=3), today) is None
        assert stage_for(today + timedelta(days=2), today) == "due-soon"
        assert stage_for(today, today) == "due-soon"
        assert stage_for(today - timedelta(days=1), today) == "overdue"
        assert stage_for(today - timedelta(days=7), today) == "overdue-1"
        assert stage_for(today - timedelta(days=15), today) == "overdue-2"
        # Capped by default: after two weekly repeats, no more.
        assert app.config["REMINDER_OVERDUE_MAX_REPEATS"] == 2
        assert stage_for(today - timedelta(days=21), today) is None
        app.config["REMINDER_OVERDUE_MAX_REPEATS"] = 1
        assert stage_for(today - timedelta(days=15), today) is None
        app.config["REMINDER_OVERDUE_MAX_REPEATS"] = 0
        assert stage_for(today - timedelta(days=70), today) == "overdue-10"


def test_overdue_reminders_stop_after_two_repeats(app, runner, smtp, family):
    for _week in range(5):
        send(runner)
        clock.advance(timedelta(days=7))
    # Four weekly emails (the first covers both readings), then silence: each reading was
    # reminded at most once per stage, and never past the second weekly repeat.
    assert len(smtp.messages) == 4
    stages: dict[int, list[str]] = {}
    for _outbox, assignment_id, stage in covered(app):
        stages.setdefault(assignment_id, []).append(stage)
    assert sorted(stages[family["due_soon"]]) == ["due-soon", "overdue", "overdue-1", "overdue-2"]
    assert sorted(stages[family["overdue"]]) == ["overdue", "overdue-1", "overdue-2"]


def test_reminder_subject_names_the_weekday(app):
    with app.app_context():
        today = clock.today()
        due = today + timedelta(days=2)
        weekday = due.strftime("%A")
        assert messages.reminder_subject([due], today) == f"A reading is due {weekday}"
        assert messages.reminder_subject([due, due], today) == f"2 readings are due {weekday}"
        assert messages.reminder_subject([today], today) == "A reading is due today"
        late = today - timedelta(days=1)
        assert messages.reminder_subject([late], today) == "A reading is waiting for you"
        assert messages.reminder_subject([due, late], today) == "2 readings are waiting for you"
        assert messages.reminder_subject([due, today], today) == "2 readings are waiting for you"


def test_no_reminders_for_completed_withdrawn_opted_out_cancelled_discharged(app, runner, smtp):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Sam Example")
    done = make_user("family", email="done@example.org")
    withdrawn = make_user("family", email="withdrawn@example.org")
    expired = make_user("family", email="expired@example.org")
    opted_out = make_user("family", email="optout@example.org")
    cancelled = make_user("family", email="cancelled@example.org")
    for user, consent in (
        (done, "active"),
        (withdrawn, "withdrawn"),
        (expired, "expired"),
        (opted_out, "active"),
        (cancelled, "active"),
    ):
        make_family(patient, user, consent=consent)
        make_assignment(patient, user, "first-steps", due_in_days=1)
    left = make_patient(clinician, name="Left Program", status="discharged")
    after_discharge = make_user("family", email="discharged@example.org")
    make_family(left, after_discharge, consent="active")
    make_assignment(left, after_discharge, "first-steps", due_in_days=-3)
    with app_context():
        db.session.add(
            ModuleProgress(user_id=done.id, module_slug="first-steps", completed_at=clock.utcnow())
        )
        db.session.get(User, opted_out.id).reminders_enabled = False
        row = db.session.scalars(
            select(Assignment).where(Assignment.learner_id == cancelled.id)
        ).one()
        row.cancelled_at = clock.utcnow()
        db.session.commit()

    output = send(runner)
    assert smtp.messages == []
    assert "Reminders: 0 new, 5 skipped" in output
    assert "1 completed" in output and "3 consent or enrolment ended" in output
    assert "1 reminders turned off" in output


def test_patients_get_their_own_reminders(app, runner, smtp):
    clinician = make_user("clinician")
    patient_user = make_user("patient", email="me@example.org")
    patient = make_patient(clinician, name="Sam Example", user=patient_user)
    make_assignment(patient, patient_user, "no-check", due_in_days=0)
    send(runner)
    [mail] = smtp.messages
    assert mail.rcpt_tos == ["me@example.org"]
    assert mail.subject == "A reading is due today"


def test_a_refusing_server_keeps_the_reminder_and_a_later_run_delivers_it(
    app, runner, smtp, family
):
    smtp.handler.refuse = True
    output = send(runner)
    assert "Sent 0 email(s); 1 failed" in output
    [row] = outbox_rows(app)
    assert row.sent_at is None and row.attempts == 1
    assert "554" in row.last_error and "refused" in row.last_error
    assert smtp.messages == []

    smtp.handler.refuse = False
    output = send(runner)
    assert "Reminders: 0 new, 2 skipped (2 already reminded)." in output
    assert "Sent 1 email(s); 0 failed" in output
    [mail] = smtp.messages
    assert mail.subject == "2 readings are waiting for you"
    assert all(r.sent_at is not None and r.last_error is None for r in outbox_rows(app))
    send(runner)
    assert len(smtp.messages) == 1


def _discharge(family):
    from lms.patients import operations as patient_ops

    patient = db.session.get(Patient, family["patient"].id)
    patient_ops.discharge(db.session.get(User, family["clinician"].id), patient, clock.today())


def _withdraw(family):
    from lms.consent import operations as consent_ops
    from lms.models import FamilyLink

    link = db.session.scalars(
        select(FamilyLink).where(FamilyLink.user_id == family["member"].id)
    ).one()
    consent_ops.withdraw_consent(db.session.get(User, family["member"].id), link)


def _complete(family):
    for slug in ("first-steps", "no-check"):
        db.session.add(
            ModuleProgress(
                user_id=family["member"].id, module_slug=slug, completed_at=clock.utcnow()
            )
        )


def _reminders_off(family):
    db.session.get(User, family["member"].id).reminders_enabled = False


def _cancel(family):
    for assignment in db.session.scalars(
        select(Assignment).where(Assignment.learner_id == family["member"].id)
    ):
        assignment.cancelled_at = clock.utcnow()


@pytest.mark.parametrize(
    ("change", "reason", "words"),
    [
        (_discharge, "no_access", "1 consent or enrolment ended"),
        (_withdraw, "no_access", "1 consent or enrolment ended"),
        (_complete, "completed", "1 completed"),
        (_reminders_off, "reminders_off", "1 reminders turned off"),
        (_cancel, "cancelled", "1 assignment cancelled"),
    ],
    ids=["discharged", "consent-withdrawn", "completed", "reminders-off", "cancelled"],
)
def test_a_reminder_recorded_before_the_change_is_not_sent_after_it(
    app, runner, smtp, family, change, reason, words
):
    """The mail server is down when the digest is recorded; before it is back, the patient
    is discharged (or withdraws consent, or …). The next run must not deliver it."""
    smtp.handler.refuse = True
    assert "Sent 0 email(s); 1 failed" in send(runner)
    with app_context():
        change(family)
        uow.commit()

    smtp.handler.refuse = False
    output = send(runner)
    assert smtp.messages == []
    assert "Sent 0 email(s); 0 failed" in output
    assert f"Not sent, no longer due: 1 ({words})." in output
    [row] = outbox_rows(app)
    assert (row.sent_at, row.drop_reason) == (None, reason)
    assert row.dropped_at is not None
    assert {a for _o, a, _s in covered(app)} == {family["due_soon"], family["overdue"]}
    send(runner)  # dropped stays dropped
    assert smtp.messages == []


def test_a_digest_still_partly_due_is_sent_counting_only_those(app, runner, smtp, family):
    """Of the two readings a waiting digest covers, one is completed before the mail server
    is back: the digest goes out, counted again at that moment (the count is rebuilt)."""
    smtp.handler.refuse = True
    send(runner)
    [before] = outbox_rows(app)
    assert before.subject == "2 readings are waiting for you"
    with app_context():
        db.session.add(
            ModuleProgress(
                user_id=family["member"].id, module_slug="no-check", completed_at=clock.utcnow()
            )
        )
        uow.commit()

    smtp.handler.refuse = False
    output = send(runner)
    assert "Sent 1 email(s)" in output and "Not sent" not in output
    [mail] = smtp.messages
    assert mail.subject == "A reading is due tomorrow"
    assert "1 reading is due tomorrow." in mail.text and "past its due date" not in mail.text
    [after] = outbox_rows(app)
    assert after.sent_at is not None and after.subject == mail.subject  # what was sent


def test_nothing_listening_then_listening(app, runner, smtp, family):
    app.config["MAIL_PORT"] = free_port()
    output = send(runner)
    assert "1 failed" in output
    assert all(r.last_error and r.sent_at is None for r in outbox_rows(app))
    app.config["MAIL_PORT"] = smtp.port
    send(runner)
    assert len(smtp.messages) == 1


def test_two_concurrent_runs_send_once(app, smtp, family):
    """Two hosts run the command at the same moment (threads with their own app contexts and
    database connections; on PostgreSQL when TEST_DATABASE_URL is set)."""
    clinician = family["clinician"]
    # More work, so the runs overlap: ten learners with two readings each.
    for n in range(10):
        member = make_user("family", email=f"member{n}@example.org")
        make_family(family["patient"], member, consent="active")
        make_assignment(family["patient"], member, "first-steps", due_in_days=2, by=clinician)
        make_assignment(family["patient"], member, "no-check", due_in_days=-1, by=clinician)
    start = threading.Barrier(2)
    runs, errors = [], []

    def host():
        try:
            with app.app_context():
                start.wait()
                runs.append(send_reminders())
                db.session.remove()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=host) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    # Eleven people, two readings each: one email each, every reading covered once.
    assert sum(run.queued for run in runs) == 11
    assert sum(run.readings for run in runs) == 22
    assert sum(run.delivery.sent for run in runs) == 11
    assert len(smtp.messages) == 11
    assert len({m.rcpt_tos[0] for m in smtp.messages}) == 11
    assert len(covered(app)) == 22


def test_enqueue_twice_records_once(app):
    with app.app_context():
        kwargs = {
            "kind": "reminder",
            "dedupe_key": "reminder:1:due-soon",
            "recipient": "a@example.org",
            "subject": "A reading is due today",
            "text": "t",
            "html": "<p>t</p>",
        }
        first = outbox.enqueue(**kwargs)
        db.session.commit()
        assert first is not None
        assert outbox.enqueue(**kwargs) is None
        db.session.commit()
        assert len(db.session.scalars(select(Outbox)).all()) == 1


# --- a new reading -------------------------------------------------------------------------


def _assign_path(clinician, patient, learners, path_slug: str) -> int:
    """Assign a path as the clinic's form does, then commit the unit of work as the request
    does (delivering what waited for the commit). Inside an app context."""
    from lms.assignments import operations as assignment_ops
    from lms.content import get_library

    created = assignment_ops.assign(
        db.session.get(User, clinician.id),
        db.session.get(Patient, patient.id),
        module_slugs=list(get_library().path(path_slug).module_slugs),
        learners=[db.session.get(User, learner.id) for learner in learners],
        first_due=clock.today() + timedelta(days=7),
        spread_days=2,
        note=None,
        path_slug=path_slug,
    )
    uow.commit()
    return created


def test_assigning_a_path_sends_one_new_reading_email(app, client, smtp):
    clinician = make_user("clinician", name="Casey Clinician")
    patient = make_patient(clinician, name="Sam Example")
    member = make_user("family", email="pat@example.org", name="Pat Example")
    make_family(patient, member, consent="active")
    opted_out = make_user("family", email="lee@example.org")
    make_family(patient, opted_out, consent="active")
    with app_context():
        db.session.get(User, opted_out.id).reminders_enabled = False
        db.session.commit()
    login(client, clinician.email)
    response = post_form(
        client,
        f"/clinic/patients/{patient.id}/assign",
        {
            "what": "path:whole-course",
            "learners": [str(member.id), str(opted_out.id)],
            "due_on": (clock.today() + timedelta(days=3)).isoformat(),
            "spread_days": "2",
            "note": "Before the family session about Sam",
        },
    )
    assert response.status_code == 302
    with app_context():
        assert db.session.scalar(select(db.func.count(Assignment.id))) == 14

    [mail] = smtp.messages  # seven readings, one email; none for the one who opted out
    assert mail.rcpt_tos == ["pat@example.org"]
    assert mail.subject == "7 new readings are ready for you"
    check_discreet(mail.subject)
    assert "Your care team has added 7 readings for you." in mail.text
    with app_context():
        first = format_first_due(clock.today() + timedelta(days=3))
    assert f"The first is due on {first}." in mail.text
    assert links(mail.text, "/learn/") == ["https://learn.example.org/learn/"]
    assert (
        mail.message["List-Unsubscribe"]
        .strip()
        .startswith("<https://learn.example.org/auth/reminders/off/")
    )
    assert_no_titles(mail)
    for private in ("Sam", "Whole course", "family session"):
        assert private not in mail.subject + mail.text + mail.html
    [row] = outbox_rows(app)
    assert row.kind == "new_reading" and row.sent_at is not None
    assert [stage for outbox_id, _a, stage in covered(app) if outbox_id == row.id] == ["new"] * 7


def format_first_due(day) -> str:
    from flask_babel import format_date

    return format_date(day, "long")


def test_one_new_reading_email_per_learner_and_none_for_those_who_may_not_get_it(app, smtp):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Sam Example")
    reader = make_user("family", email="reader@example.org")
    opted_out = make_user("family", email="optout@example.org")
    inactive = make_user("family", email="gone@example.org", active=False)
    unconsented = make_user("family", email="withdrawn@example.org")
    patient_user = make_user("patient", email="me@example.org")
    with app_context():
        db.session.get(Patient, patient.id).user_id = patient_user.id
        db.session.get(User, opted_out.id).reminders_enabled = False
        db.session.commit()
    for user in (reader, opted_out, inactive):
        make_family(patient, user, consent="active")
    make_family(patient, unconsented, consent="withdrawn")
    with app_context():
        learners = [reader, opted_out, inactive, unconsented, patient_user]
        assert _assign_path(clinician, patient, learners, "test-path") == 10
        assert _assign_path(clinician, patient, [reader], "whole-course") == 5
    # The reader: one email per assigning (two readings, then five more); the patient one.
    assert sorted((m.rcpt_tos[0], m.subject) for m in smtp.messages) == [
        ("me@example.org", "2 new readings are ready for you"),
        ("reader@example.org", "2 new readings are ready for you"),
        ("reader@example.org", "5 new readings are ready for you"),
    ]
    for mail in smtp.messages:
        check_discreet(mail.subject)
        assert_no_titles(mail)


def test_a_new_reading_email_not_yet_sent_is_dropped_once_cancelled(app, runner, smtp):
    clinician = make_user("clinician")
    patient = make_patient(clinician)
    member = make_user("family", email="pat@example.org")
    make_family(patient, member, consent="active")
    smtp.handler.refuse = True
    with app_context():
        _assign_path(clinician, patient, [member], "test-path")
    [row] = outbox_rows(app)
    assert row.kind == "new_reading" and row.sent_at is None and row.attempts == 1
    with app_context():
        from lms.assignments import operations as assignment_ops

        for assignment in db.session.scalars(select(Assignment)):
            assignment_ops.cancel_assignment(db.session.get(User, clinician.id), assignment)
        uow.commit()
    smtp.handler.refuse = False
    result = runner.invoke(args=["mail", "flush"])
    assert "1 no longer due, not sent" in result.output
    assert smtp.messages == []
    [row] = outbox_rows(app)
    assert row.drop_reason == "cancelled" and row.sent_at is None


# --- discreet wording -----------------------------------------------------------------------


def test_every_subject_and_preview_is_discreet(app, client, runner, smtp, family):
    # One of every kind of email.
    request_reset(client, family["member"].email)
    clinician = family["clinician"]
    with app_context():
        from lms.invitations import operations as invitation_ops
        from lms.patients import operations as patient_ops

        patient = db.session.get(Patient, family["patient"].id)
        link = patient_ops.add_family_member(
            db.session.get(User, clinician.id),
            patient,
            display_name="Chris",
            email="chris@example.org",
            relationship="partner",
        )
        db.session.commit()
        give_consent(patient.id, link.id)
        invitation_ops.invite(db.session.get(User, clinician.id), patient, link)
        uow.commit()
        _assign_path(clinician, patient, [family["member"]], "whole-course")
    send(runner)
    clock.advance(timedelta(days=7))
    send(runner)
    kinds = {row.kind for row in outbox_rows(app)}
    assert kinds == {"invitation", "password_reset", "reminder_digest", "new_reading"}
    names = ("Sam", "Pat", "Casey", "Clinician", "Chris", "Whole course", *TITLES)
    assert len(smtp.messages) >= 5
    for mail in smtp.messages:
        preview = mail.text.strip().splitlines()[:3]
        for text in [mail.subject, *preview]:
            assert denied_words(text, names) == [], (text, denied_words(text, names))
        # The patient's name and the reading's title appear nowhere in the email.
        for name in ("Sam", "Whole course", *TITLES):
            assert name not in mail.text and name not in mail.html
        for url in URL_RE.findall(mail.text):
            assert url == "https://learn.example.org" or url.startswith(
                "https://learn.example.org/"
            )
            assert "/patients/" not in url and "/modules/" not in url


def test_an_indiscreet_subject_is_refused(app):
    assert {"treatment", "iop", "recovery", "alcohol", "opioid"} <= set(DENY_WORDS)
    with pytest.raises(IndiscreetSubject):
        check_discreet("Your treatment reading is due")
    with pytest.raises(IndiscreetSubject):
        check_discreet("IOP: a reading is due")
    check_discreet("A reading is due Friday")


# --- turning reminders off ------------------------------------------------------------------


def off_path(mail) -> str:
    [url] = links(mail.text, "/auth/reminders/off/")
    return url.split("learn.example.org", 1)[1]


def test_one_click_link_turns_reminders_off(app, runner, smtp, family):
    send(runner)
    path = off_path(smtp.messages[0])
    visitor = app.test_client()  # not signed in
    page = visitor.get(path)
    assert page.status_code == 200
    body = text_of(page)
    assert "Turn off reminder emails" in body
    assert "pat@example.org" not in body and "Pat" not in body and "Sam" not in body
    with app_context():
        assert db.session.get(User, family["member"].id).reminders_enabled is True  # GET only asks
    done = post_form(visitor, path, {})
    assert done.status_code == 200 and "Reminder emails are off" in text_of(done)
    with app_context():
        assert db.session.get(User, family["member"].id).reminders_enabled is False
    assert "account.reminders_off" in audit_actions(app)

    clock.advance(timedelta(days=7))
    output = send(runner)
    assert "reminders turned off" in output
    assert len(smtp.messages) == 1


def test_mail_program_one_click_post_needs_no_form_token(app, runner, smtp, family):
    send(runner)
    path = off_path(smtp.messages[0])
    response = app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with app_context():
        assert db.session.get(User, family["member"].id).reminders_enabled is False


def test_a_bad_reminders_off_link_reveals_nothing(app, client):
    response = client.get("/auth/reminders/off/bm90LWEtdG9rZW4")
    assert response.status_code == 400
    response = client.post("/auth/reminders/off/not-a-token")
    assert response.status_code == 400


def test_account_page_turns_reminders_on_and_off(app, client, family):
    login(client, family["member"].email)
    assert "Reminder emails" in text_of(client.get("/auth/account"))
    post_form(client, "/auth/account", {"rem-submit": "Save"})  # box unticked
    with app_context():
        assert db.session.get(User, family["member"].id).reminders_enabled is False
    post_form(client, "/auth/account", {"rem-reminders_enabled": "y", "rem-submit": "Save"})
    with app_context():
        assert db.session.get(User, family["member"].id).reminders_enabled is True


# --- development: no server -----------------------------------------------------------------


def test_without_a_server_mail_goes_to_the_log_and_the_instance_folder(
    app, runner, family, tmp_path, caplog
):
    app.config["MAIL_SERVER"] = None
    app.config["MAIL_DIR"] = str(tmp_path / "mail")
    caplog.set_level(logging.WARNING, logger=app.logger.name)
    send(runner)
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1
    assert "2 readings are waiting for you" in files[0].read_text()
    assert "no MAIL_SERVER set" in caplog.text
    assert all(row.sent_at is not None for row in outbox_rows(app))


def test_reset_email_is_delivered_after_the_answer_is_sent(app, client, smtp):
    """Talking to the mail server inside the request would make a real account answer
    slower than an unknown one; delivery waits until the response is closed."""
    user = make_user("family", email="known@example.org")
    response = post_form(client, "/auth/forgot", {"email": user.email})
    assert response.status_code == 200
    assert smtp.messages == []
    response.close()
    assert [m.rcpt_tos for m in smtp.messages] == [[user.email]]
