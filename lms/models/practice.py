"""Practise and remember: a learner's private notes and the worksheets they fill in.

Both belong to the learner alone. A note reaches the care team only while its author shares
it (``shared_at``); who on the care team may then read it is decided in one place,
``lms.practice.queries.shared_with_care_team``. Worksheet answers are never shown to staff.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lms import clock
from lms.extensions import db
from lms.models.base import UTCDateTime

NOTE_MAX = 1000
ANSWER_MAX = 2000


class PracticeNote(db.Model):
    """A question for the next family session, or anything to remember."""

    __tablename__ = "practice_note"
    # The notepad lists one learner's notes, newest first.
    __table_args__ = (Index("ix_practice_note_user_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(String(NOTE_MAX))
    # Shared with the care team since then; None: private (the default).
    shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Asked at a session: kept, shown apart.
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)

    @property
    def is_shared(self) -> bool:
        return self.shared_at is not None

    @property
    def is_asked(self) -> bool:
        return self.asked_at is not None


class WorksheetAnswers(db.Model):
    """One learner's answers to one worksheet of one module, as a JSON object of field key →
    text. Keyed by module slug and worksheet key (content ids, never foreign keys), so editing
    content never orphans them; answers to a field the content no longer has are kept."""

    __tablename__ = "worksheet_answers"
    # One row per learner and worksheet: saving twice at once updates the same row.
    __table_args__ = (UniqueConstraint("user_id", "module_slug", "worksheet_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    module_slug: Mapped[str] = mapped_column(String(100))
    worksheet_key: Mapped[str] = mapped_column(String(100))
    answers: Mapped[str] = mapped_column(Text, default="{}")
    # The module file's version (sha256) the answers were last saved against.
    module_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
