"""Shared by the browser tests, the accessibility report and the screenshot script.

The app is served for real (werkzeug, a thread, a free port on 127.0.0.1) and driven with
Playwright through Debian's Chromium (``/usr/bin/chromium``; Playwright's own browser download
cannot work here). The browser tests always use a temporary SQLite file, also when
``TEST_DATABASE_URL`` is set: they exercise the pages, not the database dialect, which the
rest of the suite covers on PostgreSQL. The data is the shipped ``courses/`` plus the demo
data from :func:`lms.demo.build`.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DEMO_PASSWORD = "correct horse battery staple 42"
NEUTRAL_SITE = "https://www.weather.gov/"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

ACCOUNTS = {
    "admin": "admin@example.org",
    "clinician": "clinician@example.org",
    "patient": "patient@example.org",
    "family": "family@example.org",
}


def missing_resource() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium is missing: {CHROMIUM} (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is missing (pip install -e '.[test]')"
    return None


class _QuietHandler(WSGIRequestHandler):
    """No access log lines in the test output; errors still reach the log."""

    def log_request(self, code="-", size="-"):
        """Log nothing for a request that went well."""


def _buffered(app):
    """Read each response whole and close it before sending. Werkzeug's development server
    skips closing a response when the browser drops the connection mid-send (a page left
    while its favicon loads, as the quick exit does), leaving a static file open."""

    def wrapper(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return wrapper


class LiveServer:
    """The app with demo data, served on a free local port until :meth:`close`."""

    def __init__(self) -> None:
        from lms import create_app
        from lms.extensions import db

        self._tmp = tempfile.mkdtemp(prefix="lms-browser-")
        self.app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "browser-test-secret-0123456789abcdefghijklmnop",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(self._tmp) / 'browser.sqlite3'}",
                "AUTO_MIGRATE": False,
                "RATELIMIT_STORAGE_URI": "memory://",
                "REDIS_URL": None,
                "LMS_ENV": "development",
                "SERVER_NAME": None,
                "ARGON2_PROFILE": "test",
                "COURSES_DIR": str(ROOT / "courses"),
                "MAIL_SERVER": None,
                "MAIL_DIR": str(Path(self._tmp) / "mail"),
            }
        )
        # Development mail is logged as a warning; quiet it while the server runs. The logger
        # is shared by every app in the process, so close() puts the levels back.
        self._levels = {
            name: logging.getLogger(name).level for name in (self.app.logger.name, "werkzeug")
        }
        self.app.logger.setLevel(logging.ERROR)
        with self.app.app_context():
            from lms import demo

            db.create_all()
            self.users = {email: user.id for email, user in demo.build(DEMO_PASSWORD).items()}
            db.session.commit()
            db.session.remove()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server(
            "127.0.0.1", 0, _buffered(self.app), threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.app.config["SITE_URL"] = self.url  # links in emails and invitations
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        from lms.extensions import db

        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        shutil.rmtree(self._tmp, ignore_errors=True)
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)

    # Data set up behind the browser's back, as another person's action would.
    def run(self, fn: Callable):
        """Call ``fn()`` in an app context as one unit of work (as a CLI command would:
        committed at the end) and return its result."""
        from lms import uow
        from lms.extensions import db

        with self.app.app_context():
            try:
                result = fn()
                uow.commit()
                return result
            finally:
                db.session.remove()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)


def sign_in(page, base: str, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def axe_violations(page) -> list[dict]:
    """axe-core (bundled with axe-playwright-python, no network) with the WCAG 2.0/2.1/2.2
    A and AA rules; returns the violations."""
    from axe_playwright_python.base import AXE_SCRIPT

    # The page as a person sees it: after a click that navigates, the DOM can be there before
    # the stylesheets are applied (unstyled links are smaller than any touch target).
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)  # through DevTools, so the page's CSP does not apply
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    return page.evaluate("options => axe.run(document, options)", options)["violations"]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:160]}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Every page type, reached the way a person would: (who is signed in, how to get there).


@dataclass(frozen=True)
class PageType:
    name: str
    role: str | None  # None: nobody signed in
    open: Callable  # (page, server) -> None; leaves the page showing this page type


def _demo_patient_id(server: LiveServer) -> int:
    from sqlalchemy import select

    from lms.extensions import db
    from lms.models import Patient

    return server.run(
        lambda: db.session.scalar(select(Patient.id).where(Patient.record_number == "DEMO-1"))
    )


def _first_checked_module(server: LiveServer) -> str:
    from lms.content import get_library

    def slug():
        return next(m.slug for m in get_library().modules() if m.quiz and "family" in m.audience)

    return server.run(slug)


def _new_invitation_token(server: LiveServer) -> str:
    """A fresh invitation for the demo's invited-not-joined family member (Chris Morgan)."""
    from sqlalchemy import select

    from lms.extensions import db
    from lms.invitations import operations as invitation_ops
    from lms.models import FamilyLink, User

    def make():
        link = db.session.scalar(
            select(FamilyLink).where(FamilyLink.email == "chris.morgan@example.org")
        )
        clinician = db.session.get(User, server.users[ACCOUNTS["clinician"]])
        return invitation_ops.invite(clinician, link.patient, link).token

    return server.run(make)


