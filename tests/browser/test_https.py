"""Every role signs in, sends a form and signs out over real HTTPS, in production mode.

Before, nobody could: Flask-WTF checks the Referer of HTTPS posts and the site told browsers
never to send one, so POST /auth/login answered 400 — in a real browser against gunicorn
with TLS, and behind a TLS-terminating proxy alike. Both ways are tested here: gunicorn
serving TLS itself, and gunicorn on plain HTTP behind a proxy with ``TRUSTED_PROXIES=1``.

Production mode means staff must use two-step sign-in: the clinician and the admin set it up
at their first sign-in, and the clinician's replayed code is refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser import support
from tests.browser.production import PASSWORD, Certificates, GunicornApp, TLSProxy, free_port
from tests.helpers import redis_available

pytestmark = [
    support.requires_browser,
    pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379"),
    # One pytest-xdist worker runs them all: each served site (gunicorn, demo data) is
    # started once, and the two sites never run at once.
    pytest.mark.xdist_group("https"),
]

ROLES = ("family", "patient", "clinician", "admin")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return Certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module", params=["gunicorn-tls", "behind-proxy"])
def site(request, certs):
    """The public https:// address, served one of the two ways."""
    if request.param == "gunicorn-tls":
        port = free_port()
        url = f"https://127.0.0.1:{port}"
        app = GunicornApp(tls=certs, site_url=url, port=port)
        yield url
        app.close()
        return
    public, backend = free_port(), free_port()
    url = f"https://127.0.0.1:{public}"
    app = GunicornApp(tls=None, site_url=url, port=backend, proxies=1)
    proxy = TLSProxy(certs, public, backend)
    yield url
    proxy.close()
    app.close()


@pytest.fixture(scope="module")
def tls_browser(playwright_driver):
    browser = playwright_driver.chromium.launch(
        executable_path=support.CHROMIUM,
        args=[*support.LAUNCH_ARGS, "--ignore-certificate-errors"],
        headless=True,
    )
    yield browser
    browser.close()


@pytest.fixture
def page(tls_browser):
    context = tls_browser.new_context(viewport=support.DESKTOP)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def password_step(page, site: str, email: str) -> None:
    page.goto(f"{site}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def current_code(secret: str, ahead: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(datetime.now(UTC)) + ahead)


def set_up_two_step(page) -> str:
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step sign-in")
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator("code.setup-key").inner_text().replace(" ", "")
    page.get_by_label("6-digit code from the app").fill(current_code(secret))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    expect(page.locator("ul.recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name=re.compile("I have saved my codes")).click()
    return secret


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()


def submit_a_form(page, site: str, role: str) -> None:
    """One real POST per role, through the page's own form (CSRF token and Referer)."""
    if role in ("family", "patient"):
        page.goto(f"{site}/auth/account")
        page.locator("#prefs-locale").select_option("en")
        page.locator("form:has(#prefs-locale)").get_by_role("button", name="Save").click()
        expect(page.get_by_text("Saved.")).to_be_visible()
    elif role == "clinician":
        page.goto(f"{site}/clinic/patients/new")
        page.get_by_label("Patient's name").fill("Harper Https")
        page.get_by_label("Enrolled on").fill(support.due_in(0).isoformat())
        page.get_by_role("button", name="Enroll patient").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Harper Https")
    else:
        page.goto(f"{site}/admin/staff")
        email = f"new.{free_port()}@example.org"
        page.get_by_label("Email").fill(email)
        page.get_by_label("Name").fill("Nico New")
        page.get_by_label("Role").select_option("clinician")
        page.get_by_label("Initial password").fill("orchard lantern quietly hums 8")
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_text(f"Account created for {email}.")).to_be_visible()


@pytest.mark.parametrize("role", ROLES)
def test_role_signs_in_posts_and_signs_out_over_https(site, page, role):
    password_step(page, site, support.ACCOUNTS[role])
    expect(page.locator("main")).not_to_contain_text("Something was wrong with that request")
    if role in ("clinician", "admin"):
        set_up_two_step(page)
    else:
        expect(page).to_have_url(re.compile(r"/learn/$"))
    response = page.goto(f"{site}/auth/account")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")
    assert response.headers["referrer-policy"] == "same-origin"
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["__Host-lms_session"]
    assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Lax"
    assert "__Host-lms_device" in cookies
    submit_a_form(page, site, role)
    sign_out(page)
    page.goto(f"{site}/auth/account")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))


def test_staff_code_is_required_and_a_replayed_code_is_refused(site, page):
    email = "clinician2@example.org"  # a demo clinician no other test here signs in as
    password_step(page, site, email)
    secret = set_up_two_step(page)
    sign_out(page)
    password_step(page, site, email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    code = current_code(secret, ahead=1)  # the set-up used the current step
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/clinic/$"))
    sign_out(page)

    password_step(page, site, email)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#code-error")).to_contain_text("work only once")
    page.goto(f"{site}/clinic/")
    expect(page).to_have_url(re.compile(r"/auth/login"))
