"""Covering for a colleague who is away: a care-team membership with a last day
(``CareTeamMember.ends_on``, ``access.current_member_clause``, ``patients.care_teams``)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from lms import access, clock
from lms.accounts import staff as staff_ops
from lms.extensions import db
from lms.models import AuditEvent, CareTeamMember, Patient, User
from lms.patients import care_teams
from lms.problems import FieldProblems
from tests.forms import form_data, form_posting_to
from tests.helpers import app_context, login, make_patient, make_user, post_form, shown_day, text_of
from tests.test_concurrency import at_once

COVER = "/admin/caseloads/cover"


@pytest.fixture
def admin(app):
    return make_user("admin", name="Alex Admin")


@pytest.fixture
def as_admin(app, client, admin):
    assert login(client, admin.email).status_code == 302
    return client


@pytest.fixture
def away(app):
    return make_user("clinician", name="Dana Away")


@pytest.fixture
def colleague(app):
    return make_user("clinician", name="Sam Cover")


def signed_in(app, user: User):
    """A new browser signed in as ``user`` now (after the clock moved, an old one is not)."""
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def members(patient_id: int) -> dict[int, date | None]:
    """Every care-team row of the patient, ended or not: clinician id → last day."""
    with app_context():
        return {
            m.clinician_id: m.ends_on
            for m in db.session.scalars(
                select(CareTeamMember).where(CareTeamMember.patient_id == patient_id)
            )
        }


def actions(action: str) -> list[AuditEvent]:
    with app_context():
        rows = list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )
        db.session.expunge_all()
        return rows


def preview(client, away: User, colleague: User, ends_on: date | str):
    data = form_data(
        client,
        COVER,
        COVER,
        away=str(away.id),
        colleague=str(colleague.id),
        ends_on=str(ends_on),
    )
    return client.post(COVER, data=data)


def confirm_data(preview_response) -> dict:
    """What "Add the cover" on the preview page sends (its one-time token included)."""
    form = form_posting_to(text_of(preview_response), COVER, COVER)
    return {name: f.values[0] for name, f in form.fields.items() if f.values}


def add_cover(client, away: User, colleague: User, ends_on: date):
    shown = preview(client, away, colleague, ends_on)
    assert shown.status_code == 200
    return client.post(COVER, data=confirm_data(shown), follow_redirects=True)


def test_a_cover_gives_access_through_its_last_day_and_not_after(app, as_admin, away, colleague):
    patient = make_patient(away, name="Robin Held")
    last_day = clock.today() + timedelta(days=3)
    before = signed_in(app, colleague)
    assert before.get(f"/clinic/patients/{patient.id}").status_code == 404

    done = add_cover(as_admin, away, colleague, last_day)
    assert "The cover is added to 1 care team." in text_of(done)
    assert members(patient.id) == {away.id: None, colleague.id: last_day}
    [row] = actions("care_team.cover_added")
    assert row.patient_id == patient.id
    assert row.detail == (
        f"clinician={colleague.id}; covering for clinician={away.id} until {last_day}"
    )

    assert signed_in(app, colleague).get(f"/clinic/patients/{patient.id}").status_code == 200
    clock.advance(timedelta(days=3))  # the last day itself
    assert clock.today() == last_day
    assert signed_in(app, colleague).get(f"/clinic/patients/{patient.id}").status_code == 200
    clock.advance(timedelta(days=1))  # the day after
    after = signed_in(app, colleague)
    assert after.get(f"/clinic/patients/{patient.id}").status_code == 404
    assert "Robin Held" not in text_of(after.get("/clinic/"))
    # The away clinician never lost anyone.
    assert signed_in(app, away).get(f"/clinic/patients/{patient.id}").status_code == 200


def test_the_preview_lists_the_active_patients_and_changes_nothing(app, as_admin, away, colleague):
    first = make_patient(away, name="Avery First")
    second = make_patient(away, name="Blake Second")
    make_patient(away, name="Casey Discharged", status="discharged")
    make_patient(colleague, name="Drew Elsewhere")

    page = preview(as_admin, away, colleague, clock.today() + timedelta(days=14))
    assert page.status_code == 200
    shown = text_of(page)
    assert "Sam Cover covers for Dana Away until" in shown
    assert "Avery First" in shown and "Blake Second" in shown
    assert "Casey Discharged" not in shown and "Drew Elsewhere" not in shown
    assert "Add the cover" in shown
    assert members(first.id) == {away.id: None}
    assert members(second.id) == {away.id: None}
    assert actions("care_team.cover_added") == []
    [viewed] = actions("caseload.cover_preview_view")
    assert viewed.detail.startswith(f"2 patients of clinician={away.id}")
    assert signed_in(app, colleague).get(f"/clinic/patients/{first.id}").status_code == 404


def test_the_cover_form_page_is_audited(app, as_admin):
    assert as_admin.get(COVER).status_code == 200
    assert len(actions("caseload.cover_form_view")) == 1


def test_ending_a_cover_early_removes_access(app, as_admin, admin, away, colleague):
    patient = make_patient(away, name="Robin Held")
    add_cover(as_admin, away, colleague, clock.today() + timedelta(days=10))
    caseloads = text_of(as_admin.get("/admin/caseloads"))
    assert (
        f"covering until {shown_day(clock.today() + timedelta(days=10))} for Dana Away" in caseloads
    )
    theirs = signed_in(app, colleague)
    assert theirs.get(f"/clinic/patients/{patient.id}").status_code == 200

    end = f"/admin/caseloads/{patient.id}/end-cover"
    data = form_data(as_admin, "/admin/caseloads", end, clinician_id=str(colleague.id))
    first = as_admin.post(end, data=data, follow_redirects=True)
    assert "The cover has ended" in text_of(first)
    again = as_admin.post(end, data=data, follow_redirects=True)  # a double click
    assert "that cover had already ended" in text_of(again)

    assert theirs.get(f"/clinic/patients/{patient.id}").status_code == 404
    [ended] = actions("care_team.cover_ended")
    assert (ended.actor_id, ended.patient_id) == (admin.id, patient.id)
    page = text_of(as_admin.get("/admin/caseloads"))
    assert "covering until" not in page  # an ended cover is not on the care team
    assert members(patient.id)[away.id] is None  # the away clinician stays


def test_end_cover_never_ends_a_permanent_membership(app, as_admin, away, colleague):
    patient = make_patient(away)
    end = f"/admin/caseloads/{patient.id}/end-cover"
    assert end not in text_of(as_admin.get("/admin/caseloads"))  # no button for it
    response = post_form(as_admin, end, {"clinician_id": away.id}, form_page="/admin/caseloads")
    assert response.status_code == 302
    assert members(patient.id) == {away.id: None}
    assert actions("care_team.cover_ended") == []


def test_a_permanent_member_is_untouched_and_the_later_end_date_wins(
    app, as_admin, away, colleague
):
    shared = make_patient(away, name="Shared Care")
    with app.app_context():
        db.session.add(CareTeamMember(patient_id=shared.id, clinician_id=colleague.id))
        db.session.commit()
    only_away = make_patient(away, name="Only Away")
    today = clock.today()

    page = text_of(preview(as_admin, away, colleague, today + timedelta(days=10)))
    assert "already on the care team: no change" in page
    add_cover(as_admin, away, colleague, today + timedelta(days=10))
    assert members(shared.id) == {away.id: None, colleague.id: None}
    assert members(only_away.id)[colleague.id] == today + timedelta(days=10)
    assert [r.patient_id for r in actions("care_team.cover_added")] == [only_away.id]

    # A shorter cover changes nothing (there is nothing to confirm); a longer one moves the
    # last day on.
    shorter = text_of(preview(as_admin, away, colleague, today + timedelta(days=5)))
    assert f"already covering until {shown_day(today + timedelta(days=10))}: no change" in shorter
    assert "Nothing would change." in shorter and "Add the cover" not in shorter
    assert members(only_away.id)[colleague.id] == today + timedelta(days=10)
    add_cover(as_admin, away, colleague, today + timedelta(days=20))
    assert members(only_away.id)[colleague.id] == today + timedelta(days=20)
    assert members(shared.id)[colleague.id] is None
    assert len(actions("care_team.cover_added")) == 2


def test_adding_a_clinician_for_good_after_an_ended_cover(app, as_admin, admin, away, colleague):
    patient = make_patient(away)
    add_cover(as_admin, away, colleague, clock.today())
    clock.advance(timedelta(days=1))
    admin_again = signed_in(app, admin)
    data = form_data(
        admin_again,
        "/admin/caseloads",
        f"/admin/caseloads/{patient.id}/add",
        **{f"p{patient.id}-clinician_id": str(colleague.id)},
    )
    response = admin_again.post(
        f"/admin/caseloads/{patient.id}/add", data=data, follow_redirects=True
    )
    assert "Added to the patient&#39;s care team." in text_of(response)
    assert members(patient.id) == {away.id: None, colleague.id: None}
    assert signed_in(app, colleague).get(f"/clinic/patients/{patient.id}").status_code == 200


def test_a_cover_does_not_count_as_another_clinician_for_deactivation(app, admin, away, colleague):
    patient = make_patient(away, name="Robin Held")
    with app.app_context():
        care_teams.add_cover(admin, away.id, colleague.id, clock.today())
        db.session.commit()
        # Running or ended, a cover stops: the patient would then have nobody.
        assert [p.id for p in care_teams.patients_only_with(away.id)] == [patient.id]
    clock.advance(timedelta(days=1))
    with app.app_context():
        actor, leaving, covering = (db.session.get(User, u.id) for u in (admin, away, colleague))
        assert [p.id for p in care_teams.patients_only_with(leaving.id)] == [patient.id]
        # ... and a colleague whose cover ended has no patient of their own there either.
        assert care_teams.patients_only_with(covering.id) == []
        with pytest.raises(FieldProblems) as refused:
            staff_ops.set_staff_active(actor, leaving, False)
        assert "no other clinician" in str(refused.value)
        db.session.rollback()
        assert db.session.get(User, leaving.id).active

        # With the colleague as successor, they join for good.
        assert staff_ops.set_staff_active(actor, leaving, False, successor_id=covering.id)
        db.session.commit()
        assert members(patient.id)[covering.id] is None
        visible = db.session.scalars(access.caseload(covering).where(Patient.id == patient.id))
        assert visible.first() is not None


def test_the_last_permanent_clinician_stays_while_a_cover_runs(app, as_admin, away, colleague):
    patient = make_patient(away, name="Robin Held")
    add_cover(as_admin, away, colleague, clock.today() + timedelta(days=5))
    remove = f"/admin/caseloads/{patient.id}/remove"
    data = form_data(as_admin, "/admin/caseloads", remove, clinician_id=str(away.id))
    response = as_admin.post(remove, data=data, follow_redirects=True)
    assert "Dana Away is the only clinician" in text_of(response)
    assert members(patient.id)[away.id] is None


def test_the_covering_clinicians_dashboard_says_so(app, as_admin, away, colleague):
    make_patient(away, name="Robin Held")
    make_patient(colleague, name="Own Patient")
    last_day = clock.today() + timedelta(days=7)
    add_cover(as_admin, away, colleague, last_day)

    page = text_of(signed_in(app, colleague).get("/clinic/"))
    assert f"Covering for Dana Away until {shown_day(last_day)}" in page
    assert page.count("Covering for") == 1  # their own patient has no note
    assert "Covering for" not in text_of(signed_in(app, away).get("/clinic/"))


def _dashboard_queries(app, user: User) -> int:
    client = signed_in(app, user)
    count = {"n": 0}

    def tally(*_args, **_kwargs):
        count["n"] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", tally)
    try:
        assert client.get("/clinic/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", tally)
    return count["n"]


def test_covers_add_no_query_to_the_dashboard(app, admin, away, colleague):
    for n in range(3):
        make_patient(colleague, name=f"Own {n}")
    without = _dashboard_queries(app, colleague)
    for n in range(5):
        make_patient(away, name=f"Covered {n}")
    with app.app_context():
        actor = db.session.get(User, admin.id)
        care_teams.add_cover(actor, away.id, colleague.id, clock.today() + timedelta(days=3))
        db.session.commit()
    page = text_of(signed_in(app, colleague).get("/clinic/"))
    assert page.count("Covering for Dana Away") == 5
    assert _dashboard_queries(app, colleague) == without


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (-1, "The last day of the cover can&#39;t be in the past."),
        (91, "A cover lasts at most 90 days"),
        (None, "Enter the last day of the cover"),
        ("not-a-date", "Enter a date as YYYY-MM-DD"),
    ],
)
def test_a_bad_end_date_is_refused_beside_its_field(app, as_admin, away, colleague, days, message):
    patient = make_patient(away)
    if isinstance(days, int):
        value = str(clock.today() + timedelta(days=days))
    else:
        value = days or ""
    response = preview(as_admin, away, colleague, value)
    assert response.status_code == 200
    page = text_of(response)
    beside = re.search(r'<ul class="errors" id="ends_on-error">(.*?)</ul>', page, re.S)
    assert beside and message in beside.group(1)
    assert 'aria-invalid="true"' in page
    assert "Add the cover" not in page
    assert members(patient.id) == {away.id: None}
    assert actions("caseload.cover_preview_view") == []


def test_today_and_ninety_days_ahead_are_accepted(app, as_admin, away, colleague):
    make_patient(away, name="Robin Held")
    for days in (0, 90):
        page = text_of(preview(as_admin, away, colleague, clock.today() + timedelta(days=days)))
        assert "Add the cover" in page and "Robin Held" in page


@pytest.mark.parametrize(
    ("case", "field", "message"),
    [
        ("same", "colleague", "Choose a colleague other than the one away."),
        ("nobody_away", "away", "Choose the clinician who is away."),
        ("nobody_covers", "colleague", "Choose the colleague who covers."),
        ("inactive", "colleague", "Choose an active clinician from the list."),
    ],
)
def test_bad_choices_are_refused_beside_their_field(
    app, as_admin, away, colleague, case, field, message
):
    make_patient(away)
    chosen = {
        "same": (away.id, away.id),
        "nobody_away": (0, colleague.id),
        "nobody_covers": (away.id, 0),
        "inactive": (away.id, make_user("clinician", active=False).id),
    }[case]
    data = form_data(
        as_admin,
        COVER,
        COVER,
        away=str(chosen[0]),
        colleague=str(chosen[1]),
        ends_on=str(clock.today() + timedelta(days=3)),
    )
    page = text_of(as_admin.post(COVER, data=data))
    beside = re.search(rf'<ul class="errors" id="{field}-error">(.*?)</ul>', page, re.S)
    assert beside and message in beside.group(1)
    assert actions("care_team.cover_added") == []


def test_a_double_submit_covers_once(app, as_admin, away, colleague):
    patients = [make_patient(away, name=f"Patient {n}") for n in range(2)]
    shown = preview(as_admin, away, colleague, clock.today() + timedelta(days=7))
    data = confirm_data(shown)
    assert data["submit_token"] and data["confirm"] == "1"
    first = as_admin.post(COVER, data=data, follow_redirects=True)
    second = as_admin.post(COVER, data=data, follow_redirects=True)
    assert "The cover is added to 2 care teams." in text_of(first)
    assert "The cover is added to 2 care teams." in text_of(second)  # the same answer
    assert sorted(r.patient_id for r in actions("care_team.cover_added")) == sorted(
        p.id for p in patients
    )


def test_ten_identical_submits_at_once_cover_once(app, as_admin, away, colleague):
    patients = [make_patient(away, name=f"Patient {n}") for n in range(2)]
    data = confirm_data(preview(as_admin, away, colleague, clock.today() + timedelta(days=7)))
    results = at_once(app, as_admin, COVER, data)
    assert {status for status, _ in results} == {302}, results
    assert len({location for _, location in results}) == 1
    assert sorted(r.patient_id for r in actions("care_team.cover_added")) == sorted(
        p.id for p in patients
    )


def test_the_access_rule_and_its_python_twin_agree(app, away):
    patient = make_patient(away)
    today = clock.today()
    with app.app_context():
        member = db.session.scalars(
            select(CareTeamMember).where(CareTeamMember.patient_id == patient.id)
        ).one()
        for ends_on in (None, today - timedelta(days=1), today, today + timedelta(days=1)):
            member.ends_on = ends_on
            db.session.commit()
            in_sql = db.session.scalars(
                select(CareTeamMember.id).where(
                    CareTeamMember.id == member.id, access.current_member_clause(today)
                )
            ).first()
            assert (in_sql is not None) == access.is_current_member(member, today)
            assert (in_sql is not None) == (ends_on is None or ends_on >= today)


def test_a_cover_of_a_cover_ends_when_the_first_one_does(app, admin, away, colleague):
    """The clinician away was themselves covering a patient until a day: their colleague
    covers that patient no longer than they could see it."""
    owner = make_user("clinician")
    patient = make_patient(owner, name="Robin Held")
    today = clock.today()
    with app.app_context():
        actor = db.session.get(User, admin.id)
        care_teams.add_cover(actor, owner.id, away.id, today + timedelta(days=3))
        care_teams.add_cover(actor, away.id, colleague.id, today + timedelta(days=10))
        db.session.commit()
    assert members(patient.id) == {
        owner.id: None,
        away.id: today + timedelta(days=3),
        colleague.id: today + timedelta(days=3),
    }


def test_moving_a_caseload_to_the_colleague_covering_it_keeps_them_for_good(
    app, as_admin, away, colleague
):
    patient = make_patient(away, name="Robin Held")
    add_cover(as_admin, away, colleague, clock.today() + timedelta(days=5))
    choice = {"from_clinician": away.id, "to_clinician": colleague.id, "confirm": "1"}
    response = post_form(as_admin, "/admin/caseloads/move", choice, form_page="/admin/caseloads")
    assert response.status_code == 302
    # Not left with only a cover that stops in five days.
    assert members(patient.id) == {colleague.id: None}
