"""Which consents are in force: the one rule every page, flag, report and reminder follows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
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
        Consent.ended_at.is_(None),
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


_STANDING_LABELS = {
    "in_force": _l("Consent in force"),
    "withdrawn": _l("Consent withdrawn %(d)s"),
    "expired": _l("Consent expired %(d)s"),
    "ended": _l("Consent ended at discharge %(d)s"),
    "replaced": _l("Consent replaced"),
    "none": _l("No consent"),
}


@dataclass(frozen=True)
class Standing:
    """Where a family member stands with the patient's consent, and since when."""

    state: str  # in_force | withdrawn | expired | ended | replaced | none
    since: date | None = None

    @property
    def in_force(self) -> bool:
        return self.state == "in_force"

    @property
    def label(self) -> str:
        text = _STANDING_LABELS[self.state]
        return (
            str(text % {"d": self.since.isoformat()})
            if self.since
            else str(text).replace(" %(d)s", "")
        )


def standing(consent: Consent | None, today: date | None = None) -> Standing:
    """The standing that ``consent`` (a family member's current one, from
    ``current_consents``) gives them today."""
    if consent is None:
        return Standing("none")
    state = consent.state(today or clock.today())
    if state == "active":
        return Standing("in_force")
    if state == "withdrawn":
        return Standing("withdrawn", clock.aware(consent.revoked_at).date())
    if state == "expired":
        return Standing("expired", consent.expires_on)
    if state == "ended":
        return Standing("ended", clock.aware(consent.ended_at).date())
    return Standing(state)
