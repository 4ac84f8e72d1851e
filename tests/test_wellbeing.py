"""Family wellbeing check-ins (WHO-5): scoring, when a check-in is offered, the learner's
trend and support, the clinician's view (patient page, dashboard column, needs-help reason),
a double submit, and that no score ever leaves in an email."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms import clock, insight
from lms.consent import operations as consent_ops
from lms.extensions import db
from lms.models import AuditEvent, FamilyLink, Outbox, User, WellbeingCheck
from lms.patients import operations as patient_ops
from lms.problems import FieldProblems, Problem
from lms.wellbeing import operations as wellbeing_ops
from lms.wellbeing import queries as wellbeing_q
from lms.wellbeing import who5
from tests.helpers import (
    count_queries,
    csrf_token,
    login,
    make_assignment,
    make_family,
    make_patient,
    make_user,
    text_of,
)

ROOT = Path(__file__).resolve().parent.parent


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def answers_for(score: int) -> dict[str, str]:
    """Five answers whose percentage score is ``score`` (a multiple of 4)."""
    raw = score // 4
    items = [raw // 5 + (1 if n < raw % 5 else 0) for n in range(5)]
    assert who5.score(items) == score
    return {f"item{n}": str(v) for n, v in enumerate(items, start=1)}


def add_checkin(user_id: int, score: int, *, days_ago: int = 0) -> None:
    """A check-in taken ``days_ago`` days ago, written directly (its history, for a test)."""
    items = [int(v) for v in answers_for(score).values()]
    db.session.add(
        WellbeingCheck(
            user_id=user_id,
            occasion="interval",
            **{f"item{n}": v for n, v in enumerate(items, start=1)},
            taken_at=clock.utcnow() - timedelta(days=days_ago),
            lang="en",
            submit_token=f"t-{user_id}-{score}-{days_ago}-{clock.utcnow().timestamp()}",
        )
    )
    db.session.commit()


def family_with_reading(clinician=None, *, consent: str = "active", name: str = "Pat Family"):
    clinician = clinician or make_user("clinician")
    patient = make_patient(clinician, name="Sam Patient")
    member = make_user("family", name=name)
    link_id, consent_id = make_family(patient, member, consent=consent)
    make_assignment(patient, member, "first-steps", due_in_days=10)
    return clinician, patient, member, link_id, consent_id


def withdraw(clinician, link_id: int) -> None:
    consent_ops.withdraw_consent(
        db.session.get(User, clinician.id), db.session.get(FamilyLink, link_id)
    )


def checkin_page_token(client) -> tuple[str, str]:
    page = text_of(client.get("/learn/wellbeing/check-in"))
    submit = re.search(r'name="submit_token"[^>]*value="([^"]+)"', page)
    if submit is None:
        submit = re.search(r'value="([^"]+)"[^>]*name="submit_token"', page)
    assert submit is not None
    return csrf_token(client, "/learn/wellbeing/check-in"), submit.group(1)


# --- the instrument ------------------------------------------------------------------------


def test_score_is_the_raw_sum_times_four_from_0_to_100():
    assert who5.score([0, 0, 0, 0, 0]) == 0
    assert who5.score([5, 5, 5, 5, 5]) == 100
    assert who5.score([3, 3, 3, 3, 3]) == 60
    assert who5.score([3, 2, 2, 2, 2]) == 44


@pytest.mark.parametrize(
    "items",
    [[6, 0, 0, 0, 0], [-1, 0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1, 1, 1], ["3", 1, 1, 1, 1]]
    + [[True, 1, 1, 1, 1], [None, 1, 1, 1, 1], [2.5, 1, 1, 1, 1]],
)
def test_score_refuses_anything_but_five_answers_of_0_to_5(items):
    with pytest.raises(ValueError, match="WHO-5"):
        who5.score(items)


def test_reading_bands_at_the_published_cut_offs():
    assert who5.reading(100) == who5.reading(52) == "good"
    assert who5.reading(50) == who5.reading(29) == "poor"
    assert who5.reading(28) == who5.reading(0) == "low"
    assert who5.dropped(60, 50) == 10
    assert who5.dropped(60, 52) is None
    assert who5.dropped(None, 20) is None


def test_items_and_answers_by_language_with_english_fallback():
    assert len(who5.item_texts("en")) == who5.ITEM_COUNT == len(who5.LINK_IDS)
    assert who5.item_texts("es")[0] == "Me he sentido alegre y de buen humor"
    assert who5.item_texts("es_MX") == who5.item_texts("es")
    assert who5.item_texts("fr") == who5.item_texts("en")
    assert who5.item_texts(None)[3] == "I woke up feeling fresh and rested"
    assert [v for v, _label in who5.answer_labels("en")] == [5, 4, 3, 2, 1, 0]
    assert who5.answer_labels("es")[-1] == (0, "Nunca")
    assert who5.timeframe("es") == "Durante las últimas dos semanas"
    assert "Psychother Psychosom" in who5.CITATION and "CC BY-NC-SA 3.0 IGO" in who5.CITATION


def test_every_missing_or_unknown_answer_is_named_beside_its_statement(app, ctx):
    with pytest.raises(FieldProblems) as caught:
        wellbeing_ops.clean_answers({"item1": "4", "item3": "9", "item4": "x", "item5": "0"}, "en")
    errors = {name: [str(m) for m in messages] for name, messages in caught.value.errors.items()}
    assert set(errors) == {"item2", "item3", "item4"}
    assert "statement 2" in errors["item2"][0] and "calm and relaxed" in errors["item2"][0]
    assert "not one of the choices" in errors["item3"][0]
    assert wellbeing_ops.clean_answers(answers_for(48), "en") == (3, 3, 2, 2, 2)


def test_staff_and_patients_cannot_record_a_check_in(app, ctx):
    clinician = make_user("clinician")
    with pytest.raises(Problem, match="family members"):
        wellbeing_ops.record_checkin(clinician, answers_for(60), locale="en", submit_token="x")


# --- when a check-in is offered ------------------------------------------------------------


def test_offered_when_a_reading_starts_then_every_four_weeks(app, ctx):
    _c, _p, member, _link, _consent = family_with_reading()
    member = db.session.get(User, member.id)
    assert wellbeing_q.due_for(member) == "start"
    wellbeing_ops.record_checkin(member, answers_for(60), locale="en", submit_token="a" * 20)
    db.session.commit()
    assert wellbeing_q.due_for(member) is None
    clock.advance(timedelta(days=27))
    assert wellbeing_q.due_for(member) is None
    clock.advance(timedelta(days=1))
    assert wellbeing_q.due_for(member) == "interval"


def test_nothing_is_offered_without_a_reading_from_a_patient_in_reach(app, ctx):
    """No reading visible (no consent in force): no offer, so nothing hints at a patient."""
    _c, _p, withdrawn, _link, _consent = family_with_reading(consent="withdrawn")
    loner = make_user("family")
    assert wellbeing_q.due_for(db.session.get(User, withdrawn.id)) is None
    assert wellbeing_q.due_for(db.session.get(User, loner.id)) is None
    assert wellbeing_q.due_for(make_user("patient")) is None
    assert wellbeing_q.due_for(make_user("clinician")) is None


def test_not_now_sets_the_offer_aside_for_seven_days(app, ctx):
    _c, _p, member, _link, _consent = family_with_reading()
    member = db.session.get(User, member.id)
    skipped = wellbeing_ops.record_skip(member, submit_token="skip-1")
    db.session.commit()
    assert skipped is not None and skipped.is_skipped and skipped.score is None
    assert wellbeing_q.due_for(member) is None
    # A second "Not now" while nothing is offered writes nothing.
    assert wellbeing_ops.record_skip(member, submit_token="skip-2") is None
    clock.advance(timedelta(days=6))
    assert wellbeing_q.due_for(member) is None
    clock.advance(timedelta(days=1))
    assert wellbeing_q.due_for(member) == "start"
    # A skip is no score: the summary leaves it out.
    assert wellbeing_q.summaries([member.id]) == {}


def test_offered_at_discharge_when_the_consent_lasted_until_it(app, ctx):
    clinician, patient, member, _link, _consent = family_with_reading()
    add_checkin(member.id, 60, days_ago=3)
    member = db.session.get(User, member.id)
    assert wellbeing_q.due_for(member) is None
    patient_ops.discharge(
        db.session.get(User, clinician.id), db.session.get(type(patient), patient.id), clock.today()
    )
    db.session.commit()
    assert wellbeing_q.due_for(member) == "discharge"
    wellbeing_ops.record_checkin(member, answers_for(64), locale="en", submit_token="d" * 20)
    db.session.commit()
    latest = select(WellbeingCheck.occasion).order_by(WellbeingCheck.id.desc())
    assert db.session.scalar(latest) == "discharge"
    assert wellbeing_q.due_for(member) is None
    clock.advance(timedelta(days=40))
    assert wellbeing_q.due_for(member) is None  # discharged, nothing visible: no more offers


def test_not_offered_at_discharge_after_a_withdrawn_consent(app, ctx):
    clinician, patient, member, link_id, _consent = family_with_reading()
    add_checkin(member.id, 60, days_ago=3)
    withdraw(clinician, link_id)
    patient_ops.discharge(
        db.session.get(User, clinician.id), db.session.get(type(patient), patient.id), clock.today()
    )
    db.session.commit()
    assert wellbeing_q.due_for(db.session.get(User, member.id)) is None


# --- the learner's pages -------------------------------------------------------------------


def test_home_card_when_offered_with_the_same_words_and_not_now_works(app):
    _c, _p, member, _link, _consent = family_with_reading()
    client = signed_in(app, member)
    home = text_of(client.get("/learn/"))
    assert "How have you been feeling?" in home
    assert 'href="/learn/wellbeing"' in home  # "My wellbeing"
    for word in ("discharge", "start", "interval"):
        assert word not in home.split('class="card wellbeing-card"')[1].split("</section>")[0]
    token = csrf_token(client, "/learn/")
    submit = re.search(
        r'wellbeing-card.*?name="submit_token"[^>]*value="([^"]+)"', home, re.S
    ).group(1)
    response = client.post(
        "/learn/wellbeing/check-in",
        data={"csrf_token": token, "submit_token": submit, "action": "skip"},
    )
    assert response.status_code == 302
    assert "How have you been feeling?" not in text_of(client.get("/learn/"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WellbeingCheck)) == 1


def test_patients_get_no_card_and_no_wellbeing_pages(app):
    clinician = make_user("clinician")
    own = make_user("patient")
    patient = make_patient(clinician, user=own)
    make_assignment(patient, own, "first-steps")
    client = signed_in(app, own)
    assert "How have you been feeling?" not in text_of(client.get("/learn/"))
    assert client.get("/learn/wellbeing").status_code == 404
    assert client.get("/learn/wellbeing/check-in").status_code == 404


def test_check_in_form_labels_every_answer_and_refuses_a_missing_one(app):
    _c, _p, member, _link, _consent = family_with_reading()
    client = signed_in(app, member)
    page = text_of(client.get("/learn/wellbeing/check-in"))
    assert page.count("<fieldset") == 5 and page.count("<legend") == 5
    assert page.count('type="radio"') == 30
    assert len(re.findall(r'<label for="item\d-\d"', page)) == 30
    assert "Over the last two weeks" in page and "Not now" in page
    token, submit = checkin_page_token(client)
    data = {**answers_for(48), "csrf_token": token, "submit_token": submit, "action": "save"}
    del data["item4"]
    response = client.post("/learn/wellbeing/check-in", data=data)
    assert response.status_code == 400
    text = text_of(response)
    assert "Choose an answer for statement 4" in text
    assert 'value="3" checked' in text  # the other answers are kept
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WellbeingCheck)) == 0


def test_spanish_reader_sees_the_published_spanish_items(app):
    _c, _p, member, _link, _consent = family_with_reading()
    client = signed_in(app, member)
    with app.app_context():
        db.session.get(User, member.id).locale = "es"
        db.session.commit()
    page = text_of(client.get("/learn/wellbeing/check-in"))
    assert "Me he sentido tranquilo/a y relajado/a" in page
    assert "La mayor parte del tiempo" in page


def test_double_submit_records_once(app):
    _c, _p, member, _link, _consent = family_with_reading()
    client = signed_in(app, member)
    token, submit = checkin_page_token(client)
    data = {**answers_for(60), "csrf_token": token, "submit_token": submit, "action": "save"}
    first = client.post("/learn/wellbeing/check-in", data=data)
    second = client.post("/learn/wellbeing/check-in", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"] == "/learn/wellbeing"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WellbeingCheck)) == 1
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "wellbeing.checkin")
            )
            == 1
        )


def test_ten_identical_submits_at_once_record_once(app):
    """The same rendered form sent ten times at the same moment (real commits, one session
    cookie): one check-in, one audit row, and the same calm answer for all."""
    _c, _p, member, _link, _consent = family_with_reading()
    client = signed_in(app, member)
    token, submit = checkin_page_token(client)
    data = {**answers_for(44), "csrf_token": token, "submit_token": submit, "action": "save"}
    cookie = client.get_cookie("lms_session")
    barrier = threading.Barrier(10)
    answers: list[tuple[int, str]] = []

    def post() -> None:
        other = app.test_client()
        other.set_cookie("lms_session", cookie.value)
        barrier.wait(timeout=30)
        response = other.post("/learn/wellbeing/check-in", data=data)
        answers.append((response.status_code, response.headers.get("Location", "")))
        response.close()

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers == [(302, "/learn/wellbeing")] * 10
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WellbeingCheck)) == 1
        audited = select(func.count()).where(AuditEvent.action == "wellbeing.checkin")
        assert db.session.scalar(audited.select_from(AuditEvent)) == 1


def test_trend_page_reads_the_score_in_plain_words(app):
    _c, _p, member, _link, _consent = family_with_reading()
    with app.app_context():
        add_checkin(member.id, 60, days_ago=30)
        add_checkin(member.id, 72, days_ago=1)
    page = text_of(signed_in(app, member).get("/learn/wellbeing"))
    assert "Your score is 72 out of 100." in page
    assert "That is 12 points higher than last time." in page
    assert page.index(">72<") < page.index(">60<")  # newest first
    assert "This is not a diagnosis" in page
    assert "You deserve support too" not in page  # above 50: no support box


def test_low_score_shows_kind_support_and_crisis_lines_never_a_diagnosis(app):
    _c, _p, member, _link, _consent = family_with_reading()
    with app.app_context():
        add_checkin(member.id, 60, days_ago=30)
        add_checkin(member.id, 24, days_ago=1)
    page = text_of(signed_in(app, member).get("/learn/wellbeing"))
    assert "Your score is 24 out of 100." in page
    assert "This score is low." in page
    assert "That is 36 points lower than last time." in page
    support = page.split('class="card wellbeing-support"')[1].split("</section>")[0]
    assert 'href="tel:988"' in support
    assert 'href="tel:18006624357"' in support
    assert 'href="tel:911"' in support
    assert "This is not a diagnosis" in page
    main = page.split("<main")[1].split("</main>")[0]
    for word in ("depress", "disorder", "diagnosed", "you have a"):
        assert word not in main.lower()


def test_score_of_50_gets_the_support_message(app):
    _c, _p, member, _link, _consent = family_with_reading()
    with app.app_context():
        add_checkin(member.id, 48, days_ago=1)
    page = text_of(signed_in(app, member).get("/learn/wellbeing"))
    assert "Scores of 50 or below suggest you may be going through a hard time" in page
    assert "You deserve support too" in page


# --- the clinician -------------------------------------------------------------------------


def flags_of(clinician_id: int) -> dict[str, str]:
    clinician = db.session.get(User, clinician_id)
    rows = insight.caseload_rows(clinician)
    return {f.key: str(f) for row in rows for f in row.flags}


def test_a_drop_of_ten_points_raises_a_needs_help_reason(app, ctx):
    clinician, _p, member, link_id, _consent = family_with_reading(name="Pat Family")
    add_checkin(member.id, 60, days_ago=30)
    add_checkin(member.id, 52, days_ago=20)
    assert f"wellbeing:{link_id}" not in flags_of(clinician.id)  # 8 points: not yet
    add_checkin(member.id, 40, days_ago=1)
    flags = flags_of(clinician.id)
    assert flags[f"wellbeing:{link_id}"] == "Pat Family: wellbeing check-in dropped 12 points"


def test_a_score_of_28_or_below_raises_a_needs_help_reason(app, ctx):
    clinician, _p, member, link_id, _consent = family_with_reading(name="Pat Family")
    add_checkin(member.id, 28, days_ago=1)
    assert flags_of(clinician.id)[f"wellbeing:{link_id}"] == (
        "Pat Family: low wellbeing check-in score"
    )


def test_no_reason_for_a_family_member_whose_consent_was_withdrawn(app, ctx):
    clinician, patient, member, link_id, _consent = family_with_reading()
    add_checkin(member.id, 60, days_ago=30)
    add_checkin(member.id, 20, days_ago=1)
    assert f"wellbeing:{link_id}" in flags_of(clinician.id)
    withdraw(clinician, link_id)
    db.session.commit()
    assert f"wellbeing:{link_id}" not in flags_of(clinician.id)
    # Their own answers stay visible to the care team.
    row = insight.caseload_rows(db.session.get(User, clinician.id))[0]
    assert row.members[0].wellbeing is not None and row.members[0].wellbeing.latest == 20


def test_patient_page_shows_first_latest_and_change_and_is_audited(app):
    clinician, patient, member, _link, _consent = family_with_reading(name="Pat Family")
    with app.app_context():
        add_checkin(member.id, 60, days_ago=30)
        add_checkin(member.id, 44, days_ago=1)
    client = signed_in(app, clinician)
    response = client.get(f"/clinic/patients/{patient.id}")
    assert response.status_code == 200
    section = text_of(response).split('id="wellbeing-h"')[1].split("</section>")[0]
    found = re.findall(r"<dd>(.*?)</dd>", section, re.S)
    cells = [re.sub(r"<[^>]+>", " ", c).split() for c in found]
    assert [cells[0][0], cells[1][0], cells[2][0], cells[3]] == ["60", "44", "-16", ["2"]]
    assert "down 16 points since the last one" in section
    with app.app_context():
        assert db.session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.action == "patient.view", AuditEvent.patient_id == patient.id
            )
        )


def test_another_clinicians_patient_is_a_404(app):
    _c, patient, member, _link, _consent = family_with_reading()
    with app.app_context():
        add_checkin(member.id, 20, days_ago=1)
    other = make_user("clinician")
    client = signed_in(app, other)
    assert client.get(f"/clinic/patients/{patient.id}").status_code == 404
    assert "Pat Family" not in text_of(client.get("/clinic/"))
    with app.app_context():
        assert wellbeing_q.summaries(wellbeing_q.visible_to(db.session.get(User, other.id))) == {}
        mine = wellbeing_q.visible_to(db.session.get(User, _c.id))
        assert set(wellbeing_q.summaries(mine)) == {member.id}


def test_dashboard_column_and_a_fixed_number_of_queries(app):
    clinician = make_user("clinician")

    def families(n: int, start: int) -> None:
        for i in range(start, start + n):
            _c, _p, member, _link, _consent = family_with_reading(clinician, name=f"Member {i}")
            with app.app_context():
                add_checkin(member.id, 60, days_ago=30)
                add_checkin(member.id, 40 if i % 2 else 64, days_ago=1)

    families(3, 0)
    client = signed_in(app, clinician)
    small = count_queries(app, client, "/clinic/?sort=name")
    families(8, 3)
    large = count_queries(app, client, "/clinic/?sort=name")
    assert small == large
    page = text_of(client.get("/clinic/?sort=name"))
    assert "Member 1: <strong>40</strong>" in page and "(-20)" in page
    assert "Member 0: <strong>64</strong>" in page and "(+4)" in page
    assert "Member 1: wellbeing check-in dropped 20 points" in page


def test_no_score_in_any_email(app, ctx):
    """Scores are health information: nothing in ``lms.mail`` reads them, and the emails the
    program sends to a family member with check-ins carry no score or word of them."""
    for path in [*(ROOT / "lms" / "mail").glob("*.py"), *(ROOT / "templates" / "email").iterdir()]:
        source = path.read_text().lower()
        assert "wellbeing" not in source and "who5" not in source, path
    from lms.mail import messages, reminders

    _c, patient, member, _link, _consent = family_with_reading()
    make_assignment(patient, member, "no-check", due_in_days=1)
    add_checkin(member.id, 36, days_ago=30)
    add_checkin(member.id, 12, days_ago=1)
    member = db.session.get(User, member.id)
    reminders.queue_reminders()
    messages.queue_password_reset(member)
    db.session.commit()
    rows = db.session.scalars(select(Outbox)).all()
    assert rows, "no email was queued"
    for row in rows:
        text = " ".join((row.subject, row.body_text, row.body_html)).lower()
        for word in ("wellbeing", "well-being", "who-5", "score is", "check-in"):
            assert word not in text, (row.kind, word)


def test_demo_family_member_has_a_drop_that_raises_the_reason(app, runner):
    result = runner.invoke(args=["demo", "--password", "demo orchard lantern 2026"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["demo"]).exit_code == 0  # idempotent
    with app.app_context():
        family = db.session.scalars(User.by_email("family@example.org")).one()
        scores = [c.score for c in wellbeing_q.checkins_for([family.id])]
        assert scores == [60, 44]
        clinician = db.session.scalars(User.by_email("clinician@example.org")).one()
        keys = [f.key for row in insight.caseload_rows(clinician) for f in row.flags]
        assert any(key.startswith("wellbeing:") for key in keys)
        assert wellbeing_q.due_for(family) == "interval"
