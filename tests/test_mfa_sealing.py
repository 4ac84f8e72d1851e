"""Two-step sign-in secrets sealed at rest (``lms.sealing``): a copy of the table holds no
code-making secret, rotating ``SECRET_KEY`` with the old one as a fallback keeps every code
working (and moves the secret to the new key), and a secret no key opens fails kindly."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from lms import sealing
from lms.extensions import db
from lms.models import User
from tests.helpers import make_user, post_form, text_of
from tests.test_mfa import code_for, enrol, password_step, sign_out


@pytest.fixture
def mfa_required(app):
    app.config["STAFF_MFA_REQUIRED"] = True
    return app


def stored(app, user_id: int) -> tuple[str | None, str | None]:
    with app.app_context():
        row = db.session.execute(
            text('SELECT totp_secret_sealed, totp_pending_sealed FROM "user" WHERE id = :id'),
            {"id": user_id},
        ).one()
        return row[0], row[1]


def test_secrets_are_sealed_at_rest_and_read_back_whole(mfa_required, client):
    clinician = make_user("clinician")
    setting_up = make_user("clinician")
    password_step(client, setting_up.email)
    page = text_of(client.get("/auth/two-step/setup"))  # a pending secret is made
    assert "setup-key" in page
    _secret, pending = stored(mfa_required, setting_up.id)
    assert pending.startswith(sealing.PREFIX)

    secret, _codes = enrol(mfa_required.test_client(), clinician.email)
    sealed, pending = stored(mfa_required, clinician.id)
    assert sealed.startswith(sealing.PREFIX) and pending is None
    assert secret not in sealed and secret.lower() not in sealed.lower()
    with mfa_required.app_context():
        assert db.session.get(User, clinician.id).totp_secret == secret


def test_rotating_secret_key_with_the_old_one_as_fallback_keeps_codes(mfa_required, make_app):
    clinician = make_user("clinician")
    client = mfa_required.test_client()
    secret, _codes = enrol(client, clinician.email)
    sign_out(client)
    old = mfa_required.config["SECRET_KEY"]
    new = "a-new-secret-key-for-this-program-" + "n" * 16
    rotated = make_app(SECRET_KEY=new, SECRET_KEY_FALLBACKS=[old], STAFF_MFA_REQUIRED=True)
    during = rotated.test_client()
    assert password_step(during, clinician.email).headers["Location"] == "/auth/code"
    assert post_form(during, "/auth/code", {"code": code_for(secret, 1)}).status_code == 302
    assert during.get("/clinic/").status_code == 200
    # Sealed again under the new key on the way: the new key alone opens it, the old no more.
    after = make_app(SECRET_KEY=new, STAFF_MFA_REQUIRED=True)
    with after.app_context():
        assert db.session.get(User, clinician.id).totp_secret == secret
    with mfa_required.app_context():
        assert db.session.get(User, clinician.id).totp_secret == sealing.UNREADABLE


def test_with_no_key_that_opens_it_codes_fail_kindly_and_recovery_codes_work(
    mfa_required, make_app
):
    clinician = make_user("clinician")
    client = mfa_required.test_client()
    secret, codes = enrol(client, clinician.email)
    lost = make_app(SECRET_KEY="a-different-key-nobody-kept-" + "z" * 20, STAFF_MFA_REQUIRED=True)
    other = lost.test_client()
    assert password_step(other, clinician.email).headers["Location"] == "/auth/code"
    refused = post_form(other, "/auth/code", {"code": code_for(secret, 1)})
    assert refused.status_code == 200 and "didn&#39;t work" in text_of(refused)
    assert post_form(other, "/auth/code", {"code": codes[0]}).status_code == 302
    assert other.get("/clinic/").status_code == 200
