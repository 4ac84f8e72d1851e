"""Sessions: timeouts, cookie replay after logout / password change / deactivation."""

from __future__ import annotations

from datetime import timedelta

from lms import clock
from lms.accounts import services
from lms.extensions import db
from lms.models import User
from tests.helpers import PASSWORD, login, logout, make_user, post_form, text_of

COOKIE = "lms_session"


def copy_cookie(source, target) -> None:
    cookie = source.get_cookie(COOKIE)
    assert cookie is not None
    target.set_cookie(COOKIE, cookie.value)


def test_cookie_flags_and_no_patient_data(client):
    user = make_user("family", name="Private Person")
    response = login(client, user.email)
    header = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE)][0]
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    import base64
    import zlib

    payload = client.get_cookie(COOKIE).value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    data = zlib.decompress(raw) if client.get_cookie(COOKIE).value.startswith(".") else raw
    assert b"Private Person" not in data
    assert user.email.encode() not in data


def test_secure_cookie_in_production(monkeypatch, tmp_path):
    from lms.config import from_environment

    monkeypatch.setenv("LMS_ENV", "production")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    assert from_environment(str(tmp_path))["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("LMS_ENV", "development")
    assert from_environment(str(tmp_path))["SESSION_COOKIE_SECURE"] is False


def test_new_session_on_login(app, client):
    client.get("/auth/login")
    before = client.get_cookie(COOKIE).value
    user = make_user("family")
    login(client, user.email)
    assert client.get_cookie(COOKIE).value != before


def test_idle_timeout(client):
    user = make_user("family")
    login(client, user.email)
    clock.advance(timedelta(minutes=29))
    assert client.get("/auth/account").status_code == 200
    clock.advance(timedelta(minutes=29))
    assert client.get("/auth/account").status_code == 200  # activity keeps it alive
    clock.advance(timedelta(minutes=31))
    response = client.get("/auth/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert "signed out" in text_of(client.get("/auth/login"))


def test_absolute_lifetime(client):
    user = make_user("family")
    login(client, user.email)
    for _ in range(25):  # active every 29 minutes for just over 12 hours
        clock.advance(timedelta(minutes=29))
        response = client.get("/auth/account")
    assert response.status_code == 302


def test_timeouts_are_configurable(app, client):
    app.config["SESSION_IDLE_MINUTES"] = 5
    user = make_user("family")
    login(client, user.email)
    clock.advance(timedelta(minutes=6))
    assert client.get("/auth/account").status_code == 302


def test_cookie_replayed_after_logout_is_refused(app, client):
    user = make_user("family")
    login(client, user.email)
    thief = app.test_client()
    copy_cookie(client, thief)
    assert thief.get("/auth/account").status_code == 200
    logout(client)
    assert thief.get("/auth/account").status_code == 302


def test_cookie_replayed_after_password_change_is_refused(app, client):
    user = make_user("family")
    login(client, user.email)
    other_device = app.test_client()
    copy_cookie(client, other_device)
    response = post_form(
        client,
        "/auth/security",
        {
            "pw-current_password": PASSWORD,
            "pw-new_password": "a new long sentence for my account 7",
            "pw-confirm": "a new long sentence for my account 7",
            "pw-submit": "Change password",
        },
    )
    assert response.status_code == 302
    assert client.get("/auth/account").status_code == 200  # this browser stays signed in
    assert other_device.get("/auth/account").status_code == 302
    assert (
        login(app.test_client(), user.email, "a new long sentence for my account 7").status_code
        == 302
    )


def test_password_change_rejects_weak_and_wrong_current(client):
    user = make_user("family")
    login(client, user.email)
    weak = post_form(
        client,
        "/auth/security",
        {
            "pw-current_password": PASSWORD,
            "pw-new_password": "password1234",
            "pw-confirm": "password1234",
            "pw-submit": "x",
        },
    )
    assert weak.status_code == 200
    assert "too easy to guess" in text_of(weak)
    wrong = post_form(
        client,
        "/auth/security",
        {
            "pw-current_password": "not my password at all",
            "pw-new_password": "zebra orbit lantern 91",
            "pw-confirm": "zebra orbit lantern 91",
            "pw-submit": "x",
        },
    )
    assert "not your current password" in text_of(wrong)


def test_cookie_replayed_after_deactivation_is_refused(app, client):
    user = make_user("family")
    login(client, user.email)
    assert client.get("/auth/account").status_code == 200
    with app.app_context():
        services.set_active(db.session.get(User, user.id), False)
        db.session.commit()
    assert client.get("/auth/account").status_code == 302


def test_tampered_cookie_is_ignored(client):
    user = make_user("family")
    login(client, user.email)
    value = client.get_cookie(COOKIE).value
    client.set_cookie(COOKIE, value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
    assert client.get("/auth/account").status_code == 302


def test_every_new_password_form_refuses_the_account_email_beside_the_field(app, client):
    """The account page and the emailed reset page check a new password with the same rule
    (``lms.forms.StrongPassword``), against the account's own email, and change nothing."""
    from lms.accounts.passwords import verify_password
    from lms.mail.tokens import reset_token

    user = make_user("family", email="river.stone@example.org")
    with_email = "river.stone quietly walks home"
    login(client, user.email)
    changed = post_form(
        client,
        "/auth/security",
        {
            "pw-current_password": PASSWORD,
            "pw-new_password": with_email,
            "pw-confirm": with_email,
            "pw-submit": "x",
        },
    )
    assert changed.status_code == 200
    assert "use your email address in your password" in text_of(changed)
    assert 'id="pw-new_password-error"' in changed.get_data(as_text=True)
    logout(client)
    with app.app_context():
        token = reset_token(db.session.get(User, user.id))
    reset = post_form(
        client, f"/auth/reset/{token}", {"new_password": with_email, "confirm": with_email}
    )
    assert reset.status_code == 200
    assert "use your email address in your password" in text_of(reset)
    with app.app_context():
        assert verify_password(db.session.get(User, user.id).password_hash, PASSWORD)
