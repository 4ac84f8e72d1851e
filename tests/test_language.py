"""Language follows the person: one rule decides a page's language (account, switch,
invitation, browser, default); the switch on every page; the clinician chooses an invitation's
language; every email in its recipient's language; ``lang`` matches the text of a reading.

Emails go to a real SMTP server (``tests/smtp_server.py``). Until the Spanish catalogue is
translated, a Spanish email is recognised by its ``lang="es"`` and by matching what the
catalogue gives in Spanish (the English words while a msgstr is empty).
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from flask_babel import gettext as babel_gettext
from sqlalchemy import select

from lms import clock
from lms.extensions import db
from lms.mail import messages
from lms.models import AuditEvent, Invitation, User
from tests.forms import form_data, form_posting_to
from tests.helpers import (
    FIRST_STEPS,
    app_context,
    csrf_token,
    login,
    logout,
    make_assignment,
    make_family,
    make_invited_link,
    make_patient,
    make_user,
    post_form,
    smtp_settings,
    text_of,
)

HTML_LANG = re.compile(r'<html lang="([a-z]+)">')
SPANISH = {"Accept-Language": "es-MX,es;q=0.9"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}
NOTE = "This reading is not in your language yet. It is shown in English."

# A Spanish version of the test course's "first-steps": the same sections in the same order,
# the same question ids and choices in the same order.
FIRST_STEPS_ES = """\
---
title: Primeros pasos
summary: Una lectura corta de prueba.
audience: [family]
minutes: 10
objectives:
  - Nombrar un detonante
  - Usar una estrategia para sobrellevar
  - Pedir ayuda
sources:
  - "SAMHSA. TIP 39 (2020)."
reviewed: 2026-11-20
translated_from: {source}
quiz:
  pass_mark: 0.8
  questions:
    - id: pick-one
      prompt: ¿Cuál es un detonante?
      type: single
      choices:
        - text: Sentirse cansado
          correct: true
          feedback: Sí. El cansancio hace más fuertes las ganas.
        - text: Un día de sol
          feedback: No suele serlo. Piense en cómo se siente el cuerpo.
    - id: pick-many
      prompt: ¿Cuáles son estrategias para sobrellevar?
      type: multiple
      choices:
        - text: Respirar despacio
          correct: true
          feedback: Sí, respirar despacio calma el cuerpo.
        - text: Llamar a un amigo
          correct: true
          feedback: Sí, buscar apoyo ayuda.
        - text: Guardarlo en secreto
          feedback: No. Los secretos hacen crecer el estrés.
    - id: true-false
      prompt: Pedir ayuda es una fortaleza.
      type: true_false
      choices:
        - text: "Verdadero"
          correct: true
          feedback: Así es. Hace falta valor.
        - text: "Falso"
          feedback: Pedir ayuda es una señal de fortaleza.
---
Le damos la bienvenida a la prueba.

## Qué es un detonante

Un detonante es algo que aumenta las ganas de consumir.

## Una estrategia para probar

Inhale contando hasta cuatro. Exhale contando hasta seis.

::: worksheet my-plan
title: Mi plan
fields:
  - key: skill
    label: La estrategia que voy a probar
:::

## Pedir ayuda

