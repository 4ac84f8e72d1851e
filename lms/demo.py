"""Demo data for trying the product. Idempotent: running it again updates, never duplicates.

``build`` adds and flushes; the ``demo`` command commits it once. ``build_scale`` (benchmark
data, up to tens of thousands of families) commits one family at a time.

clinician@example.org has three patients whose families are in different states: consented
and active (Sam Taylor, with family@example.org), invited but not yet joined (Riley Morgan),
and consent withdrawn (Jamie Chen). clinician2@example.org has a separate caseload.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lms import clock, uow
from lms.accounts import services
from lms.accounts.passwords import hash_password
from lms.assignments import operations as assignment_ops
from lms.consent import operations as consent_ops
from lms.content import get_library
from lms.extensions import db
from lms.goals import demo as goals_demo
from lms.learning import operations as learning
from lms.models import (
    Assignment,
    AttendanceStatus,
    CareTeamMember,
    Consent,
    FamilyLink,
    LinkState,
    ModuleProgress,
    Patient,
    User,
)
from lms.patients import operations as patient_ops
from lms.wellbeing import demo as wellbeing_demo


def ensure_user(email: str, name: str, role: str, password_hash: str) -> User:
    user = db.session.scalars(User.by_email(email)).first()
    if user is None:
        user = services.create_user(email=email, display_name=name, role=role, password=None)
    user.display_name = name
    user.role = role
    user.active = True
    user.password_hash = password_hash
    return user


def ensure_patient(record: str, name: str, clinician: User, user: User | None = None) -> Patient:
    patient = db.session.scalars(select(Patient).where(Patient.record_number == record)).first()
    if patient is None:
        patient = patient_ops.enroll_patient(
            clinician,
            display_name=name,
            record_number=record,
            enrolled_on=clock.today() - timedelta(days=21),
        )
    if user is not None:
        patient.user_id = user.id
    if not any(m.clinician_id == clinician.id for m in patient.care_team):
        patient.care_team.append(CareTeamMember(clinician_id=clinician.id))
    db.session.flush()
    return patient


def ensure_link(
    clinician: User,
    patient: Patient,
    name: str,
    email: str,
    relationship: str,
    user: User | None,
) -> FamilyLink:
    link = patient_ops.add_family_member(
        clinician, patient, display_name=name, email=email, relationship=relationship
    )
    if user is not None:
        link.user_id = user.id
        link.state = LinkState.ACTIVE
    db.session.flush()
    return link


def ensure_consent(
    clinician: User, patient: Patient, link: FamilyLink, *, withdrawn: bool, days: int = 180
):
    consent = db.session.scalars(
        select(Consent).where(Consent.family_link_id == link.id).order_by(Consent.id.desc())
    ).first()
    if consent is None:
        consent = consent_ops.record_consent(
            clinician,
            patient,
            link,
            expires_on=clock.today() + timedelta(days=days),
            expiry_event="when I finish the program",
            ends_at_discharge=True,
            signed_by="patient",
            representative_name=None,
            representative_capacity=None,
            signature_method="paper",
            signed_on=clock.today() - timedelta(days=20),
        )
    if withdrawn and consent.revoked_at is None and patient.user_id:
        consent_ops.withdraw_consent(db.session.get(User, patient.user_id), consent)
    elif withdrawn and consent.revoked_at is None:
        consent_ops.withdraw_consent(clinician, consent)
    return consent


def ensure_assignments(
    clinician: User, patient: Patient, learner: User, slugs, due_offsets, path_slug=None
):
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
            assignment_ops.assign(
                clinician,
                patient,
                module_slugs=[slug],
                learners=[learner],
                first_due=clock.today() + timedelta(days=offset),
                spread_days=0,
                note="Read this before our family session." if offset < 0 else None,
                path_slug=path_slug,
                announce=False,  # sample data: nobody is told of readings "given" long ago
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


def struggle(user: User) -> None:
    """Two failed tries at one check, so the dashboard flags it and item analysis has data."""
    modules = [m for m in get_library().modules() if m.quiz is not None]
    if len(modules) < 3:
        return
    module = modules[2]
    wrong = {
        q.id: frozenset({min(set(range(len(q.choices))) - q.correct_indices)})
        for q in module.quiz.questions
        if set(range(len(q.choices))) - q.correct_indices
    }
    right = {q.id: q.correct_indices for q in module.quiz.questions}
    answers = {**right, **wrong}
    first = next(iter(wrong), None)
    if first is None:
        return
    for n in (1, 2):
        # Half right, half wrong: a realistic picture for the question analysis.
        mixed = {k: (v if i % 2 else right[k]) for i, (k, v) in enumerate(answers.items())}
        mixed[first] = wrong[first]
        learning.submit_attempt(user, module, mixed, f"demo-{user.id}-struggle-{n}")


def ensure_session(clinician: User, patients: list[Patient]) -> None:
    from lms.group_sessions.operations import log_session
    from lms.models import EducationSession

    title = "Triggers and coping group"
    exists = db.session.scalars(
        select(EducationSession).where(EducationSession.title == title)
    ).first()
    if exists is not None:
        return
    statuses = list(AttendanceStatus)
    log_session(
        clinician,
        held_on=clock.today() - timedelta(days=7),
        title=title,
        facilitator=clinician.display_name,
        module_slugs=["understanding-triggers", "healthy-coping-skills"],
        attendance={p.id: statuses[i % 3] for i, p in enumerate(patients)},
    )


def build(password: str) -> dict[str, User]:
    from lms.cli import DEMO_ACCOUNTS

    password_hash = hash_password(password)
    users = {
        email: ensure_user(email, name, role.value, password_hash)
        for email, name, role in DEMO_ACCOUNTS
    }
    db.session.flush()
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
    ensure_assignments(
        clinician, sam, family, family_slugs[:4], [4, -3, 1, 18], path_slug="family-weeks-1-4"
    )
    patient_path = library.path("patient-core")
    patient_slugs = list(patient_path.module_slugs) if patient_path else family_slugs
    ensure_assignments(clinician, sam, patient_user, patient_slugs[:2], [5, 12])
    learn_some(family)
    # Pat and Sam have used the site for weeks: they saw the first sign-in orientation then
    # (it is still on their home page's "How this site works" link). Dana has not yet.
    for user in (family, patient_user):
        user.oriented_at = user.oriented_at or clock.utcnow() - timedelta(days=28)

    riley = ensure_patient("DEMO-2", "Riley Morgan", clinician)
    chris = ensure_link(
        clinician, riley, "Chris Morgan", "chris.morgan@example.org", "partner", None
    )
    ensure_consent(clinician, riley, chris, withdrawn=False, days=10)  # expiring soon

    jamie = ensure_patient("DEMO-3", "Jamie Chen", clinician)
    dana_user = ensure_user("dana.chen@example.org", "Dana Chen", "family", password_hash)
    dana = ensure_link(clinician, jamie, "Dana Chen", dana_user.email, "sibling", dana_user)
    ensure_assignments(clinician, jamie, dana_user, family_slugs[:2], [2, 9])
    ensure_consent(clinician, jamie, dana, withdrawn=True)

    struggle(family)
    wellbeing_demo.ensure_checkins(family)  # 60, then 44: the wellbeing reason on the dashboard
    goals_demo.ensure_goals(clinician, sam, family)  # one met, one open
    ensure_session(clinician, [sam, riley, jamie])

    alex = ensure_patient("DEMO-4", "Alex Rivera", clinician2)
    ensure_link(clinician2, alex, "Morgan Rivera", "morgan.rivera@example.org", "spouse", None)
    db.session.flush()
    return users


def build_scale(families: int, password: str) -> dict[str, int]:
    """Bulk data for benchmarks: ``families`` patients on clinician@example.org, three
    learners each, assignments across the family path, progress, section reads and attempts.
    Idempotent per size: families are keyed SCALE-<n>."""
    import random

    from sqlalchemy import insert

    from lms.models import QuizAnswer, QuizAttempt, SectionRead

    rng = random.Random(families)  # noqa: S311 -- benchmark data, not security
    clinician = db.session.scalars(User.by_email("clinician@example.org")).one()
    library = get_library()
    modules = list(library.modules())
    path = library.path("family-weeks-1-4")
    path_slugs = list(path.module_slugs) if path else [m.slug for m in modules[:8]]
    password_hash = hash_password(password)
    now = clock.utcnow()
    counts = {"families": 0, "learners": 0, "progress_rows": 0}
    existing = set(
        db.session.scalars(
            select(Patient.record_number).where(Patient.record_number.like("SCALE-%"))
        )
    )
    for n in range(families):
        record = f"SCALE-{n:04d}"
        if record in existing:
            continue
        patient = Patient(
            display_name=f"Scale Patient {n:04d}",
            record_number=record,
            enrolled_on=clock.today() - timedelta(days=30),
            created_by_id=clinician.id,
        )
        patient.care_team.append(CareTeamMember(clinician_id=clinician.id))
        db.session.add(patient)
        db.session.flush()
        learners = []
        for k in range(3):
            user = User(
                email=f"scale{n:04d}.{k}@example.org",
                display_name=f"Member {n:04d}-{k}",
                role="family",
                password_hash=password_hash,
            )
            db.session.add(user)
            learners.append(user)
        db.session.flush()
        for user in learners:
            link = FamilyLink(
                patient_id=patient.id,
                user_id=user.id,
                display_name=user.display_name,
                email=user.email,
                relationship_kind="parent",
                state=LinkState.ACTIVE,
            )
            db.session.add(link)
            db.session.flush()
            db.session.add(
                Consent(
                    patient_id=patient.id,
                    family_link_id=link.id,
                    program_name="Demo",
                    recipient_name=user.display_name,
                    signature_method="paper",
                    signed_on=clock.today() - timedelta(days=29),
                    expires_on=clock.today() + timedelta(days=rng.randint(5, 200)),
                )
            )
        assignment_rows, progress_rows, read_rows, attempt_rows = [], [], [], []
        for user in learners:
            for i, slug in enumerate(path_slugs):
                assignment_rows.append(
                    {
                        "module_slug": slug,
                        "learner_id": user.id,
                        "patient_id": patient.id,
                        "assigned_by_id": clinician.id,
                        "assigned_at": now - timedelta(days=28),
                        "due_on": clock.today() + timedelta(days=7 * i - 14),
                    }
                )
            for module in modules:
                sections = len(module.sections)
                read = sections if rng.random() < 0.7 else rng.randint(1, sections)
                complete = read == len(module.sections) and rng.random() < 0.7
                progress_rows.append(
                    {
                        "user_id": user.id,
                        "module_slug": module.slug,
                        "started_at": now - timedelta(days=rng.randint(2, 28)),
                        "last_activity_at": now - timedelta(days=rng.randint(0, 20)),
                        "last_section_key": module.sections[read - 1].key,
                        "sections_read": read,
                        "sections_total": len(module.sections),
                        "best_score": 1.0 if complete else None,
                        "passed_at": now if complete else None,
                        "completed_at": now - timedelta(days=rng.randint(0, 10))
                        if complete
                        else None,
                        "completed_version": module.version if complete else None,
                    }
                )
                for section in module.sections[:read]:
                    read_rows.append(
                        {
                            "user_id": user.id,
                            "module_slug": module.slug,
                            "section_key": section.key,
                            "content_version": module.version,
                            "read_at": now - timedelta(days=rng.randint(0, 20)),
                        }
                    )
                if module.quiz and rng.random() < 0.3:
                    attempt_rows.append((user.id, module))
        db.session.execute(insert(Assignment), assignment_rows)
        db.session.execute(insert(ModuleProgress), progress_rows)
        db.session.execute(insert(SectionRead), read_rows)
        for user_id, module in attempt_rows:
            answers = []
            correct = 0
            for pos, q in enumerate(module.quiz.questions):
                right = rng.random() < 0.7
                chosen = q.correct_indices if right else frozenset({rng.randrange(len(q.choices))})
                ok = chosen == q.correct_indices
                correct += ok
                answers.append(
                    QuizAnswer(
                        position=pos,
                        question_id=q.id,
                        chosen=",".join(map(str, sorted(chosen))),
                        correct=ok,
                    )
                )
            score = correct / len(module.quiz.questions)
            attempt = QuizAttempt(
                user_id=user_id,
                module_slug=module.slug,
                content_version=module.version,
                submit_token=f"scale-{user_id}-{module.slug}",
                score=score,
                correct_count=correct,
                total=len(module.quiz.questions),
                pass_mark=module.quiz.pass_mark,
                passed=score >= module.quiz.pass_mark,
                submitted_at=now - timedelta(days=rng.randint(0, 20)),
            )
            attempt.answers.extend(answers)
            db.session.add(attempt)
        uow.commit()  # bulk data: one family per transaction, however many
        counts["families"] += 1
        counts["learners"] += 3
        counts["progress_rows"] += len(progress_rows) + len(read_rows) + len(attempt_rows)
    return counts
