"""Education sessions a clinician can correct: editing a session (audited with the names of
the fields changed, never names or attendance), voiding one logged by mistake (kept with its
reason, in no list, its attendance counted nowhere), "Mark everyone present" on the forms,
and the material for everyone present or excused."""

from __future__ import annotations

import re

from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select, text

from lms import MIGRATIONS, clock, create_app
from lms.extensions import db
from lms.group_sessions import queries as session_q
from lms.group_sessions.operations import log_session
from lms.models import AttendanceStatus, AuditEvent, EducationSession, User
from tests.conftest import _test_config
from tests.forms import form_data
from tests.helpers import (
    app_context,
    csrf_token,
    login,
    make_patient,
    make_user,
    post_form,
    text_of,
)
from tests.test_concurrency import assert_calm, at_once
from tests.test_migrations import _fresh_url


def _audits(action: str) -> list[AuditEvent]:
    with app_context():
        return list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def _log(clinician, attendance: dict, *, title: str = "Triggers group", modules=None) -> int:
    with app_context():
        row = log_session(
            db.session.get(User, clinician.id),
            held_on=clock.today(),
            title=title,
            facilitator="Casey",
            module_slugs=modules if modules is not None else ["first-steps"],
            attendance=attendance,
        )
        db.session.commit()
        return row.id


def _session(session_id: int) -> EducationSession:
    with app_context():
        row = db.session.get(EducationSession, session_id)
        row.attendance, row.modules  # noqa: B018 -- loaded while the session is open
        db.session.expunge(row)
        return row


def _statuses(session_id: int) -> dict[int, str]:
    return {a.patient_id: a.status.value for a in _session(session_id).attendance}


def _checked(page: str, patient_id: int) -> str | None:
    """The attendance radio checked for a patient on the session form."""
    match = re.search(rf'id="att-{patient_id}-(\w+)" checked', page)
    return match.group(1) if match else None


def _errors_beside(page: str, field_id: str) -> str:
    match = re.search(rf'<ul class="errors" id="{field_id}-error">(.*?)</ul>', page, re.S)
    return match.group(1) if match else ""


def _post_twice(client, url: str, data: dict):
    """The same rendered form sent twice (one CSRF token), as a double click does."""
    token = csrf_token(client, url)
    return [client.post(url, data={**data, "csrf_token": token}) for _ in range(2)]


# --- editing -------------------------------------------------------------------------------


