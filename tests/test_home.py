"""The learner's home page: "Up next", a path as weeks, the care team's note once, the first
sign-in orientation, starter readings, "Next reading", the certificate, and dates in the
reader's own zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from lms import clock
from lms.extensions import db
from lms.models import Assignment, ModuleProgress, User
from tests.helpers import (
    app_context,
    count_queries,
    login,
    make_family,
    make_patient,
    make_user,
    post_form,
    text_of,
)
from tests.test_learn import ALL_RIGHT, read_all, take_check

NOTE = "Read these before the Thursday family group."


def signed_in(app, user):
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def give_path(patient, learner, *, first_due_in: int | None = 2, spread: int = 8, note=NOTE):
    """The test path (first-steps, then no-check) given with due dates a week and a day apart."""
    with app_context():
        for position, slug in enumerate(("first-steps", "no-check")):
            due = (
                clock.today() + timedelta(days=first_due_in + spread * position)
                if first_due_in is not None
                else None
            )
            db.session.add(
                Assignment(
                    module_slug=slug,
                    learner_id=learner.id,
                    patient_id=patient.id,
                    path_slug="test-path",
                    due_on=due,
                    note=note,
                )
            )
        db.session.commit()


@pytest.fixture
def family_setup(app):
    clinician = make_user("clinician", name="Dr. Rivera")
    patient = make_patient(clinician, name="Sam Example")
    family = make_user("family", name="Pat Parent")
    make_family(patient, family)
    return clinician, patient, family


def test_opening_a_module_does_not_start_it(app, family_setup):
    _clinician, patient, family = family_setup
    give_path(patient, family)
    client = signed_in(app, family)
    assert client.get("/learn/modules/first-steps").status_code == 200
    assert client.get("/learn/modules/first-steps?section=one-skill-to-try").status_code == 200
    with app_context():
        assert db.session.scalars(select(ModuleProgress)).all() == []
    home = text_of(client.get("/learn/"))
    assert "In progress" not in home and "Start reading" in home
    library = text_of(client.get("/learn/library"))
    assert "In progress" not in library
    # Reading a section is what starts it.
    post_form(
        client,
        "/learn/modules/first-steps/sections/what-a-trigger-is/read",
        {},
        form_page="/learn/",
    )
    home = text_of(client.get("/learn/"))
    assert "In progress" in home and "Continue reading" in home


def test_up_next_leads_with_the_first_reading_and_a_start_button(app, family_setup):
    _clinician, patient, family = family_setup
    give_path(patient, family)
    home = text_of(signed_in(app, family).get("/learn/"))
    up_next = home[home.index('id="up-next-h"') : home.index('id="assigned-h"')]
    assert "First steps" in up_next and "No check here" not in up_next
    assert re.search(r'href="/learn/modules/first-steps">Start reading', up_next)
    assert "To support Sam Example" in up_next
    # The page leads with it: "Up next" comes before the list of readings.
    assert home.index("Up next") < home.index("Readings from your care team")


def test_an_overdue_reading_comes_first(app, family_setup):
    _clinician, patient, family = family_setup
    give_path(patient, family, first_due_in=5)
    with app_context():
        later = db.session.scalars(
            select(Assignment).where(Assignment.module_slug == "no-check")
        ).one()
        later.due_on = clock.today() - timedelta(days=1)
        db.session.commit()
    home = text_of(signed_in(app, family).get("/learn/"))
    up_next = home[home.index('id="up-next-h"') : home.index('id="assigned-h"')]
    assert "No check here" in up_next and "Overdue" in up_next


def test_path_shows_as_weeks_and_the_note_once(app, family_setup):
    _clinician, patient, family = family_setup
    give_path(patient, family, first_due_in=2, spread=8)  # due 8 days apart: weeks 1 and 2
    home = text_of(signed_in(app, family).get("/learn/"))
    assert "Test path" in home
    assert "Week 1 of 2" in home and "Week 2 of 2" in home
    assert home.count(NOTE) == 1
    current = home[home.index("Week 1 of 2") : home.index("Week 2 of 2")]
    assert "This week" in current and "First steps" in current


def test_orientation_until_got_it_names_the_care_team_and_phone(app, family_setup):
    app.config.update(PROGRAM_PHONE="(555) 010-0199", PROGRAM_HOURS="weekdays 9 to 5")
    _clinician, patient, family = family_setup
    client = signed_in(app, family)
    home = text_of(client.get("/learn/"))
    assert "Here is how this site works" in home
    assert "Dr. Rivera" in home and "(555) 010-0199" in home and "weekdays 9 to 5" in home
    assert 'href="tel:5550100199"' in home
    assert "Quick exit" in home and "private notes" in home
    for _ in range(2):  # a double click marks it once and never fails
        response = post_form(client, "/learn/welcome/done", {}, form_page="/learn/")
        assert response.status_code == 302
    home = text_of(client.get("/learn/"))
    assert "Here is how this site works" not in home
    assert "How this site works" in home  # the way back to it
    again = text_of(client.get("/learn/welcome"))
    assert "Dr. Rivera" in again


def test_orientation_names_no_care_team_without_consent(app):
    clinician = make_user("clinician", name="Dr. Rivera")
    patient = make_patient(clinician, name="Sam Example")
    family = make_user("family")
    make_family(patient, family, consent="withdrawn")
    page = text_of(signed_in(app, family).get("/learn/welcome"))
    assert "Dr. Rivera" not in page and "Sam Example" not in page
    assert "ask your care team for its phone number" in page


def test_nothing_assigned_points_to_starter_readings(app, family_setup):
    _clinician, _patient, family = family_setup
    home = text_of(signed_in(app, family).get("/learn/"))
    assert "Nothing has been given to you to read yet" in home
    assert 'href="/learn/modules/first-steps"' in home
    assert "There is nothing new for you here" not in home


def test_finishing_a_module_offers_the_next_reading(app, family_setup):
    _clinician, patient, family = family_setup
    give_path(patient, family)
    client = signed_in(app, family)
    read_all(client)
    take_check(client, ALL_RIGHT)
    page = text_of(client.get("/learn/modules/first-steps"))
    assert "You finished this reading" in page
    assert (
        "Next reading:" in page and 'href="/learn/modules/no-check">Start the next reading' in page
    )
    home = text_of(client.get("/learn/"))
    up_next = home[home.index('id="up-next-h"') : home.index('id="assigned-h"')]
    assert "No check here" in up_next


def test_certificate_lists_titles_and_dates_never_the_patient(app, family_setup):
    _clinician, patient, family = family_setup
    give_path(patient, family)
    client = signed_in(app, family)
    empty = text_of(client.get("/learn/certificate"))
    assert "You have not completed a reading yet" in empty
    read_all(client)
    take_check(client, ALL_RIGHT)
    for key in ("only-part", "second-part", "third-part"):
        post_form(client, f"/learn/modules/no-check/sections/{key}/read", {}, form_page="/learn/")
    page = text_of(client.get("/learn/certificate"))
    cert = page[page.index('class="certificate"') :]
    assert "Pat Parent" in cert and "First steps" in cert and "No check here" in cert
    assert "Sam Example" not in page and "%" not in cert  # no patient, no scores
    only_one = text_of(client.get("/learn/certificate?m=no-check"))
    cert = only_one[only_one.index('class="certificate"') :]
    assert "No check here" in cert and "First steps" not in cert
    # Nonsense in the address never fails the page.
    assert client.get("/learn/certificate?m=" + "x" * 500).status_code == 200


def test_dates_follow_the_readers_time_zone(app):
    learner = make_user("family", name="Zoe Zone")
    client = signed_in(app, learner)
    read_all(client)
    take_check(client, ALL_RIGHT)
    # Completed at 03:30 UTC on Tue Dec 1 2026: still Monday Nov 30 in Honolulu.
    at = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)
    with app_context():
        row = db.session.scalars(select(ModuleProgress)).one()
        row.completed_at = at
        user = db.session.get(User, learner.id)
        user.timezone = "Pacific/Honolulu"
        db.session.commit()
    honolulu = text_of(client.get("/learn/certificate"))
    assert "Mon, Nov 30, 2026" in honolulu and "2026-11-30" not in honolulu
    with app_context():
        db.session.get(User, learner.id).timezone = "Asia/Tokyo"
        db.session.commit()
    tokyo = text_of(client.get("/learn/certificate"))
    assert "Tue, Dec 1, 2026" in tokyo and "Mon, Nov 30" not in tokyo


def test_time_zone_is_a_setting_on_the_account_page(app):
    learner = make_user("family")
    client = signed_in(app, learner)
    page = text_of(client.get("/auth/account"))
    assert "Time zone" in page and "The program&#39;s time zone (America/New_York)" in page
    data = {"prefs-locale": "", "prefs-timezone": "America/Chicago", "prefs-submit": "Save"}
    assert post_form(client, "/auth/account", data, form_page="/auth/account").status_code == 302
    with app_context():
        assert db.session.get(User, learner.id).timezone == "America/Chicago"
    bad = post_form(
        client,
        "/auth/account",
        {**data, "prefs-timezone": "Mars/Olympus_Mons"},
        form_page="/auth/account",
    )
    assert bad.status_code == 200 and "Not a valid choice" in text_of(bad)
    with app_context():
        assert db.session.get(User, learner.id).timezone == "America/Chicago"


def test_home_page_makes_the_same_number_of_queries_for_more_readings(app):
    counts = []
    for families in (1, 3):
        learner = make_user("family")
        for n in range(families):
            clinician = make_user("clinician")
            patient = make_patient(clinician, name=f"Patient {n}")
            make_family(patient, learner)
            give_path(patient, learner)
        client = signed_in(app, learner)
        read_all(client)
        counts.append(count_queries(app, client, "/learn/"))
    assert counts[0] == counts[1], counts


def test_days_read_in_the_readers_language(app):
    from datetime import date

    from lms import dates

    with app.app_context():
        assert dates.day_text(date(2026, 12, 1), locale="en", year=True) == "Tue, Dec 1, 2026"
        spanish = dates.day_text(date(2026, 12, 1), locale="es", year=True)
        assert spanish.startswith("mar") and spanish.index("1") < spanish.index("dic")
