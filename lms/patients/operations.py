"""Enrolment: enrol a patient, link family members, discharge (and what discharge ends),
re-admission."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, true, update

from lms import audit, clock, dates, submissions
from lms.consent import operations as consent_ops
from lms.extensions import db
from lms.models import (
    CareTeamMember,
    FamilyLink,
    LinkState,
    Patient,
    PatientStatus,
    User,
    normalize_email,
)
from lms.problems import DuplicateRecordNumber, FieldProblems, Problem


def enroll_patient(
    clinician: User,
    *,
    display_name: str,
    record_number: str | None,
    enrolled_on: date,
    submit_token: str | None = None,
    email: str | None = None,
    actor: User | None = None,
) -> Patient:
    """Enroll onto this clinician's caseload. The same form sent twice (a double click)
    enrolls once: both get the first one's patient (``lms.submissions``). ``email``: the
    patient's own, from the program's roster. ``actor``: who enrolls them when it is not the
    clinician (an administrator importing the roster, ``patients.roster``); the audit row is
    theirs, the caseload the clinician's."""
    once = submissions.claim(actor or clinician, submit_token, "patient.enroll")
    if once.earlier and (earlier := db.session.get(Patient, once.result or 0)) is not None:
        return earlier
    record_number = (record_number or "").strip() or None
    if record_number is not None:
        _refuse_duplicate_record(clinician, record_number)
    patient = Patient(
        display_name=display_name.strip(),
        record_number=record_number,
        enrolled_on=enrolled_on,
        status=PatientStatus.ACTIVE,
        created_by_id=(actor or clinician).id,
        email=normalize_email(email) or None,
    )
    patient.care_team.append(CareTeamMember(clinician_id=clinician.id))
    db.session.add(patient)
    db.session.flush()
    audit.record(
        "patient.enrolled", actor=actor or clinician, subject=patient, patient_id=patient.id
    )
    submissions.finish(once, patient.id)
    return patient


def record_key(record_number: str) -> str:
    """A record number as the program compares them: without case or spaces (the Python
    twin of ``record_key_column``)."""
    return "".join(record_number.split()).lower()


def record_key_column():
    """``Patient.record_number`` compared as ``record_key`` compares it, in SQL."""
    return func.lower(func.replace(Patient.record_number, " ", ""))