def test_editing_saves_what_changed_and_audits_the_field_names_only(app, client):
    clinician = make_user("clinician")
    robin = make_patient(clinician, name="Robin Attending")
    sky = make_patient(clinician, name="Sky Elsewhere")
    session_id = _log(clinician, {robin.id: "present", sky.id: "absent"})
    login(client, clinician.email)
    url = f"/clinic/sessions/{session_id}/edit"
    assert url in text_of(client.get(f"/clinic/sessions/{session_id}"))
    page = text_of(client.get(url))
    assert 'value="Triggers group"' in page and 'value="Casey"' in page
    assert _checked(page, robin.id) == "present" and _checked(page, sky.id) == "absent"
    assert re.search(r'value="first-steps"[^>]*checked|checked[^>]*value="first-steps"', page)
    assert len(_audits("session_edit.form_view")) == 1

    data = {
        "held_on": clock.today().isoformat(),
        "title": "Triggers and cravings",
        "facilitator": "Casey",
        "modules": ["first-steps", "no-check"],
        f"attendance-{robin.id}": "present",
        f"attendance-{sky.id}": "excused",
    }
    first, second = _post_twice(client, url, data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == f"/clinic/sessions/{session_id}"
    saved = _session(session_id)
    assert saved.title == "Triggers and cravings"
    assert [m.module_slug for m in saved.modules] == ["first-steps", "no-check"]
    assert _statuses(session_id) == {robin.id: "present", sky.id: "excused"}
    [edited] = _audits("session.edited")  # the second submit found nothing left to change
    assert edited.detail == "fields=title,modules,attendance"
    [changed] = _audits("attendance.changed")  # Sky's only: Robin's stayed "present"
    assert changed.patient_id == sky.id and changed.detail is None
    with app_context():
        details = " ".join(d or "" for d in db.session.scalars(select(AuditEvent.detail)))
    for secret in ("Robin", "Sky", "Cravings", "cravings", "excused"):
        assert secret not in details
    detail_page = text_of(client.get(f"/clinic/sessions/{session_id}"))
    assert "Triggers and cravings" in detail_page and "Excused" in detail_page


def test_removing_someone_from_the_group_and_leaving_others_untouched(app, client):
    """A patient set to "not in this group" is taken out; attendance of a patient who is not
    on the editor's caseload (an admin, here) is kept as it was."""
    clinician = make_user("clinician")
    robin = make_patient(clinician, name="Robin Attending")
    sky = make_patient(clinician, name="Sky Elsewhere")
    session_id = _log(clinician, {robin.id: "present", sky.id: "absent"})
    login(client, clinician.email)
    url = f"/clinic/sessions/{session_id}/edit"
    base = {"held_on": clock.today().isoformat(), "title": "Triggers group", "facilitator": "C"}
    response = post_form(
        client,
        url,
        {**base, "modules": ["first-steps"], f"attendance-{robin.id}": "present"},
    )
    assert response.status_code == 302
    assert _statuses(session_id) == {robin.id: "present"}
    [edited] = _audits("session.edited")
    assert edited.detail == "fields=facilitator,attendance"

    admin = make_user("admin")
    admin_client = app.test_client()
    login(admin_client, admin.email)
    page = text_of(admin_client.get(url))
    assert "Robin Attending" not in page  # not on the admin's caseload: not listed
    response = post_form(
        admin_client,
        url,
        {**base, "title": "Renamed by an admin", "modules": ["first-steps"]},
    )
    assert response.status_code == 302
    assert _session(session_id).title == "Renamed by an admin"
    assert _statuses(session_id) == {robin.id: "present"}


def test_a_clinician_who_did_not_log_the_session_gets_a_404(app, client):
    author = make_user("clinician")
    other = make_user("clinician")
    patient = make_patient(author, name="Robin Attending")
    session_id = _log(author, {patient.id: "present"})
    login(client, other.email)
    for path in ("edit", "void"):
        url = f"/clinic/sessions/{session_id}/{path}"
        assert client.get(url).status_code == 404
        token = csrf_token(client, "/clinic/sessions/new")
        refused = client.post(
            url,
            data={
                "csrf_token": token,
                "title": "Taken over",
                "facilitator": "X",
                "held_on": clock.today().isoformat(),
                "reason": "Not mine to void.",
            },
        )
        assert refused.status_code == 404
    row = _session(session_id)
    assert row.title == "Triggers group" and row.voided_at is None
    assert _audits("session.edited") == [] and _audits("session.voided") == []
    assert len(_audits("access.denied")) == 4


def test_a_bad_attendance_value_or_date_changes_nothing(app, client):
    clinician = make_user("clinician")
    patient = make_patient(clinician, name="Robin Attending")
    session_id = _log(clinician, {patient.id: "present"})
    login(client, clinician.email)
    url = f"/clinic/sessions/{session_id}/edit"
    base = {"title": "Changed", "facilitator": "Casey", "modules": ["first-steps"]}
    bad_value = post_form(
        client,
        url,
        {**base, "held_on": clock.today().isoformat(), f"attendance-{patient.id}": "maybe"},
    )
    assert bad_value.status_code == 200
    assert "Choose present, absent or excused" in text_of(bad_value)
    future = post_form(
        client,
        url,
        {**base, "held_on": "2099-01-01", f"attendance-{patient.id}": "present"},
    )
    assert "logged after it happens" in _errors_beside(text_of(future), "held_on")
    assert _session(session_id).title == "Triggers group"
    assert _audits("session.edited") == []


def test_ten_identical_edits_at_once_change_and_audit_once(app, client):
    clinician = make_user("clinician")
    robin = make_patient(clinician, name="Robin Attending")
    sky = make_patient(clinician, name="Sky Elsewhere")
    session_id = _log(clinician, {robin.id: "present"})
    login(client, clinician.email)
    url = f"/clinic/sessions/{session_id}/edit"
    data = form_data(
        client,
        url,
        url,
        held_on=clock.today().isoformat(),
        title="Renamed",
        facilitator="Casey",
        modules=["no-check"],
        **{f"attendance-{robin.id}": "absent", f"attendance-{sky.id}": "present"},
    )
    assert assert_calm(at_once(app, client, url, data)) == f"/clinic/sessions/{session_id}"
    assert len(_audits("session.edited")) == 1
    assert len(_audits("attendance.changed")) == 2
    assert [m.module_slug for m in _session(session_id).modules] == ["no-check"]
    assert _statuses(session_id) == {robin.id: "absent", sky.id: "present"}


# --- voiding -------------------------------------------------------------------------------


def test_voiding_keeps_the_session_with_its_reason_and_its_attendance_counts_nowhere(app, client):
    clinician = make_user("clinician")
    patient_user = make_user("patient")
    patient = make_patient(clinician, name="Robin Attending", user=patient_user)
    mistake = _log(clinician, {patient.id: "present"}, title="Logged by mistake")
    _log(clinician, {patient.id: "absent"}, title="Real group", modules=["no-check"])
    login(client, clinician.email)
    patient_page = f"/clinic/patients/{patient.id}"
    assert "Attendance rate: 50%" in text_of(client.get(patient_page))
    learner = app.test_client()
    login(learner, patient_user.email)
    assert "Logged by mistake" in text_of(learner.get("/learn/"))

    url = f"/clinic/sessions/{mistake}/void"
    confirm = text_of(client.get(url))
    assert "The attendance of 1 patient no longer counts" in confirm
    assert "1 patient no longer sees this session" in confirm
    assert len(_audits("session_void.form_view")) == 1
    reason = "Logged twice: the real one is Tuesday's."
    first, second = _post_twice(client, url, {"reason": reason})
    assert first.status_code == second.status_code == 302  # a double click voids once
    [voided] = _audits("session.voided")
    assert "twice" not in (voided.detail or "")

    kept = _session(mistake)  # never deleted: kept, with its reason and its attendance
    assert kept.voided_at is not None and kept.void_reason == reason
    assert kept.voided_by_id == clinician.id and len(kept.attendance) == 1
    detail = text_of(client.get(f"/clinic/sessions/{mistake}"))
    assert "This session was voided" in detail and "Logged twice" in detail
    assert f"/clinic/sessions/{mistake}/edit" not in detail
    listed = text_of(client.get("/clinic/sessions"))
    assert "Logged by mistake" not in listed and "Real group" in listed
    assert "Logged by mistake" in text_of(client.get("/clinic/sessions?show=voided"))

    page = text_of(client.get(patient_page))
    assert "Attendance rate: 0%" in page and "Logged by mistake" not in page
    assert "Logged by mistake" not in text_of(learner.get("/learn/"))
    with app_context():
        assert session_q.session_material_for(db.session.get(User, patient_user.id)) == []

    # A voided session is kept as it was: no edit, no second void.
    edit = client.get(f"/clinic/sessions/{mistake}/edit")
    assert edit.status_code == 302 and edit.headers["Location"] == f"/clinic/sessions/{mistake}"
    again = post_form(client, url, {"reason": "Again"}, form_page="/clinic/sessions/new")
    assert again.status_code == 302
    assert len(_audits("session.voided")) == 1 and _session(mistake).void_reason == reason


def test_voiding_needs_a_reason_of_at_most_300_characters(app, client):
    clinician = make_user("clinician")
    session_id = _log(clinician, {})
    login(client, clinician.email)
    url = f"/clinic/sessions/{session_id}/void"
    for reason, message in (
        ("   ", "Say why this session is a mistake."),
        ("x" * 301, "Keep it to 300 characters or fewer."),
    ):
        refused = post_form(client, url, {"reason": reason})
        assert refused.status_code == 400
        assert message in _errors_beside(text_of(refused), "reason")
    assert _session(session_id).voided_at is None
    assert _audits("session.voided") == []
    assert post_form(client, url, {"reason": "x" * 300}).status_code == 302
    assert _session(session_id).voided_at is not None


def test_ten_identical_voids_at_once_void_once(app, client):
    clinician = make_user("clinician")
    session_id = _log(clinician, {make_patient(clinician).id: "present"})
    login(client, clinician.email)
    url = f"/clinic/sessions/{session_id}/void"
    data = form_data(client, url, url, reason="Logged twice.")
    assert assert_calm(at_once(app, client, url, data)) == f"/clinic/sessions/{session_id}"
    assert len(_audits("session.voided")) == 1


# --- mark everyone present -----------------------------------------------------------------


def test_mark_everyone_present_keeps_everything_typed_and_saves_nothing(app, client):
    clinician = make_user("clinician")
    robin = make_patient(clinician, name="Robin Attending")
    sky = make_patient(clinician, name="Sky Elsewhere")
    login(client, clinician.email)
    url = "/clinic/sessions/new"
    data = form_data(
        client,
        url,
        url,
        held_on="2026-01-05",
        title="Typed <title>",
        facilitator="Typed facilitator",
        modules=["no-check"],
        all_present="Mark everyone present",
        **{f"attendance-{robin.id}": "absent"},
    )
    response = client.post(url, data=data)
    assert response.status_code == 200
    page = text_of(response)
    assert "Everyone listed is now marked present" in page
    assert 'value="2026-01-05"' in page and 'value="Typed &lt;title&gt;"' in page
    assert 'value="Typed facilitator"' in page
    assert re.search(r'value="no-check"[^>]*checked|checked[^>]*value="no-check"', page)
    assert not re.search(r'value="first-steps"[^>]*checked|checked[^>]*value="first-steps"', page)
    assert _checked(page, robin.id) == "present" and _checked(page, sky.id) == "present"
    assert f'value="{data["submit_token"]}"' in page  # the same form, not yet used
    with app_context():
        assert db.session.scalar(select(func.count(EducationSession.id))) == 0

    # Saving the form as it came back logs everyone present.
    saved = client.post(
        url,
        data={
            **data,
            "all_present": "",
            f"attendance-{robin.id}": "present",
            f"attendance-{sky.id}": "present",
        },
    )
    assert saved.status_code == 302
    with app_context():
        row = db.session.scalars(select(EducationSession)).one()
        assert row.title == "Typed <title>"
        assert {a.patient_id: a.status for a in row.attendance} == {
            robin.id: AttendanceStatus.PRESENT,
            sky.id: AttendanceStatus.PRESENT,
        }


def test_mark_everyone_present_on_the_edit_form_changes_nothing_until_saved(app, client):
    clinician = make_user("clinician")
    robin = make_patient(clinician, name="Robin Attending")
    sky = make_patient(clinician, name="Sky Elsewhere")
    session_id = _log(clinician, {robin.id: "absent"})
    login(client, clinician.email)
    url = f"/clinic/sessions/{session_id}/edit"
    response = post_form(
        client,
        url,
        {
            "held_on": clock.today().isoformat(),
            "title": "Typed while editing",
            "facilitator": "Casey",
            "modules": ["first-steps"],
            "all_present": "Mark everyone present",
        },
    )
    assert response.status_code == 200
    page = text_of(response)
    assert 'value="Typed while editing"' in page
    assert _checked(page, robin.id) == "present" and _checked(page, sky.id) == "present"
    assert _session(session_id).title == "Triggers group"
    assert _statuses(session_id) == {robin.id: "absent"}
    assert _audits("session.edited") == []


# --- material for the whole group ----------------------------------------------------------


def test_an_excused_patient_gets_the_material_and_an_absent_one_does_not(app, client):
    clinician = make_user("clinician")
    excused_user = make_user("patient")
    absent_user = make_user("patient")
    excused = make_patient(clinician, name="Robin Excused", user=excused_user)
    absent = make_patient(clinician, name="Sky Absent", user=absent_user)
    session_id = _log(clinician, {excused.id: "excused", absent.id: "absent"})
    home = app.test_client()
    login(home, excused_user.email)
    page = text_of(home.get("/learn/"))
    assert "Material from your sessions" in page and "First steps" in page
    assert "You were excused from this session" in page
    other = app.test_client()
    login(other, absent_user.email)
    assert "Material from your sessions" not in text_of(other.get("/learn/"))

    login(client, clinician.email)
    detail = text_of(client.get(f"/clinic/sessions/{session_id}"))
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th><td>[^<]+</td><td>(\w+)</td>', detail))
    assert rows == {"Robin Excused": "Yes", "Sky Absent": "No"}
    with app_context():
        found = session_q.session_material_for(db.session.get(User, excused_user.id))
        assert [(row.id, status) for row, status in found] == [
            (session_id, AttendanceStatus.EXCUSED)
        ]


# --- the migration -------------------------------------------------------------------------


def test_migration_0016_keeps_sessions_and_downgrade_removes_only_voided_ones(tmp_path):
    url, cleanup = _fresh_url(tmp_path)
    try:
        app = create_app(_test_config(url))
        with app.app_context():
            upgrade(directory=MIGRATIONS, revision="0015")
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO education_session (id, held_on, title, facilitator, "
                        "created_at) VALUES (1, '2026-01-05', 'Kept', 'C', :t), "
                        "(2, '2026-01-06', 'Mistake', 'C', :t)"
                    ),
                    {"t": clock.utcnow()},
                )
                conn.execute(
                    text(
                        "INSERT INTO session_module (id, session_id, module_slug, position) "
                        "VALUES (1, 1, 'first-steps', 0), (2, 2, 'first-steps', 0)"
                    )
                )
            upgrade(directory=MIGRATIONS, revision="0016")
            with db.engine.begin() as conn:
                assert (
                    conn.execute(
                        text("SELECT count(*) FROM education_session WHERE voided_at IS NULL")
                    ).scalar()
                    == 2
                )  # every session logged before stays as it was
                conn.execute(
                    text(
                        "UPDATE education_session SET voided_at = :t, void_reason = 'Twice' "
                        "WHERE id = 2"
                    ),
                    {"t": clock.utcnow()},
                )
            downgrade(directory=MIGRATIONS, revision="0015")
            columns = {c["name"] for c in inspect(db.engine).get_columns("education_session")}
            assert not {"voided_at", "void_reason", "voided_by_id"} & columns
            with db.engine.connect() as conn:
                assert conn.execute(text("SELECT title FROM education_session")).all() == [
                    ("Kept",)
                ]
                assert conn.execute(text("SELECT session_id FROM session_module")).all() == [(1,)]
            db.engine.dispose()
    finally:
        if cleanup:
            engine, schema = cleanup
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()
