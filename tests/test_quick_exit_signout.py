"""The quick exit signs out: the beacon (``POST /auth/quick-exit``, CSRF-protected) and the
link for browsers without JavaScript (``GET /auth/leave?t=<exit token>``, a sign-out only
with this session's token, a redirect to the neutral site always). And the idle-timeout
warning's "Stay signed in" (``POST /auth/keep-alive``), which restarts the idle clock."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import func, select

from lms import clock
from lms.extensions import db
from lms.models import AuditEvent
from tests.helpers import csrf_token, login, make_user, text_of

COOKIE = "lms_session"
NEUTRAL = "https://neutral.example/"
EXIT_LINK = re.compile(r'<a class="quick-exit" href="([^"]*)"[^>]*data-csrf="([^"]*)"')


def quick_exit_link(client, path: str = "/auth/account") -> tuple[str, str]:
    """The quick exit link's address and the beacon's CSRF token, as the page has them."""
    match = EXIT_LINK.search(text_of(client.get(path)))
    assert match, f"no signed-in quick exit link on {path}"
    return html.unescape(match.group(1)), html.unescape(match.group(2))


def signed_in(client) -> bool:
    response = client.get("/learn/")
    response.close()
    assert response.status_code < 500
    return not response.headers.get("Location", "").startswith("/auth/login")


def copy_of(app, client):
    """Another browser holding this one's cookie now (a copied cookie, or the back button's
    idea of the session)."""
    other = app.test_client()
    other.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return other


def logouts(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "logout")
        )


# --- the beacon -------------------------------------------------------------------------


def test_beacon_signs_out_everywhere_and_is_audited(app, client):
    user = make_user("family")
    login(client, user.email)
    _href, token = quick_exit_link(client)
    old_cookie = copy_of(app, client)
    assert signed_in(old_cookie)

    response = client.post("/auth/quick-exit", data={"csrf_token": token})

    assert response.status_code == 204
    assert response.get_data() == b""
    assert not signed_in(client)
    assert not signed_in(old_cookie)  # the session version moved on, as at sign-out
    assert logouts(app) == 1


def test_beacon_without_csrf_token_is_refused_and_changes_nothing(app, client):
    user = make_user("family")
    login(client, user.email)

    assert client.post("/auth/quick-exit").status_code == 400
    assert client.post("/auth/quick-exit", data={"csrf_token": "forged"}).status_code == 400

    assert signed_in(client)
    assert logouts(app) == 0


def test_beacon_when_signed_out_already_does_nothing(app, client):
    user = make_user("family")
    login(client, user.email)
    _href, token = quick_exit_link(client)
    assert client.post("/auth/quick-exit", data={"csrf_token": token}).status_code == 204

    again = client.post("/auth/quick-exit", data={"csrf_token": csrf_token(client, "/auth/login")})

    assert again.status_code == 204
    assert logouts(app) == 1
    anonymous = app.test_client()
    token = csrf_token(anonymous, "/auth/login")
    assert anonymous.post("/auth/quick-exit", data={"csrf_token": token}).status_code == 204
    assert logouts(app) == 1


# --- the link without JavaScript --------------------------------------------------------


def test_link_signs_out_with_this_sessions_token_and_goes_on(app, client):
    app.config["QUICK_EXIT_URL"] = NEUTRAL
    user = make_user("family", name="Robin Private")
    login(client, user.email)
    href, _token = quick_exit_link(client, "/learn/")
    assert href.startswith("/auth/leave?t=")
    # Nothing about the person in the address: only the token.
    assert user.email not in href and "Robin" not in href and f"={user.id}&" not in href
    old_cookie = copy_of(app, client)

    response = client.get(href)

    assert response.status_code == 303
    assert response.headers["Location"] == NEUTRAL
    assert not signed_in(client)
    assert not signed_in(old_cookie)
    assert logouts(app) == 1


def test_link_with_a_wrong_or_missing_token_only_goes_to_the_neutral_site(app, client):
    app.config["QUICK_EXIT_URL"] = NEUTRAL
    user = make_user("family")
    login(client, user.email)
    href, beacon_token = quick_exit_link(client)
    other = app.test_client()
    login(other, make_user("family").email)
    other_href, _ = quick_exit_link(other)

    for address in (
        "/auth/leave",
        "/auth/leave?t=",
        "/auth/leave?t=not-a-token",
        href + "x",
        other_href,  # another session's token
        "/auth/leave?t=" + beacon_token,  # the forms' CSRF token is not the exit token
    ):
        response = client.get(address)
        assert response.status_code == 303, address
        assert response.headers["Location"] == NEUTRAL, address
        assert signed_in(client), address
    assert logouts(app) == 0


def test_link_when_signed_out_simply_redirects(app, client):
    app.config["QUICK_EXIT_URL"] = NEUTRAL
    user = make_user("family")
    login(client, user.email)
    href, _token = quick_exit_link(client)
    assert client.get(href).status_code == 303

    again = client.get(href)

    assert again.status_code == 303
    assert again.headers["Location"] == NEUTRAL
    assert logouts(app) == 1


def test_signed_out_pages_link_straight_to_the_neutral_site(app, client):
    app.config["QUICK_EXIT_URL"] = NEUTRAL
    page = text_of(client.get("/auth/login"))
    assert f'<a class="quick-exit" href="{NEUTRAL}"' in page
    assert "data-csrf" not in page
    assert "data-idle-seconds" not in page  # no idle timer for nobody


# --- "Stay signed in" ---------------------------------------------------------------------


def body_number(client, name: str, path: str = "/auth/account") -> int:
    match = re.search(rf'{name}="(\d+)"', text_of(client.get(path)))
    assert match, f"no {name} on {path}"
    return int(match.group(1))


def test_keep_alive_needs_the_csrf_token(app, client):
    user = make_user("family")
    login(client, user.email)
    assert client.post("/auth/keep-alive").status_code == 400
    assert client.post("/auth/keep-alive", headers={"X-CSRFToken": "forged"}).status_code == 400


def test_keep_alive_restarts_the_idle_clock_at_once(app, client):
    """Even within a minute of the last request, when the idle clock is otherwise left
    alone (``SEEN_AT_RESOLUTION``): after it, a request just past the first limit is still
    signed in."""
    app.config["SESSION_IDLE_MINUTES"] = 30
    user = make_user("family")
    login(client, user.email)
    token = csrf_token(client, "/auth/account")
    clock.advance(timedelta(seconds=40))

    response = client.post("/auth/keep-alive", headers={"X-CSRFToken": token})

    assert response.status_code == 204
    clock.advance(timedelta(minutes=30) - timedelta(seconds=20))  # 30:20 after sign-in
    assert signed_in(client)


def test_without_keep_alive_the_same_wait_signs_out(app, client):
    app.config["SESSION_IDLE_MINUTES"] = 30
    user = make_user("family")
    login(client, user.email)
    clock.advance(timedelta(seconds=40))
    clock.advance(timedelta(minutes=30) - timedelta(seconds=20))
    assert not signed_in(client)


def test_keep_alive_late_in_the_idle_time(app, client):
    app.config["SESSION_IDLE_MINUTES"] = 30
    user = make_user("family")
    login(client, user.email)
    token = csrf_token(client, "/auth/account")
    clock.advance(timedelta(minutes=29))
    assert client.post("/auth/keep-alive", data={"csrf_token": token}).status_code == 204
    clock.advance(timedelta(minutes=29))  # 58 minutes after the last page
    assert signed_in(client)


def test_keep_alive_after_the_idle_sign_out_answers_with_sign_in(app, client):
    app.config["SESSION_IDLE_MINUTES"] = 30
    user = make_user("family")
    login(client, user.email)
    token = csrf_token(client, "/auth/account")
    clock.advance(timedelta(minutes=31))

    response = client.post("/auth/keep-alive", headers={"X-CSRFToken": token})

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert not signed_in(client)
    anonymous = app.test_client()
    token = csrf_token(anonymous, "/auth/login")
    response = anonymous.post("/auth/keep-alive", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_pages_tell_the_timer_the_time_left(app, client):
    app.config["SESSION_IDLE_MINUTES"] = 30
    user = make_user("family")
    login(client, user.email)
    clock.advance(timedelta(seconds=30))  # too soon for the page to move the idle clock
    assert body_number(client, "data-idle-seconds") == 1800
    assert 1768 <= body_number(client, "data-idle-left") <= 1770
    clock.advance(timedelta(minutes=5))  # this page moves it: the full time again
    assert 1799 <= body_number(client, "data-idle-left") <= 1800
