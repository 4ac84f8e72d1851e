"""Sending recorded xAPI statements to the learning-record store (LRS). Nothing is lost, nothing
is sent twice by two senders.

Statements wait in ``xapi_outbox`` (recorded with their learning event, ``lms.interop.xapi``).
``push`` claims a batch of unsent rows first — on PostgreSQL the candidates are locked with
``FOR UPDATE SKIP LOCKED``; everywhere the claim is a conditional UPDATE that only one sender
wins (``claimed_until``) — and commits the claim before calling the LRS, so no transaction
waits on the network and a second ``flask xapi push`` at the same moment takes other rows.
The batch is POSTed to ``{XAPI_LRS_URL}/statements`` (xAPI 1.0.3, basic authentication, a
timeout). A 2xx answer marks every row sent; anything else keeps them for the next run with
``attempts`` + 1 and ``last_error`` — the status or the kind of failure, never a statement's
content, a password or the LRS's reply. An LRS that stores a statement it already holds (a
retry after an answer that never arrived) keeps one copy: statement ids are stable.

A batch refused as a whole with 400 is sent again one statement at a time, so one statement
the LRS will not take does not hold back the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import requests
from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from lms import claims, clock, uow
from lms.extensions import db
from lms.models import XapiOutbox

#: A sender that dies mid-send releases its claim after this long.
CLAIM_MINUTES = 10
#: Statements per request (LRSs accept arrays; a few dozen keep each request small).
BATCH = 50
XAPI_VERSION_HEADER = "X-Experience-API-Version"


class LrsNotConfigured(RuntimeError):
    """``XAPI_LRS_URL`` is not set."""


def _claimable(now):
    return and_(
        XapiOutbox.sent_at.is_(None),
        or_(XapiOutbox.claimed_until.is_(None), XapiOutbox.claimed_until < now),
    )


def _claim(exclude: set[int]) -> list[int]:
    """Claim up to ``BATCH`` unsent rows for this sender and commit the claim; the ids won."""
    return claims.claim(XapiOutbox, _claimable, limit=BATCH, minutes=CLAIM_MINUTES, exclude=exclude)


def _post(statements: list[dict]) -> str | None:
    """POST statements to the LRS: None when it took them, else why not (no content)."""
    config = current_app.config
    auth = None
    if config.get("XAPI_LRS_USERNAME") or config.get("XAPI_LRS_PASSWORD"):
        auth = (config.get("XAPI_LRS_USERNAME") or "", config.get("XAPI_LRS_PASSWORD") or "")
    timeout = float(config.get("XAPI_LRS_TIMEOUT") or 20)
    try:
        response = requests.post(
            f"{config['XAPI_LRS_URL']}/statements",
            data=json.dumps(statements, separators=(",", ":")),
            headers={XAPI_VERSION_HEADER: "1.0.3", "Content-Type": "application/json"},
            auth=auth,
            timeout=timeout,
        )
    except requests.RequestException as exc:
        # The exception's text may repeat the address (and any credentials written into it).
        return f"could not reach the LRS ({type(exc).__name__})"
    with response:
        if 200 <= response.status_code < 300:
            return None
        return f"the LRS answered {response.status_code}"


def _mark(ids: list[int], error: str | None) -> None:
    now = clock.utcnow()
    values: dict = {
        "attempts": XapiOutbox.attempts + 1,
        "last_attempt_at": now,
        "claimed_until": None,
        "last_error": error,
    }
    if error is None:
        values["sent_at"] = now
    db.session.execute(
        update(XapiOutbox)
        .where(XapiOutbox.id.in_(ids))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    uow.commit()


def _send(ids: list[int]) -> tuple[int, int]:
    """Send claimed rows: (sent, failed)."""
    rows = db.session.execute(
        select(XapiOutbox.id, XapiOutbox.statement).where(XapiOutbox.id.in_(ids))
    ).all()
    uow.commit()  # hold no transaction open while the LRS answers
    if not rows:
        return 0, 0
    error = _post([json.loads(statement) for _, statement in rows])
    if error is None:
        _mark([row.id for row in rows], None)
        return len(rows), 0
    if error.endswith(" 400") and len(rows) > 1:
        sent = failed = 0
        for row in rows:
            one_sent, one_failed = _send([row.id])
            sent, failed = sent + one_sent, failed + one_failed
        return sent, failed
    _mark([row.id for row in rows], error)
    current_app.logger.warning("xapi: %d statement(s) not sent: %s", len(rows), error)
    return 0, len(rows)


@dataclass
class PushResult:
    sent: int = 0
    failed: int = 0
    waiting: int = 0  # unsent after this run (failed, or claimed by another sender)


def push() -> PushResult:
    """Send every unsent statement this sender can claim, each at most once per run."""
    if not current_app.config.get("XAPI_LRS_URL"):
        raise LrsNotConfigured("XAPI_LRS_URL is not set")
    result = PushResult()
    tried: set[int] = set()
    while True:
        ids = _claim(tried)
        if not ids:
            break
        tried.update(ids)
        sent, failed = _send(ids)
        result.sent += sent
        result.failed += failed
    result.waiting = db.session.scalar(
        select(func.count(XapiOutbox.id)).where(XapiOutbox.sent_at.is_(None))
    )
    uow.commit()
    return result


@dataclass
class Status:
    waiting: int  # not sent, never tried or tried without an error kept
    sent: int
    failing: int  # not sent, the last try failed
    last_errors: list[tuple[str, int]]  # (error, how many rows) of failing rows


def status() -> Status:
    """How many statements are waiting, sent and failing, and why they fail."""
    unsent = XapiOutbox.sent_at.is_(None)
    count = select(func.count(XapiOutbox.id))
    errors = db.session.execute(
        select(XapiOutbox.last_error, func.count(XapiOutbox.id))
        .where(unsent, XapiOutbox.last_error.is_not(None))
        .group_by(XapiOutbox.last_error)
        .order_by(func.count(XapiOutbox.id).desc())
    ).all()
    return Status(
        waiting=db.session.scalar(count.where(unsent, XapiOutbox.last_error.is_(None))) or 0,
        sent=db.session.scalar(count.where(XapiOutbox.sent_at.is_not(None))) or 0,
        failing=sum(n for _, n in errors),
        last_errors=[(error, n) for error, n in errors],
    )
