"""What a learner has done: sections read, module completion, knowledge-check attempts.

Progress is keyed by the module's slug (its stable identity), never by a foreign key into
content, so reloading or editing content never orphans it. Every row records the content
version (file hash) it was made against, so an edited module never rescores the past.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms import clock
from lms.extensions import db
from lms.models.base import UTCDateTime


class SectionRead(db.Model):
    """One section of one module marked as read by one learner."""

    __tablename__ = "section_read"
    __table_args__ = (UniqueConstraint("user_id", "module_slug", "section_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    module_slug: Mapped[str] = mapped_column(String(100))
    section_key: Mapped[str] = mapped_column(String(120))
    content_version: Mapped[str] = mapped_column(String(64))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)


class ModuleProgress(db.Model):
    """A learner's standing in one module: where to resume, and completion."""

    __tablename__ = "module_progress"
    __table_args__ = (
        UniqueConstraint("user_id", "module_slug"),
        Index("ix_module_progress_slug_completed", "module_slug", "completed_at"),
        # Each learner's last activity, read from the index alone (the dashboard; 0020).
        Index("ix_module_progress_user_activity", "user_id", "last_activity_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    module_slug: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    last_section_key: Mapped[str | None] = mapped_column(String(120))
    sections_read: Mapped[int] = mapped_column(Integer, default=0)
    sections_total: Mapped[int] = mapped_column(Integer, default=0)
    best_score: Mapped[float | None] = mapped_column(Float)
    passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_version: Mapped[str | None] = mapped_column(String(64))


class QuizAttempt(db.Model):
    """One submitted knowledge check: a summary row, plus one row per answer."""

    __tablename__ = "quiz_attempt"
    __table_args__ = (
        # The form carries a one-time token: a double-click or a replay records once.
        UniqueConstraint("user_id", "submit_token"),
        Index("ix_quiz_attempt_user_module", "user_id", "module_slug"),
        # Failed attempts only: the "did not pass twice" flag reads these (0021).
        Index(
            "ix_quiz_attempt_failed",
            "user_id",
            "module_slug",
            sqlite_where=text("NOT passed"),
            postgresql_where=text("NOT passed"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    module_slug: Mapped[str] = mapped_column(String(100), index=True)
    content_version: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(8), default="en")
    submit_token: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    correct_count: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    pass_mark: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)

    answers: Mapped[list[QuizAnswer]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan", order_by="QuizAnswer.position"
    )


class QuizAnswer(db.Model):
    __tablename__ = "quiz_answer"
    __table_args__ = (Index("ix_quiz_answer_question", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("quiz_attempt.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[str] = mapped_column(String(100))
    # Chosen options by id (their position in the module file), comma-separated in ascending
    # order ("0", "1,3"); for an ordering question, the steps in the learner's order ("2,0,1").
    chosen: Mapped[str] = mapped_column(String(200))
    correct: Mapped[bool] = mapped_column(Boolean)
    # The order the options were shown in on this attempt ("2,0,3,1"); None before shuffling.
    shown_order: Mapped[str | None] = mapped_column(String(200))

    attempt: Mapped[QuizAttempt] = relationship(back_populates="answers")

    @property
    def chosen_indices(self) -> frozenset[int]:
        return frozenset(int(c) for c in self.chosen.split(",") if c != "")

    @property
    def chosen_sequence(self) -> tuple[int, ...]:
        return tuple(int(c) for c in self.chosen.split(",") if c != "")

    def order_shown(self, size: int) -> tuple[int, ...]:
        """Option ids in the order this learner saw them (file order for older attempts)."""
        if self.shown_order:
            order = tuple(int(c) for c in self.shown_order.split(",") if c != "")
            if sorted(order) == list(range(size)):
                return order
        return tuple(range(size))


class ResultImmutableError(RuntimeError):
    """A submitted knowledge-check result is a record of what happened; it is never edited
    (HIPAA 164.312(c)(1), integrity). A new attempt is a new row."""


@event.listens_for(QuizAttempt, "before_update")
@event.listens_for(QuizAnswer, "before_update")
def _results_are_immutable(mapper, connection, target):
    raise ResultImmutableError("submitted knowledge-check results cannot be changed")
