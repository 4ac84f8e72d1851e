"""A crawl of every page type, as each role, in Spanish: no English interface string may show.

The world is the access matrix's (``tests/test_access_matrix.build_world``: users of every
role, a patient with family in each consent state, an assignment, an attempt, a session, an
emergency grant, a caseload move, a note), plus a usable invitation. Each role opens every
page its access decision allows (every GET route of ``app.url_map``, ids from the world), a
few forms sent back with errors, and a page that does not exist — once with the browser
asking for Spanish (``Accept-Language: es``) and once with the account set to Spanish while the
browser asks for English.

On each page the visible text is taken out: every text node, every element's whole text
(so a message with inline markup is one piece), and the words people read in attributes
(``aria-label``, ``alt``, ``title``, ``placeholder``, a button's ``value``, ``data-*-label``).
A piece that *is* an English msgid of the Spanish catalogue (placeholders match anything)
whose translation differs fails the test: English on a Spanish page. The page must also say
``<html lang="es">``.

Left out, on purpose:
- ``<script>``/``<style>``: not text.
- Module content: ``.prose`` (a module's Markdown), and anything inside an element whose
  ``lang`` is not Spanish: a reading not yet translated is shown in English *marked*
  ``lang="en"`` (WCAG 3.1.2), which is correct, and the language switch names "English" in
  English.
- Words of the course library (module, course and path titles, summaries, objectives,
  section titles, questions, choices, feedback) wherever they appear, e.g. a module's title in
  a clinician's table: content, translated as modules (``<slug>.es.md``), not by the catalogue.
- People's names, emails, record numbers and what staff typed (notes, reasons): data. They
  are never compared (only catalogue msgids are), so they cannot fail the test; the audit
  log's details are data too ("patient login" there is a record, not a label) and are left
  out where a page shows one.
- An msgid whose translation is the same text (e.g. "SAMHSA"), or whose English text is also
  the Spanish translation of some msgid (e.g. "No"): not a sign of English.
- The 42 CFR Part 2 notices' statutory text: fixed by regulation, not a msgid.
"""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po

from lms import i18n_cli
from lms.extensions import db
from lms.invitations import operations as invitation_ops
from lms.models import AuditEvent, FamilyLink, Patient, User
from tests import helpers
from tests.helpers import csrf_token, login, make_invited_link
from tests.test_access_matrix import PAGE_RULES, build_world, decision, url_for_rule

ROLES = ("anonymous", "family_active", "family_withdrawn", "patient", "clinician_on", "admin")

# Routes that are not pages: they sign out, answer 204, send a file, or act on GET.
NOT_PAGES = {
    "core.healthz",
    "auth.leave",
    "auth.logout",
    "auth.quick_exit",
    "auth.keep_alive",
    "learn.media",
    # JSON for other systems, not pages: the API's OpenAPI document, the FHIR bundles (their
    # narrative is record text in English, like the resources' codes) and xAPI statements.
    "api.openapi",
    "clinic.patient_fhir",
    "clinic.caseload_fhir",
    "clinic.learner_xapi",
}
LANG_OF_PAGE = re.compile(r"<html[^>]*\blang=\"([^\"]*)\"")


# --- the catalogue's English -------------------------------------------------------------


def _plain(text: str) -> str:
    """Text as a reader sees it: tags dropped, entities decoded, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _literal(text: str) -> str:
    """A msgid's words between placeholders as a pattern: white space as any white space,
    its edges kept (" and " must not match inside "cuando")."""
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return "".join(
        r"\s+" if part.isspace() else re.escape(part) for part in re.split(r"(\s+)", text) if part
    )


def _pattern(msgid: str) -> re.Pattern | None:
    """A msgid with placeholders as a pattern over the text a page shows; None when what is
    left besides placeholders is too little to tell English from anything else."""
    msgid = msgid.strip()
    pieces, literal, last = [], [], 0
    for match in PLACEHOLDER.finditer(msgid):
        literal.append(msgid[last : match.start()])
        pieces.append(_literal(msgid[last : match.start()]))
        pieces.append("%" if match.group() == "%%" else ".+?")
        last = match.end()
    literal.append(msgid[last:])
    pieces.append(_literal(msgid[last:]))
    # "%(first)s and %(last)s" would find English in any English sentence (a record typed in
    # English, say); such a msgid is left to its translators.
    if len(re.findall(r"[A-Za-z]", " ".join(literal))) < 5:
        return None
    return re.compile("".join(pieces))


@dataclass
class English:
    """The catalogue's English strings that must not show on a Spanish page."""

    exact: dict[str, str] = field(default_factory=dict)  # shown text -> msgid
    patterns: list[tuple[str, re.Pattern, str]] = field(default_factory=list)  # word, re, msgid

    def find(self, text: str) -> str | None:
        if text in self.exact:
            return self.exact[text]
        for word, pattern, msgid in self.patterns:
            if word in text and pattern.fullmatch(text):
                return msgid
        return None


