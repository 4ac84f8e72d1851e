"""Forms sent once: the one-time token each rendered form carries, claimed by the first
submit that uses it (``lms.submissions``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lms import clock
from lms.extensions import db
from lms.models.base import UTCDateTime


class Submission(db.Model):
    __tablename__ = "submission"
    # The claim: a second submit of the same form waits on this index, then finds it taken.
    __table_args__ = (UniqueConstraint("user_id", "token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    # What the first submit produced: the new row's id, or for assignments how many.
    result: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
