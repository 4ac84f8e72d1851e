"""The outbox: every email is recorded here first, then sent.

``dedupe_key`` is unique, so the same message (an invitation, one reminder stage of one
assignment) is recorded once however many workers or hosts try at the same moment; a failed
send stays here with its error and is retried by ``flask mail flush`` or ``flask reminders send``.

A reminder digest (one email per person per run) and a "new reading" email list the readings
they are about in ``outbox_reading``: at the moment of sending each is asked again whether it is
still due, and a message none of whose readings still is (the patient withdrew consent or was
discharged, the reading was completed or cancelled) is *dropped* (never sent, kept with the
reason) instead of sent. ``(assignment, stage)`` is unique there, so nobody is reminded twice of
the same stage of one reading. Reminders recorded before digests named one assignment each
(``Outbox.assignment_id``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lms import clock
from lms.extensions import db
from lms.models.base import UTCDateTime


class Outbox(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # Bodies holding a one-time link are blanked once delivered.
    sensitive: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    # A sender claims a row until this time, so two senders never deliver it twice.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Reminders: the assignment they are about, asked again just before sending.
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignment.id", ondelete="SET NULL"), index=True
    )
    # Not sent, and never will be: no longer wanted when its turn came (why, in a word).
    dropped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    drop_reason: Mapped[str | None] = mapped_column(String(40))

    def __repr__(self) -> str:
        state = "sent" if self.sent_at else "dropped" if self.dropped_at else "unsent"
        return f"<Outbox {self.id} {self.kind} {state}>"


class OutboxReading(db.Model):
    """One reading (assignment) an email is about, at one stage: ``due-soon``, ``overdue``,
    ``overdue-1``… for reminders, ``new`` for the "new reading" email."""

    __tablename__ = "outbox_reading"
    # Each stage of one reading is covered by one email, however many runs or hosts try.
    __table_args__ = (UniqueConstraint("assignment_id", "stage"),)

    outbox_id: Mapped[int] = mapped_column(
        ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True
    )
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignment.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(20))

    def __repr__(self) -> str:
        return f"<OutboxReading {self.outbox_id} {self.assignment_id} {self.stage}>"
