"""Group education sessions the program runs, and who attended."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms import clock
from lms.extensions import db
from lms.models.base import StrEnumColumn, UTCDateTime
from lms.models.user import User


class AttendanceStatus(enum.StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    EXCUSED = "excused"


class EducationSession(db.Model):
    __tablename__ = "education_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    held_on: Mapped[date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(200))
    facilitator: Mapped[str] = mapped_column(String(120))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    # A session logged by mistake is voided (``group_sessions.operations.void_session``): kept
    # with when, by whom and why; its attendance no longer counts anywhere.
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # No ON DELETE: SQLite adds this reference only inline (migration 0016); accounts are
    # deactivated, never deleted.
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    void_reason: Mapped[str | None] = mapped_column(String(300))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id], viewonly=True)
    modules: Mapped[list[SessionModule]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="SessionModule.position"
    )
    attendance: Mapped[list[Attendance]] = relationship(
        back_populates="session", cascade="all, delete-orphan"
    )

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None

    @property
    def present_count(self) -> int:
        return sum(1 for row in self.attendance if row.status == AttendanceStatus.PRESENT)


class SessionModule(db.Model):
    """A module covered in a session, by slug (content is never a foreign key)."""

    __tablename__ = "session_module"
    __table_args__ = (UniqueConstraint("session_id", "module_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("education_session.id", ondelete="CASCADE"), index=True
    )
    module_slug: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)

    session: Mapped[EducationSession] = relationship(back_populates="modules")


class Attendance(db.Model):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("session_id", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("education_session.id", ondelete="CASCADE"), index=True
    )
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[AttendanceStatus] = mapped_column(StrEnumColumn(AttendanceStatus, 16))

    session: Mapped[EducationSession] = relationship(back_populates="attendance")
