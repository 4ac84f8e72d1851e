"""Rendering then sanitizing: only prose markup and safe URLs reach a reader."""

from __future__ import annotations

import pytest

from lms.content import render_inline, render_markdown, sanitize


def clean(markdown_text: str) -> str:
    return sanitize(render_markdown(markdown_text))


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("Hi <script>alert(1)</script> there", "alert(1)"),
        ("Hi <script>alert(1)</script> there", "<script"),
        ('<img src="x.png" alt="a" onerror="alert(1)">', "onerror"),
        ('<p onclick="steal()">x</p>', "onclick"),
        ('<a href="javascript:alert(1)">x</a>', "javascript:"),
        ("[x](javascript:alert(1))", "javascript:"),
        ('<iframe src="https://evil.example"></iframe>', "iframe"),
        ('<div style="position:fixed">x</div>', "style"),
        ('<div class="navbar admin">x</div>', "navbar"),
        ("<!-- a comment -->text", "comment"),
        ('<form action="/x"><input name="a"></form>', "<input"),
    ],
)
def test_dangerous_markup_does_not_survive(source: str, forbidden: str) -> None:
    assert forbidden not in clean(source)


def test_tables_survive_with_alignment_but_no_style() -> None:
    html = clean("| a | b |\n|:--|--:|\n| 1 | 2 |\n")
    assert "<table>" in html
    assert '<th align="left">a</th>' in html
    assert '<td align="right">2</td>' in html
    assert "style" not in html


def test_admonitions_survive() -> None:
    html = clean('!!! warning "Stay safe"\n    Call **988**.\n')
    assert '<div class="admonition warning">' in html
    assert '<p class="admonition-title">Stay safe</p>' in html
    assert "<strong>988</strong>" in html


def test_external_links_keep_href_and_get_rel() -> None:
    html = clean("[SAMHSA](https://www.samhsa.gov) or [call](tel:988)")
    assert 'href="https://www.samhsa.gov"' in html
    assert 'rel="noopener noreferrer"' in html
    assert 'href="tel:988"' in html


def test_heading_ids_kept_other_ids_dropped() -> None:
    html = clean("### Try this {: #try-this }\n\nText {: #para }\n")
    assert '<h3 id="try-this">' in html
    assert 'id="para"' not in html


def test_render_and_sanitize_are_separate_steps() -> None:
    raw = render_markdown("<b onclick='x()'>hi</b>")
    assert "onclick" in raw  # rendering alone trusts nothing and changes nothing
    assert "onclick" not in sanitize(raw)


def test_inline_render_drops_single_paragraph_wrapper_and_sanitizes() -> None:
    assert render_inline("Yes, *exactly*.") == "Yes, <em>exactly</em>."
    assert "<script" not in render_inline("Hi <script>x()</script>")
    assert render_inline("One.\n\nTwo.").count("<p>") == 2


@pytest.mark.parametrize(
    "text",
    [
        "Take a slow breath",
        "It's fine, (really): yes!",
        'Say "no" to it.',
        "Qué es un detonante?",
        "50% of people, and/or 988 — call now.",
        "2024 was hard.",
        "1. Start",
        "- item",
        "A & B < C",
        "*em* and word_with_underscore",
    ],
)
def test_plain_text_shortcut_matches_full_rendering(text: str) -> None:
    """render_inline skips the parser for plain text; the result must be identical."""
    full = sanitize(render_markdown(text))
    if full.startswith("<p>") and full.endswith("</p>") and full.count("<p>") == 1:
        full = full[3:-4]
    assert render_inline(text) == full
