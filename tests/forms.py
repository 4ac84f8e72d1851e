"""Reading forms out of a page the way a browser would submit them (``html.parser``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit


@dataclass
class Field:
    name: str
    kind: str  # input type, or "select", "select-multiple", "textarea"
    values: list[str] = field(default_factory=list)  # as found: the value, or checked ones
    options: list[str] = field(default_factory=list)  # selects, radios, checkboxes


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, Field] = field(default_factory=dict)
    submit: tuple[str, str] | None = None  # the first named submit button

    def signature(self) -> tuple:
        return (self.action, tuple(sorted(self.fields)))


class FormParser(HTMLParser):
    """Every form on a page with its fields, the way a browser would submit them."""

    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._option: str | None = None
        self._option_text = ""
        self._option_selected = False
        self._textarea: Field | None = None

    def _add(self, name: str, kind: str) -> Field:
        assert self._form is not None
        if name not in self._form.fields:
            self._form.fields[name] = Field(name, kind)
        return self._form.fields[name]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag == "form":
            action = a.get("action") or self.page_url
            self._form = Form(action=action, method=(a.get("method") or "get").lower())
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "image", "button", "reset"):
                if kind == "submit" and self._form.submit is None:
                    self._form.submit = (name, a.get("value", ""))
                return
            f = self._add(name, kind)
            if kind in ("checkbox", "radio"):
                value = a.get("value", "on")
                f.options.append(value)
                if "checked" in a:
                    f.values.append(value)
            else:
                f.values = [a.get("value", "")]
        elif tag == "button" and name and (a.get("type") or "submit") == "submit":
            if self._form.submit is None:
                self._form.submit = (name, a.get("value", ""))
        elif tag == "select" and name:
            kind = "select-multiple" if "multiple" in a else "select"
            self._select = self._add(name, kind)
        elif tag == "option" and self._select is not None:
            self._option = a.get("value")
            self._option_text = ""
            self._option_selected = "selected" in a
        elif tag == "textarea" and name:
            self._textarea = self._add(name, "textarea")
            self._textarea.values = [""]

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.values[0] += data
        if self._option is not None or self._select is not None:
            self._option_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._textarea is not None and self._textarea.values[0].startswith("\n"):
                self._textarea.values[0] = self._textarea.values[0][1:]
            self._textarea = None
        elif tag == "option" and self._select is not None:
            value = self._option if self._option is not None else self._option_text.strip()
            self._select.options.append(value)
            if self._option_selected:
                self._select.values.append(value)
            self._option = None


def parse_page(url: str, html: str) -> FormParser:
    parser = FormParser(url)
    parser.feed(html)
    parser.close()
    return parser


def local_path(url: str, base: str) -> str:
    """A link or action as a path with query, resolved against the page it is on."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        if parts.netloc not in ("", "localhost"):
            return ""
    path = parts.path or urlsplit(base).path
    return path + (f"?{parts.query}" if parts.query else "")


def form_posting_to(html: str, page: str, action: str) -> Form:
    """The first form on ``page`` that posts to ``action``."""
    for form in parse_page(page, html).forms:
        if form.method == "post" and local_path(form.action, page).split("?")[0] == action:
            return form
    raise AssertionError(f"no form posting to {action} on {page}")


def form_data(client, page: str, action: str, **values) -> dict:
    """What a browser would send from the form on ``page`` that posts to ``action``: its
    hidden fields as rendered (the CSRF token, the one-time ``submit_token``), plus
    ``values``. Posting the result twice is a double click."""
    response = client.get(page)
    assert response.status_code == 200, page
    form = form_posting_to(response.get_data(as_text=True), page, action)
    data = {
        name: f.values[0]
        for name, f in form.fields.items()
        if f.kind == "hidden" and f.values and f.values[0]
    }
    assert any(name.endswith("csrf_token") for name in data), f"no CSRF token on {page}"
    return {**data, **values}
