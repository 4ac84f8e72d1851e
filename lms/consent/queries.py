"""Which consents are in force: the one rule every page, flag, report and reminder follows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from lms import clock, dates
from lms.extensions import db
from lms.models import (
    Consent,
    FamilyLink,
    LinkState,
    Patient,
)


def in_force_clause(today: date):
    """SQL twin of ``Consent.is_active``: not entered in error, not withdrawn, not replaced,
    not ended at discharge, not past its expiry date (a test checks that the two agree)."""
    return and_(
        Consent.error_at.is_(None),
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
    recent one (withdrawn, expired or entered in error). Older, replaced consents are
    history."""
    current: dict[int, Consent] = {}
    for consent in db.session.scalars(
        select(Consent).where(Consent.patient_id == patient_id).order_by(Consent.id.desc())
    ):
        current.setdefault(consent.family_link_id, consent)
    return current


def replaced_by(consent: Consent) -> int:
    """How many earlier consents this one replaced (they stay replaced whatever becomes of
    it, even if it is found to be entered in error)."""
    return db.session.scalar(
        select(func.count()).select_from(Consent).where(Consent.superseded_by_id == consent.id)
    )


_STANDING_LABELS = {
    "in_force": _l("Consent in force"),
    "withdrawn": _l("Consent withdrawn %(d)s"),
    "expired": _l("Consent expired %(d)s"),
    "ended": _l("Consent ended at discharge %(d)s"),
    "replaced": _l("Consent replaced"),
    "entered_in_error": _l("Entered in error"),
    "none": _l("No consent"),
}


@dataclass(frozen=True)
class Standing:
    """Where a family member stands with the patient's consent, and since when."""

    state: str  # in_force | withdrawn | expired | ended | replaced | entered_in_error | none
    since: date | None = None
    until: date | None = None  # in force: its expiry date, if it has one
    until_discharge: bool = False  # in force: it ends when the patient leaves the program

    @property
    def in_force(self) -> bool:
        return self.state == "in_force"

    @property
    def tone(self) -> str:
        """The badge colour: in force is good news; withdrawn, expired or none asks for
        attention; ended at discharge, replaced or entered in error is history."""
        return _STANDING_TONES[self.state]

    @property
    def label(self) -> str:
        text = _STANDING_LABELS[self.state]
        return (
            str(text % {"d": dates.day_text(self.since)})
            if self.since
            else str(text).replace(" %(d)s", "")
        )


_STANDING_TONES = {
    "in_force": "ok",
    "withdrawn": "bad",
    "expired": "bad",
    "ended": "muted",
    "replaced": "muted",
    "entered_in_error": "muted",
    "none": "bad",
}


def standing(consent: Consent | None, today: date | None = None) -> Standing:
    """The standing that ``consent`` (a family member's current one, from
    ``current_consents``) gives them today."""
    if consent is None:
        return Standing("none")
    state = consent.state(today or clock.today())
    if state == "active":
        return Standing(
            "in_force", until=consent.expires_on, until_discharge=consent.ends_at_discharge
        )
    if state == "withdrawn":
        return Standing("withdrawn", clock.aware(consent.revoked_at).date())
    if state == "expired":
        return Standing("expired", consent.expires_on)
    if state == "ended":
        return Standing("ended", clock.aware(consent.ended_at).date())
    if state == "entered_in_error":
        return Standing("entered_in_error", clock.aware(consent.error_at).date())
    return Standing(state)


@dataclass(frozen=True)
class FamilyConsent:
    """One family member of a patient, their current consent, and what may be done about it
    now. The patient's own page and the clinician's patient page both read these flags."""

    link: FamilyLink
    consent: Consent | None  # the one in force, else the latest (history), else None
    standing: Standing
    may_withdraw: bool  # a consent is in force: its withdrawal may be recorded
    may_record: bool  # none in force and the patient is still in the program: a new one may be


def family_consents(patient: Patient, today: date | None = None) -> list[FamilyConsent]:
    """Every family member of ``patient`` with their consent standing (one query for the
    consents). After discharge nothing is in force that could be withdrawn, and no new
    consent may be recorded."""
    today = today or clock.today()
    current = current_consents(patient.id)
    rows = []
    for link in patient.family_links:
        consent = current.get(link.id)
        where = standing(consent, today)
        rows.append(
            FamilyConsent(
                link=link,
                consent=consent,
                standing=where,
                may_withdraw=where.in_force,
                may_record=not where.in_force
                and patient.is_active
                and link.state != LinkState.REMOVED,
            )
        )
    return rows