def _refuse_duplicate_record(
    clinician: User, record_number: str, *, editing: Patient | None = None
) -> None:
    """Record numbers are unique in the program (compared without case or spaces), among
    patients not voided (a voided duplicate enrolment gives its number back). ``editing``: the
    patient whose number is being changed, who may keep their own."""
    from flask_babel import lazy_gettext as _l

    from lms import access

    query = select(Patient).where(
        record_key_column() == record_key(record_number), Patient.status != PatientStatus.VOIDED
    )
    if editing is not None:
        query = query.where(Patient.id != editing.id)
    candidates = db.session.scalars(query.order_by(Patient.id)).all()
    if not candidates:
        return
    existing = candidates[0]
    visible = db.session.scalars(
        access.caseload(clinician).where(Patient.id == existing.id)
    ).first()
    if visible is not None and editing is not None:
        raise DuplicateRecordNumber(
            _l(
                "Record number %(n)s is already used for %(name)s, on your caseload. Check the "
                "number; if they are the same person, one enrolment is a duplicate.",
                n=record_number,
                name=existing.display_name,
            ),
            existing.id,
        )
    if visible is not None:
        raise DuplicateRecordNumber(
            _l(
                "Record number %(n)s is already used for %(name)s, on your caseload. Open their "
                "page instead of enrolling them again.",
                n=record_number,
                name=existing.display_name,
            ),
            existing.id,
        )
    raise DuplicateRecordNumber(
        _l(
            "Record number %(n)s is already used for another patient of the program. Check the "
            "number, or ask an administrator to add you to that patient's care team.",
            n=record_number,
        ),
        None,
    )


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
    same form sent twice at once, is one link. Only while the patient is in the program."""
    if not patient.is_active:
        raise FieldProblems(
            {"email": [_l("This patient is not in the program now; re-admit them first.")]}
        )
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


def discharge(clinician: User, patient: Patient, on: date) -> bool:
    """Family access to anything about the patient ends; consents that last "until the
    program ends" end with it (``consent.operations.end_at_discharge``); every assignment not
    done is suspended and nobody is reminded (``assignments.status``); every record is kept.
    Returns False if the patient was already discharged: a double click discharges and
    audits once."""
    discharged = db.session.execute(
        update(Patient)
        .where(Patient.id == patient.id, Patient.status == PatientStatus.ACTIVE)
        .values(status=PatientStatus.DISCHARGED, discharged_on=on)
    )
    if discharged.rowcount != 1:
        return False  # already done (a double click): nothing to write
    audit.record("patient.discharged", actor=clinician, subject=patient, patient_id=patient.id)
    consent_ops.end_at_discharge(clinician, patient.id)
    return True


@dataclass(frozen=True)
class DischargeEffects:
    """What discharging this patient now would do, for the page that asks first."""

    family_losing_access: tuple[str, ...]  # names of family members who see something now
    consents_ending: int  # consents in force that last "until the program ends"
    readings_paused: int  # assignments not done, which discharge suspends


def discharge_effects(patient: Patient, today: date) -> DischargeEffects:
    from lms.assignments import queries as assignment_q
    from lms.consent import queries as consent_q

    family = consent_q.family_consents(patient, today)
    rows = assignment_q.for_patient(patient.id, today)
    return DischargeEffects(
        family_losing_access=tuple(
            row.link.display_name
            for row in family
            if row.standing.in_force and row.link.state == LinkState.ACTIVE
        ),
        consents_ending=sum(
            1 for row in family if row.may_withdraw and row.standing.until_discharge
        ),
        readings_paused=sum(1 for row in rows if row.is_open),
    )


def readmit(clinician: User, patient: Patient) -> bool:
    """Undo a discharge (a mistake, or the patient returns to the program). Readings that
    discharge paused open again. Consents that ended with the discharge stay ended: a patient
    agrees to share again by a new consent, never by an undo. Returns False if the patient
    was not discharged (a double click re-admits and audits once)."""
    readmitted = db.session.execute(
        update(Patient)
        .where(Patient.id == patient.id, Patient.status == PatientStatus.DISCHARGED)
        .values(status=PatientStatus.ACTIVE, discharged_on=None)
    )
    if readmitted.rowcount != 1:
        return False
    audit.record("patient.readmitted", actor=clinician, subject=patient, patient_id=patient.id)
    return True


# --- corrections: details entered wrongly, a duplicate enrolment --------------------------
# Each correction is a conditional UPDATE of only what changed, so the same form sent twice
# changes and audits once. The audit rows name the fields changed, never their values.


def patient_edit_problems(
    clinician: User, patient: Patient, *, record_number: str | None, enrolled_on: date | None
) -> tuple[dict[str, list], int | None]:
    """What is wrong with these new details, per form field, and the patient who already has
    that record number when this clinician may open their page (else None). The form shows
    these beside its own checks, all at once; ``edit_patient`` refuses the same."""
    from flask_babel import lazy_gettext as _l

    problems: dict[str, list] = {}
    existing = None
    number = (record_number or "").strip() or None
    if number is not None and number != patient.record_number:
        try:
            _refuse_duplicate_record(clinician, number, editing=patient)
        except DuplicateRecordNumber as exc:
            problems.update(exc.errors)
            existing = exc.patient_id
    if enrolled_on and patient.discharged_on and enrolled_on > patient.discharged_on:
        problems["enrolled_on"] = [
            _l(
                "The enrolment date cannot be after the discharge date, %(d)s.",
                d=dates.day_text(patient.discharged_on),
            )
        ]
    return problems, existing


def edit_patient(
    clinician: User,
    patient: Patient,
    *,
    display_name: str,
    record_number: str | None,
    enrolled_on: date,
    email: str | None = None,
) -> tuple[str, ...]:
    """Correct a patient's name, record number or enrolment date, and (from the roster) their
    own ``email`` (None: leave it). Returns the names of the fields changed (none when nothing
    differs, e.g. the same form sent again); audited as ``patient.edited`` with those names
    only. A voided enrolment is kept as it was."""
    from flask_babel import lazy_gettext as _l

    if patient.is_voided:
        raise Problem(_l("This enrolment was voided. Its record is kept as it was."))
    problems, _existing = patient_edit_problems(
        clinician, patient, record_number=record_number, enrolled_on=enrolled_on
    )
    if problems:
        raise FieldProblems(problems)
    wanted = {
        "display_name": display_name.strip(),
        "record_number": (record_number or "").strip() or None,
        "enrolled_on": enrolled_on,
    }
    if email is not None:
        wanted["email"] = normalize_email(email) or None
    changed = _update_changed(Patient, patient, wanted, Patient.status != PatientStatus.VOIDED)
    if changed:
        audit.record(
            "patient.edited",
            actor=clinician,
            subject=patient,
            patient_id=patient.id,
            detail="fields=" + ",".join(changed),
        )
    return changed


def _update_changed(model, row, wanted: dict, *conditions) -> tuple[str, ...]:
    """UPDATE only the columns whose value differs, and only while one still does: of two
    identical requests at once, the second finds nothing left to change. Returns the names of
    the columns this request changed."""
    changes = {name: value for name, value in wanted.items() if getattr(row, name) != value}
    if not changes:
        return ()
    result = db.session.execute(
        update(model)
        .where(
            model.id == row.id,
            *conditions,
            or_(*(getattr(model, name).is_distinct_from(value) for name, value in changes.items())),
        )
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(row)
    return tuple(changes) if result.rowcount == 1 else ()


def family_edit_problems(link: FamilyLink, *, email: str | None) -> dict[str, list]:
    """What is wrong with a family member's new email, per form field: another family member
    of the same patient has it, or they have joined (they sign in with their own email, which
    only they can change; the email on the link is where the invitation went)."""
    from flask_babel import lazy_gettext as _l

    if email is None or normalize_email(email) == link.email:
        return {}
    if has_joined(link):
        return {
            "email": [
                _l(
                    "%(name)s has joined, so this email can no longer be changed here. They "
                    "sign in with their own email and can change it in their account settings.",
                    name=link.display_name,
                )
            ]
        }
    clash = db.session.scalar(
        select(FamilyLink.id)
        .where(
            FamilyLink.patient_id == link.patient_id,
            FamilyLink.id != link.id,
            FamilyLink.state != LinkState.REMOVED,
            FamilyLink.email == normalize_email(email),
        )
        .limit(1)
    )
    if clash is not None:
        return {"email": [_l("Another family member of this patient already has this email.")]}
    return {}


def has_joined(link: FamilyLink) -> bool:
    """They accepted their invitation and have an account: its email is theirs, not ours."""
    return link.user_id is not None or link.state == LinkState.ACTIVE


def edit_family_member(
    clinician: User,
    link: FamilyLink,
    *,
    display_name: str,
    relationship: str,
    email: str | None = None,
) -> tuple[str, ...]:
    """Correct a family member's name, relationship and, until they join, email (``None``:
    leave it). A new email ends the unused invitations sent to the old one. Consents keep the
    name they were signed for. Returns the names of the fields changed; audited as
    ``family.edited`` with those names only."""
    from flask_babel import lazy_gettext as _l

    from lms.models import Invitation, Relationship

    if link.state == LinkState.REMOVED:
        raise Problem(_l("This family member was removed."))
    if problems := family_edit_problems(link, email=email):
        raise FieldProblems(problems)
    wanted = {"display_name": display_name.strip()}
    if email is not None:
        wanted["email"] = normalize_email(email)
    wanted["relationship_kind"] = Relationship(relationship)
    # Never the email of someone who joined, even if they accept at this very moment.
    joined_guard = FamilyLink.user_id.is_(None) if "email" in wanted else true()
    changed = _update_changed(FamilyLink, link, wanted, joined_guard)
    if not changed:
        return ()
    names = tuple("relationship" if name == "relationship_kind" else name for name in changed)
    detail = "fields=" + ",".join(names)
    if "email" in changed:
        revoked = db.session.execute(
            update(Invitation)
            .where(
                Invitation.family_link_id == link.id,
                Invitation.used_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .values(revoked_at=clock.utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if revoked:
            detail += f"; invitations to the old email ended={revoked}"
    audit.record(
        "family.edited", actor=clinician, subject=link, patient_id=link.patient_id, detail=detail
    )
    return names


VOID_REASON_MAX = 300


@dataclass(frozen=True)
class VoidBlockers:
    """What was recorded for a patient: any of it means the enrolment is real, not a
    duplicate to void (correct those records instead)."""

    family_members: int = 0
    consents: int = 0
    assignments: int = 0
    attendance: int = 0
    logins: int = 0  # their own login, or an invitation to make one

    @property
    def any(self) -> bool:
        return any(
            (self.family_members, self.consents, self.assignments, self.attendance, self.logins)
        )

    @property
    def message(self) -> str:
        """What a clinician reads, e.g. "It has 2 family members and 1 consent: correct those
        records instead." """
        from flask_babel import gettext as _
        from flask_babel import ngettext

        parts = [
            text
            for count, text in (
                (
                    self.family_members,
                    ngettext(
                        "%(num)d family member", "%(num)d family members", self.family_members
                    ),
                ),
                (self.consents, ngettext("%(num)d consent", "%(num)d consents", self.consents)),
                (
                    self.assignments,
                    ngettext(
                        "%(num)d reading assigned", "%(num)d readings assigned", self.assignments
                    ),
                ),
                (
                    self.attendance,
                    ngettext(
                        "%(num)d session attended or missed",
                        "%(num)d sessions attended or missed",
                        self.attendance,
                    ),
                ),
                (
                    self.logins,
                    ngettext(
                        "a login or login invitation",
                        "%(num)d logins or login invitations",
                        self.logins,
                    ),
                ),
            )
            if count
        ]
        if not parts:
            return ""
        listed = (
            parts[0]
            if len(parts) == 1
            else _("%(first)s and %(last)s", first=", ".join(parts[:-1]), last=parts[-1])
        )
        return _("It has %(things)s: correct those records instead.", things=listed)


