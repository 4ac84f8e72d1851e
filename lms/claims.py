"""Claiming rows of an outbox for one sender, so two senders (two cron runs, two hosts) never
send the same row at once: the email outbox (``lms.mail.outbox``) and the xAPI statements
waiting for a learning-record store (``lms.interop.lrs``).

A claim is a conditional UPDATE of the row's ``claimed_until`` (it succeeds only while the
row is still claimable), committed before anything is sent; on PostgreSQL the candidates are
read ``FOR UPDATE SKIP LOCKED`` so concurrent senders take different rows. A sender that dies
mid-send lets its claim lapse after ``minutes``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update

from lms import clock, uow
from lms.extensions import db


def claim(
    model,
    claimable: Callable[[datetime], ColumnElement[bool]],
    *,
    limit: int,
    minutes: int,
    ids: Iterable[int] | None = None,
    exclude: Iterable[int] | None = None,
) -> list[int]:
    """Claim up to ``limit`` rows of ``model`` (those ``claimable(now)`` holds for, oldest
    first, among ``ids`` if given, never those in ``exclude``) and commit the claim; returns
    the ids won."""
    now = clock.utcnow()
    query = select(model.id).where(claimable(now)).order_by(model.id).limit(limit)
    if ids is not None:
        query = query.where(model.id.in_(list(ids)))
    if exclude:
        query = query.where(model.id.notin_(list(exclude)))
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    won = []
    for row_id in list(db.session.scalars(query)):
        result = db.session.execute(
            update(model)
            .where(model.id == row_id, claimable(now))
            .values(claimed_until=now + timedelta(minutes=minutes))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            won.append(row_id)
    uow.commit()
    return won
