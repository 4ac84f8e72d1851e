"""FHIR export: a patient's record here — or a whole caseload's — as one FHIR ``Bundle`` a
health-record system can file.

What goes in (each resource with a stable id, ``patient-12``, ``consent-7``…):

- ``Patient`` (record number under ``SITE_URL``; active unless discharged; voided enrolments
  are never exported), ``Organization`` (the program), ``Practitioner`` (name only: the
  clinicians who gave readings);
- ``RelatedPerson`` per family member, the relationship coded from HL7 v3 RoleCode;
- ``Consent`` per consent record, the 42 CFR Part 2 §2.31 elements mapped (below);
- ``Task`` per reading given, its status from the one status rule
  (``lms.assignments.status``);
- ``QuestionnaireResponse`` per WHO-5 check-in a family member took (skipped offers are not
  exported), with the ``Questionnaire`` they answer.

**Which FHIR.** Built and validated with ``fhir.resources``' R4B package (FHIR 4.3.0, the
technical correction of R4). The library ships R5 and R4B but not 4.0.1; Patient,
RelatedPerson, Consent, Task, QuestionnaireResponse, Questionnaire, Practitioner,
Organization and Bundle have R4's structure in R4B, so a system that reads R4 reads this.
Every resource is a library model (validated on construction) and the JSON is the library's
own serialisation, never assembled by hand.

**42 CFR Part 2 consent mapping** (§2.31 elements → R4 ``Consent``; codes after the HL7
Consent resource and the v3 privacy vocabulary used by HL7's consent and data-segmentation
guides):

- status: the one rule ``Consent.state`` — in force → ``active``; withdrawn, replaced,
  ended at discharge or expired → ``inactive``; entered in error → ``entered-in-error``;
- scope ``patient-privacy``; category LOINC 59284-0 (patient consent);
- patient; dateTime = the day it was signed;
- performer = the grantor: the patient, or their representative with their capacity;
- organization = the disclosing program (``Organization``);
- policyRule v3 ActCode ``42CFRPart2`` and policy = the regulation's address (§2.31);
- provision: ``permit``, period = signed .. expiry date (an expiry event stays in the
  narrative as the patient's words), actor with role ``IRCP`` (information recipient) = the
  family member (``RelatedPerson``), action ``disclose``, purpose v3 ActReason ``TREAT``, and
  what may be disclosed as ``provision.code`` text; the narrative repeats the consent's own
  words (program, recipient, what, why, until when, how to withdraw).

The bundle carries the security labels of 42 CFR Part 2 records (confidentiality R, policy
42CFRPart2, refrain NORDSCLCD: no redisclosure without consent), the machine form of the
§2.32 notice.

Addresses: ``fullUrl`` is ``SITE_URL/fhir/<type>/<id>`` — a stable name for the resource in
this program, not an address the site answers — and references are relative
(``Patient/patient-12``), so they resolve inside the bundle. A module is named by its page's
address (``SITE_URL/learn/modules/<slug>``), with its version once completed.

Nothing here decides who may see what: callers pass patients they reached through
``lms.access`` (the views audit the export).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.consent import (
    Consent as FhirConsent,
)
from fhir.resources.R4B.consent import (
    ConsentPolicy,
    ConsentProvision,
    ConsentProvisionActor,
)
from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.narrative import Narrative
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.questionnaire import (
    Questionnaire,
    QuestionnaireItem,
    QuestionnaireItemAnswerOption,
)
from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse,
    QuestionnaireResponseItem,
    QuestionnaireResponseItemAnswer,
)
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.relatedperson import RelatedPerson
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.task import Task, TaskInput, TaskOutput, TaskRestriction
from flask import current_app
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from lms import access, clock
from lms.assignments import queries as assignment_q
from lms.assignments import status as rules
from lms.assignments.status import AssignmentStatus
from lms.content import get_library
from lms.extensions import db
from lms.mail.messages import site_url
from lms.models import Assignment, Consent, FamilyLink, LinkState, Patient, User, WellbeingCheck
from lms.models.clinical import PatientStatus, Relationship
from lms.wellbeing import queries as wellbeing_q
from lms.wellbeing import who5

MEDIA_TYPE = "application/fhir+json"

# --- code systems ------------------------------------------------------------------------

V3_ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
V2_CONTACT_ROLE = "http://terminology.hl7.org/CodeSystem/v2-0131"
V2_ID_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
V3_ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
V3_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
V3_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
LOINC = "http://loinc.org"
PART_2 = "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2"
PART_2_CONSENT = f"{PART_2}/subpart-C/section-2.31"

#: Each relationship a family member may have, as HL7 v3 RoleCode (``other``: v2 table 0131
#: "Other", as R4's RelatedPerson relationship value set allows), with the words kept in the
#: record. Every ``Relationship`` has one (a test checks).
RELATIONSHIP_CODES: dict[Relationship, tuple[str, str, str, str]] = {
    Relationship.PARENT: (V3_ROLE, "PRN", "parent", "Parent"),
    Relationship.PARENT_OF_MINOR: (
        V3_ROLE,
        "PRN",
        "parent",
        "Parent of a patient under 18",
    ),
    Relationship.PARTNER: (V3_ROLE, "SIGOTHR", "significant other", "Partner"),
    Relationship.SPOUSE: (V3_ROLE, "SPS", "spouse", "Spouse"),
    Relationship.SIBLING: (V3_ROLE, "SIB", "sibling", "Sibling"),
    Relationship.ADULT_CHILD: (V3_ROLE, "CHILD", "child", "Adult child"),
    Relationship.FRIEND: (V3_ROLE, "FRND", "unrelated friend", "Friend"),
    Relationship.OTHER: (V2_CONTACT_ROLE, "O", "Other", "Other"),
}

#: ``Consent.state`` → FHIR Consent status (R4: draft | proposed | active | rejected |
#: inactive | entered-in-error). Every state has one (a test checks).
CONSENT_STATUS = {
    "active": "active",
    "withdrawn": "inactive",
    "replaced": "inactive",
    "ended": "inactive",
    "expired": "inactive",
    "entered_in_error": "entered-in-error",
}

S = AssignmentStatus
#: An assignment's status (the one rule) → FHIR Task status. Overdue stays "requested" or
#: "in-progress" by whether the learner started; the status itself is ``businessStatus``.
TASK_STATUS = {
    S.NOT_STARTED: "requested",
    S.IN_PROGRESS: "in-progress",
    S.COMPLETED: "completed",
    S.COMPLETED_EARLIER: "completed",
    S.SUSPENDED_NO_CONSENT: "on-hold",
    S.SUSPENDED_DISCHARGED: "on-hold",
    S.CANCELLED: "cancelled",
}


# --- addresses ---------------------------------------------------------------------------


def system(name: str) -> str:
    """This program's naming system for ``name`` (record numbers, consents, …)."""
    return f"{site_url()}/fhir/sid/{name}"


