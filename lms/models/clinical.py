"""The clinical records: patients, care teams, family links, consents, invitations, assignments.

42 CFR Part 2 §2.31: a substance-use program may tell a family member nothing about a patient
without the patient's written consent naming that person. ``Consent.is_active`` is the one
definition of "active"; ``lms.access`` is the one place that applies it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms import clock
from lms.extensions import db
from lms.models.base import StrEnumColumn, UTCDateTime
from lms.models.user import User


class PatientStatus(enum.StrEnum):
    ACTIVE = "active"
    DISCHARGED = "discharged"
    # Enrolled by mistake (a duplicate) before anything was recorded: kept, listed nowhere.
    VOIDED = "voided"


class Relationship(enum.StrEnum):
    PARENT = "parent"
    PARENT_OF_MINOR = "parent_of_minor"  # the patient is under 18
    PARTNER = "partner"
    SPOUSE = "spouse"
    SIBLING = "sibling"
    ADULT_CHILD = "adult_child"
    FRIEND = "friend"
    OTHER = "other"


class LinkState(enum.StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    REMOVED = "removed"


class Patient(db.Model):
    """An enrollment in the program."""

    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(120))
    record_number: Mapped[str | None] = mapped_column(String(40))
    # The patient's own email, from the program's roster: where their login invitation goes.
    email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[PatientStatus] = mapped_column(
        StrEnumColumn(PatientStatus, 16), default=PatientStatus.ACTIVE, index=True
    )
    enrolled_on: Mapped[date] = mapped_column(Date)
    discharged_on: Mapped[date | None] = mapped_column(Date)
    # The patient's own login, if they have one (role "patient").
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), unique=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    # A duplicate enrolment voided (``patients.operations.void_enrolment``): when, by whom, why.
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # No ON DELETE: SQLite adds this reference only inline (migration 0013); accounts are
    # deactivated, never deleted.
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    void_reason: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id], viewonly=True)
    care_team: Mapped[list[CareTeamMember]] = relationship(
        back_populates="patient", cascade="all, delete-orphan"
    )
    family_links: Mapped[list[FamilyLink]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="FamilyLink.id"
    )

    @property
    def is_active(self) -> bool:
        return self.status == PatientStatus.ACTIVE

    @property
    def is_voided(self) -> bool:
        return self.status == PatientStatus.VOIDED


class CareTeamMember(db.Model):
    """A clinician who has this patient on their caseload (several may).

    ``ends_on`` set: covering for a colleague who is away, through that day (the last day
    of access; ``lms.access.current_member_clause`` is the rule). ``covering_for_id``: whom
    they cover for, so the dashboard can say so."""

    __tablename__ = "care_team"
    __table_args__ = (UniqueConstraint("patient_id", "clinician_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    ends_on: Mapped[date | None] = mapped_column(Date())
    # No ON DELETE: SQLite adds this reference only inline (migration 0015); accounts are
    # deactivated, never deleted.
    covering_for_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    patient: Mapped[Patient] = relationship(back_populates="care_team")
    clinician: Mapped[User] = relationship(foreign_keys=[clinician_id])
    covering_for: Mapped[User | None] = relationship(foreign_keys=[covering_for_id], viewonly=True)


class FamilyLink(db.Model):
    """A family member connected to a patient. ``user_id`` is set when they accept."""

    __tablename__ = "family_link"
    __table_args__ = (Index("ix_family_link_user", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    relationship_kind: Mapped[Relationship] = mapped_column(
        "relationship", StrEnumColumn(Relationship, 20)
    )
    state: Mapped[LinkState] = mapped_column(
        StrEnumColumn(LinkState, 16), default=LinkState.INVITED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)

    patient: Mapped[Patient] = relationship(back_populates="family_links")
    user: Mapped[User | None] = relationship()
    consents: Mapped[list[Consent]] = relationship(
        back_populates="family_link", order_by="Consent.id"
    )


DEFAULT_DISCLOSURE = (
    "That I am enrolled in the program, and the modules assigned to and completed by this person."
)
DEFAULT_PURPOSE = "To involve this person in my care through the program's family education."
DEFAULT_REVOCATION = (
    "I may withdraw this consent at any time, in writing or on this website, except for what "
    "has already been shared based on it."
)


class Consent(db.Model):
    """A patient's written consent to tell one named family member certain things (§2.31)."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    family_link_id: Mapped[int] = mapped_column(
        ForeignKey("family_link.id", ondelete="CASCADE"), index=True
    )
    program_name: Mapped[str] = mapped_column(String(200))
    recipient_name: Mapped[str] = mapped_column(String(120))
    disclosure: Mapped[str] = mapped_column(Text, default=DEFAULT_DISCLOSURE)
    purpose: Mapped[str] = mapped_column(Text, default=DEFAULT_PURPOSE)
    revocation_terms: Mapped[str] = mapped_column(Text, default=DEFAULT_REVOCATION)
    expires_on: Mapped[date | None] = mapped_column(Date)
    expiry_event: Mapped[str | None] = mapped_column(String(200))
    signed_by: Mapped[str] = mapped_column(String(20), default="patient")  # or "representative"
    representative_name: Mapped[str | None] = mapped_column(String(120))
    representative_capacity: Mapped[str | None] = mapped_column(String(120))
    signature_method: Mapped[str] = mapped_column(String(20))  # "electronic" | "paper"
    signed_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # A newer consent for the same family member replaces this one: at most one is active per
    # family member, so withdrawing "the" consent always ends the person's access.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    superseded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("consent.id", ondelete="SET NULL")
    )
    # "Until I leave the program": discharge ends it (``ended_at``, ``end_reason="discharge"``).
    ends_at_discharge: Mapped[bool] = mapped_column(default=False, server_default=false())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(20))
    # Recorded by mistake (``consent.operations.mark_entered_in_error``): kept, never in force.
    error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error_reason: Mapped[str | None] = mapped_column(String(300))
    error_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))  # see voided_by_id

    family_link: Mapped[FamilyLink] = relationship(back_populates="consents")
    patient: Mapped[Patient] = relationship(foreign_keys=[patient_id], viewonly=True)
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    error_by: Mapped[User | None] = relationship(foreign_keys=[error_by_id], viewonly=True)

    def is_active(self, today: date | None = None) -> bool:
        """The one Python definition of an active consent; ``lms.consent.queries.in_force_clause``
        is its SQL twin (a test checks that they agree). A consent entered in error never is."""
        return self.state(today) == "active"

    def state(self, today: date | None = None) -> str:
        today = today or clock.today()
        if self.error_at is not None:
            return "entered_in_error"  # never valid: before withdrawn, replaced or ended
        if self.revoked_at is not None:
            return "withdrawn"
        if self.superseded_at is not None:
            return "replaced"
        if self.ended_at is not None:
            return "ended"
        if self.expires_on is not None and self.expires_on < today:
            return "expired"
        return "active"


