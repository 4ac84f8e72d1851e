"""Demo data for trying the product. Idempotent: running it again updates, never duplicates.

clinician@example.org has three patients whose families are in different states: consented
and active (Sam Taylor, with family@example.org), invited but not yet joined (Riley Morgan),
and consent withdrawn (Jamie Chen). clinician2@example.org has a separate caseload.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lms import clock
from lms.auth import services
from lms.clinic import services as clinic
from lms.content import get_library
from lms.extensions import db
from lms.learn import services as learning
from lms.models import (
    Assignment,
    CareTeamMember,
    Consent,
    FamilyLink,
    LinkState,
    ModuleProgress,
    Patient,
    User,
)
from lms.passwords import hash_password


def ensure_user(email: str, name: str, role: str, password_hash: str) -> User:
    user = db.session.scalars(User.by_email(email)).first()
    if user is None:
        user = services.create_user(email=email, display_name=name, role=role, password=None)
    user.display_name = name
    user.role = role
    user.active = True
    user.password_hash = password_hash
    user.failed_logins = 0
    user.locked_until = None
    return user


def ensure_patient(record: str, name: str, clinician: User, user: User | None = None) -> Patient:
    patient = db.session.scalars(select(Patient).where(Patient.record_number == record)).first()
    if patient is None:
        patient = clinic.enroll_patient(
            clinician,
            display_name=name,
            record_number=record,
            enrolled_on=clock.today() - timedelta(days=21),
        )
    if user is not None:
        patient.user_id = user.id
    if not any(m.clinician_id == clinician.id for m in patient.care_team):
        patient.care_team.append(CareTeamMember(clinician_id=clinician.id))
    db.session.commit()
    return patient


def ensure_link(
    clinician: User,
    patient: Patient,
    name: str,
    email: str,
    relationship: str,
    user: User | None,
) -> FamilyLink:
    link = clinic.add_family_member(
        clinician, patient, display_name=name, email=email, relationship=relationship
    )
    if user is not None:
        link.user_id = user.id
        link.state = LinkState.ACTIVE
    db.session.commit()
    return link


def ensure_consent(clinician: User, patient: Patient, link: FamilyLink, *, withdrawn: bool):
    consent = db.session.scalars(
        select(Consent).where(Consent.family_link_id == link.id).order_by(Consent.id.desc())
    ).first()
    if consent is None:
        consent = clinic.record_consent(
            clinician,
            patient,
            link,
            expires_on=clock.today() + timedelta(days=180),
            expiry_event="when I finish the program",
            signed_by="patient",
            representative_name=None,
            representative_capacity=None,
            signature_method="paper",
            signed_on=clock.today() - timedelta(days=20),
        )
    if withdrawn and consent.revoked_at is None and patient.user_id:
        clinic.withdraw_consent(db.session.get(User, patient.user_id), consent)
    elif withdrawn and consent.revoked_at is None:
        clinic.withdraw_consent(clinician, consent)
    return consent


def ensure_assignments(clinician: User, patient: Patient, learner: User, slugs, due_offsets):
    library = get_library()
    for slug, offset in zip(slugs, due_offsets, strict=False):
        if slug not in library:
            continue
        exists = db.session.scalars(
            select(Assignment).where(
                Assignment.patient_id == patient.id,
                Assignment.learner_id == learner.id,
                Assignment.module_slug == slug,
            )
        ).first()
        if exists is None:
            clinic.assign(
                clinician,
                patient,
                module_slugs=[slug],
                learners=[learner],
                first_due=clock.today() + timedelta(days=offset),
                spread_days=0,
                note="Read this before our family session." if offset < 0 else None,
            )


def learn_some(user: User) -> None:
    """One module half read, one completed with a passed check."""
    library = get_library()
    modules = [m for m in library.modules() if m.quiz is not None]
    if len(modules) < 2:
        return
    done, half = modules[0], modules[1]
    if (
        learning.progress_for(user.id, done.slug) is None
        or not learning.progress_for(user.id, done.slug).completed_at
    ):
        for section in done.sections:
            learning.record_section_read(user, done, section.key)
        wrong = {
            q.id: frozenset({min(set(range(len(q.choices))) - q.correct_indices)})
            for q in done.quiz.questions
            if set(range(len(q.choices))) - q.correct_indices
        }
        right = {q.id: q.correct_indices for q in done.quiz.questions}
        learning.submit_attempt(user, done, {**right, **wrong}, f"demo-{user.id}-1")
        learning.submit_attempt(user, done, right, f"demo-{user.id}-2")
    progress: ModuleProgress | None = learning.progress_for(user.id, half.slug)
    if progress is None:
        for section in half.sections[: max(1, len(half.sections) // 2)]:
            learning.record_section_read(user, half, section.key)


def build(password: str) -> dict[str, User]:
    from lms.cli import DEMO_ACCOUNTS

    password_hash = hash_password(password)
    users = {
        email: ensure_user(email, name, role.value, password_hash)
        for email, name, role in DEMO_ACCOUNTS
    }
    db.session.commit()
    clinician = users["clinician@example.org"]
    clinician2 = users["clinician2@example.org"]
    family = users["family@example.org"]
    patient_user = users["patient@example.org"]
    library = get_library()
    path = library.path("family-weeks-1-4")
    family_slugs = list(path.module_slugs) if path else [m.slug for m in library.modules()]

    sam = ensure_patient("DEMO-1", "Sam Taylor", clinician, patient_user)
    pat_link = ensure_link(clinician, sam, "Pat Taylor", family.email, "parent", family)
    ensure_consent(clinician, sam, pat_link, withdrawn=False)
    ensure_assignments(clinician, sam, family, family_slugs[:4], [-3, 1, 11, 18])
    patient_path = library.path("patient-core")
    patient_slugs = list(patient_path.module_slugs) if patient_path else family_slugs
    ensure_assignments(clinician, sam, patient_user, patient_slugs[:2], [5, 12])
    learn_some(family)

    riley = ensure_patient("DEMO-2", "Riley Morgan", clinician)
    chris = ensure_link(
        clinician, riley, "Chris Morgan", "chris.morgan@example.org", "partner", None
    )
    ensure_consent(clinician, riley, chris, withdrawn=False)

    jamie = ensure_patient("DEMO-3", "Jamie Chen", clinician)
    dana_user = ensure_user("dana.chen@example.org", "Dana Chen", "family", password_hash)
    dana = ensure_link(clinician, jamie, "Dana Chen", dana_user.email, "sibling", dana_user)
    ensure_assignments(clinician, jamie, dana_user, family_slugs[:2], [2, 9])
    ensure_consent(clinician, jamie, dana, withdrawn=True)

    alex = ensure_patient("DEMO-4", "Alex Rivera", clinician2)
    ensure_link(clinician2, alex, "Morgan Rivera", "morgan.rivera@example.org", "spouse", None)
    db.session.commit()
    return users
