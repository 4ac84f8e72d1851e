"""Follow-ups: a clinician reached a family about its needs-help flags.

Each row says who was contacted, when, an optional short note, the date to look again, and
which reasons (flag keys from ``lms.insight``) it covered. Until that date those reasons are
set aside on the dashboard; whether a flag is set aside today is decided in one place,
``lms.followups.queries.snoozes``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lms import clock
from lms.extensions import db
from lms.models.base import UTCDateTime

NOTE_MAX = 500


class FollowUp(db.Model):
    __tablename__ = "follow_up"
    # The dashboard reads each patient's latest follow-up.
    __table_args__ = (Index("ix_follow_up_patient_id", "patient_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    # The family member spoken with; None: the patient themself.
    family_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("family_link.id", ondelete="SET NULL")
    )
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    contacted_on: Mapped[date] = mapped_column(Date)
    follow_up_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(NOTE_MAX))
    # The flag keys it covered, one per line: ids and slugs only, never names.
    reasons: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)

    @property
    def reason_keys(self) -> frozenset[str]:
        return frozenset(line for line in (self.reasons or "").splitlines() if line)
