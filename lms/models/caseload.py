"""A caseload move, kept so that exactly it can be undone (``patients.care_teams``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from lms import clock
from lms.extensions import db
from lms.models.base import UTCDateTime


class CaseloadMove(db.Model):
    __tablename__ = "caseload_move"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_clinician_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    to_clinician_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    # Patient ids, comma-separated: every patient moved, and those whose care team the new
    # clinician joined by the move (the others already had them).
    moved: Mapped[str] = mapped_column(String(4000))
    added: Mapped[str] = mapped_column(String(4000))
    moved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @staticmethod
    def ids(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split(",") if part)
