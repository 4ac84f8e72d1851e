"""Data builders and small HTTP helpers shared by the tests."""

from __future__ import annotations

import contextlib
import html
import re

from flask import has_app_context
from sqlalchemy import event

from lms.accounts.passwords import hash_password
from lms.extensions import db
from lms.models import User

PASSWORD = "correct horse battery staple 42"
_counter = {"n": 0}

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


_HASH_CACHE: dict[str, str] = {}


def _hash(password: str) -> str:
    if password not in _HASH_CACHE:
        _HASH_CACHE[password] = hash_password(password)
    return _HASH_CACHE[password]


# Set by the ``app`` fixture. HTTP tests must not hold an app context open while they make
# requests (Flask would reuse it, and with it ``g`` and the session, across requests), so
# builders open a short one of their own and hand back detached, fully loaded objects.
CURRENT = {"app": None}


@contextlib.contextmanager
def app_context():
    if has_app_context():
        yield
        return
    with CURRENT["app"].app_context():
        yield


def detached(*objects):
    for obj in objects:
        db.session.refresh(obj)
        db.session.expunge(obj)
    return objects[0] if len(objects) == 1 else objects


def make_user(
    role: str = "family",
    *,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    active: bool = True,
) -> User:
    _counter["n"] += 1
    n = _counter["n"]
    outside = not has_app_context()
    with app_context():
        user = User(
            email=(email or f"{role}{n}@example.org").lower(),
            display_name=name or f"{role.title()} {n}",
            role=role,
            active=active,
            password_hash=_hash(password),
        )
        db.session.add(user)
        db.session.commit()
        return detached(user) if outside else user


def csrf_token(client, path: str) -> str:
    response = client.get(path)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path} (status {response.status_code})"
    return html.unescape(match.group(1))


def post_form(client, path: str, data: dict, *, form_page: str | None = None, **kwargs):
    """POST like a browser: fetch the form page first for its CSRF token."""
    token = csrf_token(client, form_page or path)
    return client.post(path, data={**data, "csrf_token": token}, **kwargs)


def login(client, email: str, password: str = PASSWORD, **kwargs):
    return post_form(client, "/auth/login", {"email": email, "password": password}, **kwargs)


def logout(client):
    return post_form(client, "/auth/logout", {}, form_page="/auth/account")


def text_of(response) -> str:
    return response.get_data(as_text=True)


COURSE_YML = """\
title: Test course
summary: A small course for tests.
audience: [family, patient]
modules: [first-steps, no-check]
paths:
  - slug: test-path
    title: Test path
    summary: Both modules.
    modules: [first-steps, no-check]
"""

FIRST_STEPS = """\
---
title: First steps
summary: A short test module.
audience: [family]
minutes: 10
objectives:
  - Name a trigger
  - Use one coping skill
  - Ask for help
sources:
  - "SAMHSA. TIP 39 (2020)."
reviewed: 2026-11-20
quiz:
  pass_mark: 0.8
  questions:
    - id: pick-one
      prompt: Which one is a trigger?
      type: single
      choices:
        - text: Feeling tired
          correct: true
          feedback: Yes. Being tired makes urges stronger.
        - text: A sunny day
          feedback: Not usually. Think about how the body feels.
    - id: pick-many
      prompt: Which are coping skills?
      type: multiple
      choices:
        - text: Slow breathing
          correct: true
          feedback: Yes, slow breathing calms the body.
        - text: Calling a friend
          correct: true
          feedback: Yes, reaching out helps.
        - text: Keeping it secret
          feedback: No. Secrets make stress grow.
    - id: true-false
      prompt: Asking for help is a strength.
      type: true_false
      choices:
        - text: "True"
          correct: true
          feedback: Right. It takes courage.
        - text: "False"
          feedback: Asking for help is a sign of strength.
---
Welcome to the test.

## What a trigger is

A trigger is something that raises the urge to use. {marker}

## One skill to try

Breathe in for four counts. Breathe out for six.

::: worksheet my-plan
title: My plan
fields:
  - key: skill
    label: The skill I will try
:::

![A calm blue dot](images/dot.png)

## Asking for help

Call a friend. Say how you feel.
"""

NO_CHECK = """\
---
title: No check here
summary: A module without a knowledge check.
audience: [patient]
minutes: 5
objectives:
  - Read a short page
  - Mark it as read
  - Finish the module
sources:
  - "NIDA (2020)."
reviewed: 2026-11-20
---
## Only part

Short text to read.

## Second part

More short text.

## Third part

The end.
"""


# A valid 1×1 PNG.
PNG_DOT = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63504838f01f0004240240eaa761c60000000049454e44ae426082"
)


def write_course(root, marker: str = "") -> None:
    """A tiny course tree for tests that must not depend on the shipped curriculum."""
    course = root / "test-course"
    course.mkdir(parents=True, exist_ok=True)
    (course / "course.yml").write_text(COURSE_YML)
    (course / "first-steps.md").write_text(FIRST_STEPS.replace("{marker}", marker))
    (course / "no-check.md").write_text(NO_CHECK)
    (course / "images").mkdir(exist_ok=True)
    (course / "images" / "dot.png").write_bytes(PNG_DOT)


