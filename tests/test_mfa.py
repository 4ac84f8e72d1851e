"""Two-step sign-in (TOTP) and re-authentication before sensitive actions."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from lms import clock
from lms.extensions import db
from lms.models import AuditEvent, RecoveryCode, User
from tests.helpers import PASSWORD, csrf_token, make_user, post_form, text_of

SECRET_RE = re.compile(r'<code class="setup-key">([A-Z2-7 ]+)</code>')
CODES_RE = re.compile(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>")


@pytest.fixture
def mfa_required(app):
    app.config["STAFF_MFA_REQUIRED"] = True
    return app


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def password_step(client, email, password=PASSWORD):
    token = csrf_token(client, "/auth/login")
    return client.post(
        "/auth/login", data={"email": email, "password": password, "csrf_token": token}
    )


def code_for(secret: str, steps_ahead: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(clock.utcnow()) + steps_ahead)


def enrol(client, email) -> tuple[str, list[str]]:
    """Sign in as staff for the first time: set up the app, get the recovery codes."""
    response = password_step(client, email)
    assert response.headers["Location"] == "/auth/two-step/setup"
    page = text_of(client.get("/auth/two-step/setup"))
    assert 'src="data:image/svg+xml' in page  # the QR code, drawn here
    secret = SECRET_RE.search(page).group(1).replace(" ", "")
    done = post_form(client, "/auth/two-step/setup", {"code": code_for(secret)})
    assert done.status_code == 200
    codes = CODES_RE.findall(text_of(done))
    return secret, codes


def sign_out(client):
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/auth/account")})


def test_staff_must_set_up_two_step_sign_in_before_anything(mfa_required, client):
    clinician = make_user("clinician")
    response = password_step(client, clinician.email)
    assert response.status_code == 302
    # Nobody is signed in between the password and the code.
    assert client.get("/clinic/").headers["Location"].startswith("/auth/login")
    secret, codes = enrol(client, clinician.email)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/clinic/").status_code == 200
    with mfa_required.app_context():
        user = db.session.get(User, clinician.id)
        assert user.totp_secret == secret and user.mfa_enabled_at is not None
        stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
        assert len(stored) == 10
        assert not {c.replace("-", "") for c in codes} & set(stored)  # hashes only
    assert {"login.password_ok", "mfa.enabled", "login.success"} <= set(actions(mfa_required))


def test_code_is_required_after_enrolment_and_cannot_be_replayed(mfa_required, client):
    clinician = make_user("clinician")
    secret, _codes = enrol(client, clinician.email)
    sign_out(client)

    assert password_step(client, clinician.email).headers["Location"] == "/auth/code"
    wrong = post_form(client, "/auth/code", {"code": "000000"})
    assert wrong.status_code == 200 and "didn&#39;t work" in text_of(wrong)
    code = code_for(secret, steps_ahead=1)  # the next step: the enrolment used this one
    assert post_form(client, "/auth/code", {"code": code}).status_code == 302
    assert client.get("/clinic/").status_code == 200
    sign_out(client)

    # The same code again, within its 30 seconds: refused.
    password_step(client, clinician.email)
    replay = post_form(client, "/auth/code", {"code": code})
    assert replay.status_code == 200 and "work only once" in text_of(replay)
    assert client.get("/clinic/").status_code == 302
    assert "mfa.failure" in actions(mfa_required)


def test_recovery_code_works_once(mfa_required, client):
    clinician = make_user("clinician")
    _secret, codes = enrol(client, clinician.email)
    sign_out(client)
    password_step(client, clinician.email)
    used = post_form(client, "/auth/code", {"code": codes[3].upper().replace("-", " ")})
    assert used.status_code == 302
    sign_out(client)
    password_step(client, clinician.email)
    again = post_form(client, "/auth/code", {"code": codes[3]})
    assert again.status_code == 200
    with mfa_required.app_context():
        left = db.session.scalar(
            select(func.count(RecoveryCode.id)).where(RecoveryCode.used_at.is_(None))
        )
    assert left == 9


def test_second_step_expires_and_needs_the_password_first(mfa_required, client):
    clinician = make_user("clinician")
    secret, _codes = enrol(client, clinician.email)
    sign_out(client)
    # Straight to the code page without a password: back to sign in.
    assert client.get("/auth/code").headers["Location"] == "/auth/login"
    password_step(client, clinician.email)
    token = csrf_token(client, "/auth/code")
    clock.advance(timedelta(minutes=6))
    late = client.post("/auth/code", data={"code": code_for(secret, 1), "csrf_token": token})
    assert late.headers["Location"] == "/auth/login"
    assert client.get("/clinic/").status_code == 302


def test_code_guessing_is_limited(mfa_required, client):
    clinician = make_user("clinician")
    enrol(client, clinician.email)
    sign_out(client)
    password_step(client, clinician.email)
    answers = [post_form(client, "/auth/code", {"code": f"{n:06d}"}).status_code for n in range(7)]
    assert answers[:5] == [200] * 5 and answers[5:] == [429, 429]


def test_family_members_may_turn_it_on_and_off(app, client):
    member = make_user("family")
    assert password_step(client, member.email).headers["Location"] == "/home"  # not required
    page = text_of(client.get("/auth/security"))
    assert "Turn on two-step sign-in" in page
    setup = text_of(client.get("/auth/two-step/setup"))
    secret = SECRET_RE.search(setup).group(1).replace(" ", "")
    assert post_form(client, "/auth/two-step/setup", {"code": code_for(secret)}).status_code == 200
    sign_out(client)
    assert password_step(client, member.email).headers["Location"] == "/auth/code"
    assert post_form(client, "/auth/code", {"code": code_for(secret, 1)}).status_code == 302
    off = post_form(client, "/auth/security", {"mfa-off": "1"})
    assert off.status_code == 302
    with app.app_context():
        assert db.session.get(User, member.id).totp_secret is None
    assert "mfa.disabled" in actions(app)


def test_staff_cannot_turn_it_off_when_required(mfa_required, client):
    clinician = make_user("clinician")
    enrol(client, clinician.email)
    post_form(client, "/auth/security", {"mfa-off": "1"})
    with mfa_required.app_context():
        assert db.session.get(User, clinician.id).totp_secret is not None


def test_admin_reset_clears_two_step_and_signs_the_person_out(mfa_required):
    clinician = make_user("clinician")
    admin = make_user("admin")
    clinician_client = mfa_required.test_client()
    enrol(clinician_client, clinician.email)
    admin_client = mfa_required.test_client()
    enrol(admin_client, admin.email)
    response = post_form(
        admin_client, f"/admin/staff/{clinician.id}/two-step/reset", {}, form_page="/admin/staff"
    )
    assert response.status_code == 302
    with mfa_required.app_context():
        user = db.session.get(User, clinician.id)
        assert user.totp_secret is None
        assert (
            db.session.scalars(
                select(RecoveryCode).where(RecoveryCode.user_id == clinician.id)
            ).all()
            == []
        )
        row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mfa.reset")).one()
        assert (row.actor_id, row.subject_id) == (admin.id, clinician.id)
    assert clinician_client.get("/clinic/").status_code == 302  # signed out everywhere
    # At the next sign-in they set it up again.
    assert password_step(clinician_client, clinician.email).headers["Location"] == (
        "/auth/two-step/setup"
    )


# --- re-authentication ----------------------------------------------------------------------


def test_stale_sign_in_must_confirm_before_creating_staff(mfa_required, client):
    admin = make_user("admin")
    secret, _codes = enrol(client, admin.email)
    token = csrf_token(client, "/admin/staff")
    clock.advance(timedelta(minutes=11))
    response = client.post(
        "/admin/staff",
        data={
            "email": "new.clinician@example.org",
            "display_name": "New Clinician",
            "role": "clinician",
            "password": "orchard lantern quietly hums 8",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/confirm?next=")
    with mfa_required.app_context():
        assert db.session.scalars(User.by_email("new.clinician@example.org")).first() is None
    # The confirm page wants the password and a code.
    no_code = post_form(client, "/auth/confirm", {"password": PASSWORD, "next": "/admin/staff"})
    assert no_code.status_code == 200 and "Code" in text_of(no_code)
    confirmed = post_form(
        client,
        "/auth/confirm",
        {"password": PASSWORD, "code": code_for(secret, 1), "next": "/admin/staff"},
    )
    assert confirmed.headers["Location"] == "/admin/staff"
    created = post_form(
        client,
        "/admin/staff",
        {
            "email": "new.clinician@example.org",
            "display_name": "New Clinician",
            "role": "clinician",
            "password": "orchard lantern quietly hums 8",
        },
    )
    assert created.status_code == 302
    assert {"reauth.failure", "reauth.success", "account.created"} <= set(actions(mfa_required))


@pytest.mark.parametrize(
    "path",
    ["/clinic/reports/caseload.csv", "/admin/audit.csv", "/auth/security", "/admin/staff"],
)
def test_exports_and_security_settings_need_a_recent_sign_in(app, client, path):
    user = make_user("admin" if path.startswith("/admin") else "clinician")
    password_step(client, user.email)
    clock.advance(timedelta(minutes=11))
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/confirm?next=")
    post_form(client, "/auth/confirm", {"password": PASSWORD, "next": path})
    assert client.get(path).status_code == 200


def test_moving_a_caseload_and_deactivating_need_a_recent_sign_in(app, client):
    admin = make_user("admin")
    victim = make_user("clinician")
    password_step(client, admin.email)
    token = csrf_token(client, "/admin/staff")
    clock.advance(timedelta(minutes=11))
    response = client.post(f"/admin/staff/{victim.id}/deactivate", data={"csrf_token": token})
    assert response.headers["Location"].startswith("/auth/confirm?next=/admin/staff")
    moved = client.post(
        "/admin/caseloads/move",
        data={"from_clinician": str(victim.id), "to_clinician": str(admin.id), "csrf_token": token},
    )
    assert moved.headers["Location"].startswith("/auth/confirm?next=/admin/caseloads")
    with app.app_context():
        assert db.session.get(User, victim.id).active


def test_current_password_guessing_is_limited(app, client):
    user = make_user("family")
    password_step(client, user.email)
    answers = []
    for n in range(7):
        response = post_form(
            client,
            "/auth/security",
            {
                "pw-current_password": f"a guess at the password {n}",
                "pw-new_password": "zebra orbit lantern 91",
                "pw-confirm": "zebra orbit lantern 91",
                "pw-submit": "x",
            },
        )
        answers.append(response.status_code)
    assert answers[:5] == [200] * 5 and answers[5:] == [429, 429]
    assert actions(app).count("account.password_change_failed") == 5


def test_operator_command_resets_two_step_sign_in(app, runner):
    import pyotp as _pyotp

    member = make_user("family")
    with app.app_context():
        user = db.session.get(User, member.id)
        user.totp_secret = _pyotp.random_base32()
        user.mfa_enabled_at = clock.utcnow()
        db.session.commit()
    result = runner.invoke(args=["users", "reset-two-step", member.email])
    assert result.exit_code == 0, result.output
    assert "was reset" in result.output
    with app.app_context():
        user = db.session.get(User, member.id)
        assert user.totp_secret is None and user.session_version == 2
        row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mfa.reset")).one()
        assert row.actor_id is None and row.detail == "operator command"
    again = runner.invoke(args=["users", "reset-two-step", member.email])
    assert "nothing changed" in again.output
    missing = runner.invoke(args=["users", "reset-two-step", "nobody@example.org"])
    assert missing.exit_code != 0


def test_one_persons_wrong_codes_do_not_slow_down_another(app):
    """The code limits count per person (signed in or between password and code)."""
    first, second = make_user("family"), make_user("family")
    clients = {}
    for user in (first, second):
        client = app.test_client()
        password_step(client, user.email)
        clients[user.id] = client
    for n in range(11):
        post_form(clients[first.id], "/auth/two-step/setup", {"code": f"{n:06d}"})
    blocked = post_form(clients[first.id], "/auth/two-step/setup", {"code": "000000"})
    assert blocked.status_code == 429
    other = post_form(clients[second.id], "/auth/two-step/setup", {"code": "000000"})
    assert other.status_code == 200  # a wrong code, told so, not throttled
