"""Clinic pages: corrections (registered on the clinic blueprint).

A mistake is corrected, never hidden: a patient's details, a family member's details, a
consent entered in error (kept, shown struck through, no longer in force), a duplicate
enrolment voided (kept, listed nowhere). Each page's GET shows its form and is audited as a
``*.form_view``; only its POST acts. Every refusal is shown at once, beside its field. The
rules live in ``lms.patients.operations`` and ``lms.consent.operations``; each correction is a
conditional UPDATE, so the same form sent twice changes and audits once.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms import access, audit
from lms.blueprints.clinic.forms import (
    ConsentErrorForm,
    FamilyDetailsForm,
    PatientDetailsForm,
    VoidEnrolmentForm,
)
from lms.blueprints.clinic.routes import bp
from lms.consent import operations as consent_ops
from lms.consent import queries as consent_q
from lms.extensions import db
from lms.models import Consent, FamilyLink, LinkState, Patient, User
from lms.patients import operations as patient_ops
from lms.problems import FieldProblems, Problem


def _me() -> User:
    return current_user._get_current_object()


def _spread(form, problems: dict) -> None:
    """The domain's refusals beside the fields they are about."""
    for name, messages in problems.items():
        field = form[name]
        field.errors = [*field.errors, *(str(m) for m in messages)]


def _link_of(patient: Patient, link_id: str) -> FamilyLink:
    """This patient's family member (not removed); anything else is a 404."""
    wanted = access.parse_id(link_id)
    for link in patient.family_links:
        if link.id == wanted and link.state != LinkState.REMOVED:
            return link
    abort(404)


def _consent_of(patient: Patient, consent_id: str) -> Consent:
    consent = db.session.get(Consent, access.parse_id(consent_id))
    if consent is None or consent.patient_id != patient.id:
        abort(404)
    return consent


def _back(patient: Patient):
    return redirect(url_for("clinic.patient", patient_id=patient.id))


@bp.route("/patients/<patient_id>/edit", methods=["GET", "POST"])
def edit_patient(patient_id: str):
    """Correct a patient's name, record number or enrolment date. 404 unless the patient is
    on the caseload; a record number another patient has is refused beside the field; a
    voided enrolment is kept as it was."""
    patient = access.patient_for(_me(), patient_id)
    form = PatientDetailsForm(obj=patient) if request.method == "GET" else PatientDetailsForm()
    existing = None
    if request.method == "POST" and not patient.is_voided:
        valid = form.validate_on_submit()
        problems, existing = patient_ops.patient_edit_problems(
            _me(),
            patient,
            record_number=None if form.record_number.errors else form.record_number.data,
            enrolled_on=None if form.enrolled_on.errors else form.enrolled_on.data,
        )
        _spread(form, problems)
        if valid and not problems:
            try:
                changed = patient_ops.edit_patient(
                    _me(),
                    patient,
                    display_name=form.display_name.data,
                    record_number=form.record_number.data,
                    enrolled_on=form.enrolled_on.data,
                )
            except FieldProblems as exc:
                _spread(form, exc.errors)
            else:
                flash(_("Details saved.") if changed else _("Nothing needed changing."))
                return _back(patient)
    audit.record("patient_edit.form_view", subject=patient, patient_id=patient.id)
    return render_template(
        "clinic/edit_patient.html", patient=patient, form=form, existing=existing
    ), (400 if request.method == "POST" and not patient.is_voided else 200)