def _goto(path: str) -> Callable:
    def open_(page, server):
        page.goto(server.url + path)

    return open_


def _login_errors(page, server) -> None:
    page.goto(server.url + "/auth/login")
    page.get_by_label("Email").fill("nobody@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _invite(page, server) -> None:
    page.goto(f"{server.url}/invite/{_new_invitation_token(server)}")


def _invite_errors(page, server) -> None:
    _invite(page, server)
    page.get_by_label("Choose a password").fill("short")
    page.get_by_label("Type the password again").fill("different")
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_load_state()


def _module(view: str | None = None) -> Callable:
    def open_(page, server):
        slug = _first_checked_module(server)
        page.goto(f"{server.url}/learn/modules/{slug}" + (f"?{view}" if view else ""))

    return open_


def _section(page, server) -> None:
    from lms.content import get_library

    slug = _first_checked_module(server)
    key = server.run(lambda: get_library().module(slug).sections[1].key)
    page.goto(f"{server.url}/learn/modules/{slug}?section={key}")


def _check(page, server) -> None:
    page.goto(f"{server.url}/learn/modules/{_first_checked_module(server)}/check")


def _check_error(page, server) -> None:
    _check(page, server)
    page.get_by_role("button", name="Check my answers").click()
    page.wait_for_load_state()


def _result(page, server) -> None:
    page.goto(server.url + "/learn/progress")
    page.locator("a[href*='/attempts/']").first.click()
    page.wait_for_load_state()


def _print(page, server) -> None:
    page.goto(f"{server.url}/learn/modules/{_first_checked_module(server)}/print")


def _patient_page(page, server) -> None:
    page.goto(f"{server.url}/clinic/patients/{_demo_patient_id(server)}")


def _enroll_errors(page, server) -> None:
    page.goto(server.url + "/clinic/patients/new")
    page.get_by_label("Patient's name").fill("")
    page.get_by_label("Enrolled on").fill("")
    page.get_by_role("button", name="Enroll patient").click()
    page.wait_for_load_state()


def _patient_sub(path: str) -> Callable:
    def open_(page, server):
        page.goto(f"{server.url}/clinic/patients/{_demo_patient_id(server)}/{path}")

    return open_


def _consent_print(page, server) -> None:
    _patient_page(page, server)
    page.get_by_role("link", name="View / print").first.click()
    page.wait_for_load_state()


def _assign_errors(page, server) -> None:
    _patient_sub("assign")(page, server)
    page.get_by_role("button", name="Assign").click()
    page.wait_for_load_state()


def _learner_drill_down(page, server) -> None:
    from sqlalchemy import select

    from lms.extensions import db
    from lms.models import User

    family_id = server.run(
        lambda: db.session.scalar(select(User.id).where(User.email == ACCOUNTS["family"]))
    )
    page.goto(f"{server.url}/clinic/patients/{_demo_patient_id(server)}/learners/{family_id}")


def _items(page, server) -> None:
    page.goto(server.url + "/clinic/items")


def _session_errors(page, server) -> None:
    page.goto(server.url + "/clinic/sessions/new")
    page.fill("#title", "")
    page.get_by_role("button", name="Save session").click()
    page.wait_for_load_state()


def _session_page(suffix: str) -> Callable:
    """A page of the demo clinician's first education session (its edit or void form)."""

    def open_(page, server) -> None:
        from sqlalchemy import select

        from lms.extensions import db
        from lms.models import EducationSession

        session_id = server.run(
            lambda: db.session.scalar(select(EducationSession.id).order_by(EducationSession.id))
        )
        page.goto(f"{server.url}/clinic/sessions/{session_id}/{suffix}")

    return open_


def _contacted(page, server) -> None:
    page.goto(server.url + "/clinic/?show=needs_help")
    page.get_by_role("link", name=re.compile("Mark contacted")).first.click()
    page.wait_for_load_state()


MFA_EMAIL = "two.step@example.org"


def _mfa_user(server: LiveServer) -> str:
    """A family member with two-step sign-in on (made once); returns the TOTP secret."""
    import pyotp
    from sqlalchemy import select

    from lms import clock
    from lms.accounts import services
    from lms.accounts.passwords import hash_password
    from lms.extensions import db
    from lms.models import User

    def make():
        user = db.session.scalar(select(User).where(User.email == MFA_EMAIL))
        if user is None:
            user = services.create_user(
                email=MFA_EMAIL, display_name="Two Step", role="family", password=None
            )
            user.password_hash = hash_password(DEMO_PASSWORD)
            user.totp_secret = pyotp.random_base32()
            user.mfa_enabled_at = clock.utcnow()
            db.session.commit()
        return user.totp_secret

    return server.run(make)


def _code_page(page, server) -> None:
    _mfa_user(server)
    sign_in(page, server.url, MFA_EMAIL)


def _code_errors(page, server) -> None:
    _code_page(page, server)
    page.get_by_label("Code").fill("123")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()


def _fresh_member(server: LiveServer) -> str:
    """A new family account (for pages that change the account, like turning on two-step
    sign-in), so no other test's account changes under it."""
    import secrets

    from lms.accounts import services
    from lms.accounts.passwords import hash_password
    from lms.extensions import db

    email = f"member.{secrets.token_hex(4)}@example.org"

    def make():
        user = services.create_user(
            email=email, display_name="New Member", role="family", password=None
        )
        user.password_hash = hash_password(DEMO_PASSWORD)
        db.session.commit()

    server.run(make)
    return email


def _setup_page(page, server) -> None:
    sign_in(page, server.url, _fresh_member(server))
    page.goto(server.url + "/auth/two-step/setup")


def _recovery_codes(page, server) -> None:
    import pyotp

    _setup_page(page, server)
    secret = page.locator("code.setup-key").inner_text().replace(" ", "")
    page.get_by_label("6-digit code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    page.wait_for_load_state()


def _emergency_form(page, server) -> None:
    page.goto(f"{server.url}/admin/emergency/{_demo_patient_id(server)}")


def _patient_under_emergency_access(page, server) -> None:
    _emergency_form(page, server)
    page.get_by_label("Why do you need to open this patient's records?").fill(
        "The care team cannot be reached and the family called about an urgent concern."
    )
    page.get_by_role("button", name="Open the records").click()
    page.wait_for_load_state()


PAGE_TYPES = [
    PageType("login", None, _goto("/auth/login")),
    PageType("login-errors", None, _login_errors),
    PageType("forgot-password", None, _goto("/auth/forgot")),
    PageType("invitation", None, _invite),
    PageType("invitation-errors", None, _invite_errors),
    PageType("not-found-anonymous", None, _goto("/no-such-page")),
    PageType("learner-home", "family", _goto("/learn/")),
    PageType("library", "family", _goto("/learn/library")),
    PageType("module-overview", "family", _module()),
    PageType("module-section", "family", _section),
    PageType("module-all", "family", _module("view=all")),
    PageType("check", "family", _check),
    PageType("check-error", "family", _check_error),
    PageType("result", "family", _result),
    PageType("progress", "family", _goto("/learn/progress")),
    PageType("print", "family", _print),
    PageType("account", "family", _goto("/auth/account")),
    PageType("not-found", "family", _goto("/learn/modules/no-such-module")),
    PageType("patient-home", "patient", _goto("/learn/")),
    PageType("patient-family", "patient", _goto("/learn/family")),
    PageType("caseload", "clinician", _goto("/clinic/")),
    PageType("patient-page", "clinician", _patient_page),
    PageType("enroll-errors", "clinician", _enroll_errors),
    PageType("consent-form", "clinician", _patient_sub("consents/new")),
    PageType("consent-print", "clinician", _consent_print),
    PageType("invite", "clinician", _patient_sub("invite")),
    PageType("assign", "clinician", _patient_sub("assign")),
    PageType("assign-errors", "clinician", _assign_errors),
    PageType("confirm-discharge", "clinician", _patient_sub("discharge")),
    PageType("edit-patient", "clinician", _patient_sub("edit")),
    PageType("session-edit", "clinician", _session_page("edit")),
    PageType("session-void", "clinician", _session_page("void")),
    PageType("mark-contacted", "clinician", _contacted),
    PageType("caseload-needs-help", "clinician", _goto("/clinic/?show=needs_help&sort=overdue")),
    PageType("learner-drill-down", "clinician", _learner_drill_down),
    PageType("question-analysis", "clinician", _items),
    PageType("sessions", "clinician", _goto("/clinic/sessions")),
    PageType("session-form", "clinician", _goto("/clinic/sessions/new")),
    PageType("session-form-errors", "clinician", _session_errors),
    PageType("caseload-report", "clinician", _goto("/clinic/reports")),
    PageType("family-report", "clinician", _patient_sub("report")),
    PageType("program-report", "admin", _goto("/clinic/reports/program")),
    PageType("admin-overview", "admin", _goto("/admin/")),
    PageType("admin-staff", "admin", _goto("/admin/staff")),
    PageType("admin-caseloads", "admin", _goto("/admin/caseloads")),
    PageType("admin-audit", "admin", _goto("/admin/audit")),
    PageType("admin-emergency-form", "admin", _emergency_form),
    PageType("patient-page-emergency-access", "admin", _patient_under_emergency_access),
    PageType("account-security", "family", _goto("/auth/security")),
    PageType("confirm-password", "family", _goto("/auth/confirm?next=/auth/security")),
    PageType("two-step-setup", None, _setup_page),
    PageType("two-step-recovery-codes", None, _recovery_codes),
    PageType("two-step-code", None, _code_page),
    PageType("two-step-code-errors", None, _code_errors),
    # Measured outcomes and the ways in and out.
    PageType("wellbeing-check-in", "family", _goto("/learn/wellbeing/check-in")),
    PageType("wellbeing-trend", "family", _goto("/learn/wellbeing")),
    PageType("goal-form", "clinician", _patient_sub("goals/new")),
    PageType("admin-roster", "admin", _goto("/admin/roster")),
    PageType("admin-tokens", "admin", _goto("/admin/tokens")),
    PageType("admin-token-new", "admin", _goto("/admin/tokens/new")),
]


def due_in(days: int):
    from lms import clock

    return clock.today() + timedelta(days=days)


def _requires_browser():
    import pytest

    reason = missing_resource()
    return pytest.mark.skipif(reason is not None, reason=reason or "")


requires_browser = _requires_browser()
