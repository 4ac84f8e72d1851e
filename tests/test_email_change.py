"""Changing one's own sign-in email: only after re-authentication, confirmed from the new
inbox, announced to the old one, never revealing whether an address has an account."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms import clock
from lms.extensions import db
from lms.models import AuditEvent, Outbox, User
from tests.helpers import csrf_token, login, make_user, post_form, smtp_settings, text_of

LINK = re.compile(r"https://learn\.example\.org(/auth/email/[^\s<>\"]+)")


@pytest.fixture
def app_config(app_config, smtp):
    return {**app_config, **smtp_settings(smtp)}


def outbox(app, kind: str) -> list[Outbox]:
    with app.app_context():
        return list(db.session.scalars(select(Outbox).where(Outbox.kind == kind)))


def link_in(smtp, recipient: str) -> str:
    [mail] = [m for m in smtp.messages if m.rcpt_tos == [recipient]]
    return LINK.search(mail.text).group(1)


def ask(client, new_email: str):
    return post_form(client, "/auth/security", {"em-new_email": new_email, "em-submit": "x"})


def test_email_change_is_confirmed_from_the_new_inbox(app, client, smtp):
    user = make_user("family", email="old.address@example.org")
    login(client, user.email)
    response = ask(client, "New.Address@Example.org")
    assert response.status_code == 302
    [mail] = outbox(app, "email_change")
    assert mail.recipient == "new.address@example.org"
    assert mail.subject == "Confirm your new email address"
    path = link_in(smtp, "new.address@example.org")
    assert "new.address" not in path and "example.org" not in path  # no address in the URL
    with app.app_context():
        assert db.session.get(User, user.id).email == "old.address@example.org"  # not yet

    visitor = app.test_client()  # the link may be opened on another device
    assert "Use this address from now on" in text_of(visitor.get(path))
    done = post_form(visitor, path, {})
    assert done.headers["Location"] == "/auth/login"
    with app.app_context():
        assert db.session.get(User, user.id).email == "new.address@example.org"
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"account.email_change_requested", "account.email_changed"} <= actions
    [notice] = outbox(app, "email_changed")
    assert notice.recipient == "old.address@example.org"
    assert client.get("/auth/account").status_code == 302  # signed out everywhere
    assert login(app.test_client(), "new.address@example.org").status_code == 302
    # The link works once.
    assert app.test_client().get(path).status_code == 400


def test_an_address_with_an_account_gets_the_same_answer_and_no_link(app, client):
    user = make_user("family")
    other = make_user("family", email="taken.address@example.org")
    login(client, user.email)
    taken = ask(client, other.email)
    free = ask(client, "free.address@example.org")
    assert taken.status_code == free.status_code == 302
    taken_page = text_of(client.get("/auth/security"))
    assert "We sent a link to the new address" in taken_page
    assert [m.recipient for m in outbox(app, "email_change")] == ["free.address@example.org"]


def test_the_link_expires(app, client, smtp):
    user = make_user("family")
    login(client, user.email)
    ask(client, "later.address@example.org")
    path = link_in(smtp, "later.address@example.org")
    clock.advance(timedelta(hours=25))
    response = app.test_client().get(path)
    assert response.status_code == 400 and "does not work any more" in text_of(response)


def test_changing_email_needs_a_recent_sign_in(app, client):
    user = make_user("family")
    login(client, user.email)
    token = csrf_token(client, "/auth/security")
    clock.advance(timedelta(minutes=11))
    response = client.post(
        "/auth/security",
        data={"em-new_email": "x.address@example.org", "em-submit": "x", "csrf_token": token},
    )
    assert response.headers["Location"].startswith("/auth/confirm")
    assert outbox(app, "email_change") == []


def test_asking_for_another_address_retires_the_first_link(app, client, smtp):
    user = make_user("family")
    login(client, user.email)
    ask(client, "first.choice@example.org")
    first = link_in(smtp, "first.choice@example.org")
    ask(client, "second.choice@example.org")
    assert app.test_client().get(first).status_code == 400
    second = link_in(smtp, "second.choice@example.org")
    assert post_form(app.test_client(), second, {}).status_code == 302
    with app.app_context():
        assert db.session.get(User, user.id).email == "second.choice@example.org"
