"""The outbox: every email is recorded here first, then sent.

``dedupe_key`` is unique, so the same message (an invitation, one reminder stage of one
assignment) is recorded once however many workers or hosts try at the same moment; a failed
send stays here with its error and is retried by ``flask mail flush`` or ``flask reminders send``.

A reminder names its assignment, so that at the moment of sending it is asked again whether it
is still due: one recorded before the patient withdrew consent or was discharged, and not yet
delivered, is *dropped* (never sent, kept with the reason) instead of sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
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