@bp.route("/patients/<patient_id>/family/<link_id>/edit", methods=["GET", "POST"])
def edit_family(patient_id: str, link_id: str):
    """Correct a family member's name, relationship and, until they join, email; another
    family member of the patient with the same email is refused beside the field. Once they
    have joined, the email they sign in with is theirs: the form says so and leaves it."""
    patient = access.patient_for(_me(), patient_id)
    link = _link_of(patient, link_id)
    joined = patient_ops.has_joined(link)
    if request.method == "GET":
        form = FamilyDetailsForm(
            display_name=link.display_name,
            email=link.email,
            relationship=str(link.relationship_kind),
        )
    else:
        form = FamilyDetailsForm()
    if joined:
        del form.email
    if request.method == "POST":
        valid = form.validate_on_submit()
        email = None if joined or form.email.errors else form.email.data
        problems = patient_ops.family_edit_problems(link, email=email)
        _spread(form, problems)
        if valid and not problems:
            try:
                changed = patient_ops.edit_family_member(
                    _me(),
                    link,
                    display_name=form.display_name.data,
                    relationship=form.relationship.data,
                    email=email,
                )
            except FieldProblems as exc:
                _spread(form, exc.errors)
            else:
                if "email" in changed:
                    flash(
                        _(
                            "Details saved. Any invitation sent to the old email no longer "
                            "works: send a new one."
                        )
                    )
                else:
                    flash(_("Details saved.") if changed else _("Nothing needed changing."))
                return _back(patient)
    audit.record("family_edit.form_view", subject=link, patient_id=patient.id)
    return render_template(
        "clinic/edit_family.html", patient=patient, link=link, joined=joined, form=form
    ), (400 if request.method == "POST" else 200)


@bp.route("/patients/<patient_id>/consents/<consent_id>/entered-in-error", methods=["GET", "POST"])
def consent_error(patient_id: str, consent_id: str):
    """Mark a consent recorded by mistake as entered in error, with a reason: it is kept,
    shown struck through, and no longer in force anywhere. The page says first what that
    ends; a consent already marked is shown as it is (a second submit changes nothing)."""
    patient = access.patient_for(_me(), patient_id)
    consent = _consent_of(patient, consent_id)
    form = ConsentErrorForm()
    already = consent.error_at is not None
    if request.method == "POST" and already:
        return _back(patient)  # the same form sent twice: the first one did it
    if request.method == "POST":
        in_force = consent.is_active()
        if form.validate_on_submit():
            try:
                marked = consent_ops.mark_entered_in_error(_me(), consent, form.reason.data)
            except FieldProblems as exc:
                _spread(form, exc.errors)
            else:
                if marked and in_force:
                    flash(
                        _(
                            "Consent marked as entered in error. It no longer counts: "
                            "%(member)s no longer sees anything about the patient through it.",
                            member=consent.family_link.display_name,
                        )
                    )
                elif marked:
                    flash(_("Consent marked as entered in error."))
                return _back(patient)
    audit.record("consent_error.form_view", subject=consent, patient_id=patient.id)
    return render_template(
        "clinic/consent_error.html",
        patient=patient,
        consent=consent,
        link=consent.family_link,
        in_force=consent.is_active(),
        replaced=consent_q.replaced_by(consent),
        form=form,
    ), (400 if request.method == "POST" else 200)


@bp.route("/patients/<patient_id>/void", methods=["GET", "POST"])
def void_patient(patient_id: str):
    """Void a duplicate enrolment: only while nothing was recorded for the patient (the page
    says what was, and offers no form then). The record is kept with the reason and listed
    nowhere; its page says it was voided."""
    patient = access.patient_for(_me(), patient_id)
    form = VoidEnrolmentForm()
    if request.method == "POST" and patient.is_voided:
        return _back(patient)  # the same form sent twice: the first one did it
    blockers = None if patient.is_voided else patient_ops.void_blockers(patient)
    refusal = None
    if request.method == "POST" and not blockers.any:
        if form.validate_on_submit():
            try:
                patient_ops.void_enrolment(_me(), patient, form.reason.data)
            except FieldProblems as exc:
                _spread(form, exc.errors)
            except Problem as exc:  # something was recorded for them at this very moment
                refusal = str(exc)
                blockers = patient_ops.void_blockers(patient)
            else:
                flash(
                    _("Enrolment voided. It is kept for the record and no longer listed anywhere.")
                )
                return _back(patient)
    audit.record("void.form_view", subject=patient, patient_id=patient.id)
    return render_template(
        "clinic/void_patient.html",
        patient=patient,
        blockers=blockers,
        refusal=refusal,
        form=form,
    ), (400 if request.method == "POST" else 200)