def _recorded_for(patient_id: int):
    """Per kind of record, a count of this patient's (SQL scalar subqueries)."""
    from lms.models import Assignment, Attendance, Consent, EducationSession, Invitation

    def count(model):
        return (
            select(func.count()).select_from(model).where(model.patient_id == patient_id)
        ).scalar_subquery()

    own_login = (
        select(func.count())
        .select_from(Patient)
        .where(Patient.id == patient_id, Patient.user_id.is_not(None))
        .scalar_subquery()
    )
    # Attendance in a session voided as a mistake is no record of the patient's care.
    attendance = (
        select(func.count())
        .select_from(Attendance)
        .join(EducationSession, EducationSession.id == Attendance.session_id)
        .where(Attendance.patient_id == patient_id, EducationSession.voided_at.is_(None))
        .scalar_subquery()
    )
    return {
        "family_members": count(FamilyLink),
        "consents": count(Consent),
        "assignments": count(Assignment),
        "attendance": attendance,
        "logins": own_login + count(Invitation),
    }


def void_blockers(patient: Patient) -> VoidBlockers:
    """What was recorded for this patient so far (one query)."""
    counts = _recorded_for(patient.id)
    row = db.session.execute(select(*(c.label(name) for name, c in counts.items()))).one()
    return VoidBlockers(**row._asdict())