def make_patient(clinician, *, name: str = "Test Patient", user=None, status: str = "active"):
    """A patient on ``clinician``'s caseload (detached when built outside an app context)."""
    from lms import clock
    from lms.models import CareTeamMember, Patient

    outside = not has_app_context()
    with app_context():
        patient = Patient(
            display_name=name,
            enrolled_on=clock.today(),
            status=status,
            user_id=user.id if user else None,
        )
        patient.care_team.append(CareTeamMember(clinician_id=clinician.id))
        db.session.add(patient)
        db.session.commit()
        return detached(patient) if outside else patient


def make_family(patient, user, *, consent: str = "active", relationship: str = "parent"):
    """Link ``user`` to ``patient`` as family with a consent in state active / withdrawn /
    expired / none. Returns (link_id, consent_id)."""
    from datetime import timedelta

    from lms import clock
    from lms.models import Consent, FamilyLink

    with app_context():
        link = FamilyLink(
            patient_id=patient.id,
            user_id=user.id,
            display_name=user.display_name,
            email=user.email,
            relationship_kind=relationship,
            state="active",
        )
        db.session.add(link)
        db.session.flush()
        consent_id = None
        if consent != "none":
            row = Consent(
                patient_id=patient.id,
                family_link_id=link.id,
                program_name="Test program",
                recipient_name=user.display_name,
                signature_method="paper",
                signed_on=clock.today() - timedelta(days=30),
                expires_on=clock.today() + timedelta(days=90),
            )
            if consent == "withdrawn":
                row.revoked_at = clock.utcnow()
            if consent == "expired":
                row.expires_on = clock.today() - timedelta(days=1)
            db.session.add(row)
            db.session.flush()
            consent_id = row.id
        db.session.commit()
        return link.id, consent_id


def make_assignment(
    patient, learner, slug: str = "first-steps", *, due_in_days: int | None = 7, by=None
):
    from datetime import timedelta

    from lms import clock
    from lms.models import Assignment

    with app_context():
        row = Assignment(
            module_slug=slug,
            learner_id=learner.id,
            patient_id=patient.id,
            assigned_by_id=by.id if by else None,
            due_on=clock.today() + timedelta(days=due_in_days) if due_in_days is not None else None,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


# --- production mode ---------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own for the tests


def redis_available() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def production_config(**extra) -> dict:
    """Settings production insists on: a strong key, the public address, Redis for shared
    limits (a key prefix of its own per call, so tests never share counts), secure cookies."""
    import uuid

    config = {
        "LMS_ENV": "production",
        "SECRET_KEY": "p" * 20 + uuid.uuid4().hex,
        "SITE_URL": "https://learn.example.org",
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": "lms-test-" + uuid.uuid4().hex[:12],
        "SESSION_COOKIE_SECURE": True,
        "STAFF_MFA_REQUIRED": True,
    }
    config.update(extra)
    return config


def give_consent(patient_id: int, link_id: int, *, days: int = 90) -> int:
    """A signed consent for one family member (inside or outside an app context)."""
    from datetime import timedelta

    from lms import clock
    from lms.models import Consent

    with app_context():
        row = Consent(
            patient_id=patient_id,
            family_link_id=link_id,
            program_name="Test program",
            recipient_name="Family member",
            signature_method="paper",
            signed_on=clock.today(),
            expires_on=clock.today() + timedelta(days=days),
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def smtp_settings(smtp) -> dict:
    """Settings that send the app's email to the test's SMTP server, with links to a public
    address."""
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "MAIL_TIMEOUT": 5,
        "MAIL_DEFAULT_SENDER": "Family Learning <no-reply@example.org>",
        "SITE_URL": "https://learn.example.org",
    }


def make_invited_link(
    patient_id: int,
    email: str = "chris@example.org",
    *,
    name: str = "Chris Example",
    relationship: str = "partner",
    consent: bool = True,
) -> int:
    """A family member added but not yet joined (with the patient's consent unless told
    otherwise); returns the link id."""
    from lms.models import FamilyLink, LinkState

    with app_context():
        link = FamilyLink(
            patient_id=patient_id,
            display_name=name,
            email=email,
            relationship_kind=relationship,
            state=LinkState.INVITED,
        )
        db.session.add(link)
        db.session.commit()
        link_id = link.id
    if consent:
        give_consent(patient_id, link_id)
    return link_id


def count_queries(app, client, path: str) -> int:
    """How many SQL statements one GET of ``path`` runs (it must answer 200)."""
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(statements)


def shown_day(day) -> str:
    """A day as pages show it to an English reader ("Tue, Dec 1"; ``lms.dates.day_text``)."""
    from lms import dates

    with app_context():
        return dates.day_text(day, locale="en")
