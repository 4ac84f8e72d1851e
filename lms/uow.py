"""One unit of work per request and per CLI command.

Domain operations add, flush and audit; they never commit. The request commits once, after
the view has produced its response, whatever its status: a form refused with a 400 keeps the
audit row of the page it showed, a 404 keeps its ``patient.denied`` row. An unhandled error
rolls everything back (``lms.errors``), so half an action is never kept. CLI commands call
``commit()`` once at their end.

Work that must wait until the data it depends on is durable (delivering an email recorded in
the outbox) is registered with ``after_commit`` and runs right after that commit.

``commit()`` is the only place that commits. Besides the request and the CLI commands, it
marks two boundaries of their own, by design: the outbox sender commits each claim before
talking to the mail server (two senders never send one message twice; no transaction waits on
the network) and each outcome after it; ``demo --scale`` commits one generated family at a
time.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, g

from lms.extensions import db


def after_commit(callback: Callable[[], object]) -> None:
    """Run ``callback`` once the current unit of work is committed."""
    g.setdefault("_after_commit", []).append(callback)


def commit() -> None:
    """The boundary: commit the unit of work, then run what waited for it."""
    db.session.commit()
    for callback in g.pop("_after_commit", []):
        callback()


def commit_request(response: Response) -> Response:
    commit()
    return response