def void_enrolment(clinician: User, patient: Patient, reason: str) -> bool:
    """A patient enrolled twice by mistake, before anything was recorded for them, is voided:
    kept with status "voided" and the reason, and listed nowhere. Refused (``Problem``, saying
    what) once anything was recorded. The conditions are in the UPDATE itself, so a family
    member added at the same moment is never left on a voided enrolment, and the same form
    sent twice voids and audits once (False the second time). The reason stays on the
    patient, never in the audit log."""
    from flask_babel import lazy_gettext as _l

    reason = (reason or "").strip()
    if not reason:
        raise FieldProblems({"reason": [_l("Say why this enrolment is a mistake.")]})
    if len(reason) > VOID_REASON_MAX:
        raise FieldProblems(
            {"reason": [_l("Keep the reason to %(n)d characters.", n=VOID_REASON_MAX)]}
        )
    lock_patient(patient)
    nothing_recorded = [subquery == 0 for subquery in _recorded_for(patient.id).values()]
    voided = db.session.execute(
        update(Patient)
        .where(Patient.id == patient.id, Patient.status != PatientStatus.VOIDED, *nothing_recorded)
        .values(
            status=PatientStatus.VOIDED,
            voided_at=clock.utcnow(),
            voided_by_id=clinician.id,
            void_reason=reason,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(patient)
    if voided.rowcount != 1:
        if not patient.is_voided and (blockers := void_blockers(patient)).any:
            raise Problem(blockers.message)
        return False  # already voided (the same form sent twice)
    audit.record("patient.voided", actor=clinician, subject=patient, patient_id=patient.id)
    return True


# --- the next step with a new family -------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of bringing a family member in: ``add_family``, ``consent``, ``invite``,
    ``joined``."""

    key: str
    label: str
    done: bool
    is_next: bool


@dataclass(frozen=True)
class NextSteps:
    """The checklist on an active patient's page: each step done or not, the next one, and
    the family member it is about (the first who has not joined; None before anyone is
    added)."""

    steps: tuple[Step, ...]
    link: FamilyLink | None
    invitation_id: int | None  # their invitation whose link still works, if any

    @property
    def next(self) -> Step | None:
        return next((step for step in self.steps if step.is_next), None)

    @property
    def all_done(self) -> bool:
        return all(step.done for step in self.steps)


def next_steps(patient: Patient) -> NextSteps | None:
    """Add a family member → record their consent → invite them → they joined, for the first
    family member who has not joined yet. Each step is done only once the one before it is (a
    consent withdrawn before they joined makes recording one the next step again; an expired
    link makes inviting it). Someone who joined has done every step: how their consent stands
    later is the family table's to show. None for a patient not in the program."""
    from flask_babel import lazy_gettext as _l

    from lms.consent.queries import has_consent_in_force
    from lms.invitations import operations as invitation_ops

    if not patient.is_active:
        return None
    links = [link for link in patient.family_links if link.state != LinkState.REMOVED]
    waiting = [link for link in links if link.state != LinkState.ACTIVE]
    link = waiting[0] if waiting else (links[-1] if links else None)
    joined = link is not None and link.state == LinkState.ACTIVE
    invitation = invitation_ops.waiting_invitation(link) if link and not joined else None
    added = link is not None
    consented = added and (joined or has_consent_in_force(link))
    invited = consented and (joined or invitation is not None)
    facts = (
        ("add_family", _l("Add a family member"), added),
        ("consent", _l("Record their consent"), consented),
        ("invite", _l("Invite them"), invited),
        ("joined", _l("They joined"), invited and joined),
    )
    first_open = next((key for key, _label, done in facts if not done), None)
    return NextSteps(
        steps=tuple(
            Step(key=key, label=str(label), done=done, is_next=key == first_open)
            for key, label, done in facts
        ),
        link=link,
        invitation_id=invitation.id if invitation is not None else None,
    )