def module_url(slug: str) -> str:
    """A module's canonical address: its page."""
    return f"{site_url()}/learn/modules/{slug}"


def who5_url() -> str:
    return f"{site_url()}/fhir/Questionnaire/who-5"


def full_url(resource: Resource) -> str:
    return f"{site_url()}/fhir/{resource.get_resource_type()}/{resource.id}"


def ref(resource_type: str, resource_id: str, display: str | None = None) -> Reference:
    return Reference(reference=f"{resource_type}/{resource_id}", display=display)


def _coding(system_url: str, code: str, display: str | None = None) -> Coding:
    return Coding(system=system_url, code=code, display=display)


def _concept(*codings: Coding, text: str | None = None) -> CodeableConcept:
    return CodeableConcept(coding=list(codings) or None, text=text)


def _narrative(lines: Iterable[tuple[str, str | None]]) -> Narrative:
    """A readable summary (``text``) of what the coded elements say, escaped."""
    rows = "".join(
        f"<p><b>{escape(label)}</b>: {escape(value)}</p>" for label, value in lines if value
    )
    return Narrative(
        status="generated", div=f'<div xmlns="http://www.w3.org/1999/xhtml">{rows}</div>'
    )


# --- ids ---------------------------------------------------------------------------------


def patient_id(patient: Patient) -> str:
    return f"patient-{patient.id}"


def related_id(link: FamilyLink) -> str:
    return f"relatedperson-{link.id}"


def practitioner_id(user: User) -> str:
    return f"practitioner-{user.id}"


ORGANIZATION_ID = "program"
QUESTIONNAIRE_ID = "who-5"


# --- what one export reads ---------------------------------------------------------------


@dataclass
class _Records:
    """Everything a bundle holds, read in a fixed number of queries whatever the caseload's
    size: patients with their family, consents, assignments with their status (the one
    rule's SQL form) and who assigned them, and the family members' check-ins."""

    patients: Sequence[Patient]
    consents: dict[int, list[Consent]]
    assignments: dict[int, list[assignment_q.Row]]
    checkins: dict[int, list[WellbeingCheck]]


