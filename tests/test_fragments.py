"""Parts of pages rendered once per language (lms.fragments): each reader still gets their
own CSRF token, their own language and nothing of anyone else's."""

from __future__ import annotations

import re

from jinja2.exceptions import UndefinedError

from lms import fragments
from tests.helpers import CSRF_RE, login, make_user, post_form, text_of

SECTION = "/learn/modules/first-steps?section=what-a-trigger-is"


def tokens(page: str) -> set[str]:
    return set(CSRF_RE.findall(page))


def test_each_reader_gets_their_own_csrf_token_in_a_kept_fragment(app):
    first, second = app.test_client(), app.test_client()
    login(first, make_user("family").email)
    login(second, make_user("family").email)
    page_one = text_of(first.get(SECTION))
    page_two = text_of(second.get(SECTION))
    assert fragments.CSRF_SLOT not in page_one + page_two
    # The kept "Mark as read" form, the dialog and the header carry each session's token...
    assert len(tokens(page_one)) == 1 and len(tokens(page_two)) == 1
    assert tokens(page_one) != tokens(page_two)
    # ...and it works: the section is marked read from the fragment's form.
    response = post_form(
        second, "/learn/modules/first-steps/sections/what-a-trigger-is/read", {}, form_page=SECTION
    )
    assert response.status_code == 302


def test_fragments_are_kept_per_language(app):
    english, spanish = app.test_client(), app.test_client()
    login(english, make_user("family").email)
    login(spanish, make_user("family").email)
    en = text_of(english.get(SECTION))
    es = text_of(spanish.get(SECTION, headers={"Accept-Language": "es"}))
    assert "Need help right now?" in en and "Need help right now?" not in es
    assert "Sources" in en
    again = text_of(english.get(SECTION))
    assert "Need help right now?" in again
    kept = app.extensions[fragments.EXTENSION_KEY]
    assert {key[1] for key in kept} == {"en", "es"}


def test_the_menu_is_kept_per_role_and_page(app):
    family, clinician = app.test_client(), app.test_client()
    login(family, make_user("family").email)
    login(clinician, make_user("clinician").email)
    family_page = text_of(family.get("/learn/library"))
    staff_page = text_of(clinician.get("/learn/library"))
    assert "My notes" in family_page and "Caseload" not in family_page
    assert "Caseload" in staff_page and "My notes" not in staff_page
    current = re.search(r'<a href="([^"]+)" aria-current="page">', family_page)
    assert current and current.group(1) == "/learn/library"


def test_a_fragment_cannot_reach_the_reader(app):
    user = make_user("family", name="Robin Quincy")
    client = app.test_client()
    login(client, user.email)
    assert "Robin Quincy" in text_of(client.get("/auth/account"))
    with client.session_transaction() as saved:
        cookie_session = dict(saved)
    assert cookie_session.get("_user_id")
    for expression in (
        "current_user.display_name",
        "session._user_id",
        "session.get('_user_id')",
        "request.path",
        "g.get('x')",
    ):
        template = app.jinja_env.from_string("[{{ " + expression + " }}]")
        with app.test_request_context("/learn/"):
            from flask import session

            session.update(cookie_session)
            try:
                html = fragments._render(template, {})
            except UndefinedError:
                continue  # refused outright
        assert html == "[]", expression  # or nothing


def test_urls_built_once_are_the_same_as_flasks(app):
    from flask import url_for

    with app.test_request_context("/"):
        for endpoint, values in (
            ("learn.module", {"slug": "first-steps", "section": "what-a-trigger-is"}),
            ("learn.module", {"slug": "first-steps", "view": None}),
            ("static", {"filename": "css/app.css"}),
            ("core.index", {}),
        ):
            assert fragments.url_for(endpoint, **values) == url_for(endpoint, **values)
            assert fragments.url_for(endpoint, **values) == url_for(endpoint, **values)
        assert fragments.url_for("core.index", _external=True).startswith("http://")


def test_read_badges_in_a_kept_section_list_are_each_readers_own(app):
    first, second = app.test_client(), app.test_client()
    login(first, make_user("family").email)
    login(second, make_user("family").email)
    post_form(
        first, "/learn/modules/first-steps/sections/what-a-trigger-is/read", {}, form_page=SECTION
    )
    badge = re.compile(r'>What a trigger is</a>\s*<span class="badge ok">')
    mine = text_of(first.get(SECTION))
    theirs = text_of(second.get(SECTION))
    assert badge.search(mine)  # read by the first reader...
    assert not badge.search(theirs)  # ...not by the second, from the same kept list
    assert "\x1b" not in mine + theirs  # no marker left behind
    assert mine.count('class="badge ok"') == 1
