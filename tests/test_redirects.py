"""Open redirects: whatever ``next`` a sign-in link carries, signing in stays on this site.

Each payload goes the way a real one would: in the link to the sign-in page, into the form's
hidden field, and back with the sign-in. The answer's Location is then read the way a browser
reads it (tabs and line breaks dropped, backslashes taken as slashes) and must be a path on
this host.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

import pytest

from tests.helpers import PASSWORD, make_user, text_of

PAYLOADS = [
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "https://evil.example",
    "https://evil.example/auth/account",
    "http:evil.example",
    "http:/evil.example",
    "https:/\\evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/%2F%2Fevil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "//evil.example/%2F..",
    "/ /evil.example",
    " //evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "\t//evil.example",
    "//evil.example\t",
    "/\x00/evil.example",
    "\uff0f\uff0fevil.example",  # fullwidth solidus
    "/\u2215evil.example",  # division slash
    "/\u2044evil.example",  # fraction slash
    "//evil。example",  # ideographic full stop
    "//ⓔⓥⓘⓛ.example",
    "/.//evil.example",
    "/..//evil.example",
    "https://localhost@evil.example/",
    "//localhost@evil.example",
    "/auth/login?next=//evil.example",
]


def browser_reading(location: str) -> str:
    """What a browser makes of a Location (WHATWG URL parsing for http(s) pages)."""
    location = location.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f ")
    location = re.sub(r"[\t\n\r]", "", location)
    return location.replace("\\", "/")


def sign_in_with_next(client, next_value: str):
    user = make_user("family")
    page = text_of(client.get("/auth/login", query_string={"next": next_value}))
    token = html.unescape(re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1))
    shown = re.search(r'name="next"[^>]*value="([^"]*)"', page) or re.search(
        r'value="([^"]*)"[^>]*name="next"', page
    )
    carried = html.unescape(shown.group(1)) if shown else ""
    return client.post(
        "/auth/login",
        data={"email": user.email, "password": PASSWORD, "next": carried, "csrf_token": token},
    )


@pytest.mark.parametrize("payload", PAYLOADS)
def test_sign_in_never_leaves_this_site(client, payload):
    response = sign_in_with_next(client, payload)
    assert response.status_code == 302
    location = response.headers["Location"]
    read = browser_reading(location)
    assert read.startswith("/") and not read.startswith("//"), location
    resolved = urlsplit(urljoin("https://localhost/auth/login", read))
    assert resolved.scheme == "https" and resolved.netloc == "localhost", location


@pytest.mark.parametrize("target", ["/auth/account", "/learn/library", "/learn/?x=1"])
def test_a_path_on_this_site_is_followed(client, target):
    response = sign_in_with_next(client, target)
    assert response.headers["Location"] == target
