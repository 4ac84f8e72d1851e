"""Invitations: single-use, expiring links for family members and patients, and accepting them."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from lms import audit, clock, submissions, uow
from lms.accounts import services as auth_services
from lms.consent.queries import has_consent_in_force
from lms.extensions import db
from lms.models import (
    FamilyLink,
    Invitation,
    LinkState,
    Patient,
    Role,
    User,
    normalize_email,
)
from lms.problems import InvitationProblem, Problem

INVITATION_DAYS = 7


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    # Shown once; only its hash is stored. None when an identical submit created the
    # invitation: its link went to that submit's page (and by email).
    token: str | None


def invitation_language(locale: str | None) -> str:
    """The language an invitation is written in: the clinician's choice if the program has
    it, else the program's default (``BABEL_DEFAULT_LOCALE``)."""
    from flask import current_app

    if locale and locale in current_app.config["LANGUAGES"]:
        return locale
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def invite(
    clinician: User,
    patient: Patient,
    link: FamilyLink,
    *,
    submit_token: str | None = None,
    locale: str | None = None,
) -> NewInvitation:
    """A single-use link for this family member's email, valid for 7 days, emailed too, in
    the language the clinician chose (``locale``; else the program's). The same form sent
    twice at once makes one invitation and one email."""
    if link.patient_id != patient.id:
        raise Problem(_l("That family member is not linked to this patient."))
    if link.state == LinkState.ACTIVE:
        raise Problem(_l("This person has already joined."))
    if not patient.is_active:
        raise Problem(_l("This patient has been discharged; nobody new can be invited."))
    if not has_consent_in_force(link):
        raise Problem(
            _l("Record the patient's consent for this person first. Nobody is invited without it.")
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
    new = _new_invitation(
        clinician, patient, email=link.email, role=Role.FAMILY, link=link, locale=locale
    )
    return _queue_and_send(new, once)


def _queue_and_send(new: NewInvitation, once: submissions.Claim) -> NewInvitation:
    from lms.mail import messages, outbox  # emailed too; the link shown once stays a fallback

    outbox_id = messages.queue_invitation(new.invitation, new.token)
    submissions.finish(once, new.invitation.id)
    # Sent once the invitation is committed; the link shown once stays a fallback.
    uow.after_commit(lambda: outbox.send_now(outbox_id))
    return new


def _new_invitation(
    clinician: User,
    patient: Patient,
    *,
    email: str,
    role: str,
    link: FamilyLink | None,
    locale: str | None = None,
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
        locale=invitation_language(locale),
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


def find_invitation(token: str) -> Invitation:
    """The invitation for this link, or a clear reason why it cannot be used."""
    invitation = db.session.scalars(
        select(Invitation).where(Invitation.token_hash == _hash_token(token or ""))
    ).first()
    if invitation is None or invitation.revoked_at is not None:
        raise InvitationProblem(
            _l(
                "This invitation link is not valid. It may have been replaced by a newer one. "
                "Please ask your care team for a new link."
            )
        )
    if invitation.used_at is not None:
        raise InvitationProblem(
            _l(
                "This invitation has already been used. If it was you, sign in with your email "
                "and password. Otherwise, ask your care team for a new link."
            )
        )
    if invitation.expires_at <= clock.utcnow():
        raise InvitationProblem(
            _l("This invitation has expired. Please ask your care team for a new link.")
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
            _l(
                "This invitation can't be used right now. Please contact the care team that "
                "invited you."
            )
        )


def accept_invitation(
    token: str,
    *,
    email: str,
    display_name: str,
    password: str | None,
    existing: User | None,
    locale: str | None = None,
) -> User:
    """Create (or link) the family member's account and use up the invitation. A new
    account's language is ``locale`` (the one the person chose on the way, if any), else the
    invitation's; an existing account keeps its own."""
    invitation = find_invitation(token)
    check_invitation_usable(invitation)
    if normalize_email(email) != invitation.email:
        raise InvitationProblem(
            _l(
                "This invitation was sent to a different email address. Use the address the "
                "invitation was sent to, or ask your care team to send one to this address."
            )
        )
    if existing is None:
        user = auth_services.create_user(
            email=invitation.email,
            display_name=display_name,
            role=invitation.role,
            password=password,
        )
        user.locale = invitation_language(locale or invitation.locale)
    else:
        if existing.role != invitation.role:
            raise InvitationProblem(
                _l("This invitation is for a different kind of account. Please ask your care team.")
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
    return user


def create_patient_login(
    clinician: User,
    patient: Patient,
    email: str,
    *,
    submit_token: str | None = None,
    locale: str | None = None,
) -> NewInvitation:
    """Invite the patient to their own login (role patient), in the language the clinician
    chose (``locale``; else the program's). The same form sent twice at once makes one
    invitation and one email."""
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
        clinician,
        patient,
        email=normalize_email(email),
        role=Role.PATIENT,
        link=None,
        locale=locale,
    )
    return _queue_and_send(new, once)


# --- what the clinician's pages show about invitations ------------------------------------

INVITATION_STATES = ("waiting", "accepted", "expired", "replaced")


def invitation_state(invitation: Invitation, now: datetime | None = None) -> str:
    """``waiting`` (the link works), ``accepted``, ``expired`` or ``replaced`` (a newer
    invitation for the same person made this one stop working)."""
    if invitation.used_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "replaced"
    if invitation.expires_at <= (now or clock.utcnow()):
        return "expired"
    return "waiting"


def expires_text(invitation: Invitation) -> str:
    """When the link stops working, in the program's time zone ("Nov 30, 2026, 5:00 PM EST")."""
    from lms.audit.log import local_time_text, program_zone

    return local_time_text(invitation.expires_at, program_zone())


@dataclass(frozen=True)
class InvitationRow:
    """One invitation of a patient, as the clinician's pages list it."""

    invitation: Invitation
    who: str  # the family member's name, or the patient's for their own login
    for_patient: bool
    state: str  # one of INVITATION_STATES
    expires: str  # in the program's time zone


def invitations_of(patient: Patient) -> list[InvitationRow]:
    """Every invitation made for this patient or their family, newest first."""
    names = {link.id: link.display_name for link in patient.family_links}
    now = clock.utcnow()
    rows = db.session.scalars(
        select(Invitation)
        .where(Invitation.patient_id == patient.id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    return [
        InvitationRow(
            invitation=row,
            who=(
                patient.display_name
                if row.role == Role.PATIENT
                else names.get(row.family_link_id or 0, row.email)
            ),
            for_patient=row.role == Role.PATIENT,
            state=invitation_state(row, now),
            expires=expires_text(row),
        )
        for row in rows
    ]


def waiting_invitation(link: FamilyLink) -> Invitation | None:
    """This family member's newest invitation whose link still works, if any."""
    return db.session.scalars(
        select(Invitation)
        .where(
            Invitation.family_link_id == link.id,
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > clock.utcnow(),
        )
        .order_by(Invitation.id.desc())
        .limit(1)
    ).first()


def may_invite_again(invitation: Invitation) -> bool:
    """Whether "Send again" may make a new invitation for the same person (it replaces this
    one): the patient is in the program, the person has not joined, and for a family member
    the patient's consent for them is in force."""
    patient = db.session.get(Patient, invitation.patient_id)
    if patient is None or not patient.is_active:
        return False
    if invitation.role == Role.PATIENT:
        return patient.user_id is None
    link = (
        db.session.get(FamilyLink, invitation.family_link_id) if invitation.family_link_id else None
    )
    return link is not None and link.state == LinkState.INVITED and has_consent_in_force(link)


# Whether the invitation email went out: ``sent``; ``no_mail_server`` (none is configured, so
# the message only went to the log: the clinician must pass the link on); ``failed`` (the mail
# server refused or did not answer; it is tried again); ``waiting`` (not tried yet);
# ``not_recorded`` (no email was recorded for it).
EMAIL_STATES = ("sent", "no_mail_server", "failed", "waiting", "not_recorded")


def email_status(invitation: Invitation) -> str:
    """Whether this invitation's email went out (one of ``EMAIL_STATES``)."""
    from flask import current_app

    from lms.mail.messages import invitation_key
    from lms.models import Outbox

    row = db.session.scalars(
        select(Outbox).where(Outbox.dedupe_key == invitation_key(invitation.id))
    ).first()
    if row is None:
        return "not_recorded"
    # Without a mail server the transport writes the message to the log and calls it
    # delivered: nobody received it.
    if not current_app.config.get("MAIL_SERVER"):
        return "no_mail_server"
    if row.sent_at is not None:
        return "sent"
    if row.attempts:
        return "failed"
    return "waiting"


@dataclass(frozen=True)
class InviteOverview:
    """A patient's family members by where they stand with invitations."""

    ready: list[FamilyLink]  # not joined, consent in force: may be invited now
    need_consent: list[FamilyLink]  # not joined, no consent in force yet
    joined: list[FamilyLink]

    @property
    def nobody_added(self) -> bool:
        return not (self.ready or self.need_consent or self.joined)

    @property
    def everyone_joined(self) -> bool:
        return bool(self.joined) and not (self.ready or self.need_consent)


def invite_overview(patient: Patient) -> InviteOverview:
    ready, need_consent, joined = [], [], []
    for link in patient.family_links:
        if link.state == LinkState.ACTIVE:
            joined.append(link)
        elif link.state == LinkState.INVITED:
            (ready if has_consent_in_force(link) else need_consent).append(link)
    return InviteOverview(ready, need_consent, joined)


def suggested_name(invitation: Invitation) -> str:
    """The name the clinician entered for the invited family member (their accept form starts
    with it); empty for a patient's own login, whose page must not name the patient."""
    if invitation.role != Role.FAMILY or not invitation.family_link_id:
        return ""
    link = db.session.get(FamilyLink, invitation.family_link_id)
    return link.display_name if link is not None else ""
