"""Measured outcomes beside reading: a family member's wellbeing check-ins and learning goals.

``WellbeingCheck`` holds one WHO-5 Well-Being Index check-in (five items, each 0–5) or the
record that an offered check-in was skipped. The score is computed here from the row's own
items (raw sum × 4, 0–100); what a score means, when a check-in is offered and who may see it
are rules of ``lms.wellbeing``.

``LearningGoal`` is a target a clinician set for one learner (a family member or a patient
with a login): finish a set of readings, or pass a reading's knowledge check, by a date.
Whether it is met, open or missed is decided in ``lms.goals`` from the same status rules as
everything else; nothing about its progress is stored.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms import clock
from lms.extensions import db
from lms.models.base import UTCDateTime
from lms.models.user import User

WHO5_ITEMS = 5
WHO5_ITEM_MAX = 5


class WellbeingCheck(db.Model):
    """One WHO-5 check-in of one person, or one skipped offer (``skipped_at``, no items)."""

    __tablename__ = "wellbeing_check"
    __table_args__ = (
        # A person's check-ins, oldest first (the trend) and newest first (the latest).
        Index("ix_wellbeing_check_user_id", "user_id", "taken_at"),
        # One result for a form sent twice.
        UniqueConstraint("submit_token"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    # Why it was offered: "start" (a path started), "interval" (4 weeks on), "discharge".
    occasion: Mapped[str] = mapped_column(String(16))
    item1: Mapped[int | None] = mapped_column(SmallInteger)
    item2: Mapped[int | None] = mapped_column(SmallInteger)
    item3: Mapped[int | None] = mapped_column(SmallInteger)
    item4: Mapped[int | None] = mapped_column(SmallInteger)
    item5: Mapped[int | None] = mapped_column(SmallInteger)
    # Set instead of the items when the person chose "Not now".
    skipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    # The language the items were shown in ("en", "es").
    lang: Mapped[str] = mapped_column(String(8), default="en")
    submit_token: Mapped[str] = mapped_column(String(64))

    user: Mapped[User] = relationship()

    @property
    def items(self) -> tuple[int | None, ...]:
        return (self.item1, self.item2, self.item3, self.item4, self.item5)

    @property
    def is_skipped(self) -> bool:
        return self.skipped_at is not None

    @property
    def raw(self) -> int | None:
        """The sum of the five items (0–25); None for a skipped offer."""
        items = self.items
        if self.is_skipped or any(value is None for value in items):
            return None
        return sum(items)  # type: ignore[arg-type]

    @property
    def score(self) -> int | None:
        """The percentage score, raw × 4 (0–100); None for a skipped offer."""
        raw = self.raw
        return None if raw is None else raw * 4


class LearningGoal(db.Model):
    """A goal a clinician set for one learner of one patient's family (or the patient)."""

    __tablename__ = "learning_goal"
    __table_args__ = (Index("ix_learning_goal_patient_id", "patient_id", "target_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # "finish": complete every reading in ``modules``; "pass": pass the check of each.
    kind: Mapped[str] = mapped_column(String(16))
    # Module slugs, one per line (content ids, never foreign keys).
    modules: Mapped[str] = mapped_column(Text)
    # The clinician's words for it, shown to the learner ("Finish Family weeks 1–4").
    title: Mapped[str] = mapped_column(String(200))
    target_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    learner: Mapped[User] = relationship(foreign_keys=[learner_id])

    @property
    def module_slugs(self) -> tuple[str, ...]:
        return tuple(line for line in (self.modules or "").splitlines() if line)
