"""Which consents are in force: the one rule every page, flag, report and reminder follows."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, or_, select

from lms import clock
from lms.extensions import db
from lms.models import (
    Consent,
    FamilyLink,
)


def in_force_clause(today: date):
    """SQL twin of ``Consent.is_active``: not withdrawn, not replaced, not ended at discharge,
    not past its expiry date (a test checks that the two agree)."""
    return and_(
        Consent.revoked_at.is_(None),
        Consent.superseded_at.is_(None),
        or_(Consent.expires_on.is_(None), Consent.expires_on >= today),
    )


def has_consent_in_force(link: FamilyLink, today: date | None = None) -> bool:
    """Whether the patient's consent for this family member is in force now."""
    return (
        db.session.scalar(
            select(Consent.id)
            .where(
                Consent.family_link_id == link.id,
                in_force_clause(today or clock.today()),
            )
            .limit(1)
        )
        is not None
    )


def current_consents(patient_id: int) -> dict[int, Consent]:
    """Per family member (link id), the consent to show: the one in force, or else the most
    recent one (withdrawn or expired). Older, replaced consents are history."""
    current: dict[int, Consent] = {}
    for consent in db.session.scalars(
        select(Consent).where(Consent.patient_id == patient_id).order_by(Consent.id.desc())
    ):
        current.setdefault(consent.family_link_id, consent)
    return current
