"""One result for a form sent more than once at the same moment.

A double click, or a phone resending on a bad connection, delivers the same rendered form
several times. Forms that create something carry a one-time ``submit_token``
(``lms.forms.OnceForm``), and the action *claims* it before doing anything else: one INSERT
into ``submission``, unique per user and token, in the same transaction as the work. An
identical submit waits on that unique index (PostgreSQL) or on the write lock (SQLite) until
the first one commits, then finds the claim taken and answers with the first one's result
(``Claim.earlier``, ``Claim.result``). If the first one was refused and rolled back, the
claim is free again and the next one does the work itself, and is refused the same way.

A claim is needed only while its form can still be sent: a form is sent within the session it
was shown in (its CSRF token is that session's), and no session outlives
``SESSION_ABSOLUTE_HOURS``. ``prune`` (``flask tidy``, daily) deletes the older ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from lms import clock
from lms.extensions import db
from lms.models import Submission, User


@dataclass(frozen=True)
class Claim:
    id: int | None = None  # this submit's claim; None without a token to claim
    earlier: bool = False  # an identical submit got there first and has finished
    result: int | None = None  # what that one produced


UNCLAIMED = Claim()


def claim(user: User, token: str | None, action: str) -> Claim:
    """Claim ``token`` for ``action``, first thing in the caller's transaction."""
    if not token:
        return UNCLAIMED  # an old page without a token: no protection, as before
    values = {"user_id": user.id, "token": token, "action": action, "created_at": clock.utcnow()}
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = (
        insert(Submission)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["user_id", "token"])
        .returning(Submission.id)
    )
    claim_id = db.session.execute(stmt).scalar()
    if claim_id is not None:
        return Claim(id=claim_id)
    row = db.session.execute(
        select(Submission.action, Submission.result).where(
            Submission.user_id == user.id, Submission.token == token
        )
    ).one()
    db.session.rollback()  # nothing to write; let the others waiting go on
    if row.action != action:
        return UNCLAIMED  # a token from another form: nothing to share
    return Claim(earlier=True, result=row.result)


def finish(claim: Claim, result: int) -> None:
    """Record what this submit produced, before the caller commits the work."""
    if claim.id is not None:
        db.session.execute(
            update(Submission)
            .where(Submission.id == claim.id)
            .values(result=result)
            .execution_options(synchronize_session=False)
        )


def keep_for() -> timedelta:
    """How long a claim is kept: longer than any session lives, and at least a day."""
    hours = current_app.config.get("SESSION_ABSOLUTE_HOURS", 12)
    return max(timedelta(hours=hours + 1), timedelta(days=1))


def prune() -> int:
    """Delete the claims no form can be sent against any more (``keep_for``); how many."""
    cutoff = clock.utcnow() - keep_for()
    return db.session.execute(
        delete(Submission)
        .where(Submission.created_at < cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount
