"""Clinical actions. Each validates, writes, audits and commits; views stay thin."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from lms import access, audit, clock, submissions
from lms.auth import services as auth_services
from lms.extensions import db
from lms.models import (
    Assignment,
    AuditEvent,
    CareTeamMember,
    Consent,
    FamilyLink,
    Invitation,
    LinkState,
    Patient,
    PatientStatus,
    Role,
    User,
    normalize_email,
)

INVITATION_DAYS = 7


class ActionError(ValueError):
    """A refusal with a message a person can act on."""


def enroll_patient(
    clinician: User,
    *,
    display_name: str,
    record_number: str | None,
    enrolled_on: date,
    submit_token: str | None = None,
) -> Patient:
    """Enroll onto this clinician's caseload. The same form sent twice (a double click)
    enrolls once: both get the first one's patient (``lms.submissions``)."""
    once = submissions.claim(clinician, submit_token, "patient.enroll")
    if once.earlier and (earlier := db.session.get(Patient, once.result or 0)) is not None:
        return earlier
    patient = Patient(
        display_name=display_name.strip(),
        record_number=(record_number or "").strip() or None,
        enrolled_on=enrolled_on,
        status=PatientStatus.ACTIVE,
        created_by_id=clinician.id,
    )
    patient.care_team.append(CareTeamMember(clinician_id=clinician.id))
    db.session.add(patient)
    db.session.flush()
    audit.record("patient.enrolled", actor=clinician, subject=patient, patient_id=patient.id)
    submissions.finish(once, patient.id)
    db.session.commit()
    return patient


def add_family_member(
    clinician: User,
    patient: Patient,
    *,
    display_name: str,
    email: str,
    relationship: str,
    submit_token: str | None = None,
) -> FamilyLink:
    """Link a family member by email (the caller commits). The same person twice, or the
    same form sent twice at once, is one link."""
    once = submissions.claim(clinician, submit_token, "family.add")
    if once.earlier and (earlier := db.session.get(FamilyLink, once.result or 0)) is not None:
        return earlier
    lock_patient(patient)
    email = normalize_email(email)
    for link in patient.family_links:
        if link.email == email and link.state != LinkState.REMOVED:
            submissions.finish(once, link.id)
            return link  # the same person again: one link
    link = FamilyLink(
        patient_id=patient.id,
        display_name=display_name.strip(),
        email=email,
        relationship_kind=relationship,
        state=LinkState.INVITED,
    )
    db.session.add(link)
    db.session.flush()
    audit.record(
        "family.added",
        actor=clinician,
        subject=link,
        patient_id=patient.id,
        detail=f"relationship={relationship}",
    )
    submissions.finish(once, link.id)
    return link


def lock_patient(patient: Patient) -> None:
    """Serialize changes to one patient's family and assignments: on PostgreSQL the row is
    locked until commit; SQLite has one writer at a time anyway."""
    db.session.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())


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
        raise ActionError("That family member is not linked to this patient.")
    if not fields.get("expires_on") and not (fields.get("expiry_event") or "").strip():
        raise ActionError("Give an expiry date or an event that ends the consent.")
    if fields.get("expires_on") and fields["expires_on"] < clock.today():
        raise ActionError("The expiry date is in the past.")
    if fields.get("signed_on") and fields["signed_on"] > clock.today():
        raise ActionError("The date signed cannot be in the future.")
    if fields.get("signed_by") == "representative" and not (
        (fields.get("representative_name") or "").strip()
        and (fields.get("representative_capacity") or "").strip()
    ):
        raise ActionError("A legal representative's name and capacity are both needed.")
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
    db.session.commit()
    return consent


def has_consent_in_force(link: FamilyLink, today: date | None = None) -> bool:
    """Whether the patient's consent for this family member is in force now."""
    return (
        db.session.scalar(
            select(Consent.id)
            .where(
                Consent.family_link_id == link.id,
                access.active_consent_clause(today or clock.today()),
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
    db.session.commit()
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
    db.session.commit()
    return count


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    # Shown once; only its hash is stored. None when an identical submit created the
    # invitation: its link went to that submit's page (and by email).
    token: str | None


def invite(
    clinician: User, patient: Patient, link: FamilyLink, *, submit_token: str | None = None
) -> NewInvitation:
    """A single-use link for this family member's email, valid for 7 days, emailed too. The
    same form sent twice at once makes one invitation and one email."""
    if link.patient_id != patient.id:
        raise ActionError("That family member is not linked to this patient.")
    if link.state == LinkState.ACTIVE:
        raise ActionError("This person has already joined.")
    if not patient.is_active:
        raise ActionError("This patient has been discharged; nobody new can be invited.")
    if not has_consent_in_force(link):
        raise ActionError(
            "Record the patient's consent for this person first. Nobody is invited without it."
        )
    once = submissions.claim(clinician, submit_token, "invite.family")
    if once.earlier and (earlier := db.session.get(Invitation, once.result or 0)) is not None:
        return NewInvitation(earlier, token=None)
    now = clock.utcnow()
    for old in db.session.scalars(
        select(Invitation).where(
            Invitation.family_link_id == link.id,
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    ):
        old.revoked_at = now  # only the newest link works
    new = _new_invitation(clinician, patient, email=link.email, role=Role.FAMILY, link=link)
    return _queue_and_send(new, once)


def _queue_and_send(new: NewInvitation, once: submissions.Claim) -> NewInvitation:
    from lms.mail import messages, outbox  # emailed too; the link shown once stays a fallback

    outbox_id = messages.queue_invitation(new.invitation, new.token)
    submissions.finish(once, new.invitation.id)
    db.session.commit()
    outbox.send_now(outbox_id)
    return new


def _new_invitation(
    clinician: User, patient: Patient, *, email: str, role: str, link: FamilyLink | None
) -> NewInvitation:
    """Create the invitation row (token stored hashed) and its audit row; caller commits."""
    now = clock.utcnow()
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        token_hash=_hash_token(token),
        email=email,
        role=role,
        patient_id=patient.id,
        family_link_id=link.id if link else None,
        created_by_id=clinician.id,
        created_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        "invite.sent",
        actor=clinician,
        subject=invitation,
        patient_id=patient.id,
        detail="patient login" if role == Role.PATIENT else "family member",
    )
    return NewInvitation(invitation, token)


class InvitationProblem(ActionError):
    pass


def find_invitation(token: str) -> Invitation:
    """The invitation for this link, or a clear reason why it cannot be used."""
    invitation = db.session.scalars(
        select(Invitation).where(Invitation.token_hash == _hash_token(token or ""))
    ).first()
    if invitation is None or invitation.revoked_at is not None:
        raise InvitationProblem(
            "This invitation link is not valid. It may have been replaced by a newer one. "
            "Please ask your care team for a new link."
        )
    if invitation.used_at is not None:
        raise InvitationProblem(
            "This invitation has already been used. If it was you, sign in with your email "
            "and password. Otherwise, ask your care team for a new link."
        )
    if invitation.expires_at <= clock.utcnow():
        raise InvitationProblem(
            "This invitation has expired. Please ask your care team for a new link."
        )
    return invitation


def check_invitation_usable(invitation: Invitation) -> None:
    """A family member's invitation works only while the patient is in the program and their
    consent for this person is in force (it may have been withdrawn after the email went)."""
    if invitation.role != Role.FAMILY:
        return
    link = (
        db.session.get(FamilyLink, invitation.family_link_id) if invitation.family_link_id else None
    )
    patient = db.session.get(Patient, invitation.patient_id)
    if link is None or patient is None or not patient.is_active or not has_consent_in_force(link):
        raise InvitationProblem(
            "This invitation can't be used right now. Please contact the care team that "
            "invited you."
        )


def accept_invitation(
    token: str, *, email: str, display_name: str, password: str | None, existing: User | None
) -> User:
    """Create (or link) the family member's account and use up the invitation."""
    invitation = find_invitation(token)
    check_invitation_usable(invitation)
    if normalize_email(email) != invitation.email:
        raise InvitationProblem(
            "This invitation was sent to a different email address. Use the address the "
            "invitation was sent to, or ask your care team to send one to this address."
        )
    if existing is None:
        user = auth_services.create_user(
            email=invitation.email,
            display_name=display_name,
            role=invitation.role,
            password=password,
        )
    else:
        if existing.role != invitation.role:
            raise InvitationProblem(
                "This invitation is for a different kind of account. Please ask your care team."
            )
        user = existing
    invitation.used_at = clock.utcnow()
    invitation.used_by_id = user.id
    if invitation.role == Role.PATIENT:
        patient = db.session.get(Patient, invitation.patient_id)
        if patient is not None and patient.user_id is None:
            patient.user_id = user.id
    link = (
        db.session.get(FamilyLink, invitation.family_link_id) if invitation.family_link_id else None
    )
    if link is not None:
        link.user_id = user.id
        link.state = LinkState.ACTIVE
    audit.record(
        "invite.accepted", actor=user, subject=invitation, patient_id=invitation.patient_id
    )
    db.session.commit()
    return user


def assign(
    clinician: User,
    patient: Patient,
    *,
    module_slugs: list[str],
    learners: list[User],
    first_due: date | None,
    spread_days: int,
    note: str | None,
    path_slug: str | None = None,
    submit_token: str | None = None,
) -> int:
    """One assignment per learner and module; due dates spread across a path. Returns how
    many were created.

    An open assignment of the same module to the same learner for this patient is kept as
    it is (a unique index holds one open per learner, patient and module); the same form
    sent twice at once answers with the first one's count.
    """
    if not learners:
        raise ActionError("Choose at least one person to assign to.")
    if not module_slugs:
        raise ActionError("Choose a module or a path.")
    once = submissions.claim(clinician, submit_token, "assignment.create")
    if once.earlier:
        return once.result or 0
    lock_patient(patient)
    existing = {
        (a.learner_id, a.module_slug)
        for a in db.session.scalars(
            select(Assignment).where(
                Assignment.patient_id == patient.id, Assignment.cancelled_at.is_(None)
            )
        )
    }
    created = []
    for position, slug in enumerate(module_slugs):
        due = first_due + timedelta(days=spread_days * position) if first_due else None
        for learner in learners:
            if (learner.id, slug) in existing:
                continue
            assignment = Assignment(
                module_slug=slug,
                learner_id=learner.id,
                patient_id=patient.id,
                path_slug=path_slug,
                assigned_by_id=clinician.id,
                due_on=due,
                note=(note or "").strip() or None,
            )
            try:
                with db.session.begin_nested():
                    db.session.add(assignment)
            except IntegrityError:
                continue  # assigned by someone else this very moment: theirs stays
            created.append(assignment)
    for assignment in created:
        audit.record(
            "assignment.created",
            actor=clinician,
            subject=assignment,
            patient_id=patient.id,
            detail=f"module={assignment.module_slug} learner={assignment.learner_id}",
        )
    submissions.finish(once, len(created))
    db.session.commit()
    return len(created)


def cancel_assignment(clinician: User, assignment: Assignment) -> bool:
    """Cancel an open assignment. Returns False if it was already cancelled: a double click,
    even one arriving at the same moment, cancels and audits once (the UPDATE only matches
    an open row, and on PostgreSQL waits for the other to commit, then matches nothing)."""
    cancelled = db.session.execute(
        update(Assignment)
        .where(Assignment.id == assignment.id, Assignment.cancelled_at.is_(None))
        .values(cancelled_at=clock.utcnow(), cancelled_by_id=clinician.id)
    )
    if cancelled.rowcount != 1:
        db.session.rollback()
        return False
    audit.record(
        "assignment.cancelled",
        actor=clinician,
        subject=assignment,
        patient_id=assignment.patient_id,
    )
    db.session.commit()
    return True


def discharge(clinician: User, patient: Patient, on: date) -> bool:
    """Family access to anything about the patient ends; every record is kept. Returns False
    if the patient was already discharged: a double click discharges and audits once."""
    discharged = db.session.execute(
        update(Patient)
        .where(Patient.id == patient.id, Patient.status == PatientStatus.ACTIVE)
        .values(status=PatientStatus.DISCHARGED, discharged_on=on)
    )
    if discharged.rowcount != 1:
        db.session.rollback()
        return False
    audit.record("patient.discharged", actor=clinician, subject=patient, patient_id=patient.id)
    db.session.commit()
    return True


def create_patient_login(
    clinician: User, patient: Patient, email: str, *, submit_token: str | None = None
) -> NewInvitation:
    """Invite the patient to their own login (role patient). The same form sent twice at
    once makes one invitation and one email."""
    once = submissions.claim(clinician, submit_token, "invite.patient")
    if once.earlier and (earlier := db.session.get(Invitation, once.result or 0)) is not None:
        return NewInvitation(earlier, token=None)
    now = clock.utcnow()
    for old in db.session.scalars(
        select(Invitation).where(
            Invitation.patient_id == patient.id,
            Invitation.role == Role.PATIENT,
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    ):
        old.revoked_at = now  # only the newest link works
    new = _new_invitation(
        clinician, patient, email=normalize_email(email), role=Role.PATIENT, link=None
    )
    return _queue_and_send(new, once)