def load_english(lang: str = "es") -> English:
    with open(i18n_cli.po_path(lang), "rb") as f:
        catalog = read_po(f, locale=lang)
    messages = list(catalog)[1:]
    spanish = set()
    for m in messages:
        forms = m.string if isinstance(m.string, tuple | list) else (m.string,)
        spanish.update(_plain(s) for s in forms if s)
    english = English()
    for m in messages:
        ids = m.id if isinstance(m.id, tuple | list) else (m.id,)
        forms = m.string if isinstance(m.string, tuple | list) else (m.string,)
        translated = not m.fuzzy and all(forms)
        for msgid in ids:
            shown = _plain(msgid)
            if not re.search(r"[A-Za-z]{2,}", shown) or shown in spanish:
                continue
            if translated and shown in {_plain(s) for s in forms}:
                continue  # the translation is the same text
            if PLACEHOLDER.search(msgid.replace("%%", "")):
                pattern = _pattern(msgid)
                if pattern is not None:
                    word = max(re.findall(r"[A-Za-z]{3,}", PLACEHOLDER.sub(" ", msgid)), key=len)
                    english.patterns.append((word, pattern, msgid))
            else:
                english.exact[shown.replace("%%", "%")] = msgid
    return english


# --- what a page shows ---------------------------------------------------------------------

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
READ_ATTRIBUTES = ("aria-label", "alt", "title", "placeholder")


