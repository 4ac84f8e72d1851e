"""Markdown to safe HTML, in two named steps: ``render_markdown`` then ``sanitize``.

Rendering and sanitizing are kept apart (as CTFd does) so the sanitizer is the one place
that decides what HTML may reach a reader, whatever Markdown extensions or raw HTML produced.
Both run once, when the library loads, never per request.
"""

from __future__ import annotations

import html
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Literal

import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

LinkKind = Literal["link", "image"]
#: ``rewrite(kind, url, text)`` returns the URL to use, or None to drop it. ``text`` is the
#: link text or the image's alt text.
Rewriter = Callable[[LinkKind, str, str], "str | None"]

EXTENSIONS = ("tables", "admonition", "attr_list", "sane_lists")
EXTENSION_CONFIGS = {
    # An ``align`` attribute instead of ``style``: style attributes never pass the sanitizer.
    "tables": {"use_align_attribute": True},
}

URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

ADMONITION_CLASSES = frozenset(
    {"admonition", "note", "tip", "warning", "important", "danger", "title", "admonition-title"}
)

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "div", "span",
        "h1", "h2", "h3", "h4", "h5", "h6",
        "ul", "ol", "li", "dl", "dt", "dd",
        "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
        "blockquote", "code", "pre", "kbd",
        "strong", "em", "b", "i", "u", "s", "del", "ins", "mark", "sub", "sup", "small",
        "abbr", "cite", "q",
        "a", "img",
    }
)  # fmt: skip

_HEADING_ATTRS = {"id"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "td": {"align", "colspan", "rowspan"},
    **{f"h{level}": set(_HEADING_ATTRS) for level in range(1, 7)},
    "section": {"id"},
}

# ``class`` is governed here, not in ALLOWED_ATTRIBUTES (nh3 refuses both): only the
# admonition classes survive, so authors cannot borrow the site's own CSS classes.
ALLOWED_CLASSES = {tag: set(ADMONITION_CLASSES) for tag in ("div", "p", "span")}

# Dropped with their content, not just unwrapped: their text is code or markup, not prose.
_CLEAN_CONTENT_TAGS = frozenset({"script", "style", "iframe", "object", "embed", "template"})


def sanitize(html_text: str) -> str:
    """Keep only prose markup, safe URLs and admonition classes.

    Scripts, ``on*`` handlers, ``style``, iframes and ``javascript:`` URLs never survive.
    nh3 adds ``rel="noopener noreferrer"`` to every link: needed on external links, and on
    internal ones it only withholds the referrer, which suits a health site anyway.
    """
    return nh3.clean(
        html_text,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_CLEAN_CONTENT_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        allowed_classes={tag: set(classes) for tag, classes in ALLOWED_CLASSES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


class _RewriteLinks(Treeprocessor):
    """Hands every link and image URL to the caller's rewriter (it validates and maps them)."""

    def __init__(self, md: markdown.Markdown) -> None:
        super().__init__(md)
        self.rewrite: Rewriter | None = None

    def run(self, root: ET.Element) -> None:
        if self.rewrite is None:
            return
        for element in root.iter():
            if element.tag == "a" and element.get("href") is not None:
                text = "".join(element.itertext())
                self._apply(element, "href", "link", text)
            elif element.tag == "img" and element.get("src") is not None:
                self._apply(element, "src", "image", element.get("alt") or "")

    def _apply(self, element: ET.Element, attr: str, kind: LinkKind, text: str) -> None:
        assert self.rewrite is not None  # noqa: S101 - checked by run()
        # Markdown stashes the URL text; unescape so the rewriter sees what the author wrote.
        url = html.unescape(element.get(attr, ""))
        new = self.rewrite(kind, url, text)
        if new is None:
            del element.attrib[attr]
        else:
            element.set(attr, new)


class _RewriteExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        processor = _RewriteLinks(md)
        # After inline patterns (priority 20) have turned [text](url) into <a> elements.
        md.treeprocessors.register(processor, "lms_rewrite_links", 1)
        md.lms_rewriter = processor  # type: ignore[attr-defined]


_local = threading.local()


def _markdown() -> markdown.Markdown:
    """One Markdown instance per thread: building one costs more than converting a section."""
    md = getattr(_local, "md", None)
    if md is None:
        md = markdown.Markdown(
            extensions=[*EXTENSIONS, _RewriteExtension()],
            extension_configs=EXTENSION_CONFIGS,
            output_format="html",
        )
        _local.md = md
    return md


def render_markdown(text: str, *, rewrite: Rewriter | None = None) -> str:
    """Markdown to (unsanitized) HTML; ``rewrite`` maps or drops each link and image URL."""
    md = _markdown()
    md.reset()
    md.lms_rewriter.rewrite = rewrite  # type: ignore[attr-defined]
    try:
        return md.convert(text)
    finally:
        md.lms_rewriter.rewrite = None  # type: ignore[attr-defined]


_SINGLE_PARAGRAPH = re.compile(r"\A<p>(.*)</p>\Z", re.DOTALL)


# Text with no Markdown or HTML syntax renders to itself. Most quiz choices and feedback are
# like that, and skipping the parser for them halves the load time of the library.
_PLAIN = re.compile(
    r"(?![\d\s]*[.)]\s)(?![-+*>#=]|\d+[.)]\s)"  # not a list item, quote or heading
    r"[^\W_]+(?:[ ,.;:!?'\"()%/\-\u2013\u2014]+[^\W_]*)*"  # words, spaces, punctuation
    r"[.!?)\"']?"
)


def _is_plain(text: str) -> bool:
    return _PLAIN.fullmatch(text) is not None


def render_inline(text: str, *, rewrite: Rewriter | None = None) -> str:
    """Render a short text (quiz prompt, feedback) and sanitize it.

    A single paragraph loses its ``<p>`` wrapper so the template can place it inside a
    ``<legend>`` or ``<label>``; longer texts keep their block markup.
    """
    text = text.strip()
    if _is_plain(text):
        return text
    rendered = render_markdown(text, rewrite=rewrite)
    match = _SINGLE_PARAGRAPH.match(rendered)
    if match and "<p>" not in match.group(1):
        rendered = match.group(1)
    return sanitize(rendered)


def render(text: str, *, rewrite: Rewriter | None = None) -> str:
    """Render then sanitize a block of Markdown."""
    return sanitize(render_markdown(text, rewrite=rewrite))


def plain_text(text: str) -> str:
    """Inline Markdown to plain text, e.g. a heading ``Why **HALT** matters`` to a title."""
    text = text.strip()
    if _is_plain(text):
        return text
    rendered = render_markdown(text)
    return html.unescape(nh3.clean(rendered, tags=set())).strip()
