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
from lms.problems import FieldProblems


def consent_problems(**fields) -> dict[str, list]:
    """Everything wrong with a consent's terms at once, per form field (``FieldProblems``
    keys): the form shows each message beside its own field."""
    problems: dict[str, list] = {}
    today = clock.today()
    if (
        not fields.get("expires_on")
        and not (fields.get("expiry_event") or "").strip()
        and not fields.get("ends_at_discharge")
    ):
        problems["ends_at_discharge"] = [
            _l("Say when the consent ends: at discharge, on a date, or at an event.")
        ]
    if fields.get("expires_on") and fields["expires_on"] < today:
        problems["expires_on"] = [_l("The expiry date is in the past.")]
    if fields.get("signed_on") and fields["signed_on"] > today:
        problems["signed_on"] = [_l("The date signed cannot be in the future.")]
    if fields.get("signed_by") == "representative":
        if not (fields.get("representative_name") or "").strip():
            problems["representative_name"] = [
                _l("A legal representative signed: enter the representative's name.")
            ]
        if not (fields.get("representative_capacity") or "").strip():
            problems["representative_capacity"] = [
                _l("A legal representative signed: enter their capacity.")
            ]
    return problems


def record_consent(
    clinician: User,
    patient: Patient,
    link: FamilyLink,
    *,
    submit_token: str | None = None,
    **fields,
) -> Consent:
    """Record a signed consent naming one family member (42 CFR Part 2 §2.31 elements). The
    same form sent twice at once records once (a second copy would replace the first).
    Refusals are ``FieldProblems``, every one at once (``consent_problems``)."""
    if link.patient_id != patient.id:
        raise FieldProblems(
            {"family_link": [_l("That family member is not linked to this patient.")]}
        )
    if not patient.is_active:
        raise FieldProblems(
            {"family_link": [_l("This patient is not in the program now; re-admit them first.")]}
        )
    if problems := consent_problems(**fields):
        raise FieldProblems(problems)
    once = submissions.claim(clinician, submit_token, "consent.record")
    if once.earlier and (earlier := db.session.get(Consent, once.result or 0)) is not None:
        return earlier
    older = db.session.scalars(
        select(Consent)
        .where(
            Consent.family_link_id == link.id,
            Consent.error_at.is_(None),
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
            Consent.error_at.is_(None),
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
        Consent.error_at.is_(None),
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
            Consent.error_at.is_(None),
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


ERROR_REASON_MAX = 300


def mark_entered_in_error(actor: User, consent: Consent, reason: str) -> bool:
    """A consent recorded by mistake (the wrong family member, a duplicate, a form never
    signed) is marked "entered in error" with the reason: kept, shown struck through, and
    never in force again (``Consent.state``, ``queries.in_force_clause``), so whoever it named
    stops seeing the patient on their next request. Nothing it replaced comes back: if the
    patient's earlier consent should apply, record it again. A conditional UPDATE, so the
    same form sent twice marks and audits once; returns False when it was already marked.
    The reason stays on the consent, never in the audit log (it may hold health
    information)."""
    reason = (reason or "").strip()
    if not reason:
        raise FieldProblems({"reason": [_l("Say why this consent was entered in error.")]})
    if len(reason) > ERROR_REASON_MAX:
        raise FieldProblems(
            {"reason": [_l("Keep the reason to %(n)d characters.", n=ERROR_REASON_MAX)]}
        )
    marked = db.session.execute(
        update(Consent)
        .where(Consent.id == consent.id, Consent.error_at.is_(None))
        .values(error_at=clock.utcnow(), error_reason=reason, error_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:
        return False
    audit.record(
        "consent.entered_in_error",
        actor=actor,
        subject_type="consent",
        subject_id=consent.id,
        patient_id=consent.patient_id,
    )
    db.session.expire(consent)
    return True
