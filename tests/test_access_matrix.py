"""Deny by default: every route × every role has an explicit, tested outcome.

Walks ``app.url_map``. A route missing from RULES fails ``test_every_route_has_a_decision``,
so a new page cannot ship without someone deciding who may open it.

Every case runs on its own new app and its own copy of the same database: the world (users of
every role, a patient with family in each consent state, an assignment, an attempt, an
emergency grant, an invitation, a group session) with the case's role just signed in. The
world and each role's sign-in are made once per module and saved (``tests/databases.py``);
each case starts from a copy of its role's database and that sign-in's cookies, so whatever a
case's request changes is gone for the next. They are made again when older than
``FRESH_SECONDS``, so a sign-in is always far more recent than any time limit (re-entering
the password for sensitive actions, idle sign-out) would notice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, or_, select

from lms import clock, create_app
from lms.extensions import db
from lms.group_sessions.operations import log_session
from lms.interop.tokens import create_token
from lms.invitations import operations as invitation_ops
from lms.learning import operations as learning
from lms.models import (
    Assignment,
    AuditEvent,
    CareTeamMember,
    CaseloadMove,
    EmergencyAccess,
    LearningGoal,
    PracticeNote,
    QuizAttempt,
    RosterImport,
    User,
)
from tests import helpers
from tests.conftest import _test_config
from tests.databases import Snapshots, close_app_database, copy_sqlite, sqlite_file
from tests.helpers import (
    csrf_token,
    login,
    make_assignment,
    make_family,
    make_patient,
    make_user,
    write_course,
)

ROLES = (
    "anonymous",
    "family_active",
    "family_withdrawn",
    "family_expired",
    "patient",
    "clinician_on",
    "clinician_off",
    "admin",
)
SIGNED_IN = set(ROLES) - {"anonymous"}
STAFF_ON = {"clinician_on", "admin"}
STAFF = {"clinician_on", "clinician_off", "admin"}
LEARNERS = {"family_active", "family_withdrawn", "family_expired", "patient"}

# No role: only an API token opens it (a 401 for every session, anonymous included).
TOKEN_ONLY: frozenset[str] = frozenset()

# Who may use each endpoint. "public" means anyone, signed in or not.
RULES: dict[str, set[str] | str] = {
    "static": "public",
    "core.index": "public",
    "core.healthz": "public",
    "core.set_language": "public",  # the language switch, on every page
    "auth.login": "public",
    "auth.forgot": "public",
    "auth.reset": "public",  # a signed, single-use link; an invalid one is a 400
    "auth.reminders_off": "public",  # a signed link from a reminder email
    "auth.confirm_email": "public",  # a signed link sent to a new email address
    "invite.accept": "public",
    "core.home": SIGNED_IN,
    "core.staff_home": STAFF,
    "auth.logout": "public",
    "auth.quick_exit": "public",  # the quick exit's beacon: signs out whoever is signed in
    "auth.leave": "public",  # the quick exit's link: on to the neutral site, for anyone
    "auth.keep_alive": SIGNED_IN,
    "auth.mfa": "public",  # only does something between a right password and the code
    "auth.mfa_setup": "public",  # likewise (and signed in, with the password just confirmed)
    "auth.account": SIGNED_IN,
    "auth.security": SIGNED_IN,
    "auth.confirm": SIGNED_IN,
    "learn.index": SIGNED_IN,
    "learn.library": SIGNED_IN,
    "learn.module": SIGNED_IN,
    "learn.mark_read": SIGNED_IN,
    "learn.check": SIGNED_IN,
    "learn.print_view": SIGNED_IN,
    "learn.progress": SIGNED_IN,
    "learn.media": SIGNED_IN,
    "learn.certificate": SIGNED_IN,  # the signed-in person's own completions
    "learn.welcome": LEARNERS,  # the orientation is written for families and patients
    "learn.welcome_done": LEARNERS,
    "learn.attempt": {"family_active"},  # the attempt's owner only
    "learn.family": {"patient"},
    # A learner's notepad and worksheets: their own (the note is family_active's); no staff.
    "learn.notes": {"family_active", "family_withdrawn", "family_expired", "patient"},
    "learn.edit_note": {"family_active"},
    "learn.note_asked": {"family_active"},
    "learn.share_note": {"family_active"},
    "learn.delete_note": {"family_active"},
    "learn.worksheet": {"family_active", "family_withdrawn", "family_expired", "patient"},
    "learn.worksheet_print": {"family_active", "family_withdrawn", "family_expired", "patient"},
    "learn.withdraw": {"patient"},
    # A family member's own wellbeing check-ins (whatever their consent's state); no staff.
    "learn.wellbeing": {"family_active", "family_withdrawn", "family_expired"},
    "learn.wellbeing_checkin": {"family_active", "family_withdrawn", "family_expired"},
    "clinic.caseload": STAFF,
    "clinic.enroll": STAFF,
    "clinic.patient": STAFF_ON,
    "clinic.add_family": STAFF_ON,
    "clinic.new_consent": STAFF_ON,
    "clinic.print_consent": STAFF_ON,
    "clinic.revoke_consent": STAFF_ON,
    "clinic.invite": STAFF_ON,
    "clinic.invitation": STAFF_ON,
    "clinic.patient_login": STAFF_ON,
    "clinic.assign": STAFF_ON,
    "clinic.cancel_assignment": STAFF_ON,
    "clinic.restore_assignment": STAFF_ON,
    "clinic.cancel_path": STAFF_ON,
    "clinic.new_goal": STAFF_ON,
    "clinic.cancel_goal": STAFF_ON,
    "clinic.restore_path": STAFF_ON,
    "clinic.discharge": STAFF_ON,
    "clinic.readmit": STAFF_ON,
    "clinic.edit_patient": STAFF_ON,
    "clinic.edit_family": STAFF_ON,
    "clinic.consent_error": STAFF_ON,
    "clinic.void_patient": STAFF_ON,
    "clinic.learner": STAFF_ON,
    "clinic.learner_xapi": STAFF_ON,  # the drill-down's rule; its statements as xAPI JSON
    "clinic.contacted": STAFF_ON,  # both addresses: the patient, or one of their learners
    "clinic.items": STAFF,
    "clinic.sessions": STAFF,
    "clinic.new_session": STAFF,
    "clinic.session_detail": {"clinician_on", "admin"},  # its author, and admins
    "clinic.session_edit": {"clinician_on", "admin"},  # its author, and admins
    "clinic.session_void": {"clinician_on", "admin"},  # its author, and admins
    "clinic.reports": STAFF,
    "clinic.caseload_csv": STAFF,
    "clinic.xapi_export": STAFF,  # the caseload's xAPI statements (without dates: a 400)
    "clinic.patient_csv": STAFF_ON,
    "clinic.caseload_fhir": STAFF,  # the FHIR export of whatever the caseload holds
    "clinic.patient_fhir": STAFF_ON,
    "clinic.patient_report": STAFF_ON,
    "clinic.program_report": {"admin"},
    # The read-only API: a bearer token only. No session opens it (a 401 for every role,
    # anonymous included); its OpenAPI document holds no data.
    "api.openapi": "public",
    "api.patients": TOKEN_ONLY,
    "api.patient": TOKEN_ONLY,
    "api.patient_assignments": TOKEN_ONLY,
    "api.patient_attempts": TOKEN_ONLY,
    "api.patient_wellbeing": TOKEN_ONLY,
}
ADMIN_PREFIX = "admin."  # every admin route: admins only

# Staff pages that show no patient or family data, so need no audit row (HIPAA 164.312(b)).
# Every other page a staff member opens must write one: a new staff page that forgets its
# audit call fails ``test_access_matrix``.
NO_PATIENT_DATA = {
    "static",
    "core.index",
    "core.healthz",
    "core.home",
    "core.staff_home",
    "core.set_language",
    "auth.login",
    "auth.forgot",
    "auth.reset",
    "auth.reminders_off",
    "auth.confirm_email",
    "auth.logout",
    "auth.mfa",
    "auth.mfa_setup",
    "auth.account",
    "auth.security",
    "auth.confirm",
    "invite.accept",
    "learn.index",
    "learn.library",
    "learn.module",
    "learn.check",
    "learn.print_view",
    "learn.progress",
    "learn.media",
    "learn.certificate",
    "learn.welcome",
    "learn.welcome_done",
    "clinic.enroll",
    "admin.staff",
    "admin.roster_upload",  # the upload form and uploads listed by file name; no patient
    "admin.tokens",  # tokens: names, scopes, clinicians' names; no patient
    "admin.token_new",
    "admin.token_revoke",
}


def decision(endpoint: str):
    if endpoint.startswith(ADMIN_PREFIX):
        return {"admin"}
    return RULES.get(endpoint)


@dataclass
class World:
    ids: dict
    users: dict


def build_world(app) -> World:
    with app.app_context():
        clinician_on = make_user("clinician")
        clinician_off = make_user("clinician")
        admin = make_user("admin")
        patient_user = make_user("patient")
        fam = {state: make_user("family") for state in ("active", "withdrawn", "expired")}
        patient = make_patient(clinician_on, name="Matrix Patient", user=patient_user)
        make_patient(clinician_off, name="Elsewhere")
        # A colleague (no role here) covering for clinician_on for a week: the caseloads page
        # has a cover to end.
        db.session.add(
            CareTeamMember(
                patient_id=patient.id,
                clinician_id=make_user("clinician").id,
                ends_on=clock.today() + timedelta(days=7),
                covering_for_id=clinician_on.id,
            )
        )
        consent_ids = {}
        link_ids = {}
        for state, user in fam.items():
            link_ids[state], consent_ids[state] = make_family(patient, user, consent=state)
        # Admins reach a patient only through emergency access with a reason.
        grant = EmergencyAccess(
            user_id=admin.id,
            patient_id=patient.id,
            reason="Matrix test: the care team cannot be reached.",
            expires_at=clock.utcnow() + timedelta(hours=1),
        )
        db.session.add(grant)
        db.session.commit()
        assignment_id = make_assignment(patient, fam["active"], by=clinician_on)
        # Both modules of the test path, given as a path: the path pages have a unit to show.
        second = make_assignment(patient, fam["active"], "no-check", by=clinician_on)
        for path_row in (assignment_id, second):
            db.session.get(Assignment, path_row).path_slug = "test-path"
        db.session.commit()
        module = app.extensions["lms_library"].module("first-steps")
        answers = {q.id: q.correct_indices for q in module.quiz.questions}
        learning.submit_attempt(fam["active"], module, answers, "matrix-token")
        attempt_id = db.session.scalars(select(QuizAttempt.id)).one()
        invitation_id = invitation_ops.create_patient_login(
            clinician_on, patient, "matrix.login@example.org"
        ).invitation.id
        session_row = log_session(
            clinician_on,
            held_on=clock.today(),
            title="Matrix group",
            facilitator="C",
            module_slugs=["first-steps"],
            attendance={patient.id: "present"},
        )
        # A caseload move (moving nobody), for the page that can undo it.
        move = CaseloadMove(
            from_clinician_id=clinician_off.id,
            to_clinician_id=clinician_on.id,
            moved="",
            added="",
            moved_by_id=admin.id,
            moved_at=clock.utcnow(),
        )
        db.session.add(move)
        note = PracticeNote(user_id=fam["active"].id, body="A question for the session")
        db.session.add(note)
        # A roster uploaded and not applied yet, for its preview and apply pages.
        roster_row = RosterImport(
            filename="roster.csv",
            sha256="0" * 64,
            content="record_number,name,email,clinician_email\nM-1,Matrix Import,,"
            + clinician_on.email
            + "\n",
            summary="{}",
        )
        db.session.add(roster_row)
        goal = LearningGoal(
            patient_id=patient.id,
            learner_id=fam["active"].id,
            kind="finish",
            modules="first-steps",
            title="",
            target_on=clock.today(),
        )
        db.session.add(goal)
        # An API token, for the page that revokes it (its secret is not needed here).
        token, _secret = create_token(admin, "Matrix integration", "program", None, 30)
        db.session.commit()  # operations leave the commit to the request or command
        users = {
            "family_active": fam["active"],
            "family_withdrawn": fam["withdrawn"],
            "family_expired": fam["expired"],
            "patient": patient_user,
            "clinician_on": clinician_on,
            "clinician_off": clinician_off,
            "admin": admin,
        }
        ids = {
            "patient_id": patient.id,
            "consent_id": consent_ids["active"],
            "link_id": link_ids["active"],
            "grant_id": grant.id,
            "assignment_id": assignment_id,
            "attempt_id": attempt_id,
            "learner_id": fam["active"].id,
            "session_id": session_row.id,
            "invitation_id": invitation_id,
            "move_id": move.id,
            "path_slug": "test-path",
            "user_id": clinician_on.id,
            "slug": "first-steps",
            "key": "what-a-trigger-is",
            "course": "test-course",
            "filename": "images/dot.png",
            "token": "not-a-token",
            "note_id": note.id,
            "import_id": roster_row.id,
            "token_id": token.id,
            "goal_id": goal.id,
            "worksheet_key": "my-plan",
        }
        return World(ids=ids, users={k: u.email for k, u in users.items()})


def url_for_rule(rule, ids) -> str:
    url = rule.rule
    for arg in rule.arguments:
        value = ids.get(arg, 1)
        url = url.replace(f"<{arg}>", str(value))
        for converter in ("id", "int", "path", "string"):
            url = url.replace(f"<{converter}:{arg}>", str(value))
    return url


def _rules():
    app = create_app(_test_config("sqlite://"))
    return sorted((r for r in app.url_map.iter_rules()), key=lambda r: (r.endpoint, r.rule))


ALL_RULES = _rules()
# Static files (CSS, icons) carry no data; test_static_is_public covers them.
PAGE_RULES = [r for r in ALL_RULES if r.endpoint != "static"]


def test_every_route_has_a_decision():
    missing = [r.endpoint for r in ALL_RULES if decision(r.endpoint) is None]
    assert missing == [], f"routes without an access decision: {missing}"


def test_static_is_public(client):
    response = client.get("/static/css/app.css")
    response.close()  # a file response holds the file open until closed
    assert response.status_code == 200


# A saved world and its sign-ins are used for at most this long, then made again.
FRESH_SECONDS = 120


class MatrixWorlds:
    """The matrix world saved once (``base``), and once more per role just signed in, with
    that sign-in's cookies; made again when older than ``FRESH_SECONDS``."""

    def __init__(self, folder: Path, snapshots: Snapshots, sqlite_template) -> None:
        self.folder = folder
        self.snapshots = snapshots
        self.sqlite_template = sqlite_template
        self.courses = folder / "courses"
        write_course(self.courses)
        self.made_at = 0.0
        self.world: World | None = None
        self.cookies: dict[str, dict] = {}

    def config(self, url: str) -> dict:
        return _test_config(url, COURSES_DIR=str(self.courses))

    def _new_folder(self, name: str) -> Path:
        folder = self.folder / name
        folder.mkdir(exist_ok=True)
        for leftover in folder.glob("test.sqlite3*"):
            leftover.unlink()
        return folder

    def _build(self) -> None:
        self.snapshots.empty()
        url = self.snapshots.fresh_url(self._new_folder("building"))
        if self.sqlite_template is not None:
            copy_sqlite(self.sqlite_template, sqlite_file(url))
        app = create_app(self.config(url))
        helpers.CURRENT["app"] = app
        try:
            self.world = build_world(app)
        finally:
            helpers.CURRENT["app"] = None
        self.snapshots.save("base", app)
        self.cookies = {"anonymous": {}}
        self.made_at = time.monotonic()

    def _sign_in(self, role: str) -> None:
        url = self.snapshots.restore("base", self._new_folder(f"sign_in_{role}"))
        app = create_app(self.config(url))
        client = app.test_client()
        assert login(client, self.world.users[role]).status_code == 302
        self.cookies[role] = dict(client._cookies)
        self.snapshots.save(role, app)

    def case(self, role: str, folder: Path):
        """A new app on a copy of the world with ``role`` signed in, and a client holding that
        sign-in's cookies."""
        if self.world is None or time.monotonic() - self.made_at > FRESH_SECONDS:
            self._build()
        if role not in self.cookies:
            self._sign_in(role)
        url = self.snapshots.restore("base" if role == "anonymous" else role, folder)
        app = create_app(self.config(url))
        client = app.test_client()
        client._cookies.update(self.cookies[role])
        return app, client


