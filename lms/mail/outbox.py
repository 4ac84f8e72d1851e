"""Record first, then send. Never lose a message, never deliver one twice.

``enqueue`` inserts under a unique dedupe key with ``ON CONFLICT DO NOTHING`` (SQLite and
PostgreSQL), so a message already recorded — by this run, an earlier one or another host at the
same moment — is not recorded again. Senders *claim* a row before delivering it: on PostgreSQL
the candidates are locked with ``FOR UPDATE SKIP LOCKED``; everywhere, the claim is a conditional
UPDATE that only one sender can win. A failed delivery keeps its error and is retried later.

Sending is a unit of work of its own, per message: the claim is committed before the mail
server is called (two senders never send one message twice, and no transaction stays open
while the mail server answers), and the outcome is committed right after it. ``enqueue`` only
adds to the caller's unit of work.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from lms import claims, clock, uow
from lms.extensions import db
from lms.mail import transport
from lms.mail.wording import check_discreet
from lms.models import Outbox

CLAIM_MINUTES = 10  # a sender that dies mid-send releases its claim after this long
BATCH = 20
SENSITIVE_REDACTED = "[delivered; this message held a one-time link and was removed]"


def enqueue(
    *,
    kind: str,
    dedupe_key: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    user_id: int | None = None,
    assignment_id: int | None = None,
    sensitive: bool = False,
) -> int | None:
    """Record a message in the caller's transaction. Returns its id, or None if a message
    with this dedupe key already exists (the caller commits)."""
    check_discreet(subject)
    values = {
        "kind": kind,
        "dedupe_key": dedupe_key,
        "recipient": recipient,
        "user_id": user_id,
        "assignment_id": assignment_id,
        "subject": subject,
        "body_text": text,
        "body_html": html,
        "sensitive": sensitive,
        "created_at": clock.utcnow(),
        "attempts": 0,
    }
    dialect = db.session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = (
            insert(Outbox)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(Outbox.id)
        )
        return db.session.execute(stmt).scalar()
    row = Outbox(**values)  # pragma: no cover -- other databases: a savepoint
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None
    return row.id


def exists(dedupe_key: str) -> bool:
    return db.session.scalar(select(Outbox.id).where(Outbox.dedupe_key == dedupe_key)) is not None


def _claimable(now):
    return and_(
        Outbox.sent_at.is_(None),
        Outbox.dropped_at.is_(None),
        Outbox.attempts < current_app.config["MAIL_MAX_ATTEMPTS"],
        or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now),
    )


def _claim(ids: list[int] | None = None, exclude: set[int] | None = None) -> list[int]:
    """Claim unsent rows for this sender and commit the claim. Returns the ids won."""
    return claims.claim(
        Outbox, _claimable, limit=BATCH, minutes=CLAIM_MINUTES, ids=ids, exclude=exclude
    )


#: Kinds the reminders setting (``User.reminders_enabled``, the one-click link) turns off:
#: reminders and the "new reading" email. They carry that link and are asked again, just
#: before sending, whether they are still wanted (``lms.mail.reminders``).
REMINDER_SETTING_KINDS = ("reminder", "new_reading")


def _unsubscribe_url(row: Outbox) -> str | None:
    if not row.kind.startswith(REMINDER_SETTING_KINDS) or row.user_id is None:
        return None
    from lms.mail.messages import reminders_off_url
    from lms.models import User

    user = db.session.get(User, row.user_id)
    return reminders_off_url(user) if user is not None else None


def _reason_to_drop(row: Outbox) -> str | None:
    """Why this message is no longer wanted now, if it is not (asked just before sending)."""
    if row.kind.startswith(REMINDER_SETTING_KINDS):
        from lms.mail.reminders import reason_to_drop  # reminders build on this module

        return reason_to_drop(row)
    return None


def _refresh(row: Outbox) -> None:
    """Bring a message that counts readings up to date before it is sent (a digest recorded
    while the mail server was down counts only the readings still due when it goes out)."""
    if row.kind.startswith(REMINDER_SETTING_KINDS):
        from lms.mail.reminders import refresh

        refresh(row)


def _drop(outbox_id: int, reason: str) -> None:
    db.session.execute(
        update(Outbox)
        .where(Outbox.id == outbox_id)
        .values(dropped_at=clock.utcnow(), drop_reason=reason, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    uow.commit()
    current_app.logger.info("mail: outbox %s not sent: %s", outbox_id, reason)


def _deliver_claimed(outbox_id: int) -> tuple[str, str | None]:
    """Send one claimed message: ``("sent", None)``, ``("failed", None)`` (kept for a retry)
    or ``("dropped", reason)`` (no longer wanted; never sent)."""
    row = db.session.get(Outbox, outbox_id)
    reason = _reason_to_drop(row)
    if reason is not None:
        _drop(outbox_id, reason)
        return "dropped", reason
    _refresh(row)  # kept in the row by the commit below: the outbox holds what was sent
    msg = transport.build_message(
        outbox_id=row.id,
        recipient=row.recipient,
        subject=row.subject,
        text=row.body_text,
        html=row.body_html,
        unsubscribe_url=_unsubscribe_url(row),
    )
    uow.commit()  # hold no transaction open while talking to the mail server
    try:
        transport.deliver(msg, outbox_id=outbox_id)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        db.session.execute(
            update(Outbox)
            .where(Outbox.id == outbox_id)
            .values(
                attempts=Outbox.attempts + 1,
                last_attempt_at=clock.utcnow(),
                last_error=error,
                claimed_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        uow.commit()
        current_app.logger.warning("mail: outbox %s not sent: %s", outbox_id, error)
        return "failed", None
    values = {
        "attempts": Outbox.attempts + 1,
        "last_attempt_at": clock.utcnow(),
        "sent_at": clock.utcnow(),
        "last_error": None,
        "claimed_until": None,
    }
    if row.sensitive:
        values.update(body_text=SENSITIVE_REDACTED, body_html=SENSITIVE_REDACTED)
    db.session.execute(
        update(Outbox)
        .where(Outbox.id == outbox_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    uow.commit()
    db.session.expire_all()
    return "sent", None


def send_now(outbox_id: int | None) -> bool:
    """Deliver one just-recorded message (after the caller's commit). A failure is kept in
    the outbox for ``flask mail flush`` / ``flask reminders send``; it never raises."""
    if outbox_id is None:
        return False
    try:
        won = _claim(ids=[outbox_id])
    except Exception:
        db.session.rollback()
        current_app.logger.exception("mail: could not claim outbox %s", outbox_id)
        return False
    return bool(won) and _deliver_claimed(outbox_id)[0] == "sent"


@dataclass
class FlushResult:
    sent: int = 0
    failed: int = 0
    waiting: int = 0  # unsent and still to be retried (includes other senders' claims)
    given_up: int = 0  # unsent after MAIL_MAX_ATTEMPTS tries
    dropped: Counter = field(default_factory=Counter)  # no longer wanted, by reason

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


def flush() -> FlushResult:
    """Deliver every unsent message this sender can claim, once each per run."""
    result = FlushResult()
    tried: set[int] = set()
    while True:
        ids = _claim(exclude=tried)
        if not ids:
            break
        for outbox_id in ids:
            tried.add(outbox_id)
            outcome, reason = _deliver_claimed(outbox_id)
            if outcome == "sent":
                result.sent += 1
            elif outcome == "failed":
                result.failed += 1
            else:
                result.dropped[reason] += 1
    limit = current_app.config["MAIL_MAX_ATTEMPTS"]
    unsent = select(func.count(Outbox.id)).where(
        Outbox.sent_at.is_(None), Outbox.dropped_at.is_(None)
    )
    result.waiting = db.session.scalar(unsent.where(Outbox.attempts < limit)) or 0
    result.given_up = db.session.scalar(unsent.where(Outbox.attempts >= limit)) or 0
    uow.commit()
    return result
