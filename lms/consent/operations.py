"""Consent actions (42 CFR Part 2 §2.31): record, replace, withdraw, log expiry."""

from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from lms import audit, clock, submissions
from lms.extensions import db
from lms.models import (
    AuditEvent,
    Consent,
    FamilyLink,
    Patient,
    Role,
    User,
)
from lms.problems import Problem


def record_consent(
    clinician: User,
    patient: Patient,
    link: FamilyLink,
    *,
    submit_token: str | None = None,
    **fields,
) -> Consent:
    """Record a signed consent naming one family member (42 CFR Part 2 §2.31 elements). The
    same form sent twice at once records once (a second copy would replace the first)."""
    if link.patient_id != patient.id:
        raise Problem(_l("That family member is not linked to this patient."))
    if (
        not fields.get("expires_on")
        and not (fields.get("expiry_event") or "").strip()
        and not fields.get("ends_at_discharge")
    ):
        raise Problem(_l("Say when the consent ends: at discharge, on a date, or at an event."))
    if fields.get("expires_on") and fields["expires_on"] < clock.today():
        raise Problem(_l("The expiry date is in the past."))
    if fields.get("signed_on") and fields["signed_on"] > clock.today():
        raise Problem(_l("The date signed cannot be in the future."))
    if fields.get("signed_by") == "representative" and not (
        (fields.get("representative_name") or "").strip()
        and (fields.get("representative_capacity") or "").strip()
    ):
        raise Problem(_l("A legal representative's name and capacity are both needed."))
    once = submissions.claim(clinician, submit_token, "consent.record")
    if once.earlier and (earlier := db.session.get(Consent, once.result or 0)) is not None:
        return earlier
    older = db.session.scalars(
        select(Consent)
        .where(
            Consent.family_link_id == link.id,
            Consent.revoked_at.is_(None),
            Consent.superseded_at.is_(None),
        )
        .with_for_update()
    ).all()
    consent = Consent(
        patient_id=patient.id,
        family_link_id=link.id,
        program_name=current_app.config["PROGRAM_NAME"],
        recipient_name=link.display_name,
        recorded_by_id=clinician.id,
        **fields,
    )
    db.session.add(consent)
    db.session.flush()
    audit.record("consent.recorded", actor=clinician, subject=consent, patient_id=patient.id)
    # One consent per family member is in force: a renewal replaces the earlier one, so
    # withdrawing "the consent" can never leave an older one quietly active.
    for old in older:
        old.superseded_at = clock.utcnow()
        old.superseded_by_id = consent.id
        audit.record(
            "consent.superseded",
            actor=clinician,
            subject=old,
            patient_id=patient.id,
            detail=f"replaced by consent {consent.id}",
        )
    submissions.finish(once, consent.id)
    return consent


def withdraw_consent(actor: User, link: FamilyLink) -> int:
    """End, at once, every consent in force for this family member; returns how many ended
    (0 when none was in force, e.g. a double click). Each row is ended by a conditional
    UPDATE, so ten identical requests at once end it once and write one audit row."""
    now = clock.utcnow()
    in_force = db.session.scalars(
        select(Consent.id).where(
            Consent.family_link_id == link.id,
            Consent.revoked_at.is_(None),
            Consent.superseded_at.is_(None),
        )
    ).all()
    ended = 0
    for consent_id in in_force:
        result = db.session.execute(
            update(Consent)
            .where(Consent.id == consent_id, Consent.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by_id=actor.id)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue  # ended by a request that arrived at the same moment
        ended += 1
        audit.record(
            "consent.revoked",
            actor=actor,
            subject_type="consent",
            subject_id=consent_id,
            patient_id=link.patient_id,
            detail="by patient" if actor.role == Role.PATIENT else "recorded by staff",
        )
    db.session.expire_all()
    return ended


def log_expired_consents(patient_id: int | None = None, today: date | None = None) -> int:
    """Write one ``consent.expired`` audit row per consent that has expired (idempotent);
    only for one patient's consents when ``patient_id`` is given."""
    today = today or clock.today()
    logged_query = select(AuditEvent.subject_id).where(AuditEvent.action == "consent.expired")
    expired_query = select(Consent).where(
        Consent.revoked_at.is_(None),
        Consent.superseded_at.is_(None),
        Consent.expires_on.is_not(None),
        Consent.expires_on < today,
    )
    if patient_id is not None:
        logged_query = logged_query.where(AuditEvent.patient_id == patient_id)
        expired_query = expired_query.where(Consent.patient_id == patient_id)
    logged = set(db.session.scalars(logged_query))
    expired = db.session.scalars(expired_query).all()
    count = 0
    for consent in expired:
        if consent.id in logged:
            continue
        audit.record(
            "consent.expired",
            subject=consent,
            patient_id=consent.patient_id,
            detail=f"expired {consent.expires_on.isoformat()}",
        )
        count += 1
    return count


def end_at_discharge(actor: User, patient_id: int) -> int:
    """Discharge ends every consent in force for this patient whose term is "until I leave the
    program" (recorded as ended at discharge, one audit row each). Returns how many ended."""
    now = clock.utcnow()
    ending = db.session.scalars(
        select(Consent.id).where(
            Consent.patient_id == patient_id,
            Consent.ends_at_discharge.is_(True),
            Consent.revoked_at.is_(None),
            Consent.superseded_at.is_(None),
            Consent.ended_at.is_(None),
        )
    ).all()
    ended = 0
    for consent_id in ending:
        result = db.session.execute(
            update(Consent)
            .where(Consent.id == consent_id, Consent.ended_at.is_(None))
            .values(ended_at=now, end_reason="discharge")
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue
        ended += 1
        audit.record(
            "consent.ended",
            actor=actor,
            subject_type="consent",
            subject_id=consent_id,
            patient_id=patient_id,
            detail="ended at discharge",
        )
    return ended