@pytest.fixture(scope="module")
def matrix_worlds(tmp_path_factory, pg_schema, pg_schema_url, sqlite_template):
    snapshots = Snapshots(tmp_path_factory.mktemp("matrix_snapshots"), pg_schema_url, pg_schema)
    worlds = MatrixWorlds(tmp_path_factory.mktemp("matrix"), snapshots, sqlite_template)
    yield worlds
    snapshots.close()


@pytest.fixture
def matrix_case(matrix_worlds, tmp_path):
    """``(world, app, client)`` for one case: see ``MatrixWorlds.case``."""
    made = []

    def make(role: str):
        app, client = matrix_worlds.case(role, tmp_path)
        made.append(app)
        helpers.CURRENT["app"] = app
        return matrix_worlds.world, app, client

    yield make
    helpers.CURRENT["app"] = None
    for app in made:
        close_app_database(app)


def audit_rows(app, email: str | None) -> int:
    """Rows recording that this person viewed, printed or exported something (by the naming
    rule of view audit actions: ``*.view``, ``*_view``, ``*.print``, ``*.export``); other
    rows a page may write on the way, such as a consent found expired, do not count."""
    if email is None:
        return 0
    with app.app_context():
        return db.session.scalar(
            select(func.count(AuditEvent.id))
            .join(User, User.id == AuditEvent.actor_id)
            .where(
                User.email == email,
                or_(
                    AuditEvent.action.like("%view"),
                    AuditEvent.action.like("%.print"),
                    AuditEvent.action.like("%.export"),
                ),
            )
        )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("rule", PAGE_RULES, ids=lambda r: f"{r.endpoint}:{r.rule}")