class Invitation(db.Model):
    """A single-use, expiring invitation, stored as a hash and bound to one email."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    family_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("family_link.id", ondelete="CASCADE")
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The language the clinician chose for it ("en", "es"): its email, its page and the new
    # account's language. None on invitations made before it was asked: the default's.
    locale: Mapped[str | None] = mapped_column(String(8))


class Assignment(db.Model):
    """A module given to one learner, for one patient's care, by a clinician."""

    __tablename__ = "assignment"
    __table_args__ = (
        Index("ix_assignment_patient_open", "patient_id", "cancelled_at"),
        Index("ix_assignment_learner", "learner_id", "module_slug"),
        # One open assignment of a module per learner and patient, whoever assigns it.
        Index(
            "uq_assignment_open",
            "learner_id",
            "patient_id",
            "module_slug",
            unique=True,
            sqlite_where=text("cancelled_at IS NULL"),
            postgresql_where=text("cancelled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_slug: Mapped[str] = mapped_column(String(100))
    learner_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    path_slug: Mapped[str | None] = mapped_column(String(100))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    note: Mapped[str | None] = mapped_column(String(500))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    learner: Mapped[User] = relationship(foreign_keys=[learner_id])
    patient: Mapped[Patient] = relationship()
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])

    @property
    def is_open(self) -> bool:
        return self.cancelled_at is None


class EmergencyAccess(db.Model):
    """Break-glass: an administrator opens one patient's records outside every care team
    (HIPAA 164.312(a)(2)(ii)), for a stated reason, for a limited time; audited."""

    __tablename__ = "emergency_access"
    __table_args__ = (Index("ix_emergency_access_user_patient", "user_id", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
    patient: Mapped[Patient] = relationship()

    def is_open(self, now: datetime | None = None) -> bool:
        now = now or clock.utcnow()
        return self.ended_at is None and self.expires_at > now