Llame a un amigo. Diga cómo se siente.
"""


@pytest.fixture
def english_only():
    """Asked for by a test that needs the library before "first-steps" is in Spanish."""


@pytest.fixture
def courses(courses, request):
    """The test course, with "first-steps" also in Spanish ("no-check" only in English)."""
    if "english_only" in request.fixturenames:
        return courses
    english = (courses / "test-course" / "first-steps.md").read_bytes()
    source = hashlib.sha256(english).hexdigest()[:10]
    (courses / "test-course" / "first-steps.es.md").write_text(
        FIRST_STEPS_ES.format(source=source), encoding="utf-8"
    )
    assert FIRST_STEPS.count("\n## ") == FIRST_STEPS_ES.count("\n## ")
    return courses


def es(app, msgid: str, **values) -> str:
    """What the Spanish catalogue says for ``msgid`` (the msgid itself until translated)."""
    with app.test_request_context(), force_locale("es"):
        return babel_gettext(msgid, **values)


def page_lang(response) -> str:
    match = HTML_LANG.search(text_of(response))
    assert match, "no <html lang> on the page"
    return match.group(1)


def switch(client, lang: str, next_url: str, **headers):
    token = csrf_token(client, "/auth/login")
    return client.post(
        "/language", data={"lang": lang, "back": next_url, "csrf_token": token}, headers=headers
    )


def user_locale(user_id: int) -> str | None:
    with app_context():
        return db.session.get(User, user_id).locale


# --- the order of choice ------------------------------------------------------------------


def test_the_browser_decides_when_nothing_else_does(client):
    assert page_lang(client.get("/auth/login", headers=SPANISH)) == "es"
    assert page_lang(client.get("/auth/login", headers=ENGLISH)) == "en"
    assert page_lang(client.get("/auth/login", headers={"Accept-Language": "fr"})) == "en"
    assert page_lang(client.get("/auth/login")) == "en"


def test_the_switch_comes_before_the_browser_and_survives_signing_in_and_out(app, client):
    user = make_user("family")
    response = switch(client, "es", "/auth/login", **ENGLISH)
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert page_lang(client.get("/auth/login", headers=ENGLISH)) == "es"
    # Signing in starts a fresh session, but keeps the choice (nobody is named by it).
    assert login(client, user.email, headers=ENGLISH).status_code == 302
    assert page_lang(client.get("/learn/", headers=ENGLISH)) == "es"
    assert user_locale(user.id) is None  # chosen before signing in: the account is untouched
    logout(client)
    assert page_lang(client.get("/auth/login", headers=ENGLISH)) == "es"


def test_the_account_setting_comes_before_the_switch_and_the_browser(app, client):
    user = make_user("family")
    with app_context():
        db.session.get(User, user.id).locale = "en"
        db.session.commit()
    switch(client, "es", "/auth/login")
    assert page_lang(client.get("/auth/login", headers=SPANISH)) == "es"
    login(client, user.email)
    assert page_lang(client.get("/learn/", headers=SPANISH)) == "en"


def test_a_language_the_program_does_not_have_is_never_used(app, client):
    user = make_user("family")
    with app_context():
        db.session.get(User, user.id).locale = "fr"  # e.g. an old setting
        db.session.commit()
    login(client, user.email)
    assert page_lang(client.get("/learn/", headers=SPANISH)) == "es"


# --- the switch ---------------------------------------------------------------------------


def switch_form(response, page: str):
    html = text_of(response)
    form = form_posting_to(html, page, "/language")
    return html, form


@pytest.mark.parametrize("page", ["/auth/login", "/auth/forgot", "/no-such-page"])
def test_the_switch_is_on_pages_before_sign_in_and_on_error_pages(client, page):
    response = client.get(page, headers=ENGLISH)
    html, form = switch_form(response, page)
    assert form.fields["back"].values == [page]
    assert "csrf_token" in form.fields
    # The other language, named in its own words and marked as such.
    assert '<button type="submit" class="link-button" name="lang" value="es" lang="es">Español' in (
        html
    )
    spanish = client.get(page, headers=SPANISH)
    assert 'name="lang" value="en" lang="en">English</button>' in text_of(spanish)


def test_the_switch_on_a_signed_in_page_saves_the_account_setting_once(app, client):
    user = make_user("family")
    login(client, user.email)
    data = form_data(client, "/learn/progress", "/language", lang="es")
    assert data["back"] == "/learn/progress"
    first = client.post("/language", data=data, headers=ENGLISH)
    again = client.post("/language", data=data, headers=ENGLISH)  # a double click
    assert first.headers["Location"] == again.headers["Location"] == "/learn/progress"
    assert user_locale(user.id) == "es"
    assert page_lang(client.get("/learn/progress", headers=ENGLISH)) == "es"
    with app_context():
        changes = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "account.preferences_changed")
        ).all()
    assert len(changes) == 1  # the second click changed nothing
    # The account page shows it as the setting.
    account = text_of(client.get("/auth/account"))
    assert re.search(r'<option[^>]*selected[^>]*value="es"|<option value="es" selected', account)


def test_the_switch_goes_back_only_to_this_site(client):
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "", "javascript:x"):
        response = switch(client, "es", bad)
        assert response.status_code == 302
        assert response.headers["Location"] == "/", bad


def test_the_switch_returns_to_the_same_address_without_typed_text(app, client):
    clinician = make_user("clinician")
    login(client, clinician.email)
    # Only the path is written into the page: nothing typed in the address is echoed.
    html, form = switch_form(client.get("/clinic/?q=Sam+Example&page=1"), "/clinic/")
    assert form.fields["back"].values == ["/clinic/"]
    assert "Sam" not in html.split('name="back"')[1].split(">")[0]
    data = form_data(client, "/clinic/", "/language", lang="en")

    def back_with(referrer: str | None) -> str:
        headers = {"Referer": referrer} if referrer else {}
        return client.post("/language", data=data, headers=headers).headers["Location"]

    # The browser's same-site Referer gives the rest of the address, without the search.
    assert back_with("http://localhost/clinic/?q=Sam+Example&page=1") == "/clinic/?page=1"
    assert back_with("http://localhost/clinic/?q=Sam") == "/clinic/"
    # Another site's, or another page's, address is not followed: the form's path is.
    assert back_with("https://evil.example/clinic/?page=1") == "/clinic/"
    assert back_with("http://localhost/learn/?x=1") == "/clinic/"
    assert back_with(None) == "/clinic/"


def test_a_reader_comes_back_to_the_section_they_were_reading(app, client, reader):
    page = "/learn/modules/no-check?section=second-part"
    data = form_data(client, page, "/language", lang="en")
    assert data["back"] == "/learn/modules/no-check"
    response = client.post("/language", data=data, headers={"Referer": "http://localhost" + page})
    assert response.headers["Location"] == page


def test_a_language_that_is_not_offered_changes_nothing_and_says_so(app, client):
    response = switch(client, "xx", "/auth/login", **ENGLISH)
    assert response.status_code == 302
    page = client.get("/auth/login", headers=ENGLISH)
    assert page_lang(page) == "en"
    assert "That language is not available here. Nothing was changed." in text_of(page)


def test_the_switch_needs_the_forms_token(client):
    response = client.post("/language", data={"lang": "es", "next": "/auth/login"})
    assert response.status_code == 400
    assert page_lang(client.get("/auth/login", headers=ENGLISH)) == "en"


# --- the invitation's language -------------------------------------------------------------


@pytest.fixture
def mail_server(app, smtp):
    app.config.update(smtp_settings(smtp))
    return smtp


@pytest.fixture
def clinic(app, client):
    clinician = make_user("clinician", name="Casey Rivera")
    login(client, clinician.email)
    patient = make_patient(clinician, name="Sam Example")
    return clinician, patient


def invite(client, patient, link_id: int, locale: str | None):
    page = f"/clinic/patients/{patient.id}/invite"
    values = {"family_link": str(link_id)}
    if locale is not None:
        values["locale"] = locale
    return client.post(page, data=form_data(client, page, page, **values))


def test_the_invite_form_offers_each_language_with_the_programs_as_default(client, clinic):
    _clinician, patient = clinic
    make_invited_link(patient.id)
    page = f"/clinic/patients/{patient.id}/invite"
    html = text_of(client.get(page))
    form = form_posting_to(html, page, page)
    assert form.fields["locale"].values == ["en"]  # the program's default, selected
    assert '<option lang="es" value="es">Español</option>' in html
    assert '<label for="locale">' in html


def test_a_spanish_invitation_is_emailed_shown_and_joined_in_spanish(app, client, clinic, smtp):
    app.config.update(smtp_settings(smtp))
    _clinician, patient = clinic
    link_id = make_invited_link(patient.id, "pat@example.org", name="Pat Parent")
    response = invite(client, patient, link_id, "es")
    assert response.status_code == 302
    with app_context():
        invitation = db.session.scalars(select(Invitation)).one()
        assert invitation.locale == "es"
    # The clinician sees which language it went in.
    shown = text_of(client.get(response.headers["Location"]))
    assert '<span lang="es">Español</span>' in shown

    [mail] = smtp.messages
    assert mail.subject == es(app, "You're invited to set up your account")
    assert '<html lang="es">' in mail.html
    assert es(app, "If you were not expecting this email, you can ignore it.") in mail.text
    [url] = re.findall(r"https://learn\.example\.org(/invite/[^\s<>\"]+)", mail.text)

    visitor = app.test_client()
    page = visitor.get(url, headers=ENGLISH)  # an English browser: the invitation decides
    assert page.status_code == 200 and page_lang(page) == "es"
    # ... and the sign-in page after it, before anyone signs in.
    assert page_lang(visitor.get("/auth/login", headers=ENGLISH)) == "es"
    joined = post_form(
        visitor,
        url,
        {
            "email": "pat@example.org",
            "display_name": "Pat",
            "password": "a quiet harbor morning 77",
            "confirm": "a quiet harbor morning 77",
        },
        headers=ENGLISH,
    )
    assert joined.status_code == 302
    with app_context():
        user = db.session.scalars(select(User).where(User.email == "pat@example.org")).one()
        assert user.locale == "es"
    assert page_lang(visitor.get("/learn/", headers=ENGLISH)) == "es"


def test_the_person_may_choose_another_language_than_the_invitations(app, client, clinic):
    _clinician, patient = clinic
    link_id = make_invited_link(patient.id, "pat@example.org")
    invite(client, patient, link_id, "es")
    shown = text_of(client.get(f"/clinic/patients/{patient.id}/invitations/1"))
    [path] = re.findall(r'value="https?://[^"/]+(/invite/[^"]+)"', shown)
    visitor = app.test_client()
    assert page_lang(visitor.get(path, headers=ENGLISH)) == "es"
    back = switch(visitor, "en", path)
    assert back.headers["Location"] == path
    assert page_lang(visitor.get(path, headers=SPANISH)) == "en"
    post_form(
        visitor,
        path,
        {
            "email": "pat@example.org",
            "display_name": "Pat",
            "password": "a quiet harbor morning 77",
            "confirm": "a quiet harbor morning 77",
        },
    )
    with app_context():
        user = db.session.scalars(select(User).where(User.email == "pat@example.org")).one()
        assert user.locale == "en"  # their own choice on the way in


def test_an_invitation_without_a_choice_is_in_the_programs_language(app, client, clinic):
    _clinician, patient = clinic
    link_id = make_invited_link(patient.id)
    assert invite(client, patient, link_id, None).status_code == 302
    with app_context():
        assert db.session.scalars(select(Invitation.locale)).one() == "en"


def test_an_invitation_language_not_offered_is_refused_beside_the_field(app, client, clinic):
    _clinician, patient = clinic
    link_id = make_invited_link(patient.id)
    response = invite(client, patient, link_id, "xx")
    assert response.status_code == 200
    assert 'aria-invalid="true"' in text_of(response)
    with app_context():
        assert db.session.scalars(select(Invitation)).all() == []


def test_sending_again_keeps_the_invitations_language(app, client, clinic, mail_server):
    _clinician, patient = clinic
    link_id = make_invited_link(patient.id)
    first = invite(client, patient, link_id, "es")
    page = first.headers["Location"]
    action = f"/clinic/patients/{patient.id}/invite"
    again = client.post(action, data=form_data(client, page, action))
    assert again.status_code == 302
    with app_context():
        assert db.session.scalars(select(Invitation.locale).order_by(Invitation.id)).all() == [
            "es",
            "es",
        ]
    assert [m.subject for m in mail_server.messages] == [
        es(app, "You're invited to set up your account")
    ] * 2


def test_a_patients_own_invitation_carries_its_language(app, client, clinic, mail_server):
    _clinician, patient = clinic
    page = f"/clinic/patients/{patient.id}"
    action = f"{page}/patient-login"
    html = text_of(client.get(page))
    assert form_posting_to(html, page, action).fields["login-locale"].values == ["en"]
    data = form_data(
        client, page, action, **{"login-email": "sam@example.org", "login-locale": "es"}
    )
    assert client.post(action, data=data).status_code == 302
    with app_context():
        assert db.session.scalars(select(Invitation.locale)).one() == "es"
    [mail] = mail_server.messages
    assert '<html lang="es">' in mail.html


# --- emails in the recipient's language ---------------------------------------------------


def spanish_user(email="ana@example.org", locale: str | None = "es") -> User:
    user = make_user("family", email=email)
    with app_context():
        db.session.get(User, user.id).locale = locale
        db.session.commit()
    return user


def test_a_reset_email_is_in_the_recipients_language(app, mail_server):
    spanish_user()
    english = make_user("family", email="eve@example.org")
    for address in ("ana@example.org", english.email):
        visitor = app.test_client()
        post_form(visitor, "/auth/forgot", {"email": address}, headers=ENGLISH).close()
    ana, eve = mail_server.handler.to("ana@example.org"), mail_server.handler.to("eve@example.org")
    assert '<html lang="es">' in ana[0].html and ana[0].subject == es(app, "Reset your password")
    assert '<html lang="en">' in eve[0].html and eve[0].subject == "Reset your password"


def test_without_a_setting_the_language_of_the_invitation_they_joined_by_decides(
    app, client, clinic, mail_server
):
    _clinician, patient = clinic
    link_id = make_invited_link(patient.id, "pat@example.org")
    invite(client, patient, link_id, "es")
    user = make_user("family", email="pat@example.org")  # an account without a setting
    with app_context():
        invitation = db.session.scalars(select(Invitation)).one()
        invitation.used_by_id = user.id
        db.session.commit()
        assert messages.recipient_locale(db.session.get(User, user.id)) == "es"
        assert messages.recipient_locale(None) == "en"
    post_form(app.test_client(), "/auth/forgot", {"email": "pat@example.org"}).close()
    reset = mail_server.handler.to("pat@example.org")[-1]
    assert '<html lang="es">' in reset.html


def test_a_reminder_and_a_new_reading_email_are_in_the_recipients_language(
    app, runner, mail_server
):
    clinician = make_user("clinician")
    patient = make_patient(clinician)
    ana = spanish_user()
    make_family(patient, ana)
    make_assignment(patient, ana, "first-steps", due_in_days=1, by=clinician)
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    [mail] = mail_server.handler.to("ana@example.org")
    assert '<html lang="es">' in mail.html
    with app.test_request_context(), force_locale("es"):
        assert mail.subject == messages.reminder_subject(
            [clock.today() + timedelta(days=1)], clock.today()
        )
    with app.app_context():
        rendered = messages.render_new_reading(db.session.get(User, ana.id), [None])
    assert '<html lang="es">' in rendered.html
    assert rendered.subject == es(app, "A new reading is ready for you")


# --- lang matches the text of a reading ---------------------------------------------------


@pytest.fixture
def reader(app, client):
    """A Spanish-speaking family member, signed in (account setting ``es``)."""
    user = spanish_user()
    login(client, user.email)
    return user


def test_a_spanish_reading_on_a_spanish_page_needs_no_mark(app, client, reader):
    response = client.get("/learn/modules/first-steps", headers=ENGLISH)
    html = text_of(response)
    assert page_lang(response) == "es"
    assert "<h1>Primeros pasos</h1>" in html
    assert 'lang="en"' not in html.replace('value="en" lang="en"', "")
    assert es(app, NOTE) not in html
    check = text_of(client.get("/learn/modules/first-steps/check"))
    assert "¿Cuál es un detonante?" in check and 'lang="en"' not in check.replace(
        'value="en" lang="en"', ""
    )
    with app.app_context():
        from lms.content import get_library

        assert get_library().module("first-steps", "es").lang == "es"
        assert get_library().module("no-check", "es").lang == "en"  # no Spanish yet


def test_an_english_reading_on_a_spanish_page_is_marked_english_under_a_note(app, client, reader):
    html = text_of(client.get("/learn/modules/no-check"))
    note = es(app, NOTE)
    assert f'<p class="translation-note" role="note">{note}</p>' in html
    assert html.index(note) < html.index("<h1")
    assert '<h1 lang="en">No check here</h1>' in html
    assert '<span lang="en">A module without a knowledge check.</span>' in html
    assert '<h2 id="only-part" lang="en">Only part</h2>' in html
    assert '<div class="prose" data-listen lang="en">' in html
    assert re.search(r'<a href="[^"]+section=second-part"\s+lang="en">Second part</a>', html)
    every = text_of(client.get("/learn/modules/no-check?view=all"))
    assert '<ul lang="en"><li>Read a short page</li>' in every  # objectives
    assert '<span lang="en">Second part</span>' in every  # in "Mark ... as read"
    printed = text_of(client.get("/learn/modules/no-check/print"))
    assert note in printed and '<h1 lang="en">No check here</h1>' in printed
    assert '<div class="prose" lang="en">' in printed


def test_an_english_check_and_result_on_a_spanish_page_are_marked_english(
    app, client, english_only, reader
):
    page = "/learn/modules/first-steps/check"
    html = text_of(client.get(page))
    assert es(app, NOTE) in html
    assert '<span lang="en">First steps</span>' in html  # inside the Spanish heading
    assert '<span lang="en">Which one is a trigger?</span>' in html
    assert re.search(r'<label for="q-pick-one-\d" lang="en">', html)
    data = form_data(client, page, page)
    data.update({"q-pick-one": "0", "q-pick-many": ["0", "1"], "q-true-false": "0"})
    result = client.post(page, data=data)
    assert result.status_code == 302
    shown = text_of(client.get(result.headers["Location"]))
    assert es(app, NOTE) in shown
    assert '<div class="q-prompt" lang="en">' in shown
    assert '<div class="feedback" lang="en">' in shown
