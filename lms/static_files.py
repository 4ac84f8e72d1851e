"""Static files under names that carry a hash of their contents, kept by browsers for a year.

- Every file of the static folder is hashed once at start-up (SHA-256 of its bytes, the first
  12 hex digits): ``css/app.css`` is also ``css/app.<hash>.css``. Two servers with the same
  release build the same names.
- ``url_for('static', filename='css/app.css')`` builds the fingerprinted address (a
  ``url_defaults`` hook), so templates change nothing.
- The fingerprinted address is served with ``Cache-Control: public, max-age=31536000,
  immutable``; the plain name still answers (old links, and a stylesheet's relative ``url()``,
  which resolves beside the stylesheet to the plain name) with ``no-cache`` (revalidated by
  its ETag).
- A changed file gets a new name: at the next start, or as soon as it is served again after
  changing on disk (its size or modification time differ; with ``flask run --debug``, at the
  next page). An address whose hash no longer matches the file — a page built by another
  release during a rolling deploy — still gets the file, but never with the long cache.
- Static responses neither set nor depend on the session cookie: no ``Set-Cookie`` and no
  ``Vary: Cookie`` (which would make browsers drop the cached file whenever the session cookie
  changes). Pages keep their no-store rule (``lms.no_store``: every endpoint but ``static``).
- ``flask --app wsgi static collect DIR`` writes every file under both names, for a proxy that
  serves ``/static/`` itself (docs/deploy.md).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

import click
from flask import Flask, current_app, request
from flask.cli import AppGroup
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
HASH_LENGTH = 12
_FINGERPRINTED = re.compile(
    rf"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{{{HASH_LENGTH}}})(?P<ext>\.[^./]+)$"
)

static_cli = AppGroup("static", help="Static files (stylesheets, scripts, images).")


@dataclass(frozen=True, slots=True)
class Entry:
    name: str  # the fingerprinted name, e.g. css/app.0123456789ab.css
    mtime_ns: int
    size: int


# Digests of files already read by this process, by (path, mtime, size): every app built in
# one process (the tests build hundreds) reads each file once.
_DIGESTS: dict[tuple[str, int, int], str] = {}


def _digest(path: Path, stat: os.stat_result) -> str:
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    digest = _DIGESTS.get(key)
    if digest is None:
        digest = _DIGESTS[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_LENGTH]
    return digest


def fingerprinted_name(filename: str, digest: str) -> str:
    """``css/app.css`` with ``digest`` before its extension: ``css/app.<digest>.css``."""
    folder, _sep, base = filename.rpartition("/")
    stem, dot, ext = base.rpartition(".")
    named = f"{stem}.{digest}.{ext}" if dot and stem else f"{base}.{digest}"
    return f"{folder}/{named}" if folder else named


class Manifest:
    """The static folder's files and their fingerprinted names (the two directions)."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self.entries: dict[str, Entry] = {}  # plain name -> entry
        self.originals: dict[str, str] = {}  # fingerprinted name -> plain name
        for path in sorted(self.folder.rglob("*")):
            relative = path.relative_to(self.folder).as_posix()
            if path.is_file() and not any(part.startswith(".") for part in relative.split("/")):
                self.refresh(relative)

    def refresh(self, filename: str) -> Entry | None:
        """Hash ``filename`` again if it changed on disk since it was hashed; its entry, or
        None when it is not (or no longer) a file of the folder."""
        path = self.folder / filename
        try:
            stat = path.stat()
        except OSError:
            return None
        if not S_ISREG(stat.st_mode):
            return None
        entry = self.entries.get(filename)
        if entry is not None and (entry.mtime_ns, entry.size) == (stat.st_mtime_ns, stat.st_size):
            return entry
        new = Entry(
            fingerprinted_name(filename, _digest(path, stat)), stat.st_mtime_ns, stat.st_size
        )
        with self._lock:
            if entry is not None:
                self.originals.pop(entry.name, None)
            self.entries[filename] = new
            self.originals[new.name] = filename
        return new

    def name_for(self, filename: str, *, check: bool = False) -> str | None:
        """The fingerprinted name to link to (``check``: look at the file on disk first)."""
        entry = self.refresh(filename) if check else self.entries.get(filename)
        return entry.name if entry is not None else None

    def plain_name(self, requested: str) -> tuple[str, bool] | None:
        """The file a requested name means, and whether the name is its current fingerprint
        (the only case that may be cached for good); None if there is no such file."""
        original = self.originals.get(requested)
        if original is not None:
            entry = self.refresh(original)
            return original, entry is not None and entry.name == requested
        if requested in self.entries or (
            safe_join(str(self.folder), requested) is not None and self.refresh(requested)
        ):
            return requested, False  # the plain name (or a file added since start-up)
        folder, _sep, base = requested.rpartition("/")
        match = _FINGERPRINTED.match(base)
        if match:
            plain = match["stem"] + match["ext"]
            plain = f"{folder}/{plain}" if folder else plain
            if plain in self.entries:  # a fingerprint of another release of this file
                return plain, False
        return None


def _manifest(app: Flask) -> Manifest:
    return app.extensions["lms_static"]


def _link_fingerprinted(endpoint: str, values: dict) -> None:
    """``url_defaults``: ``url_for('static', filename=...)`` links to the fingerprinted name."""
    if endpoint != "static":
        return
    filename = values.get("filename")
    if not isinstance(filename, str):
        return
    name = _manifest(current_app).name_for(filename, check=current_app.debug)
    if name is not None:
        values["filename"] = name


def serve(filename: str):
    """The ``static`` endpoint: a fingerprinted name with the year-long cache, anything else
    revalidated."""
    app = current_app
    found = _manifest(app).plain_name(filename)
    if found is None:
        raise NotFound()
    plain, current = found
    response = app.send_static_file(plain)
    response.headers["Cache-Control"] = IMMUTABLE if current else REVALIDATE
    return response


def _error_pages_not_kept(response):
    """A missing static file answers with an error page in the layout: a page, not a file,
    so it is never stored (as every page)."""
    if request.endpoint == "static" and response.status_code >= 400:
        response.headers["Cache-Control"] = "no-store"
    return response


class _NoCookieOnStaticFiles:
    """The app's session interface, except that a static file's response never carries the
    session cookie (nor ``Vary: Cookie``): it is the same file for everyone."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def save_session(self, app, session, response) -> None:
        if request.endpoint == "static":
            return None
        return self.inner.save_session(app, session, response)


@static_cli.command("collect")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
def collect_command(target: Path) -> None:
    """Copy every static file into TARGET under its plain and its fingerprinted name, for a
    proxy that serves /static/ itself."""
    manifest = _manifest(current_app)
    for plain, entry in sorted(manifest.entries.items()):
        for name in (plain, entry.name):
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(manifest.folder / plain, destination)
    click.echo(
        f"Copied {len(manifest.entries)} static files (plain and fingerprinted) to {target}."
    )


def init_app(app: Flask) -> None:
    """Fingerprinted links and the caching rules of the ``static`` endpoint."""
    if not app.static_folder or "static" not in app.view_functions:
        return
    app.extensions["lms_static"] = Manifest(app.static_folder)
    app.url_defaults(_link_fingerprinted)
    app.view_functions["static"] = serve
    app.session_interface = _NoCookieOnStaticFiles(app.session_interface)
    app.after_request(_error_pages_not_kept)
    app.cli.add_command(static_cli)