def _read(patients: Sequence[Patient], ids: Select | list[int]) -> _Records:
    """``ids``: the same patients' ids, as a list or a select (a caseload of any size is
    read through subqueries, never a list of thousands of parameters)."""
    consents: dict[int, list[Consent]] = defaultdict(list)
    assignments: dict[int, list[assignment_q.Row]] = defaultdict(list)
    checkins: dict[int, list[WellbeingCheck]] = defaultdict(list)
    if not patients:
        return _Records(patients, consents, assignments, checkins)
    for consent in db.session.scalars(
        select(Consent).where(Consent.patient_id.in_(ids)).order_by(Consent.id)
    ):
        consents[consent.patient_id].append(consent)
    query, _expression, _progress = assignment_q.status_select()
    for row in assignment_q.rows(
        query.where(Assignment.patient_id.in_(ids))
        .options(selectinload(Assignment.assigned_by))
        .order_by(Assignment.id)
    ):
        assignments[row.assignment.patient_id].append(row)
    # Whose scores: the family members of these patients (the wellbeing rule).
    ids_select = ids if isinstance(ids, Select) else select(Patient.id).where(Patient.id.in_(ids))
    for check in wellbeing_q.checkins_for(wellbeing_q.family_user_ids(ids_select)):
        checkins[check.user_id].append(check)
    return _Records(patients, consents, assignments, checkins)


def _exported(query: Select) -> Select:
    """Voided enrolments are never exported."""
    return query.where(Patient.status != PatientStatus.VOIDED)


def caseload_ids(user: User) -> Select:
    """The ids of every patient this staff member may see (``access.caseload``) that an
    export holds."""
    return _exported(access.caseload(user)).with_only_columns(Patient.id)


def caseload_patients(user: User) -> list[Patient]:
    """Those patients, with their family loaded, in id order."""
    return list(
        db.session.scalars(
            _exported(access.caseload(user))
            .options(selectinload(Patient.family_links))
            .order_by(Patient.id)
        )
    )


# --- resources ---------------------------------------------------------------------------


def organization_resource() -> Organization:
    return Organization(
        id=ORGANIZATION_ID,
        identifier=[Identifier(system=system("program"), value=site_url())],
        name=current_app.config["PROGRAM_NAME"],
        active=True,
    )


def patient_resource(patient: Patient) -> FhirPatient:
    identifiers = [Identifier(use="secondary", system=system("patient"), value=str(patient.id))]
    if patient.record_number:
        identifiers.insert(
            0,
            Identifier(
                use="usual",
                type=_concept(
                    _coding(V2_ID_TYPE, "MR", "Medical record number"),
                    text="Record number",
                ),
                system=system("record-number"),
                value=patient.record_number,
            ),
        )
    return FhirPatient(
        id=patient_id(patient),
        identifier=identifiers,
        active=patient.status == PatientStatus.ACTIVE,
        name=[HumanName(text=patient.display_name)],
        telecom=[ContactPoint(system="email", value=patient.email)] if patient.email else None,
        managingOrganization=ref("Organization", ORGANIZATION_ID),
    )


def related_person_resource(patient: Patient, link: FamilyLink) -> RelatedPerson:
    code_system, code, display, words = RELATIONSHIP_CODES[link.relationship_kind]
    return RelatedPerson(
        id=related_id(link),
        identifier=[Identifier(system=system("family-member"), value=str(link.id))],
        active=link.state != LinkState.REMOVED,
        patient=ref("Patient", patient_id(patient)),
        relationship=[_concept(_coding(code_system, code, display), text=words)],
        name=[HumanName(text=link.display_name)],
        telecom=[ContactPoint(system="email", value=link.email)] if link.email else None,
    )


def practitioner_resource(user: User) -> Practitioner:
    return Practitioner(id=practitioner_id(user), name=[HumanName(text=user.display_name)])


