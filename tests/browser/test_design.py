"""The design in a real browser: spacing around the page, brand-coloured radios, badges whose
weight follows urgency, the library's cards and search, My progress as cards on a phone, the
handout's print button; nothing scrolls sideways and axe finds nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import support

pytestmark = support.requires_browser


def css_rgb(page, token: str) -> str:
    """A colour token of app.css as the browser computes colours: "rgb(r, g, b)"."""
    return page.evaluate(
        """token => {
            const probe = document.createElement('span');
            probe.style.color = `var(${token})`;
            document.body.append(probe);
            const value = getComputedStyle(probe).color;
            probe.remove();
            return value;
        }""",
        token,
    )


def sideways(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_main_has_room_above_and_below(new_page, server):
    page = new_page("family")
    page.goto(server.url + "/learn/")
    top, bottom = page.evaluate(
        "(() => { const s = getComputedStyle(document.querySelector('main'));"
        " return [parseFloat(s.paddingTop), parseFloat(s.paddingBottom)]; })()"
    )
    assert top > 0 and bottom > 0, (top, bottom)
    # The first heading does not touch the header.
    gap = page.evaluate(
        "document.querySelector('main h1').getBoundingClientRect().top"
        " - document.querySelector('.site-header').getBoundingClientRect().bottom"
    )
    assert gap >= 16, gap


def test_radios_use_the_brand_colour_and_are_easy_to_hit(new_page, server):
    page = new_page("family")
    support._check(page, server)
    radio = page.locator(".choice input[type=radio]").first
    assert radio.evaluate("el => getComputedStyle(el).accentColor") == css_rgb(page, "--brand")
    row = radio.locator("xpath=..")
    assert row.bounding_box()["height"] >= 44
    # The label fills the row: a tap on the row's far side still chooses the answer.
    label = row.locator("label")
    box = label.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 5, box["y"] + box["height"] / 2)
    assert radio.is_checked()


def test_badges_weigh_what_they_mean(new_page, server):
    page = new_page("family")
    page.goto(server.url + "/learn/library")
    styles = page.evaluate(
        """() => Object.fromEntries(['bad', 'warn', 'ok', 'muted'].map(tone => {
            const b = document.createElement('span');
            b.className = 'badge ' + tone;
            b.textContent = tone;
            document.querySelector('main').append(b);
            const s = getComputedStyle(b);
            const before = getComputedStyle(b, '::before').content;
            const out = [s.backgroundColor, s.color, s.borderTopColor, before];
            b.remove();
            return [tone, out];
        }))"""
    )
    white = "rgb(255, 255, 255)"
    assert styles["bad"][:2] == [css_rgb(page, "--bad"), white]  # filled
    assert styles["warn"][0] == white and styles["warn"][2] == css_rgb(page, "--warn")  # outlined
    assert styles["ok"][0] == css_rgb(page, "--ok-soft")  # a soft fill…
    assert "✓" in styles["ok"][3]  # …with a tick
    assert styles["muted"][1] == css_rgb(page, "--muted")
    assert styles["muted"][3] in ("none", "normal")


def test_library_cards_icons_and_search(new_page, server):
    page = new_page("family")
    page.goto(server.url + "/learn/library")
    icons = page.locator("img.reading-icon")
    assert icons.count() >= 20
    assert icons.first.get_attribute("alt") == ""
    assert icons.first.evaluate("img => img.complete && img.naturalWidth > 0")
    # Search with the form, as a reader would (no script needed).
    page.get_by_label("Search the readings").fill("NALOXONE")
    page.get_by_label("Show").select_option(label="For families")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert "q=NALOXONE" in page.url and "for=family" in page.url
    status = page.get_by_role("status")
    assert re.search(r"\d+ readings? match(es)? “NALOXONE”", status.inner_text())
    titles = page.locator(".reading-title").all_inner_texts()
    assert titles and any("naloxone" in t.lower() for t in titles)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize(
    "path",
    [
        "/learn/library",
        "/learn/library?q=overdose&for=family",
        "/learn/library?q=zebra+giraffe",
        "/learn/progress",
    ],
)
def test_no_axe_violations_and_no_sideways_scroll(new_page, server, path, viewport):
    page = new_page("family", viewport=support.VIEWPORTS[viewport])
    page.goto(server.url + path)
    violations = support.axe_violations(page)
    assert not violations, support.describe(violations)
    assert sideways(page) <= 0


def test_empty_search_says_what_to_do(new_page, server):
    page = new_page("family", viewport=support.PHONE)
    page.goto(server.url + "/learn/library?q=zebra+giraffe")
    text = page.get_by_role("status").inner_text()
    assert "No readings match “zebra giraffe”. Try fewer words, or see all readings." in text
    page.get_by_role("link", name="see all readings").click()
    expect(page.locator(".reading-card").nth(19)).to_be_visible()  # waits for the new page


def test_progress_rows_are_labelled_cards_on_a_phone(new_page, server):
    page = new_page("family", viewport=support.PHONE)
    page.goto(server.url + "/learn/progress")
    rows = page.locator("table.stack-table tbody tr")
    assert rows.count() >= 1
    first = rows.first
    assert first.evaluate("tr => getComputedStyle(tr).display") == "block"
    cell = first.locator("td").first
    label = cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"Status"'
    box = first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    # Dates in words, never ISO or UTC.
    body = page.locator("main").inner_text()
    assert not re.search(r"\d{4}-\d{2}-\d{2}|UTC", body)
    # On a wide screen it is a table again.
    page.set_viewport_size(support.DESKTOP)
    assert first.evaluate("tr => getComputedStyle(tr).display") == "table-row"


def test_print_button_appears_with_script_and_prints(new_page, server):
    page = new_page("family")
    page.add_init_script("window.print = () => { window.__printed = (window.__printed || 0) + 1; }")
    support._print(page, server)
    button = page.get_by_role("button", name="Print this handout")
    button.wait_for(state="visible")
    assert not page.locator("[data-print-hint]").is_visible()
    button.click()
    assert page.evaluate("window.__printed") == 1
    # On paper: no header, no quick exit, no button.
    page.emulate_media(media="print")
    for selector in (".site-header", ".quick-exit-bar", "[data-print]"):
        assert not page.locator(selector).is_visible(), selector
    assert page.locator("article.handout h1").is_visible()


def test_without_script_the_handout_says_how_to_print(new_page, server):
    page = new_page("family", java_script_enabled=False)
    support._print(page, server)
    assert page.get_by_text("Use your browser’s Print command").is_visible()
    assert page.locator("[data-print]").count() == 1
    assert not page.locator("[data-print]").is_visible()