class VisibleText(HTMLParser):
    """Pieces of text a reader meets, outside content and outside other languages."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, list[str]]] = []  # tag, left out, its text
        self.pieces: list[str] = []

    def _left_out(self, tag: str, attrs: dict) -> bool:
        if self.stack and self.stack[-1][1]:
            return True
        if tag in ("script", "style", "template"):
            return True
        if "prose" in (attrs.get("class") or "").split():
            return True
        lang = attrs.get("lang")
        return tag != "html" and lang is not None and not lang.startswith("es")

    def _attributes(self, tag: str, attrs: dict, left_out: bool) -> None:
        if left_out:
            return
        for name, value in attrs.items():
            if value and (
                name in READ_ATTRIBUTES or (name.startswith("data-") and name.endswith("-label"))
            ):
                self.pieces.append(_plain(value))
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.pieces.append(_plain(attrs["value"]))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        left_out = self._left_out(tag, attrs)
        self._attributes(tag, attrs, left_out)
        if tag not in VOID:
            self.stack.append((tag, left_out, []))

    def handle_startendtag(self, tag, attrs):
        attrs = dict(attrs)
        self._attributes(tag, attrs, self._left_out(tag, attrs))

    def handle_endtag(self, tag):
        if not any(open_tag == tag for open_tag, _, _ in self.stack):
            return
        while self.stack:
            open_tag, left_out, parts = self.stack.pop()
            text = " ".join("".join(parts).split())
            if not left_out and text and len(text) < 1200:
                self.pieces.append(text)
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self.stack and self.stack[-1][1]:
            return
        text = " ".join(data.split())
        if text:
            self.pieces.append(text)
        for _, left_out, parts in self.stack:
            if not left_out:
                parts.append(data)


def content_words(app) -> set[str]:
    """Every piece of text the course library supplies (content, not interface)."""
    library = app.extensions["lms_library"]
    words: set[str] = set()

    def add(*texts):
        words.update(_plain(str(t)) for t in texts if t)

    for item in (*library.courses, *library.paths):
        add(item.title, item.summary)
    modules = {id(m): m for m in (*library, *getattr(library, "_modules", {}).values())}
    for module in modules.values():
        add(module.title, module.summary, *module.objectives)
        for section in module.sections:
            add(section.title)
            for sheet in section.worksheets:
                add(sheet.title, getattr(sheet, "intro", None))
                for item in getattr(sheet, "fields", ()):
                    add(getattr(item, "label", None), getattr(item, "hint", None))
        for question in module.quiz.questions if module.quiz else ():
            add(question.prompt)
            for choice in question.choices:
                add(choice.text, choice.feedback)
    return words


# --- the crawl ----------------------------------------------------------------------------


@dataclass
class Findings:
    english: dict[str, set[str]] = field(default_factory=dict)  # msgid -> pages
    wrong_lang: dict[str, str] = field(default_factory=dict)  # page -> its lang
    pages: int = 0

    def add(self, msgid: str, page: str) -> None:
        self.english.setdefault(msgid, set()).add(page)

    def report(self) -> str:
        lines = [f"{len(self.english)} English strings on Spanish pages ({self.pages} pages):"]
        for msgid, pages in sorted(self.english.items())[:150]:
            lines.append(f"  {msgid!r} on {', '.join(sorted(pages)[:3])}")
        for page, lang in sorted(self.wrong_lang.items()):
            lines.append(f"  {page}: <html lang={lang!r}>, not 'es'")
        lines.append(
            "Translate them in lms/translations/es/LC_MESSAGES/messages.po "
            "(flask --app wsgi translate update first if missing), then "
            "flask --app wsgi translate compile."
        )
        return "\n".join(lines)


def _look(response, page: str, english: English, content: set[str], found: Findings) -> None:
    found.pages += 1
    if response.mimetype == "text/csv":
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        header = next((row for row in rows[1:] if row), [])  # after the notice and a blank
        pieces = [_plain(cell) for cell in header]
    else:
        body = response.get_data(as_text=True)
        match = LANG_OF_PAGE.search(body)
        if match is None or match.group(1) != "es":
            found.wrong_lang[page] = match.group(1) if match else "(none)"
        parser = VisibleText()
        parser.feed(body)
        pieces = parser.pieces
    for piece in pieces:
        if piece in content:
            continue
        msgid = english.find(piece)
        if msgid is not None:
            found.add(msgid, page)


def _pages_for(role: str, ids: dict) -> list[str]:
    urls = []
    for rule in PAGE_RULES:
        if rule.endpoint in NOT_PAGES or "GET" not in rule.methods:
            continue
        allowed = decision(rule.endpoint)
        if allowed != "public" and role not in allowed:
            continue
        urls.append(url_for_rule(rule, ids))
    urls.append("/no-such-page")  # the error page
    if role.startswith("family") or role == "patient":
        slug, key = ids["slug"], ids["key"]
        urls += [
            f"/learn/modules/{slug}?section={key}",
            f"/learn/modules/{slug}?view=all",
            "/learn/modules/no-such-module",
        ]
    return sorted(set(urls))


def _forms_with_errors(role: str, client, headers: dict) -> list[tuple[str, object]]:
    """A few forms sent back with their errors (and WTForms' own messages)."""

    def send(path, data, form_page=None):
        token = csrf_token(client, form_page or path)
        return client.post(path, data={**data, "csrf_token": token}, headers=headers)

    if role == "anonymous":
        return [
            ("POST /auth/login", send("/auth/login", {"email": "", "password": ""})),
            ("POST /auth/forgot", send("/auth/forgot", {"email": "not an email"})),
        ]
    sent = [("POST /auth/confirm", send("/auth/confirm", {"password": ""}))]
    if role == "clinician_on":
        sent.append(("POST /clinic/enroll", send("/clinic/enroll", {})))
    return sent


def _usable_invitation(ids: dict, clinician_email: str) -> str:
    """A Spanish invitation's token (its page is in the invitation's language)."""
    with helpers.app_context():
        clinician = db.session.scalars(User.by_email(clinician_email)).one()
        patient = db.session.get(Patient, ids["patient_id"])
        link = db.session.get(FamilyLink, make_invited_link(patient.id, "crawl@example.org"))
        new = invitation_ops.invite(clinician, patient, link)
        if hasattr(new.invitation, "locale"):
            new.invitation.locale = "es"
        db.session.commit()
        return new.token


def crawl(app, role: str, *, by_setting: bool, browser: str = "es") -> Findings:
    world = build_world(app)
    world.ids["usable_token"] = _usable_invitation(world.ids, world.users["clinician_on"])
    if by_setting:
        with app.app_context():
            for user in db.session.scalars(db.select(User)):
                user.locale = "es"
            db.session.commit()
    headers = {"Accept-Language": "en" if by_setting else browser}
    client = app.test_client()
    if role != "anonymous":
        assert login(client, world.users[role], headers=headers).status_code == 302
    english, content, found = load_english(), content_words(app), Findings()
    with app.app_context():  # what the audit log records is data (e.g. "patient login")
        content.update(_plain(d) for d in db.session.scalars(db.select(AuditEvent.detail)) if d)
    for url in _pages_for(role, world.ids):
        response = client.get(url, headers=headers)
        if response.status_code in (301, 302, 303, 307, 308, 204):
            continue
        _look(response, url, english, content, found)
    for page, response in _forms_with_errors(role, client, headers):
        _look(response, page, english, content, found)
    if role == "anonymous":
        # Each on a browser of its own: an invitation's page sets the language of the visit
        # (the invitation's) for the pages after it.
        for token in (world.ids["usable_token"], "not-a-token"):
            response = app.test_client().get(f"/invite/{token}", headers=headers)
            _look(response, "/invite/<token>", english, content, found)
    return found


@pytest.mark.parametrize("role", ROLES)
def test_spanish_from_the_browser(app, role):
    found = crawl(app, role, by_setting=False)
    assert found.pages > 3
    assert not found.english and not found.wrong_lang, found.report()


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_spanish_from_the_account_setting(app, role):
    found = crawl(app, role, by_setting=True)
    assert found.pages > 3
    assert not found.english and not found.wrong_lang, found.report()


# --- the crawl's own eyes ------------------------------------------------------------------


def test_the_crawl_finds_english_pages(app):
    """The same crawl over pages in English: it must see them."""
    found = crawl(app, "anonymous", by_setting=False, browser="en")
    assert "Sign in" in found.english or "Forgot your password?" in found.english
    assert found.wrong_lang.get("/auth/login") == "en"


def test_the_crawl_sees_english_and_leaves_content_alone():
    english = English(
        exact={"Sign in": "Sign in", "Email": "Email"},
        patterns=[("overdue", _pattern("%(n)d overdue"), "%(n)d overdue")],
    )
    page = """<!doctype html><html lang="es"><head><title>Email</title></head><body>
      <button aria-label="Email">x</button><p>Bienvenido. <strong>Hola</strong></p>
      <p>3 overdue</p><div class="prose"><p>Sign in</p></div><p lang="en">Sign in</p>
      <input type="submit" value="Sign in"><script>var s = "Sign in";</script></body></html>"""
    parser = VisibleText()
    parser.feed(page)
    hits = [english.find(p) for p in parser.pieces]
    assert "Email" in hits  # the title, the aria-label
    assert "%(n)d overdue" in hits
    # Once: the button; not the prose, the part in English, the script.
    assert parser.pieces.count("Sign in") == 1 and hits.count("Sign in") == 1
    assert "Bienvenido. Hola" in parser.pieces  # an element's whole text is one piece


def test_english_is_what_the_catalogue_has_not_translated(tmp_path, monkeypatch):
    po = tmp_path / "es" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: es\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "Sign in"\nmsgstr "Iniciar sesión"\n\n'
        'msgid "Not yet"\nmsgstr ""\n\n'
        'msgid "SAMHSA"\nmsgstr "SAMHSA"\n\n'
        'msgid "No"\nmsgstr "No"\n\n'
        'msgid "Hi %(name)s, welcome back"\nmsgstr ""\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n_cli, "TRANSLATIONS", tmp_path)
    english = load_english()
    assert english.find("Sign in") == "Sign in"
    assert english.find("Not yet") == "Not yet"
    assert english.find("Iniciar sesión") is None
    assert english.find("SAMHSA") is None and english.find("No") is None
    assert english.find("Hi Pat Taylor, welcome back") == "Hi %(name)s, welcome back"
