"""Naughty input never breaks a page: every field of every POST form, and the query parameters
of the list pages, filled with the Big List of Naughty Strings (tests/data/blns.json).

Walks ``app.url_map`` like ``test_access_matrix``, so a new route is fuzzed without anyone
listing it. For each POST route and each role that may use it, the form is found on a page
the role can open (its own URL, else the page nearest to it that holds a form posting there),
every field is read from the HTML (hidden fields, selects, checkboxes and radios included),
and each field in turn is replaced by naughty strings while the others keep valid values and
the CSRF token stays real. The parts of every route's path (ids, slugs, tokens, file names)
get the same. Asserted: never a 5xx (on the answer, or on the page a redirect leads to), and
never a naughty string with markup or a quote shown back unescaped.

A run tries a sample of strings per field, always the same for a given seed: ``FUZZ_SEED``
(default: today's date, so each day tries others) is printed with every failure. ``FUZZ_ALL=1``
tries every string on every field.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, quote

import pyotp
import pytest
from werkzeug.datastructures import MultiDict

from lms import clock
from lms.extensions import db
from lms.invitations import operations as invitation_ops
from lms.mail import tokens
from lms.models import Assignment, EmergencyAccess, FamilyLink, LinkState, Patient, Role, User
from tests.forms import Form, local_path, parse_page
from tests.helpers import (
    PASSWORD,
    csrf_token,
    give_consent,
    login,
    make_patient,
    make_user,
)
from tests.test_access_matrix import ALL_RULES, World, build_world, decision, url_for_rule

BLNS: list[str] = json.loads((Path(__file__).parent / "data" / "blns.json").read_text("utf-8"))
# This app's own troublemakers, tried on every field in every run: database limits (NUL,
# integers beyond 32/64 bits, lengths), digits that are not ASCII, zxcvbn's 72-character
# limit, calendar edges, and markup in an attribute and in text.
EXTRA: list[str] = [
    "",
    "\x00",
    "a\x00b",
    "²",
    "٣",
    "99999999999999999999",
    "2147483648",
    "-1",
    "Correct horse battery staple, a long calm sentence " * 2,  # 102 characters
    "x" * 5000,
    "9999-12-31",
    "0001-01-01",
    '"><img src=x onerror=alert(1)>',
]
SEED = os.environ.get("FUZZ_SEED") or date.today().strftime("%Y%m%d")
FUZZ_ALL = os.environ.get("FUZZ_ALL") == "1"
PER_FIELD = int(os.environ.get("FUZZ_PER_FIELD", "4"))
REPRODUCE = f"reproduce with FUZZ_SEED={SEED}" + (" FUZZ_ALL=1" if FUZZ_ALL else "")

FILL_EMAIL = "new.person@example.org"
FILL_TEXT = "Sam Example"

# The roles of test_access_matrix that this file signs in as.
ROLES = {
    "anonymous": "anonymous",
    "family": "family_active",
    "patient": "patient",
    "clinician": "clinician_on",
    "admin": "admin",
}


@pytest.fixture
def app_config(app_config):
    # Hundreds of posts a minute from one address: the sign-in and invitation limits would
    # answer 429 long before the handlers behind them are reached.
    return {**app_config, "RATELIMIT_ENABLED": False}


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no browser can send it
        return False
    return True


POOL = [s for s in dict.fromkeys(BLNS) if _encodable(s)]


def strings_for(key: str) -> list[str]:
    """The naughty strings to try on one field or parameter in this run."""
    if FUZZ_ALL:
        return list(dict.fromkeys(POOL + EXTRA))
    rng = random.Random(f"{SEED}|{key}")
    return list(dict.fromkeys(rng.sample(POOL, PER_FIELD) + EXTRA))


_MARKUP = re.compile(r"<[A-Za-z!/?]")


def reflection_checkable(value: str) -> bool:
    """Strings that escaping always changes and that no page holds by chance: markup (``<``
    then a letter), or a double quote with some words (a lone ``"`` is in every page)."""
    if _MARKUP.search(value):
        return True
    return '"' in value and sum(ch.isalnum() for ch in value) >= 3


def valid_values(form: Form, fill: dict | None = None) -> MultiDict:
    """What a person would send: values as found, sensible ones for empty fields (``fill``
    names the value for some, like the email an invitation was sent to)."""
    fill = fill or {}
    today = clock.today().isoformat()
    data = MultiDict()
    for f in form.fields.values():
        if f.kind in ("checkbox", "radio", "select", "select-multiple"):
            chosen = f.values or [next((o for o in f.options if o), f.options[0])]
            if f.kind in ("radio", "select"):
                chosen = chosen[:1]
            for value in chosen:
                data.add(f.name, value)
            continue
        value = f.values[0] if f.values else ""
        if f.name in fill:
            value = fill[f.name]
        elif f.kind == "password":
            value = PASSWORD
        elif not value and f.kind != "hidden":
            value = {
                "email": FILL_EMAIL,
                "date": today,
                "number": "1",
                "textarea": "Some words.",
            }.get(f.kind, FILL_TEXT)
        data.add(f.name, value)
    if form.submit is not None:
        data.add(*form.submit)
    return data


def with_value(form: Form, data: MultiDict, name: str, value: str) -> MultiDict:
    out = data.copy()
    out.setlist(name, [value])
    if form.fields[name].kind == "password":
        # A confirmation must match, or the password itself is never looked at.
        for other in form.fields.values():
            if other.kind == "password" and "confirm" in other.name:
                out.setlist(other.name, [value])
    return out


# --- the world -----------------------------------------------------------------------------


@dataclass
class FuzzWorld:
    world: World
    overrides: dict[str, dict]  # endpoint -> ids used to build its URL instead of the world's
    renew: dict  # endpoint -> callable giving fresh ids once a single-use link is used up
    fill: dict[str, dict] = field(default_factory=dict)  # endpoint -> {field: valid value}
    # endpoint -> a step that puts a browser where the form is (between password and code)
    pending: dict = field(default_factory=dict)


def build_fuzz_world(app) -> FuzzWorld:
    world = build_world(app)
    with app.app_context():
        clinician = db.session.scalars(User.by_email(world.users["clinician_on"])).one()
        admin = db.session.scalars(User.by_email(world.users["admin"])).one()
        patient = db.session.get(Patient, world.ids["patient_id"])
        # Someone added but not yet joined, with the patient's consent, so the invitation form
        # has a choice.
        invited = FamilyLink(
            patient_id=patient.id,
            display_name="Invited Person",
            email="invited.person@example.org",
            relationship_kind="sibling",
            state=LinkState.INVITED,
        )
        db.session.add(invited)
        db.session.commit()
        give_consent(patient.id, invited.id)
        # The patient-login form shows only for a patient without a login (the admin reaches
        # that patient by emergency access).
        no_login = make_patient(clinician, name="No Login Yet")
        db.session.add(
            EmergencyAccess(
                user_id=admin.id,
                patient_id=no_login.id,
                reason="Fuzzing: the care team cannot be reached.",
                expires_at=clock.utcnow() + timedelta(hours=2),
            )
        )
        # The restore button shows only beside a cancelled reading.
        learner = db.session.scalars(User.by_email(world.users["family_active"])).one()
        # An earlier copy of a path reading, cancelled: the restore buttons of a reading
        # and of the path both show (restoring it is refused: the reading was given again).
        row = Assignment(
            module_slug="first-steps",
            learner_id=learner.id,
            patient_id=patient.id,
            path_slug="test-path",
            assigned_by_id=clinician.id,
            cancelled_at=clock.utcnow(),
        )
        # And a cancelled reading given on its own, for the restore button of one reading.
        alone = Assignment(
            module_slug="no-check",
            learner_id=learner.id,
            patient_id=patient.id,
            assigned_by_id=clinician.id,
            cancelled_at=clock.utcnow(),
        )
        db.session.add_all([row, alone])
        db.session.flush()
        cancelled = alone.id
        # The re-admit form shows only for a discharged patient.
        left = make_patient(clinician, name="Left The Program", status="discharged")
        db.session.get(Patient, left.id).discharged_on = clock.today()
        db.session.add(
            EmergencyAccess(
                user_id=admin.id,
                patient_id=left.id,
                reason="Fuzzing: the care team cannot be reached.",
                expires_at=clock.utcnow() + timedelta(hours=2),
            )
        )
        # The reactivate button shows only beside a deactivated account, the two-step reset
        # only beside an account that uses it.
        former = make_user("clinician", name="Former Colleague", active=False)
        two_step = make_user("clinician", name="Two Step Colleague")
        with_code = db.session.get(User, two_step.id)
        with_code.totp_secret = pyotp.random_base32()
        with_code.mfa_enabled_at = clock.utcnow()
        # Someone between password and code, for the code page.
        coded = make_user("family", email="coded.member@example.org")
        db.session.get(User, coded.id).totp_secret = pyotp.random_base32()
        db.session.commit()
        expired_family = db.session.scalars(User.by_email(world.users["family_expired"])).one()
        off_user = db.session.scalars(User.by_email(world.users["family_withdrawn"])).one()
        overrides = {
            "clinic.patient_login": {"patient_id": no_login.id},
            "clinic.readmit": {"patient_id": left.id},
            "clinic.void_patient": {"patient_id": no_login.id},
            "clinic.restore_assignment": {"assignment_id": cancelled},
            "admin.reactivate": {"user_id": former.id},
            "admin.reset_two_step": {"user_id": two_step.id},
            "auth.reset": {"token": tokens.reset_token(expired_family)},
            "auth.reminders_off": {"token": tokens.reminders_off_token(off_user)},
            "auth.confirm_email": {"token": _email_change(expired_family.id, 0)},
            "invite.accept": {"token": _new_invitation(clinician.id, patient.id)},
        }
        counter = {"n": 0}
        clinician_id, patient_id = clinician.id, patient.id
        expired_id = expired_family.id

    def renew_invitation() -> dict:
        counter["n"] += 1
        with app.app_context():
            email = f"new.person{counter['n']}@example.org"
            fw.fill["invite.accept"] = {"email": email}
            return {"token": _new_invitation(clinician_id, patient_id, email=email)}

    def renew_reset() -> dict:
        with app.app_context():
            user = db.session.scalars(User.by_email(world.users["family_expired"])).one()
            return {"token": tokens.reset_token(user)}

    def renew_email_change() -> dict:
        counter["n"] += 1
        with app.app_context():
            return {"token": _email_change(expired_id, counter["n"])}

    def password_step(client) -> None:
        """Between password and code: where the code form is."""
        assert login(client, "coded.member@example.org").headers["Location"] == "/auth/code"

    fw = FuzzWorld(
        world=world,
        overrides=overrides,
        renew={
            "invite.accept": renew_invitation,
            "auth.reset": renew_reset,
            "auth.confirm_email": renew_email_change,
        },
        pending={"auth.mfa": password_step},
    )
    return fw


def _new_invitation(clinician_id: int, patient_id: int, email: str = FILL_EMAIL) -> str:
    """An invitation for a newly added family member the patient consented to."""
    clinician = db.session.get(User, clinician_id)
    patient = db.session.get(Patient, patient_id)
    link = FamilyLink(
        patient_id=patient.id,
        display_name="New Person",
        email=email,
        relationship_kind="friend",
        state=LinkState.INVITED,
    )
    db.session.add(link)
    db.session.commit()
    give_consent(patient.id, link.id)
    new = invitation_ops._new_invitation(
        clinician, patient, email=email, role=Role.FAMILY, link=link
    )
    db.session.commit()
    return new.token


def _email_change(user_id: int, n: int) -> str:
    """A confirmation link for a new sign-in address waiting on this account."""
    user = db.session.get(User, user_id)
    user.pending_email = f"changed.{n}@example.org"
    db.session.commit()
    return tokens.email_change_token(user)


# --- a signed-in browser -------------------------------------------------------------------


class Visitor:
    """One role's browser: signs in again if a post signed it out."""

    def __init__(self, app, fw: FuzzWorld, role: str) -> None:
        self.app = app
        self.fw = fw
        self.role = role
        self.client = app.test_client()
        self.sign_in()

    def sign_in(self) -> None:
        if self.role == "anonymous":
            return
        email = self.fw.world.users[ROLES[self.role]]
        response = login(self.client, email)
        assert response.status_code == 302, f"{self.role} could not sign in"

    def signed_out(self, response) -> bool:
        location = response.headers.get("Location", "")
        return self.role != "anonymous" and location.startswith("/auth/login")

    def get(self, path: str):
        response = self.client.get(path)
        response.close()
        return response

    def get_pages(self, extra_ids: dict) -> list[str]:
        """Every page this role may open, as built from the world's ids (and ``extra_ids``,
        the ids a POST route was given)."""
        pages = []
        for rule in ALL_RULES:
            if "GET" not in rule.methods or rule.endpoint in ("static", "learn.media"):
                continue
            allowed = decision(rule.endpoint)
            if allowed != "public" and (
                self.role == "anonymous" or ROLES[self.role] not in allowed
            ):
                continue
            if rule.endpoint.endswith("_csv") or rule.rule.endswith(".csv"):
                continue
            ids = {**self.fw.world.ids, **extra_ids, **self.fw.overrides.get(rule.endpoint, {})}
            pages.append(url_for_rule(rule, ids))
        return pages


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def forms_on(visitor: Visitor, page: str, action: str) -> list[Form]:
    """The forms on ``page`` that post to ``action``, one per set of fields."""
    response = visitor.get(page)
    if response.status_code != 200 or response.mimetype != "text/html":
        return []
    parsed = parse_page(page, response.get_data(as_text=True))
    seen = set()
    forms = []
    for form in parsed.forms:
        if form.method != "post" or local_path(form.action, page).split("?")[0] != action:
            continue
        if form.signature() not in seen:
            seen.add(form.signature())
            forms.append(form)
    return forms


def find_forms(
    visitor: Visitor, action: str, own_page: str | None, extra_ids: dict | None = None
) -> tuple[str, list[Form]]:
    """The page holding forms that post to ``action`` (its own URL, else the nearest page
    holding one), and those forms."""
    if own_page:
        candidates = [own_page]
    else:
        pages = visitor.get_pages(extra_ids or {})
        candidates = sorted(pages, key=lambda p: (-_common_prefix(p, action), p))
    for page in candidates:
        forms = forms_on(visitor, page, action)
        if forms:
            return page, forms
    return "", []


# --- the tests -----------------------------------------------------------------------------

# Posted by a script, never by a form: the quick exit's beacon, whose one field (the CSRF
# token) tests/test_quick_exit_signout.py covers.
SCRIPT_POSTS = {"auth.quick_exit"}
POST_RULES = [r for r in ALL_RULES if "POST" in r.methods and r.endpoint not in SCRIPT_POSTS]
GET_OF = {r.rule for r in ALL_RULES if "GET" in r.methods}


@dataclass
class Report:
    posts: int = 0
    fields: int = 0
    failures: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        if len(self.failures) < 30:
            self.failures.append(message)


def check_response(report: Report, response, sent: str, where: str) -> None:
    if response.status_code >= 500:
        report.fail(f"{where}: {response.status_code} for {sent!r}")
        return
    if reflection_checkable(sent) and sent in response.get_data(as_text=True):
        report.fail(f"{where}: {sent!r} shown back unescaped")


def follow(visitor: Visitor, report: Report, response, sent: str, where: str) -> None:
    """A redirect's target is where a flashed message or a saved value is shown."""
    location = response.headers.get("Location", "")
    if 300 <= response.status_code < 400 and location.startswith("/"):
        target = visitor.client.get(location)
        check_response(report, target, sent, f"{where} -> GET {location}")
        target.close()


def fuzz_form(
    visitor: Visitor, report: Report, endpoint: str, url: str, page: str, form: Form
) -> None:
    for name in list(form.fields):
        report.fields += 1
        key = f"{endpoint}|{visitor.role}|{name}"
        for value in strings_for(key):
            baseline = valid_values(form, visitor.fw.fill.get(endpoint))
            response = visitor.client.post(url, data=with_value(form, baseline, name, value))
            response.close()
            report.posts += 1
            where = f"POST {url} as {visitor.role}, field {name!r}"
            check_response(report, response, value, where)
            follow(visitor, report, response, value, where)
            if visitor.signed_out(response):  # the post was "sign out", or it ended the session
                visitor.sign_in()
                form = _same_form(forms_on(visitor, page, url), form)
            if endpoint in visitor.fw.pending:  # back between password and code
                visitor.client = visitor.app.test_client()
                visitor.fw.pending[endpoint](visitor.client)
                form = _same_form(forms_on(visitor, page, url), form)
            if 300 <= response.status_code < 400 and endpoint in visitor.fw.renew:
                # A single-use link was used: carry on with a fresh one, as who we were.
                ids = {**visitor.fw.world.ids, **visitor.fw.renew[endpoint]()}
                visitor.client = visitor.app.test_client()
                visitor.sign_in()
                url = page = url_for_rule(_rule_of(endpoint), ids)
                form = _same_form(forms_on(visitor, page, url), form)


def _same_form(forms: list[Form], old: Form) -> Form:
    """The same form as fetched again (a new CSRF token); the old one if it is gone."""
    names = tuple(sorted(old.fields))
    return next((f for f in forms if tuple(sorted(f.fields)) == names), old)


def _rule_of(endpoint: str):
    return next(r for r in POST_RULES if r.endpoint == endpoint)


@pytest.mark.parametrize("rule", POST_RULES, ids=lambda r: f"{r.endpoint}:{r.rule}")
def test_post_forms_survive_naughty_strings(app, rule):
    fw = build_fuzz_world(app)
    allowed = decision(rule.endpoint)
    ids = {**fw.world.ids, **fw.overrides.get(rule.endpoint, {})}
    url = url_for_rule(rule, ids)
    own = url if rule.rule in GET_OF else None
    report = Report()
    found = []  # every role's forms first: fuzzing one (a discharge) may take another's away
    for role, matrix_role in ROLES.items():
        if allowed != "public" and matrix_role not in allowed:
            continue
        visitor = Visitor(app, fw, role)
        if rule.endpoint in fw.pending:
            if role != "anonymous":
                continue  # someone signed in is never between password and code
            fw.pending[rule.endpoint](visitor.client)
        page, forms = find_forms(visitor, url, own, fw.overrides.get(rule.endpoint))
        if forms:
            found.append((visitor, page, forms))
        elif allowed != "public":
            report.fail(f"{rule.endpoint}: no form posting to {url} found for {role}")
    covered = [visitor.role for visitor, _page, _forms in found]
    for visitor, page, forms in found:
        for form in forms:
            fuzz_form(visitor, report, rule.endpoint, url, page, form)
    assert covered, f"{rule.endpoint}: no role found a form posting to {url}"
    assert report.fields > 0
    print(f"{rule.endpoint}: {report.fields} fields, {report.posts} posts, roles {covered}")
    assert not report.failures, f"{REPRODUCE}\n" + "\n".join(report.failures)


# --- query parameters of GET pages ---------------------------------------------------------

# Parameters some pages read that no link or filter form on them shows.
KNOWN_PARAMS = {
    "clinic.caseload": ("page", "status", "show", "sort", "q"),
    "clinic.items": ("module",),
    "clinic.assign": ("what",),
    "clinic.new_consent": ("link",),
    "clinic.invite": ("link",),
    "learn.module": ("section", "view"),
    "admin.caseloads": ("status",),
    "admin.audit_log": ("page", "actor_id", "patient_id", "action", "date_from", "date_to"),
    "admin.audit_csv": ("actor_id", "patient_id", "action", "date_from", "date_to"),
    "auth.login": ("next",),
}


@pytest.mark.parametrize("role", list(ROLES))
def test_query_parameters_survive_naughty_strings(app, role):
    fw = build_fuzz_world(app)
    visitor = Visitor(app, fw, role)
    targets: dict[str, set[str]] = {}
    endpoint_of: dict[str, str] = {}
    for rule in ALL_RULES:
        if "GET" not in rule.methods:
            continue
        allowed = decision(rule.endpoint)
        if allowed != "public" and (role == "anonymous" or ROLES[role] not in allowed):
            continue
        ids = {**fw.world.ids, **fw.overrides.get(rule.endpoint, {})}
        path = url_for_rule(rule, ids)
        endpoint_of[path] = rule.endpoint
        targets.setdefault(path, set()).update(KNOWN_PARAMS.get(rule.endpoint, ()))
    # Parameters that links and filter forms on the pages use (pagination, filters).
    for page in list(targets):
        if (
            page.endswith(".csv")
            or endpoint_of[page] == "learn.media"
            or page.startswith("/static")
        ):
            continue
        response = visitor.get(page)
        if response.mimetype != "text/html":
            continue
        parsed = parse_page(page, response.get_data(as_text=True))
        for href in parsed.links:
            path = local_path(href, page)
            base, _sep, query = path.partition("?")
            if query and base in targets:
                targets[base].update(k for k, _v in parse_qsl(query, keep_blank_values=True))
        for form in parsed.forms:
            base = local_path(form.action, page).split("?")[0]
            if form.method == "get" and base in targets:
                targets[base].update(form.fields)
    report = Report()
    for path, params in sorted(targets.items()):
        for param in sorted(params):
            report.fields += 1
            for value in strings_for(f"GET {path}|{role}|{param}"):
                response = visitor.client.get(path, query_string={param: value})
                response.close()
                report.posts += 1
                check_response(report, response, value, f"GET {path}?{param}= as {role}")
                if visitor.signed_out(response):
                    visitor.sign_in()
    print(f"{role}: {report.fields} parameters on {len(targets)} pages, {report.posts} requests")
    assert report.fields > 0
    assert not report.failures, f"{REPRODUCE}\n" + "\n".join(report.failures)


# --- parts of the path ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", "family", "patient", "admin"])
def test_path_segments_survive_naughty_strings(app, role):
    """Ids, slugs, section keys, course names, file names and link tokens typed into the
    address bar: each in turn replaced while the others stay valid."""
    fw = build_fuzz_world(app)
    visitor = Visitor(app, fw, role)
    token = None
    report = Report()
    for rule in ALL_RULES:
        if not rule.arguments or rule.endpoint == "static":
            continue
        ids = {**fw.world.ids, **fw.overrides.get(rule.endpoint, {})}
        for arg in sorted(rule.arguments):
            report.fields += 1
            for value in strings_for(f"PATH {rule.endpoint}|{role}|{arg}"):
                url = url_for_rule(rule, {**ids, arg: quote(value, safe="")})
                if "GET" in rule.methods:
                    response = visitor.client.get(url)
                else:
                    if token is None:
                        page = "/auth/login" if role == "anonymous" else "/auth/account"
                        token = csrf_token(visitor.client, page)
                    response = visitor.client.post(url, data={"csrf_token": token})
                response.close()
                report.posts += 1
                check_response(report, response, value, f"{rule.endpoint} {arg}= as {role}")
                if visitor.signed_out(response):
                    visitor.sign_in()
                    token = None
    print(f"{role}: {report.fields} path arguments, {report.posts} requests")
    assert report.fields > 10
    assert not report.failures, f"{REPRODUCE}\n" + "\n".join(report.failures)