def consent_resource(
    patient: Patient, link: FamilyLink, consent: Consent, today: date | None = None
) -> FhirConsent:
    """One §2.31 consent (see the module's docstring for the mapping). The status comes from
    ``Consent.state``, the one rule."""
    state = consent.state(today or clock.today())
    if consent.signed_by == "representative":
        who = consent.representative_name or "Representative"
        if consent.representative_capacity:
            who = f"{who} ({consent.representative_capacity})"
        grantor = Reference(type="RelatedPerson", display=who)
    else:
        grantor = ref("Patient", patient_id(patient), patient.display_name)
    if consent.expiry_event:
        until = consent.expiry_event
    elif consent.ends_at_discharge:
        until = "When the patient leaves the program"
    else:
        until = consent.expires_on.isoformat() if consent.expires_on else None
    return FhirConsent(
        id=f"consent-{consent.id}",
        identifier=[Identifier(system=system("consent"), value=str(consent.id))],
        text=_narrative(
            (
                ("Program", consent.program_name),
                ("Recipient", consent.recipient_name),
                ("What may be disclosed", consent.disclosure),
                ("Purpose", consent.purpose),
                ("Until", until),
                ("Withdrawal", consent.revocation_terms),
                ("Signed", f"{consent.signed_on.isoformat()} ({consent.signature_method})"),
                ("Signed by", who if consent.signed_by == "representative" else "The patient"),
                ("Standing", state.replace("_", " ")),
            )
        ),
        status=CONSENT_STATUS[state],
        scope=_concept(_coding(CONSENT_SCOPE, "patient-privacy", "Privacy Consent")),
        category=[_concept(_coding(LOINC, "59284-0", "Patient Consent"))],
        patient=ref("Patient", patient_id(patient)),
        dateTime=consent.signed_on,
        performer=[grantor],
        organization=[ref("Organization", ORGANIZATION_ID, consent.program_name)],
        policy=[ConsentPolicy(authority=PART_2, uri=PART_2_CONSENT)],
        policyRule=_concept(
            _coding(V3_ACT, "42CFRPart2", "42 CFR Part2"),
            text="42 CFR Part 2 (Confidentiality of Substance Use Disorder Patient Records)",
        ),
        provision=ConsentProvision(
            type="permit",
            period=Period(start=consent.signed_on, end=consent.expires_on),
            actor=[
                ConsentProvisionActor(
                    role=_concept(_coding(V3_PARTICIPATION, "IRCP", "information recipient")),
                    reference=ref("RelatedPerson", related_id(link), link.display_name),
                )
            ],
            action=[_concept(_coding(CONSENT_ACTION, "disclose", "Disclose"))],
            purpose=[_coding(V3_REASON, "TREAT", "treatment")],
            code=[_concept(text=consent.disclosure)],
        ),
    )


def task_resource(
    patient: Patient, row: assignment_q.Row, owners: dict[int, Reference], library
) -> Task:
    """One reading given (``Assignment``), its status by the one rule."""
    assignment, progress, status = row.assignment, row.progress, row.status
    module = library.module(assignment.module_slug)
    task_status = TASK_STATUS.get(status)
    if task_status is None:  # overdue: under way or not yet begun
        task_status = "in-progress" if progress is not None else "requested"
    with force_locale("en"):
        status_words = str(rules.LABELS[status])
    started = progress.started_at if progress is not None else None
    completed = progress.completed_at if progress is not None else None
    url = module_url(assignment.module_slug)
    output = None
    if status in rules.DONE and progress is not None and progress.completed_version:
        output = [
            TaskOutput(
                type=_concept(text="Completed version"),
                valueCanonical=f"{url}|{progress.completed_version}",
            )
        ]
    assigned_by = assignment.assigned_by
    return Task(
        id=f"task-{assignment.id}",
        identifier=[Identifier(system=system("assignment"), value=str(assignment.id))],
        instantiatesUri=url,
        status=task_status,
        businessStatus=_concept(
            _coding(system("assignment-status"), status.value, status_words), text=status_words
        ),
        intent="order",
        description=module.title if module else assignment.module_slug,
        for_fhir=ref("Patient", patient_id(patient)),
        owner=owners.get(assignment.learner_id),
        requester=(
            ref("Practitioner", practitioner_id(assigned_by), assigned_by.display_name)
            if assigned_by is not None
            else None
        ),
        authoredOn=assignment.assigned_at,
        executionPeriod=Period(start=started, end=completed) if started else None,
        restriction=(
            TaskRestriction(period=Period(end=assignment.due_on)) if assignment.due_on else None
        ),
        input=[TaskInput(type=_concept(text="Module"), valueUri=url)],
        output=output,
    )


def questionnaire_resource() -> Questionnaire:
    """The WHO-5 as a FHIR Questionnaire (English items, the WHO's published words)."""
    answers = [
        QuestionnaireItemAnswerOption(valueCoding=_answer(value, label))
        for value, label in who5.answer_labels("en")
    ]
    items = [
        QuestionnaireItem(
            linkId=link_id,
            prefix=link_id,
            text=f"{who5.timeframe('en')}: {text}",
            type="choice",
            required=True,
            answerOption=answers,
        )
        for link_id, text in zip(who5.LINK_IDS, who5.item_texts("en"), strict=True)
    ]
    items.append(
        QuestionnaireItem(
            linkId="score",
            text="Percentage score (raw score × 4, 0–100)",
            type="integer",
            readOnly=True,
        )
    )
    return Questionnaire(
        id=QUESTIONNAIRE_ID,
        url=who5_url(),
        name="WHO5WellBeingIndex",
        title="WHO-5 Well-Being Index",
        status="active",
        subjectType=["RelatedPerson"],
        copyright=who5.CITATION,
        item=items,
    )


