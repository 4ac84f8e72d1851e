"""Static files under fingerprinted names (lms/static_files.py): linked by ``url_for``, kept by
browsers for a year, renamed when they change; the plain names still answer; pages keep
``no-store`` and the same Content-Security-Policy."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
from flask import Flask, url_for

from lms import static_files
from tests.helpers import login, make_user, text_of

IMMUTABLE = "public, max-age=31536000, immutable"
STATIC = Path(__file__).resolve().parent.parent / "static"
FINGERPRINTED = re.compile(r"^/static/(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<ext>\.[a-z0-9]+)$")
STATIC_LINK = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def digest_of(relative: str) -> str:
    return hashlib.sha256((STATIC / relative).read_bytes()).hexdigest()[:12]


def get(client, path: str, **kwargs):
    """A GET whose body is read and whose file is closed (file responses hold it open)."""
    response = client.get(path, **kwargs)
    response.get_data()
    response.close()
    return response


def test_pages_link_every_static_file_by_its_fingerprint(client):
    page = text_of(client.get("/auth/login"))
    links = STATIC_LINK.findall(page)
    assert f"/static/css/app.{digest_of('css/app.css')}.css" in links
    assert f"/static/css/print.{digest_of('css/print.css')}.css" in links
    assert f"/static/img/logo.{digest_of('img/logo.svg')}.svg" in links
    assert len(links) >= 6, links
    for link in links:
        match = FINGERPRINTED.match(link)
        assert match, f"{link} carries no fingerprint"
        plain = match["stem"] + match["ext"]
        assert match["digest"] == digest_of(plain), link


def test_the_fingerprinted_name_is_kept_for_a_year_and_the_plain_name_revalidated(client):
    with client.application.test_request_context():
        css = url_for("static", filename="css/app.css")
    kept = get(client, css)
    assert kept.status_code == 200
    assert kept.headers["Cache-Control"] == IMMUTABLE
    assert kept.get_data() == (STATIC / "css" / "app.css").read_bytes()
    assert kept.mimetype == "text/css"

    plain = get(client, "/static/css/app.css")  # old links and stylesheets' url() still work
    assert plain.status_code == 200
    assert plain.headers["Cache-Control"] == "no-cache"
    assert plain.get_data() == kept.get_data()
    # The plain name revalidates cheaply.
    again = get(client, "/static/css/app.css", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304


def test_pages_stay_no_store_and_headers_are_unchanged(client):
    page = client.get("/auth/login")
    with client.application.test_request_context():
        css = url_for("static", filename="css/app.css")
    asset = get(client, css)
    assert page.headers["Cache-Control"] == "no-store"
    # The same Content-Security-Policy and other security headers on pages and files.
    for header in (
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
    ):
        assert asset.headers[header] == page.headers[header], header
    assert "default-src 'self'" in asset.headers["Content-Security-Policy"]


def test_a_static_file_never_carries_the_session_cookie(app, client):
    """Set-Cookie or ``Vary: Cookie`` on a file would make browsers drop it whenever the
    session cookie changes (once a minute while someone reads), and shared caches skip it."""
    user = make_user("family")
    login(client, user.email)
    page = client.get("/learn/")
    assert page.status_code == 200 and "Cookie" in page.headers.get("Vary", "")
    with app.test_request_context():
        names = [
            url_for("static", filename="css/app.css"),
            "/static/css/app.css",
            url_for("static", filename="img/logo.svg"),
        ]
    for name in names:
        response = get(client, name)
        assert response.status_code == 200, name
        assert "Set-Cookie" not in response.headers, name
        assert "Cookie" not in response.headers.get("Vary", ""), name
    # Still signed in afterwards: the files changed nothing in the session.
    assert client.get("/learn/").status_code == 200


def test_a_fingerprint_of_another_release_gets_the_file_but_not_the_long_cache(client):
    """During a rolling deploy a page from one release may ask a server of another."""
    other = get(client, "/static/css/app.0123456789ab.css")
    assert other.status_code == 200
    assert other.headers["Cache-Control"] == "no-cache"
    assert other.get_data() == (STATIC / "css" / "app.css").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/static/css/missing.css",
        "/static/css/missing.0123456789ab.css",
        "/static/../pyproject.toml",
    ],
)
def test_a_missing_file_is_a_page_not_kept(client, path):
    response = get(client, path)
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"


def test_stylesheet_references_resolve_beside_the_fingerprinted_name(client):
    """A relative url() in a stylesheet resolves against the stylesheet's (fingerprinted)
    address: to the plain name of a file that is served."""
    for sheet in sorted((STATIC / "css").glob("*.css")):
        relative = sheet.relative_to(STATIC).as_posix()
        with client.application.test_request_context():
            address = url_for("static", filename=relative)
        assert FINGERPRINTED.match(address), address
        for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", sheet.read_text()):
            if ref.startswith(("data:", "#")):
                continue
            response = get(client, urljoin(address, ref))
            assert response.status_code == 200, (relative, ref)
    # (The shipped stylesheets have no url() today; the test below uses a folder that has.)


@pytest.fixture
def site(tmp_path):
    """A bare Flask app with a static folder of this test's own, fingerprinted by the module."""
    folder = tmp_path / "static"
    (folder / "css").mkdir(parents=True)
    (folder / "img").mkdir()
    (folder / "img" / "dot.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (folder / "css" / "site.css").write_text("body { background: url(../img/dot.svg); }\n")
    app = Flask("site", static_folder=str(folder))
    static_files.init_app(app)
    return app, folder


def link(app: Flask, filename: str) -> str:
    with app.test_request_context():
        return url_for("static", filename=filename)


def test_a_relative_url_in_a_stylesheet_reaches_its_file(site):
    app, folder = site
    client = app.test_client()
    sheet = link(app, "css/site.css")
    body = get(client, sheet)
    assert body.headers["Cache-Control"] == IMMUTABLE
    ref = re.search(r"url\(([^)]+)\)", body.get_data(as_text=True)).group(1)
    image = get(client, urljoin(sheet, ref))
    assert image.status_code == 200
    assert image.get_data() == (folder / "img" / "dot.svg").read_bytes()


def test_a_changed_file_gets_a_new_name(site):
    app, folder = site
    client = app.test_client()
    before = link(app, "css/site.css")
    assert get(client, before).headers["Cache-Control"] == IMMUTABLE

    sheet = folder / "css" / "site.css"
    sheet.write_text("body { color: black; }\n")
    stat = sheet.stat()
    os.utime(sheet, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    # The old name now holds other bytes: served, but never kept for good.
    stale = get(client, before)
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
    assert stale.get_data() == b"body { color: black; }\n"
    after = link(app, "css/site.css")
    assert after != before
    assert (
        FINGERPRINTED.match(after)["digest"] == hashlib.sha256(sheet.read_bytes()).hexdigest()[:12]
    )
    fresh = get(client, after)
    assert fresh.headers["Cache-Control"] == IMMUTABLE
    assert fresh.get_data() == b"body { color: black; }\n"

    # A restart (a new app on the same folder) links the new name from the start.
    restarted = Flask("site", static_folder=str(folder))
    static_files.init_app(restarted)
    assert link(restarted, "css/site.css") == after


def test_in_debug_mode_links_follow_an_edit_at_once(site):
    app, folder = site
    app.debug = True
    before = link(app, "img/dot.svg")
    svg = folder / "img" / "dot.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="2"/>')
    stat = svg.stat()
    os.utime(svg, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert link(app, "img/dot.svg") != before


def test_a_file_added_after_start_is_served_by_its_plain_name(site):
    app, folder = site
    (folder / "img" / "new.svg").write_text("<svg/>")
    response = get(app.test_client(), "/static/img/new.svg")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"


def test_collect_writes_both_names_for_a_proxy(app, tmp_path):
    target = tmp_path / "collected"
    result = app.test_cli_runner().invoke(args=["static", "collect", str(target)])
    assert result.exit_code == 0, result.output
    count = sum(1 for p in STATIC.rglob("*") if p.is_file())
    assert f"Copied {count} static files" in result.output
    css = (STATIC / "css" / "app.css").read_bytes()
    assert (target / "css" / "app.css").read_bytes() == css
    assert (target / "css" / f"app.{digest_of('css/app.css')}.css").read_bytes() == css
    assert sum(1 for p in target.rglob("*") if p.is_file()) == 2 * count
