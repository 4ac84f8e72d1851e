"""The admin area: who may open it, staff accounts, caseload reassignment, the audit log."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from lms import clock
from lms.extensions import db
from lms.models import AuditEvent, CareTeamMember, Patient, User
from tests.helpers import count_queries, csrf_token, login, make_user, post_form, text_of

STRONG = "lantern orchard velvet thunder 77"

GET_ROUTES = ["/admin/", "/admin/staff", "/admin/caseloads", "/admin/audit", "/admin/audit.csv"]


# --- builders --------------------------------------------------------------------------------


def make_patient(app, *clinicians, name: str = "Pat Ient", status: str = "active") -> int:
    with app.app_context():
        patient = Patient(display_name=name, enrolled_on=clock.today(), status=status)
        for clinician in clinicians:
            patient.care_team.append(CareTeamMember(clinician_id=clinician.id))
        db.session.add(patient)
        db.session.commit()
        return patient.id


def team(app, patient_id: int) -> set[int]:
    with app.app_context():
        return set(
            db.session.scalars(
                select(CareTeamMember.clinician_id).where(CareTeamMember.patient_id == patient_id)
            )
        )


def audit_rows(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )
        db.session.expunge_all()
        return rows


def add_events(
    app,
    count: int,
    *,
    action: str = "test.event",
    at: datetime | None = None,
    actor_ids: list[int] | None = None,
    patient_id: int | None = None,
) -> None:
    with app.app_context():
        for n in range(count):
            db.session.add(
                AuditEvent(
                    action=action,
                    at=at or clock.utcnow(),
                    actor_id=actor_ids[n % len(actor_ids)] if actor_ids else None,
                    patient_id=patient_id,
                    detail=f"n={n}",
                )
            )
        db.session.commit()


@pytest.fixture
def admin(app):
    return make_user("admin", name="Alex Admin")


@pytest.fixture
def as_admin(app, client, admin):
    assert login(client, admin.email).status_code == 302
    return client


# --- who may open the admin area --------------------------------------------------------------


@pytest.mark.parametrize("path", GET_ROUTES)
def test_admin_gets_every_page(as_admin, path):
    assert as_admin.get(path).status_code == 200


@pytest.mark.parametrize("role", ["clinician", "family", "patient"])
@pytest.mark.parametrize("path", GET_ROUTES)
def test_everyone_else_gets_404(app, client, role, path):
    user = make_user(role)
    assert login(client, user.email).status_code == 302
    response = client.get(path)
    assert response.status_code == 404
    assert "Administration" not in text_of(response)  # no nav link either


@pytest.mark.parametrize("role", ["clinician", "family", "patient"])
def test_everyone_else_cannot_post_either(app, client, role, admin):
    user = make_user(role)
    clinician = make_user("clinician")
    patient_id = make_patient(app, clinician)
    login(client, user.email)
    token = csrf_token(client, "/auth/account")
    for path, data in [
        (
            "/admin/staff",
            {"email": "x@example.org", "display_name": "X", "role": "admin", "password": STRONG},
        ),
        (f"/admin/staff/{admin.id}/deactivate", {}),
        (f"/admin/caseloads/{patient_id}/remove", {"clinician_id": clinician.id}),
        ("/admin/caseloads/move", {"from_clinician": clinician.id, "to_clinician": user.id}),
    ]:
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.get(User, admin.id).active
        assert (
            db.session.scalar(
                select(func.count()).select_from(User).where(User.email == "x@example.org")
            )
            == 0
        )
    assert team(app, patient_id) == {clinician.id}


@pytest.mark.parametrize("path", GET_ROUTES)
def test_anonymous_is_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_nav_shows_admin_link_to_admins_only(as_admin):
    page = text_of(as_admin.get("/admin/"))
    assert 'href="/admin/"' in page
    for target in ("/admin/staff", "/admin/caseloads", "/admin/audit"):
        assert f'href="{target}"' in page


# --- staff accounts ---------------------------------------------------------------------------


def create(client, **overrides):
    data = {
        "email": "new.clinician@example.org",
        "display_name": "Nia New, LPC",
        "role": "clinician",
        "password": STRONG,
    }
    data.update(overrides)
    return post_form(client, "/admin/staff", data)


def test_staff_page_lists_staff_not_families(app, as_admin):
    make_user("clinician", email="cas@example.org", name="Casey Clinician")
    make_user("family", email="fam@example.org", name="Fay Family")
    page = text_of(as_admin.get("/admin/staff"))
    assert "Casey Clinician" in page and "cas@example.org" in page
    assert "Alex Admin" in page
    assert "fam@example.org" not in page
    assert "<caption>" in page and 'scope="col"' in page
    assert '<label for="email">' in page and '<label for="password">' in page


def test_create_clinician(app, as_admin, admin):
    response = create(as_admin, email="  New.Clinician@Example.ORG ")
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalars(User.by_email("new.clinician@example.org")).one()
        assert user.role == "clinician" and user.active
        assert user.display_name == "Nia New, LPC"
        user_id = user.id
    rows = audit_rows(app, "account.created")
    assert [(r.actor_id, r.subject_id) for r in rows] == [(admin.id, user_id)]
    assert "new.clinician@example.org" in text_of(as_admin.get("/admin/staff"))
    # The new account can sign in with the initial password.
    other = app.test_client()
    assert login(other, "new.clinician@example.org", STRONG).headers["Location"] == "/staff"


def test_create_admin(app, as_admin):
    assert create(as_admin, email="second.admin@example.org", role="admin").status_code == 302
    with app.app_context():
        assert db.session.scalars(User.by_email("second.admin@example.org")).one().is_admin


def test_duplicate_email_is_a_message_and_double_submit_creates_one(app, as_admin):
    make_user("family", email="taken@example.org")
    response = create(as_admin, email="TAKEN@example.org")
    assert response.status_code == 200
    assert "An account with this email already exists." in text_of(response)
    # A double click: the same form posted twice.
    assert create(as_admin).status_code == 302
    second = create(as_admin)
    assert second.status_code == 200
    assert "An account with this email already exists." in text_of(second)
    with app.app_context():
        count = (
            select(func.count()).select_from(User).where(User.email == "new.clinician@example.org")
        )
        assert db.session.scalar(count) == 1
    assert len(audit_rows(app, "account.created")) == 1


def test_weak_password_is_refused_beside_the_field(app, as_admin):
    response = create(as_admin, password="password1234")
    assert response.status_code == 200
    page = text_of(response)
    assert 'id="password-error"' in page
    assert "too easy to guess" in page
    short = text_of(create(as_admin, password="short"))
    assert "Use at least 12 characters" in short
    with app.app_context():
        assert db.session.scalars(User.by_email("new.clinician@example.org")).first() is None


@pytest.mark.parametrize("role", ["superuser", "family", "patient", ""])
def test_forged_role_is_refused(app, as_admin, role):
    response = create(as_admin, role=role)
    assert response.status_code == 200
    assert 'id="role-error"' in text_of(response)
    with app.app_context():
        assert db.session.scalars(User.by_email("new.clinician@example.org")).first() is None
    assert audit_rows(app, "account.created") == []


def test_deactivation_ends_the_users_session_at_once(app, as_admin, admin):
    clinician = make_user("clinician")
    theirs = app.test_client()
    assert login(theirs, clinician.email).status_code == 302
    assert theirs.get("/clinic/").status_code == 200

    response = post_form(
        as_admin, f"/admin/staff/{clinician.id}/deactivate", {}, form_page="/admin/staff"
    )
    assert response.status_code == 302
    assert "deactivated" in text_of(as_admin.get("/admin/staff"))

    gone = theirs.get("/clinic/")
    assert gone.status_code == 302 and gone.headers["Location"].startswith("/auth/login")
    with app.app_context():
        assert not db.session.get(User, clinician.id).active
    rows = audit_rows(app, "account.deactivated")
    assert [(r.actor_id, r.subject_id) for r in rows] == [(admin.id, clinician.id)]
    # And they cannot sign in again.
    assert login(theirs, clinician.email).status_code == 200


def test_reactivation(app, as_admin, admin):
    clinician = make_user("clinician", active=False)
    response = post_form(
        as_admin, f"/admin/staff/{clinician.id}/reactivate", {}, form_page="/admin/staff"
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, clinician.id).active
    assert [r.subject_id for r in audit_rows(app, "account.reactivated")] == [clinician.id]
    assert login(app.test_client(), clinician.email).status_code == 302


def test_admin_cannot_deactivate_themself(app, as_admin, admin):
    response = post_form(
        as_admin,
        f"/admin/staff/{admin.id}/deactivate",
        {},
        form_page="/admin/staff",
        follow_redirects=True,
    )
    assert "can&#39;t deactivate your own account" in text_of(response)
    with app.app_context():
        assert db.session.get(User, admin.id).active
    assert as_admin.get("/admin/").status_code == 200  # still signed in
    assert audit_rows(app, "account.deactivated") == []


def test_deactivating_twice_writes_once(app, as_admin):
    clinician = make_user("clinician")
    for _ in range(2):
        post_form(as_admin, f"/admin/staff/{clinician.id}/deactivate", {}, form_page="/admin/staff")
    assert len(audit_rows(app, "account.deactivated")) == 1


@pytest.mark.parametrize("kind", ["missing", "family"])
def test_deactivate_non_staff_or_missing_is_404(app, as_admin, kind):
    target_id = 999_999 if kind == "missing" else make_user("family").id
    response = post_form(
        as_admin, f"/admin/staff/{target_id}/deactivate", {}, form_page="/admin/staff"
    )
    assert response.status_code == 404
    assert audit_rows(app, "account.deactivated") == []


def test_deactivate_needs_csrf(app, as_admin):
    clinician = make_user("clinician")
    response = as_admin.post(f"/admin/staff/{clinician.id}/deactivate")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(User, clinician.id).active


# --- caseloads ----------------------------------------------------------------------------------


def test_caseload_page_lists_patients_and_teams(app, as_admin):
    casey = make_user("clinician", name="Casey Rivera")
    jordan = make_user("clinician", name="Jordan Lee")
    make_patient(app, casey, jordan, name="Sam Taylor")
    make_patient(app, casey, name="Dana Gone", status="discharged")
    page = text_of(as_admin.get("/admin/caseloads"))
    assert "Sam Taylor" in page and "Casey Rivera" in page and "Jordan Lee" in page
    assert "Dana Gone" not in page  # active patients by default
    assert "Dana Gone" in text_of(as_admin.get("/admin/caseloads?status=all"))
    assert "<caption>" in page and 'scope="row"' in page
    assert audit_rows(app, "admin.caseloads.view")


def test_add_clinician_to_care_team(app, as_admin, admin):
    casey = make_user("clinician")
    jordan = make_user("clinician")
    patient_id = make_patient(app, casey)
    url = f"/admin/caseloads/{patient_id}/add"
    data = {f"p{patient_id}-clinician_id": jordan.id}
    response = post_form(as_admin, url, data, form_page="/admin/caseloads")
    assert response.status_code == 302
    assert team(app, patient_id) == {casey.id, jordan.id}
    rows = audit_rows(app, "care_team.added")
    assert [(r.actor_id, r.patient_id, r.subject_type, r.subject_id, r.detail) for r in rows] == [
        (admin.id, patient_id, "patient", patient_id, f"clinician={jordan.id}")
    ]
    # The same form again (a double click) changes nothing and writes nothing.
    again = post_form(as_admin, url, data, form_page="/admin/caseloads", follow_redirects=True)
    assert "already on" in text_of(again)
    assert len(audit_rows(app, "care_team.added")) == 1
    # The added clinician now sees the patient.
    theirs = app.test_client()
    login(theirs, jordan.email)
    assert theirs.get(f"/clinic/patients/{patient_id}").status_code == 200


@pytest.mark.parametrize("who", ["inactive", "family", "admin", "missing", "text", "huge"])
def test_add_refuses_anyone_but_an_active_clinician(app, as_admin, who):
    casey = make_user("clinician")
    patient_id = make_patient(app, casey)
    value = {
        "inactive": lambda: make_user("clinician", active=False).id,
        "family": lambda: make_user("family").id,
        "admin": lambda: make_user("admin").id,
        "missing": lambda: 999_999,
        "text": lambda: "abc",
        "huge": lambda: 10**20,
    }[who]()
    response = post_form(
        as_admin,
        f"/admin/caseloads/{patient_id}/add",
        {f"p{patient_id}-clinician_id": value},
        form_page="/admin/caseloads",
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Choose an active clinician from the list." in text_of(response)
    assert team(app, patient_id) == {casey.id}
    assert audit_rows(app, "care_team.added") == []


def test_add_to_a_forged_patient_is_404(app, as_admin):
    jordan = make_user("clinician")
    response = post_form(
        as_admin,
        "/admin/caseloads/999999/add",
        {"p999999-clinician_id": jordan.id},
        form_page="/admin/caseloads",
    )
    assert response.status_code == 404


def test_remove_clinician_from_care_team(app, as_admin, admin):
    casey = make_user("clinician")
    jordan = make_user("clinician")
    patient_id = make_patient(app, casey, jordan)
    response = post_form(
        as_admin,
        f"/admin/caseloads/{patient_id}/remove",
        {"clinician_id": casey.id},
        form_page="/admin/caseloads",
    )
    assert response.status_code == 302
    assert team(app, patient_id) == {jordan.id}
    rows = audit_rows(app, "care_team.removed")
    assert [(r.actor_id, r.patient_id, r.detail) for r in rows] == [
        (admin.id, patient_id, f"clinician={casey.id}")
    ]
    theirs = app.test_client()
    login(theirs, casey.email)
    assert theirs.get(f"/clinic/patients/{patient_id}").status_code == 404


def test_last_clinician_of_an_active_patient_stays(app, as_admin):
    casey = make_user("clinician", name="Casey Rivera")
    patient_id = make_patient(app, casey)
    response = post_form(
        as_admin,
        f"/admin/caseloads/{patient_id}/remove",
        {"clinician_id": casey.id},
        form_page="/admin/caseloads",
        follow_redirects=True,
    )
    assert "Casey Rivera is the only clinician" in text_of(response)
    assert team(app, patient_id) == {casey.id}
    assert audit_rows(app, "care_team.removed") == []


def test_last_clinician_of_a_discharged_patient_may_go(app, as_admin):
    casey = make_user("clinician")
    patient_id = make_patient(app, casey, status="discharged")
    post_form(
        as_admin,
        f"/admin/caseloads/{patient_id}/remove",
        {"clinician_id": casey.id},
        form_page="/admin/caseloads",
    )
    assert team(app, patient_id) == set()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("999999", "That clinician is not on this patient&#39;s care team."),
        ("abc", "Choose a clinician to remove."),
        ("", "Choose a clinician to remove."),
        (str(10**20), "Choose a clinician to remove."),
    ],
)
def test_remove_forged_clinician_is_a_message(app, as_admin, value, message):
    casey = make_user("clinician")
    jordan = make_user("clinician")
    patient_id = make_patient(app, casey, jordan)
    response = post_form(
        as_admin,
        f"/admin/caseloads/{patient_id}/remove",
        {"clinician_id": value},
        form_page="/admin/caseloads",
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert message in text_of(response)
    assert team(app, patient_id) == {casey.id, jordan.id}


def test_remove_from_a_forged_patient_is_404(app, as_admin):
    casey = make_user("clinician")
    response = post_form(
        as_admin,
        "/admin/caseloads/999999/remove",
        {"clinician_id": casey.id},
        form_page="/admin/caseloads",
    )
    assert response.status_code == 404


def test_move_whole_caseload(app, as_admin, admin):
    leaving = make_user("clinician", active=False)  # already deactivated: the common case
    taking = make_user("clinician")
    other = make_user("clinician")
    shared = make_patient(app, leaving, taking, name="Shared")
    only = make_patient(app, leaving, name="Only Leaving")
    with_other = make_patient(app, leaving, other, name="With Other")
    untouched = make_patient(app, other, name="Untouched")
    choice = {"from_clinician": leaving.id, "to_clinician": taking.id}
    preview = post_form(as_admin, "/admin/caseloads/move", choice, form_page="/admin/caseloads")
    page = text_of(preview)
    assert "Move 3 patients from" in page
    assert all(name in page for name in ("Shared", "Only Leaving", "With Other"))
    assert "Untouched" not in page
    assert team(app, only) == {leaving.id}  # asking moved nothing
    response = post_form(
        as_admin,
        "/admin/caseloads/move",
        {**choice, "confirm": "1"},
        form_page="/admin/caseloads",
        follow_redirects=True,
    )
    assert "3 patients moved" in text_of(response)
    assert team(app, shared) == {taking.id}
    assert team(app, only) == {taking.id}
    assert team(app, with_other) == {taking.id, other.id}
    assert team(app, untouched) == {other.id}
    added = audit_rows(app, "care_team.added")
    removed = audit_rows(app, "care_team.removed")
    assert sorted(r.patient_id for r in added) == sorted([only, with_other])
    assert {r.detail for r in added} == {f"clinician={taking.id}"}
    assert sorted(r.patient_id for r in removed) == sorted([shared, only, with_other])
    assert {r.detail for r in removed} == {f"clinician={leaving.id}"}
    assert {r.actor_id for r in added + removed} == {admin.id}

    # Moving back takes exactly those patients back, and leaves the taker's own patient.
    page = response.get_data(as_text=True)
    undo = re.search(r'action="(/admin/caseloads/moves/\d+/undo)"', page).group(1)
    for name in ("Shared", "Only Leaving", "With Other"):
        assert name in page
    for _ in range(2):  # a double click moves back once
        back = post_form(as_admin, undo, {}, form_page=undo.removesuffix("/undo"))
        assert back.status_code == 302
    assert team(app, shared) == {leaving.id, taking.id}  # the taker was on it before the move
    assert team(app, only) == {leaving.id}
    assert team(app, with_other) == {leaving.id, other.id}
    assert team(app, untouched) == {other.id}
    assert len(audit_rows(app, "caseload.move_undone")) == 1
    assert "Moved back" in text_of(as_admin.get(undo.removesuffix("/undo")))


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("same", "Choose two different clinicians."),
        ("to_inactive", "Choose an active clinician from the list."),
        ("to_family", "Choose an active clinician from the list."),
        ("forged", "Choose an active clinician from the list."),
        ("text", "Choose an active clinician from the list."),
        ("nobody", "Choose an active clinician."),
    ],
)
def test_move_refuses_bad_choices(app, as_admin, case, message):
    casey = make_user("clinician")
    patient_id = make_patient(app, casey)
    to = {
        "same": lambda: casey.id,
        "to_inactive": lambda: make_user("clinician", active=False).id,
        "to_family": lambda: make_user("family").id,
        "forged": lambda: 999_999,
        "text": lambda: "abc",
        "nobody": lambda: 0,  # the "Choose a clinician" placeholder
    }[case]()
    response = post_form(
        as_admin,
        "/admin/caseloads/move",
        {"from_clinician": casey.id, "to_clinician": to},
        form_page="/admin/caseloads",
        follow_redirects=True,
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "flash-error" in page and message in page
    assert "patients moved" not in page
    assert team(app, patient_id) == {casey.id}
    assert audit_rows(app, "care_team.removed") == []


def test_caseload_forms_need_csrf(app, as_admin):
    casey = make_user("clinician")
    jordan = make_user("clinician")
    patient_id = make_patient(app, casey, jordan)
    response = as_admin.post(
        f"/admin/caseloads/{patient_id}/remove", data={"clinician_id": casey.id}
    )
    assert response.status_code == 400
    assert team(app, patient_id) == {casey.id, jordan.id}


# --- audit log ------------------------------------------------------------------------------------


def table_rows(page: str) -> int:
    body = page.split("<tbody", 1)[1].split("</tbody>", 1)[0] if "<tbody" in page else ""
    return body.count("<tr")


def action_cells(page: str, action: str) -> int:
    """Rows whose "What happened" cell shows ``action`` (an action without words shows its
    raw name)."""
    return page.count(f'<span class="action">{action}</span>')


def test_audit_log_shows_events_newest_first_and_audits_viewing(app, as_admin, admin):
    casey = make_user("clinician", name="Casey Rivera", email="casey@example.org")
    now = clock.utcnow()
    add_events(
        app, 1, action="zz.older", at=now - timedelta(hours=2), actor_ids=[casey.id], patient_id=41
    )
    add_events(app, 1, action="zz.newer", at=now - timedelta(hours=1), actor_ids=[casey.id])
    page = text_of(as_admin.get("/admin/audit"))
    assert page.index("zz.newer") < page.index("zz.older")
    assert "Casey Rivera" in page and "casey@example.org" in page
    assert "<caption>" in page and ">When</th>" in page
    rows = audit_rows(app, "audit.view")
    assert [r.actor_id for r in rows] == [admin.id]


def test_audit_filter_by_action(app, as_admin):
    add_events(app, 2, action="zz.keep")
    add_events(app, 3, action="zz.drop")
    page = text_of(as_admin.get("/admin/audit?action=zz.keep"))
    assert action_cells(page, "zz.keep") == 2
    assert action_cells(page, "zz.drop") == 0
    assert '<option selected value="zz.keep">' in page


def test_audit_filter_by_user(app, as_admin):
    casey = make_user("clinician")
    jordan = make_user("clinician")
    add_events(app, 2, action="zz.casey", actor_ids=[casey.id])
    add_events(app, 3, action="zz.jordan", actor_ids=[jordan.id])
    page = text_of(as_admin.get(f"/admin/audit?actor_id={casey.id}"))
    assert action_cells(page, "zz.casey") == 2
    assert action_cells(page, "zz.jordan") == 0
    both = text_of(as_admin.get(f"/admin/audit?actor_id={casey.id}&actor_id={jordan.id}"))
    assert action_cells(both, "zz.casey") == 2 and action_cells(both, "zz.jordan") == 3


def test_audit_filter_by_patient(app, as_admin):
    add_events(app, 2, action="zz.p7", patient_id=7)
    add_events(app, 1, action="zz.p8", patient_id=8)
    page = text_of(as_admin.get("/admin/audit?patient_id=7"))
    assert action_cells(page, "zz.p7") == 2
    assert action_cells(page, "zz.p8") == 0


def test_audit_filter_by_date_range(app, as_admin):
    # Days are the program's (PROGRAM_TIMEZONE, America/New_York by default).
    day = datetime(2025, 3, 14, 23, 59, tzinfo=ZoneInfo("America/New_York"))
    add_events(app, 1, action="zz.before", at=day - timedelta(days=2))
    add_events(app, 1, action="zz.first", at=day - timedelta(days=1, hours=23, minutes=59))
    add_events(app, 1, action="zz.last", at=day)
    add_events(app, 1, action="zz.after", at=day + timedelta(minutes=2))
    page = text_of(as_admin.get("/admin/audit?date_from=2025-03-13&date_to=2025-03-14"))
    assert action_cells(page, "zz.first") == 1 and action_cells(page, "zz.last") == 1
    assert action_cells(page, "zz.before") == 0 and action_cells(page, "zz.after") == 0
    only_from = text_of(as_admin.get("/admin/audit?date_from=2025-03-15"))
    assert action_cells(only_from, "zz.after") == 1 and action_cells(only_from, "zz.last") == 0


@pytest.mark.parametrize(
    "query",
    ["date_from=14/03/2025", "date_to=2025-13-45", "date_from=yesterday", "date_from=%00"],
)
def test_audit_bad_date_is_a_message(app, as_admin, query):
    add_events(app, 1, action="zz.shown")
    response = as_admin.get(f"/admin/audit?{query}")
    assert response.status_code == 200
    page = text_of(response)
    assert "Enter a date as YYYY-MM-DD" in page
    assert action_cells(page, "zz.shown") == 1  # the bad filter is not applied


def test_audit_end_before_start_is_a_message(as_admin):
    page = text_of(as_admin.get("/admin/audit?date_from=2025-03-14&date_to=2025-03-01"))
    assert "The end date is before the start date." in page


@pytest.mark.parametrize(
    "query",
    [
        "user=999999",
        "user=abc",
        "patient=abc",
        f"patient={10**20}",
        "actor_id=999999",
        "actor_id=abc",
        "patient_id=abc",
        f"patient_id={10**20}",
        "patient_id=1&patient_id=",
        "action=no.such",
        "page=abc",
        f"page={10**30}",
        "page=-3",
    ],
)
def test_audit_forged_filters_never_500(as_admin, query):
    assert as_admin.get(f"/admin/audit?{query}").status_code == 200
    assert as_admin.get(f"/admin/audit.csv?{query}").status_code == 200


def test_audit_pagination(app, as_admin):
    now = clock.utcnow()
    with app.app_context():
        for n in range(120):
            db.session.add(
                AuditEvent(action="zz.page", at=now - timedelta(minutes=n), detail=f"n={n:03d}")
            )
        db.session.commit()
    first = text_of(as_admin.get("/admin/audit?action=zz.page"))
    assert table_rows(first) == 50
    assert "n=000" in first and "n=049" in first and "n=050" not in first
    assert "Page 1 of 3" in first
    assert 'href="/admin/audit?page=2&amp;action=zz.page"' in first
    third = text_of(as_admin.get("/admin/audit?action=zz.page&page=3"))
    assert table_rows(third) == 20
    assert "n=100" in third and "n=119" in third and "n=099" not in third
    beyond = text_of(as_admin.get("/admin/audit?action=zz.page&page=9"))
    assert table_rows(beyond) == 0


def test_audit_page_query_count_does_not_grow_with_rows(app, as_admin):
    actors = [make_user("clinician").id for _ in range(3)]
    add_events(app, 5, actor_ids=actors, patient_id=3)
    few = count_queries(app, as_admin, "/admin/audit")
    more_actors = [make_user("family").id for _ in range(55)]
    add_events(app, 55, actor_ids=actors + more_actors, patient_id=3)
    many_page = text_of(as_admin.get("/admin/audit"))
    assert table_rows(many_page) == 50
    many = count_queries(app, as_admin, "/admin/audit")
    assert few == many, (few, many)


def test_audit_csv_has_header_filters_and_is_audited(app, as_admin, admin):
    casey = make_user("clinician", email="casey@example.org")
    add_events(app, 2, action="zz.csv", actor_ids=[casey.id], patient_id=5)
    add_events(app, 1, action="zz.other")
    response = as_admin.get("/admin/audit.csv?action=zz.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(text_of(response))))
    assert rows[0][:5] == ["time_utc", "actor_id", "actor_email", "actor_name", "action"]
    assert len(rows) == 3
    assert {r[4] for r in rows[1:]} == {"zz.csv"}
    assert {r[2] for r in rows[1:]} == {"casey@example.org"}
    assert {r[7] for r in rows[1:]} == {"5"}
    exports = audit_rows(app, "audit.export")
    assert [e.actor_id for e in exports] == [admin.id]
    assert "action=zz.csv" in exports[0].detail


def test_audit_csv_neutralizes_formulas(app, as_admin):
    with app.app_context():
        db.session.add(AuditEvent(action="zz.evil", detail='=HYPERLINK("http://x")'))
        db.session.commit()
    rows = list(csv.reader(io.StringIO(text_of(as_admin.get("/admin/audit.csv?action=zz.evil")))))
    assert rows[1][rows[0].index("detail")].startswith("'=")


def test_deactivating_a_clinician_hands_over_patients_nobody_else_has(app, as_admin):
    """A clinician who is the only clinician of a patient is deactivated only once someone
    takes that patient; patients shared with an active colleague keep that colleague."""
    leaving = make_user("clinician", email="leaving@example.org", name="Leaving Clinician")
    colleague = make_user("clinician", email="colleague@example.org", name="Colleague")
    alone = make_patient(app, leaving, name="Only Leaving")
    shared = make_patient(app, leaving, colleague, name="Shared Care")
    url = f"/admin/staff/{leaving.id}/deactivate"
    ask = text_of(as_admin.get(url))
    assert "1 patient has no other clinician on their care team: Only Leaving." in ask
    refused = post_form(as_admin, url, {"successor": "0"})
    assert refused.status_code == 200
    assert "Choose an active clinician." in text_of(refused)
    with app.app_context():
        assert db.session.get(User, leaving.id).active  # nothing happened
    done = post_form(as_admin, url, {"successor": str(colleague.id)})
    assert done.status_code == 302
    with app.app_context():
        assert not db.session.get(User, leaving.id).active
        teams = {(m.patient_id, m.clinician_id) for m in db.session.scalars(select(CareTeamMember))}
    assert (alone, colleague.id) in teams and (shared, colleague.id) in teams
    assert len([t for t in teams if t[1] == colleague.id]) == 2  # no duplicate membership