def _answer(value: int, label: str) -> Coding:
    return Coding(system=system("who-5-answer"), code=str(value), display=label)


def questionnaire_response_resource(
    link: FamilyLink, check: WellbeingCheck
) -> QuestionnaireResponse:
    """One WHO-5 check-in a family member took, in the language they saw it in."""
    labels = dict(who5.answer_labels(check.lang))
    items = [
        QuestionnaireResponseItem(
            linkId=link_id,
            text=text,
            answer=[QuestionnaireResponseItemAnswer(valueCoding=_answer(value, labels[value]))],
        )
        for link_id, text, value in zip(
            who5.LINK_IDS, who5.item_texts(check.lang), check.items, strict=True
        )
    ]
    items.append(
        QuestionnaireResponseItem(
            linkId="score",
            answer=[QuestionnaireResponseItemAnswer(valueInteger=check.score)],
        )
    )
    person = ref("RelatedPerson", related_id(link), link.display_name)
    return QuestionnaireResponse(
        id=f"who5-{link.id}-{check.id}",
        identifier=Identifier(system=system("wellbeing-check"), value=str(check.id)),
        language=who5.language(check.lang),
        questionnaire=who5_url(),
        status="completed",
        subject=person,
        source=person,
        authored=check.taken_at,
        item=items,
    )


# --- bundles -----------------------------------------------------------------------------


def _resources(records: _Records) -> list[Resource]:
    library = get_library()
    out: list[Resource] = [organization_resource()]
    practitioners: dict[int, Practitioner] = {}
    wellbeing: list[Resource] = []
    today = clock.today()
    for patient in records.patients:
        out.append(patient_resource(patient))
        links = {link.id: link for link in patient.family_links}
        owners: dict[int, Reference] = {}
        if patient.user_id is not None:
            owners[patient.user_id] = ref("Patient", patient_id(patient), patient.display_name)
        for link in patient.family_links:
            out.append(related_person_resource(patient, link))
            if link.user_id is not None:
                owners.setdefault(
                    link.user_id, ref("RelatedPerson", related_id(link), link.display_name)
                )
                wellbeing.extend(
                    questionnaire_response_resource(link, check)
                    for check in records.checkins.get(link.user_id, ())
                    if check.score is not None  # all five answered
                )
        for consent in records.consents.get(patient.id, ()):
            out.append(consent_resource(patient, links[consent.family_link_id], consent, today))
        for row in records.assignments.get(patient.id, ()):
            out.append(task_resource(patient, row, owners, library))
            by = row.assignment.assigned_by
            if by is not None:
                practitioners.setdefault(by.id, practitioner_resource(by))
    if wellbeing:
        out.append(questionnaire_resource())
    return out + list(practitioners.values()) + wellbeing


def bundle_for(patients: Sequence[Patient], ids: Select | None = None) -> Bundle:
    """A ``collection`` Bundle of these patients' records (voided ones left out); ``ids``,
    when given, selects the same patients' ids."""
    kept = [p for p in patients if p.status != PatientStatus.VOIDED]
    resources = _resources(_read(kept, ids if ids is not None else [p.id for p in kept]))
    export_id = str(uuid.uuid4())  # each export is a document of its own
    return Bundle(
        id=export_id,
        meta=Meta(
            source=site_url(),
            security=[
                _coding(V3_CONFIDENTIALITY, "R", "restricted"),
                _coding(V3_ACT, "42CFRPart2", "42 CFR Part2"),
                _coding(V3_ACT, "NORDSCLCD", "no disclosure without consent directive"),
            ],
        ),
        identifier=Identifier(system=system("export"), value=export_id),
        type="collection",
        timestamp=clock.utcnow(),
        entry=[BundleEntry(fullUrl=full_url(r), resource=r) for r in resources],
    )


def patient_bundle(patient: Patient) -> Bundle:
    """One patient's records (a patient reached through ``access.patient_for``)."""
    return bundle_for([patient])


def caseload_bundle(user: User) -> Bundle:
    """Every patient this staff member may see."""
    return bundle_for(caseload_patients(user), caseload_ids(user))


def patient_count(bundle: Bundle) -> int:
    return sum(1 for e in bundle.entry or () if e.resource.get_resource_type() == "Patient")


def to_json(bundle: Bundle) -> str:
    """The library's own JSON serialisation."""
    return bundle.model_dump_json()


def resource_types(bundle: Bundle) -> set[str]:
    return {entry.resource.get_resource_type() for entry in bundle.entry or ()}
