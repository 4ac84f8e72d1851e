"""Parts of pages that are the same for every reader, rendered once per language.

Most of a page's rendering time went to parts that never change between readers: the crisis
footer, the idle-timeout dialog, a reading's text and its list of sections — dozens of
``_()`` and ``url_for`` calls and macro calls each time. ``fragment(name, key, **context)``
renders the template ``name`` once for each (``key``, page language) and keeps the HTML for the
life of the process (in debug mode, where templates reload, it renders every time).

A fragment is rendered without the request's context: no ``current_user``, ``request``,
``session`` or ``g`` (Flask-Login's and Flask's context processors do not run), so nothing
about the reader can be kept by mistake. What does differ per reader is left out and placed by
the caller; the one exception is the CSRF token of forms inside a fragment: ``csrf_token()``
there writes a placeholder that each page replaces with its own token, ``slot(name)`` marks
where the caller's per-page value goes (``fragment(..., slots={name: value})``), and what lies
between ``shown_if(name)`` and ``end_if()`` is kept only for the names the caller shows
(``fragment(..., shown={...})``).

``key`` must come from a small, known set (a module's slug and version, a section's key, a
variant): never from what someone typed, so the number of kept fragments stays bounded (and
``MAX_FRAGMENTS`` caps it anyway).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Hashable
from html import unescape

from flask import current_app, g
from flask import url_for as flask_url_for
from flask.globals import _cv_request
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

EXTENSION_KEY = "lms_fragments"
#: What a fragment's ``csrf_token()`` writes; each page puts its own token there.
CSRF_SLOT = "\x1bcsrf-token\x1b"
# A constant of ours, no user text.
_SLOT_MARKUP = Markup(CSRF_SLOT)  # noqa: S704  # nosec B704
MAX_FRAGMENTS = 20_000


def _slot(name: str) -> Markup:
    # The name is escaped; the rest is our own marker.
    return Markup(f"\x1bslot:{escape(name)}\x1b")  # noqa: S704  # nosec B704


_IF_START = "\x1bif:"
_SHOWN_IF = re.compile(r"\x1bif:([^\x1b]*)\x1b(.*?)\x1bend-if\x1b", re.DOTALL)


def _shown_if(name: str) -> Markup:
    # The name is escaped; the rest is our own marker.
    return Markup(f"{_IF_START}{escape(name)}\x1b")  # noqa: S704  # nosec B704


def _end_if() -> Markup:
    return Markup("\x1bend-if\x1b")


def _render(name: str, context: dict) -> str:
    template = current_app.jinja_env.get_template(name)
    return template.render(
        # Flask's template globals include these proxies: hidden here, so a fragment that
        # reached for the reader's request, session or account would fail, not be kept.
        request=None,
        session=None,
        g=None,
        current_user=None,
        csrf_token=lambda: _SLOT_MARKUP,
        slot=_slot,
        shown_if=_shown_if,
        end_if=_end_if,
        lang=str(get_locale() or "en"),
        program_name=current_app.config["PROGRAM_NAME"],
        **context,
    )


def fragment(
    name: str,
    key: Hashable = (),
    slots: dict | None = None,
    shown: Collection[str] = (),
    **context,
) -> Markup:
    """The HTML of template ``name`` for ``key`` in the page's language (see the module's
    docstring for what a fragment may depend on). Where the template writes ``slot("x")``,
    this page's ``slots["x"]`` goes, escaped; what it puts between ``shown_if("x")`` and
    ``end_if()`` stays only when ``"x"`` is in ``shown`` (a section marked read, say)."""
    app = current_app._get_current_object()
    locale = str(get_locale() or "en")
    if app.debug:
        html = _render(name, context)
    else:
        kept = app.extensions.get(EXTENSION_KEY)
        if kept is None:
            kept = app.extensions.setdefault(EXTENSION_KEY, {})
        cache_key = (name, locale, key)
        html = kept.get(cache_key)
        if html is None:
            html = _render(name, context)
            if len(kept) >= MAX_FRAGMENTS:
                kept.clear()
            kept[cache_key] = html
    if CSRF_SLOT in html:
        html = html.replace(CSRF_SLOT, _csrf_token())
    for slot_name, value in (slots or {}).items():
        html = html.replace(f"\x1bslot:{slot_name}\x1b", str(escape(value)))
    if _IF_START in html:
        html = _SHOWN_IF.sub(lambda m: m.group(2) if unescape(m.group(1)) in shown else "", html)
    # Rendered by Jinja with autoescaping; slot values were escaped above.
    return Markup(html)  # noqa: S704  # nosec B704


def _csrf_token() -> str:
    token = g.get("_fragment_csrf")
    if token is None:
        token = g._fragment_csrf = generate_csrf()
    return token


def clear() -> None:
    """Forget every kept fragment (the course library was reloaded, say)."""
    current_app.extensions.pop(EXTENSION_KEY, None)


URLS_KEY = "lms_urls"
MAX_URLS = 50_000


def url_for(endpoint: str, **values) -> str:
    """Flask's ``url_for`` for templates, each address built once per process: a page built
    the same dozen addresses (stylesheets, the menu, a reading's sections) on every request.
    Addresses with options (``_external``, ``_anchor``, …), unhashable values, or in debug
    mode (static names follow files being edited) are built every time."""
    ctx = _cv_request.get(None)
    app = current_app._get_current_object()
    if ctx is None or app.debug or any(name[0] == "_" for name in values):
        return flask_url_for(endpoint, **values)
    request = ctx.request
    try:
        key = (
            endpoint,
            frozenset(values.items()),
            request.script_root,
            request.blueprint if endpoint[0] == "." else None,
        )
        kept = app.extensions[URLS_KEY]
        url = kept.get(key)
    except TypeError:  # a list among the values
        return flask_url_for(endpoint, **values)
    except KeyError:
        kept = app.extensions.setdefault(URLS_KEY, {})
        url = None
    if url is None:
        url = flask_url_for(endpoint, **values)
        if len(kept) >= MAX_URLS:
            kept.clear()
        kept[key] = url
    return url