def test_access_matrix(matrix_case, role, rule):
    world, app, client = matrix_case(role)
    url = url_for_rule(rule, world.ids)
    allowed = decision(rule.endpoint)
    email = world.users.get(role)
    audited_before = audit_rows(app, email)
    if "GET" in rule.methods:
        response = client.get(url)
    else:
        token = csrf_token(client, "/auth/login" if role == "anonymous" else "/auth/account")
        response = client.post(url, data={"csrf_token": token})
    response.close()
    location = response.headers.get("Location", "")
    if allowed == TOKEN_ONLY:
        assert response.status_code == 401, f"{url}: {role} got {response.status_code}"
        assert "Set-Cookie" not in response.headers
        return
    if allowed == "public":
        assert response.status_code not in (403, 404, 500) or rule.endpoint == "invite.accept"
        assert response.status_code != 500
        return
    if role == "anonymous":
        assert response.status_code == 302 and location.startswith("/auth/login"), (
            f"{url}: anonymous got {response.status_code}"
        )
        return
    if role in allowed:
        assert response.status_code not in (403, 404, 500), f"{url}: {role} refused"
        assert not location.startswith("/auth/login"), f"{url}: {role} sent to login"
        if (
            role in STAFF
            and "GET" in rule.methods
            and response.status_code == 200
            and rule.endpoint not in NO_PATIENT_DATA
        ):
            wrote = audit_rows(app, email) - audited_before
            assert wrote > 0, f"{url}: {role}'s view wrote no audit row"
    else:
        assert response.status_code == 404, f"{url}: {role} got {response.status_code}"
