"""The Spanish family journey in Chromium, at phone size and on a desktop.

A family member whose account is set to Spanish (``User.locale = "es"``) signs in, reads a
module that has a Spanish version section by section, takes its knowledge check, passes and
sees the result; the page language is Spanish throughout and nothing in the main content is
marked as English. A module with no Spanish version yet is shown in English under a note,
its words marked ``lang="en"``. Every page: axe 0 violations, nothing scrolls sideways. The
language switch then brings the same page back in English.

Nothing here reads the interface's English words (they become Spanish as the catalogue is
translated): pages are reached by their addresses and by the structure of their forms.
"""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.browser import support

pytestmark = support.requires_browser

SPANISH_SLUG = "what-is-iop"


def spanish_family_member(server) -> str:
    """A family member whose account is set to Spanish; returns their email."""
    from lms.accounts import services
    from lms.accounts.passwords import hash_password

    email = f"ana.{secrets.token_hex(4)}@example.org"

    def make():
        user = services.create_user(
            email=email, display_name="Ana Ejemplo", role="family", password=None
        )
        user.password_hash = hash_password(support.DEMO_PASSWORD)
        user.locale = "es"

    server.run(make)
    return email


def reading(server, slug: str, lang: str) -> dict:
    """What the test needs of a module as shown in ``lang``: its language, title, number of
    sections and its questions (id, correct choice indices)."""
    from lms.content import get_library

    def read():
        module = get_library().module(slug, lang)
        return {
            "lang": module.lang,
            "title": module.title,
            "sections": len(module.sections),
            "quiz": [(q.id, sorted(q.correct_indices)) for q in module.quiz.questions],
        }

    return server.run(read)


def english_only_module(server) -> str:
    """A family module with a knowledge check and no Spanish version yet."""
    from lms.content import get_library

    def find():
        return next(
            m.slug
            for m in get_library().modules()
            if m.quiz and "family" in m.audience and "es" not in m.translations
        )

    return server.run(find)


def looks_right(page, where: str) -> None:
    """axe 0 violations and no sideways scroll on the page as it is now."""
    violations = support.axe_violations(page)
    assert violations == [], f"{where}:\n{support.describe(violations)}"
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"{where}: scrolls sideways by {wide}px"


def marked_english_in_main(page) -> int:
    return page.locator("main [lang='en']").count()


def pass_the_check(page, quiz) -> None:
    for qid, right in quiz:
        for index in right:
            page.locator(f"#q-{qid}-{index}").check()
    page.locator("form.quiz button[type='submit']").click()
    page.wait_for_load_state()


def signed_in_in_spanish(new_page, server, viewport: str):
    email = spanish_family_member(server)
    page = new_page(viewport=support.VIEWPORTS[viewport])
    support.sign_in(page, server.url, email)  # a browser set to English: the account decides
    expect(page.locator("html")).to_have_attribute("lang", "es")
    return page


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_spanish_speaking_family_member_reads_and_passes_in_spanish(new_page, server, viewport):
    module = reading(server, SPANISH_SLUG, "es")
    assert module["lang"] == "es"
    page = signed_in_in_spanish(new_page, server, viewport)
    looks_right(page, "home")

    page.goto(f"{server.url}/learn/modules/{SPANISH_SLUG}")
    expect(page.locator("h1")).to_have_text(module["title"])
    expect(page.locator(".translation-note")).to_have_count(0)
    assert marked_english_in_main(page) == 0
    looks_right(page, "the reading")

    # Section by section: each "mark as read" leads on; the last one to the check.
    for number in range(module["sections"]):
        expect(page.locator("article.module-body h2").first).not_to_have_attribute("lang", "en")
        page.locator("article.module-body form.actions button[type='submit']").click()
        page.wait_for_load_state()
        if number == 0:
            looks_right(page, "the second section")
    expect(page).to_have_url(re.compile(rf"/learn/modules/{SPANISH_SLUG}/check$"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    assert marked_english_in_main(page) == 0
    looks_right(page, "the knowledge check")

    pass_the_check(page, module["quiz"])
    expect(page).to_have_url(re.compile(rf"/learn/modules/{SPANISH_SLUG}/attempts/\d+$"))
    expect(page.locator(".card.result.passed")).to_be_visible()
    assert marked_english_in_main(page) == 0
    looks_right(page, "the result")

    # The switch, by keyboard: the same page, now in English, and the account remembers.
    english = page.locator(".language-switch button[lang='en']")
    english.focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(rf"/learn/modules/{SPANISH_SLUG}/attempts/\d+$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".language-switch button[lang='es']")).to_have_text("Español")
    looks_right(page, "the result, in English")


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_reading_not_yet_in_spanish_is_shown_in_english_and_marked(new_page, server, viewport):
    slug = english_only_module(server)
    module = reading(server, slug, "es")
    assert module["lang"] == "en"
    page = signed_in_in_spanish(new_page, server, viewport)

    page.goto(f"{server.url}/learn/modules/{slug}")
    note = page.locator(".translation-note")
    expect(note).to_be_visible()
    assert note.get_attribute("lang") is None  # the note itself is in the page's language
    expect(page.locator("h1")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text(module["title"])
    expect(page.locator("article.module-body .prose").first).to_have_attribute("lang", "en")
    looks_right(page, "an English reading on a Spanish page")

    page.goto(f"{server.url}/learn/modules/{slug}/check")
    expect(page.locator(".translation-note")).to_be_visible()
    expect(page.locator("h1 span[lang='en']")).to_have_text(module["title"])
    expect(page.locator("form.quiz legend span[lang='en']").first).to_be_visible()
    looks_right(page, "an English check on a Spanish page")

    pass_the_check(page, module["quiz"])
    expect(page.locator(".card.result.passed")).to_be_visible()
    expect(page.locator(".q-prompt[lang='en']").first).to_be_visible()
    looks_right(page, "an English result on a Spanish page")

    page.goto(f"{server.url}/learn/modules/{slug}/print")
    expect(page.locator(".translation-note")).to_be_visible()
    expect(page.locator("article.handout h1")).to_have_attribute("lang", "en")
    looks_right(page, "an English handout on a Spanish page")


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_the_switch_before_sign_in_fits_and_works_without_script(new_page, server, viewport):
    page = new_page(viewport=support.VIEWPORTS[viewport], java_script_enabled=False)
    page.goto(f"{server.url}/auth/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    button = page.locator(".language-switch button[lang='es']")
    expect(button).to_have_text("Español")
    button.click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator(".language-switch button[lang='en']")).to_have_text("English")
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"the sign-in page scrolls sideways by {wide}px"
