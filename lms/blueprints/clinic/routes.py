"""Clinician pages under /clinic/. Every patient is reached through ``access.patient_for``
(404 unless on the clinician's caseload; admins see all), and every view is audited."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    stream_template,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import access, audit, clock, inputs, insight
from lms import reports as report_q
from lms.assignments import operations as assignment_ops
from lms.assignments import queries as assignment_q
from lms.blueprints.clinic.forms import (
    ActionForm,
    AssignForm,
    ConsentForm,
    DischargeForm,
    EnrollForm,
    FamilyMemberForm,
    InviteForm,
    PatientLoginForm,
    SessionEditForm,
    SessionForm,
    VoidSessionForm,
)
from lms.consent import operations as consent_ops
from lms.consent import queries as consent_q
from lms.content import get_library
from lms.csvutil import chunked
from lms.extensions import db
from lms.goals import queries as goal_q
from lms.group_sessions import operations as session_log
from lms.group_sessions import queries as session_q
from lms.invitations import operations as invitation_ops
from lms.mail.messages import external_url
from lms.models import (
    Assignment,
    AttendanceStatus,
    Consent,
    EducationSession,
    FamilyLink,
    Invitation,
    LinkState,
    Patient,
    User,
)
from lms.models.clinical import DEFAULT_DISCLOSURE, DEFAULT_PURPOSE, DEFAULT_REVOCATION
from lms.patients import operations as patient_ops
from lms.practice import queries as practice_q
from lms.problems import DuplicateRecordNumber, FieldProblems, Problem
from lms.security import recent_auth_required
from lms.wellbeing import queries as wellbeing_q

bp = Blueprint("clinic", __name__, url_prefix="/clinic")


@bp.before_request
@login_required
def _staff_only():
    """Staff only; everyone else gets 404 so the area's existence is not confirmed."""
    if not current_user.is_staff:
        abort(404)
    return None


def _me() -> User:
    return current_user._get_current_object()


PER_PAGE = 25


@bp.route("/")
def caseload():
    """The caseload dashboard: summary tiles over the whole caseload, then one page of
    families, needs-help flags first (admins: all), found by name with ``q``; the filters,
    sort and search are kept from page to page. Audited; a search is recorded as "search"
    and its count, never the name searched for."""
    status = inputs.choice("status", ("active", "discharged", "all"), "active")
    show = inputs.choice("show", tuple(insight.SHOW), "all")
    sort = inputs.choice("sort", tuple(insight.SORTS), "needs_help")
    q = insight.search_text(request.args.get("q"))
    result = insight.caseload_page(
        _me(),
        status=status,
        show=show,
        sort=sort,
        q=q,
        page=inputs.page_number(),
        per_page=PER_PAGE,
    )
    found = f"search, {result.total} families found" if q else f"{len(result.rows)} families shown"
    audit.record("caseload.view", detail=found)
    return render_template(
        "clinic/caseload.html",
        rows=result.rows,
        total=result.total,
        page=result.page,
        pages=result.pages,
        status=status,
        show=show,
        sort=sort,
        q=q,
        summary=result.summary,
        library=get_library(),
    )


@bp.route("/patients/new", methods=["GET", "POST"])
def enroll():
    """Enroll a patient onto this clinician's caseload."""
    form = EnrollForm()
    if request.method == "GET":
        form.enrolled_on.data = clock.today()
    existing = None
    if form.validate_on_submit():
        try:
            patient = patient_ops.enroll_patient(
                _me(),
                display_name=form.display_name.data,
                record_number=form.record_number.data,
                enrolled_on=form.enrolled_on.data,
                submit_token=form.submit_token.data,
            )
        except DuplicateRecordNumber as exc:
            form.record_number.errors = [
                *form.record_number.errors,
                *map(str, exc.errors["record_number"]),
            ]
            existing = exc.patient_id
        else:
            flash(_("Patient enrolled. Next, add the people in their family below."))
            return redirect(url_for("clinic.patient", patient_id=patient.id))
    return render_template("clinic/enroll.html", form=form, existing=existing)


def _assignment_units(patient_id: int, today) -> dict:
    """Paths given to a learner as one unit each; every other assignment on its own."""
    path_groups, singles = assignment_q.units_for_patient(patient_id, today)
    return {"path_groups": path_groups, "assignments": singles}


def _patient_page_data(patient: Patient) -> dict:
    consent_ops.log_expired_consents(patient.id)
    today = clock.today()
    attendance, attendance_rate = session_q.attendance_for(patient.id)
    return {
        "attendance": attendance,
        "attendance_rate": attendance_rate,
        "family": consent_q.family_consents(patient, today),
        **_assignment_units(patient.id, today),
        "today": today,
        "library": get_library(),
        "steps": patient_ops.next_steps(patient),
        # Notes the patient or their family chose to share (one query; the rule is there).
        "shared_notes": db.session.execute(practice_q.shared_with_care_team(patient, today)).all(),
        # Learning goals with their state (two queries; the rule is in goals.queries).
        "goals": goal_q.for_patient(patient),
        "goal_title": goal_q.title_of,
        # Each family member's WHO-5 check-ins at a glance (one query; lms.wellbeing).
        "wellbeing": wellbeing_q.for_patient(patient),
    }


@bp.route("/patients/<patient_id>")
def patient(patient_id: str):
    """404 unless the patient is on the clinician's caseload. Audited."""
    patient = access.patient_for(_me(), patient_id, audit="patient.view")
    return _render_patient(patient, FamilyMemberForm())


def _render_patient(patient: Patient, family_form: FamilyMemberForm) -> str:
    """The patient page; ``family_form`` carries the add-family form (with its errors)."""
    return render_template(
        "clinic/patient.html",
        patient=patient,
        family_form=family_form,
        action_form=ActionForm(),
        discharge_form=DischargeForm(discharged_on=clock.today()),
        # The patient's own email from the program's roster, if it gave one.
        login_form=PatientLoginForm(prefix="login", email=patient.email),
        **_patient_page_data(patient),
    )


@bp.route("/patients/<patient_id>/family", methods=["POST"])
def add_family(patient_id: str):
    """Add a family member. Sent from the consent page (``then=consent``), it goes on to
    recording their consent, and its errors are shown there."""
    patient = access.patient_for(_me(), patient_id)
    form = FamilyMemberForm()
    then = inputs.choice("then", ("consent",), "")
    if not form.validate_on_submit():
        if then == "consent":
            return _consent_page(patient, None, form), 400
        return _render_patient(patient, form), 400
    try:
        link = patient_ops.add_family_member(
            _me(),
            patient,
            display_name=form.display_name.data,
            email=form.email.data,
            relationship=form.relationship.data,
            submit_token=form.submit_token.data,
        )
    except FieldProblems as exc:  # e.g. the patient left the program meanwhile
        _spread(form, exc.errors, form.email)
        if then == "consent":
            return _consent_page(patient, None, form), 400
        return _render_patient(patient, form), 400
    if then == "consent":
        flash(_("Family member added. Next: record the patient's consent for them."))
        return redirect(url_for("clinic.new_consent", patient_id=patient.id, link=link.id))
    flash(_("Family member added. Next: record the patient's consent, then invite them."))
    return redirect(url_for("clinic.patient", patient_id=patient.id))


def _link_choices(patient: Patient):
    return [
        (str(link.id), f"{link.display_name} ({link.email})")
        for link in patient.family_links
        if link.state != LinkState.REMOVED
    ]


def _link_of(patient: Patient, raw: str) -> FamilyLink:
    for link in patient.family_links:
        if str(link.id) == raw and link.state != LinkState.REMOVED:
            return link
    abort(404)


def _consent_fields(form: ConsentForm) -> dict:
    return {
        "disclosure": (form.disclosure.data or "").strip(),
        "purpose": (form.purpose.data or "").strip(),
        "revocation_terms": (form.revocation_terms.data or "").strip(),
        "ends_at_discharge": bool(form.ends_at_discharge.data),
        "expires_on": form.expires_on.data,
        "expiry_event": (form.expiry_event.data or "").strip() or None,
        "signed_by": form.signed_by.data,
        "representative_name": (form.representative_name.data or "").strip() or None,
        "representative_capacity": (form.representative_capacity.data or "").strip() or None,
        "signature_method": form.signature_method.data,
        "signed_on": form.signed_on.data,
    }


def _spread(form, problems: dict, fallback) -> None:
    """Put each domain refusal beside its own field (``fallback`` when it names none)."""
    for name, messages in problems.items():
        field = form[name] if name in form else fallback
        shown = [str(e) for e in field.errors]
        field.errors = [*field.errors, *(str(m) for m in messages if str(m) not in shown)]


def _consent_page(
    patient: Patient, form: ConsentForm | None, family_form: FamilyMemberForm | None
) -> str:
    """The consent form; with nobody to name yet, the add-family form instead."""
    return render_template(
        "clinic/consent_form.html", patient=patient, form=form, family_form=family_form
    )


@bp.route("/patients/<patient_id>/consents/new", methods=["GET", "POST"])
def new_consent(patient_id: str):
    """Record the patient's signed consent for one named family member; every refusal is
    shown at once, beside its field. With no family member yet, the page says so and offers
    the add-family form. Next, the person is offered an invitation."""
    patient = access.patient_for(_me(), patient_id)
    form = ConsentForm()
    form.family_link.choices = _link_choices(patient)
    if request.method == "GET":
        form.disclosure.data = DEFAULT_DISCLOSURE
        form.purpose.data = DEFAULT_PURPOSE
        form.revocation_terms.data = DEFAULT_REVOCATION
        form.signed_on.data = clock.today()
        if request.args.get("link"):
            form.family_link.data = request.args["link"]
    if not form.family_link.choices:
        audit.record("consent.form_view", subject=patient, patient_id=patient.id)
        return _consent_page(patient, None, FamilyMemberForm())
    if form.is_submitted() and not form.validate():
        # Show the domain's refusals too, not one round of errors after another.
        problems = consent_ops.consent_problems(**_consent_fields(form))
        if form.expires_on.errors or form.expiry_event.errors:
            problems.pop("ends_at_discharge", None)  # they did say; what they typed is wrong
        _spread(form, problems, form.family_link)
    elif form.is_submitted():
        link = _link_of(patient, form.family_link.data)
        try:
            consent_ops.record_consent(
                _me(),
                patient,
                link,
                submit_token=form.submit_token.data,
                **_consent_fields(form),
            )
        except FieldProblems as exc:
            _spread(form, exc.errors, form.family_link)
        else:
            if (
                patient.is_active
                and link.state == LinkState.INVITED
                and invitation_ops.waiting_invitation(link) is None
            ):
                flash(_("Consent recorded for %(name)s.", name=link.display_name))
                return redirect(url_for("clinic.invite", patient_id=patient.id, link=link.id))
            flash(_("Consent recorded."))
            return redirect(url_for("clinic.patient", patient_id=patient.id))
    audit.record("consent.form_view", subject=patient, patient_id=patient.id)
    return _consent_page(patient, form, None)


def _consent_of(patient: Patient, consent_id: str) -> Consent:
    consent = db.session.get(Consent, access.parse_id(consent_id))
    if consent is None or consent.patient_id != patient.id:
        abort(404)
    return consent


@bp.route("/patients/<patient_id>/consents/<consent_id>/print")
def print_consent(patient_id: str, consent_id: str):
    """The consent form for a signature, with every §2.31 element."""
    patient = access.patient_for(_me(), patient_id)
    consent = _consent_of(patient, consent_id)
    audit.record("consent.print", subject=consent, patient_id=patient.id)
    return render_template("clinic/consent_print.html", patient=patient, consent=consent)


@bp.route("/patients/<patient_id>/family/<link_id>/withdraw-consent", methods=["GET", "POST"])
def revoke_consent(patient_id: str, link_id: str):
    """Record a withdrawal the patient gave on paper or in person: every consent in force
    for that family member ends. The page asks first and names who loses what."""
    patient = access.patient_for(_me(), patient_id)
    link = _link_of(patient, link_id)
    return _ask_first(
        patient,
        act=lambda: consent_ops.withdraw_consent(_me(), link),
        done=lambda _n: _(
            "Consent withdrawn. The family member no longer sees anything about the patient."
        ),
        audit_as="withdrawal.form_view",
        subject=link,
        template="clinic/confirm_withdrawal.html",
        link=link,
        readings=assignment_q.open_count_for_learner(patient.id, link.user_id),
    )


def _ask_first(patient: Patient, *, act, done, audit_as: str, subject, template: str, **context):
    """A consequential action: its GET is the page that says what will happen to whom
    (audited as ``audit_as``); its POST, with the form's token, does ``act()`` and, when
    that changed anything (a double click changes nothing), flashes ``done(result)``. Then
    back to the patient's page."""
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if result := act():
            flash(done(result))
        return redirect(url_for("clinic.patient", patient_id=patient.id))
    audit.record(audit_as, subject=subject, patient_id=patient.id)
    return render_template(template, patient=patient, form=form, **context)


@bp.route("/patients/<patient_id>/invite", methods=["GET", "POST"])
def invite(patient_id: str):
    """Invite a family member whose consent is recorded: a single-use link, emailed and shown
    once. Sent again, a new invitation replaces the earlier one."""
    patient = access.patient_for(_me(), patient_id)
    overview = invitation_ops.invite_overview(patient)
    form = InviteForm()
    form.family_link.choices = [
        (str(link.id), f"{link.display_name} ({link.email})") for link in overview.ready
    ]
    if request.method == "GET" and request.args.get("link"):
        form.family_link.data = request.args["link"]
        chosen = next((x for x in overview.ready if str(x.id) == form.family_link.data), None)
        if chosen is not None:
            form.submit.label.text = _("Invite %(name)s now", name=chosen.display_name)
    if form.validate_on_submit():
        link = _link_of(patient, form.family_link.data)
        try:
            new = invitation_ops.invite(
                _me(),
                patient,
                link,
                submit_token=form.submit_token.data,
                locale=form.locale.data,
            )
        except Problem as exc:
            form.family_link.errors = [str(exc)]
        else:
            return _show_invitation(patient, new)
    audit.record("invite.form_view", subject=patient, patient_id=patient.id)
    return render_template(
        "clinic/invite.html",
        patient=patient,
        form=form,
        overview=overview,
        invitations=invitation_ops.invitations_of(patient),
    )


# A new invitation's link is shown once, on the page the form leads to: it waits in the
# clinician's own session until that page takes it out (the database keeps only its hash).
LINKS_TO_SHOW = "invitation_links"


def _show_invitation(patient: Patient, new: invitation_ops.NewInvitation):
    if new.token is not None:
        session[LINKS_TO_SHOW] = {
            **session.get(LINKS_TO_SHOW, {}),
            str(new.invitation.id): new.token,
        }
    return redirect(
        url_for("clinic.invitation", patient_id=patient.id, invitation_id=new.invitation.id)
    )


@bp.route("/patients/<patient_id>/invitations/<id:invitation_id>")
def invitation(patient_id: str, invitation_id: int):
    """An invitation: its link, shown this once, and whether the email went (or why not);
    afterwards where it went. "Send again" makes a new one; every invitation of the patient
    is listed with its state."""
    patient = access.patient_for(_me(), patient_id)
    found = db.session.get(Invitation, invitation_id)
    if found is None or found.patient_id != patient.id:
        abort(404)
    waiting = dict(session.get(LINKS_TO_SHOW, {}))
    token = waiting.pop(str(found.id), None)
    if token is not None:
        session[LINKS_TO_SHOW] = waiting
    link = db.session.get(FamilyLink, found.family_link_id) if found.family_link_id else None
    audit.record("invitation.view", subject=found, patient_id=patient.id)
    return render_template(
        "clinic/invite_link.html",
        patient=patient,
        link=link,
        invitation=found,
        url=external_url("invite.accept", token=token) if token else None,
        expires=invitation_ops.expires_text(found),
        state=invitation_ops.invitation_state(found),
        email=invitation_ops.email_status(found),
        may_resend=invitation_ops.may_invite_again(found),
        resend_form=InviteForm() if link is not None else PatientLoginForm(prefix="login"),
        invitations=invitation_ops.invitations_of(patient),
    )


@bp.route("/patients/<patient_id>/patient-login", methods=["POST"])
def patient_login(patient_id: str):
    patient = access.patient_for(_me(), patient_id)
    form = PatientLoginForm(prefix="login")
    if patient.user_id is not None:
        flash(_("This patient already has a login."))
        return redirect(url_for("clinic.patient", patient_id=patient.id))
    if not form.validate_on_submit():
        flash(_("Enter a valid email address for the patient."), "error")
        return redirect(url_for("clinic.patient", patient_id=patient.id))
    new = invitation_ops.create_patient_login(
        _me(),
        patient,
        form.email.data,
        submit_token=form.submit_token.data,
        locale=form.locale.data,
    )
    return _show_invitation(patient, new)


def _learner_choices(patient: Patient):
    return [
        (
            str(person.user_id),
            f"{person.name} ({_('patient') if person.is_patient else _('family')})",
        )
        for person in assignment_q.learners_for(patient)
    ]


@bp.route("/patients/<patient_id>/assign", methods=["GET", "POST"])
def assign(patient_id: str):
    """Assign a module or a path to the whole family, chosen members and/or the patient."""
    patient = access.patient_for(_me(), patient_id)
    library = get_library()
    form = AssignForm()
    form.what.choices = (
        [("", _("Choose…"))]
        + [
            (f"path:{p.slug}", _("Path: %(t)s (%(n)d modules)", t=p.title, n=len(p.module_slugs)))
            for p in library.paths
        ]
        + [(f"module:{m.slug}", m.title) for m in library.modules()]
    )
    form.learners.choices = _learner_choices(patient)
    if request.method == "GET":
        form.due_on.data = clock.today() + timedelta(days=7)
        form.learners.data = [c[0] for c in form.learners.choices]
        if request.args.get("what"):
            form.what.data = request.args["what"]
    if not patient.is_active:
        flash(_("This patient has been discharged; nothing new can be assigned."))
        return redirect(url_for("clinic.patient", patient_id=patient.id))
    if form.validate_on_submit():
        kind, _sep, slug = form.what.data.partition(":")
        path_slug = None
        if kind == "path" and library.path(slug):
            modules = list(library.path(slug).module_slugs)
            path_slug = slug
        elif kind == "module" and slug in library:
            modules = [slug]
        else:
            abort(400)
        allowed = {c[0] for c in form.learners.choices}
        chosen = [uid for uid in form.learners.data if uid in allowed]
        learners = [db.session.get(User, int(uid)) for uid in chosen]
        if form.due_on.data and form.due_on.data < clock.today():
            form.due_on.errors = [_("The due date is in the past.")]
        else:
            try:
                created = assignment_ops.assign(
                    _me(),
                    patient,
                    module_slugs=modules,
                    learners=learners,
                    first_due=form.due_on.data,
                    spread_days=form.spread_days.data or 0,
                    note=form.note.data,
                    path_slug=path_slug,
                    submit_token=form.submit_token.data,
                )
            except Problem as exc:
                form.learners.errors = [str(exc)]
            else:
                flash(_("%(n)d assignments created.", n=created))
                return redirect(url_for("clinic.patient", patient_id=patient.id))
    audit.record("assignment.form_view", subject=patient, patient_id=patient.id)
    return render_template("clinic/assign.html", patient=patient, form=form)


@bp.route("/assignments/<assignment_id>/cancel", methods=["GET", "POST"])
def cancel_assignment(assignment_id: str):
    """Cancel one reading; the page asks first and names the reading and the learner."""
    assignment = db.session.get(Assignment, access.parse_id(assignment_id))
    if assignment is None:
        abort(404)
    patient = access.patient_for(_me(), assignment.patient_id)
    module = get_library().module(assignment.module_slug)
    return _ask_first(
        patient,
        act=lambda: assignment_ops.cancel_assignment(_me(), assignment),
        done=lambda _n: _("Assignment cancelled."),
        audit_as="cancel.form_view",
        subject=assignment,
        template="clinic/confirm_cancel.html",
        assignment=assignment,
        title=module.title if module else assignment.module_slug,
    )


@bp.route("/assignments/<assignment_id>/restore", methods=["POST"])
def restore_assignment(assignment_id: str):
    """Undo a cancellation (no question asked: restoring takes nothing from anyone)."""
    assignment = db.session.get(Assignment, access.parse_id(assignment_id))
    if assignment is None:
        abort(404)
    patient = access.patient_for(_me(), assignment.patient_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        if assignment_ops.restore_assignment(_me(), assignment):
            flash(_("Reading restored."))
    except Problem as exc:
        flash(str(exc), "error")
    return redirect(url_for("clinic.patient", patient_id=patient.id))


@bp.route("/patients/<patient_id>/discharge", methods=["GET", "POST"])
def discharge(patient_id: str):
    """Discharge: family access to anything about the patient ends; records are kept. The
    page says first what will end, for whom; re-admission undoes it."""
    patient = access.patient_for(_me(), patient_id)
    form = DischargeForm()
    if request.method == "GET":
        form.discharged_on.data = clock.today()
    elif form.validate_on_submit():
        if patient_ops.discharge(_me(), patient, form.discharged_on.data):
            flash(_("Patient discharged. Family members no longer see anything about them."))
        return redirect(url_for("clinic.patient", patient_id=patient.id))
    audit.record("discharge.form_view", subject=patient, patient_id=patient.id)
    return render_template(
        "clinic/confirm_discharge.html",
        patient=patient,
        form=form,
        effects=patient_ops.discharge_effects(patient, clock.today()),
    ), (400 if request.method == "POST" else 200)


@bp.route("/patients/<patient_id>/readmit", methods=["GET", "POST"])
def readmit(patient_id: str):
    """Undo a discharge: readings open again; consents that ended stay ended."""
    patient = access.patient_for(_me(), patient_id)
    return _ask_first(
        patient,
        act=lambda: patient_ops.readmit(_me(), patient),
        done=lambda _n: _(
            "Patient re-admitted. Record a new consent before family members see anything."
        ),
        audit_as="readmit.form_view",
        subject=patient,
        template="clinic/confirm_readmit.html",
    )


# --- drill-down, item analysis, sessions, reports -------------------------------------------


@bp.route("/patients/<patient_id>/learners/<learner_id>")
def learner(patient_id: str, learner_id: str):
    """One learner of this patient: assignments, progress, every attempt with its answers.
    404 unless the patient is on the caseload and the learner belongs to that patient."""
    patient = access.patient_for(_me(), patient_id)
    found = insight.learner_of(patient, access.parse_id(learner_id))
    if found is None:
        abort(404)
    person, relationship = found
    assignments, progress, attempts = insight.learner_detail(patient, person.id)
    audit.record("learner.view", subject=person, patient_id=patient.id)
    return render_template(
        "clinic/learner.html",
        patient=patient,
        person=person,
        relationship=relationship,
        assignments=assignments,
        progress=progress,
        attempts=attempts,
        library=get_library(),
        today=clock.today(),
    )


@bp.route("/items")
def items():
    """Item analysis: which knowledge-check questions families get wrong (caseload; admins:
    the whole program): the hardest questions across modules, then one module's questions,
    each as an SVG bar chart and a table. Each learner's first attempt counts once unless
    ``attempts=all``; 404 for a module that does not exist or has no knowledge check."""
    attempts = inputs.choice("attempts", ("first", "all"), "first")
    analysis = insight.item_analysis(
        _me(), request.args.get("module") or None, every_attempt=attempts == "all"
    )
    if analysis is None:
        abort(404)
    shown = analysis.current.module.slug if analysis.current else None
    audit.record("items.view", detail=f"module={shown} attempts={attempts}")
    return render_template("clinic/items.html", analysis=analysis, attempts=attempts)


@bp.route("/sessions")
def sessions():
    """Education sessions this clinician logged (admins: all); voided ones only with
    ``show=voided``."""
    show = inputs.choice("show", ("current", "voided"), "current")
    rows = db.session.scalars(session_q.sessions_visible(_me(), with_voided=show == "voided")).all()
    audit.record(
        "sessions.view",
        detail=f"{len(rows)} sessions" + (", voided shown" if show == "voided" else ""),
    )
    return render_template("clinic/sessions.html", sessions=rows, library=get_library(), show=show)


def _session_form(form_class=SessionForm, **data):
    form = form_class(**data)
    library = get_library()
    form.modules.choices = [(m.slug, m.title) for m in library.modules()]
    return form


def _attendance_posted(
    patients: list[Patient], everyone_present: bool
) -> tuple[dict[int, str], list[str]]:
    """The attendance chosen for each listed patient ("" = not in this group); with "Mark
    everyone present" (``everyone_present``), every listed patient is present."""
    if everyone_present:
        return {p.id: AttendanceStatus.PRESENT.value for p in patients}, []
    attendance, errors = {}, []
    for patient in patients:
        value = request.form.get(f"attendance-{patient.id}", "")
        if value and value not in session_q.ATTENDANCE_VALUES:
            errors = [_("Choose present, absent or excused.")]
            value = ""
        attendance[patient.id] = value
    return attendance, errors


def _session_or_404(session_id: str) -> EducationSession:
    """The session, voided or not, if its author or an admin asks; otherwise a 404."""
    row = session_q.session_for(_me(), access.parse_id(session_id))
    if row is None:
        abort(404)
    return row


@bp.route("/sessions/new", methods=["GET", "POST"])
def new_session():
    """Log a group education session and its attendance (caseload patients only)."""
    patients = session_q.patients_for_form(_me())
    form = _session_form()
    if request.method == "GET":
        form.held_on.data = clock.today()
        form.facilitator.data = current_user.display_name
    attendance, errors = (
        ({}, []) if request.method == "GET" else _attendance_posted(patients, form.all_present.data)
    )
    if form.all_present.data:
        pass  # the same form back, everyone present; nothing saved
    elif form.validate_on_submit() and not errors:
        if problems := session_log.held_on_problems(form.held_on.data):
            form.held_on.errors = [str(p) for p in problems]
        else:
            session_row = session_log.log_session(
                _me(),
                held_on=form.held_on.data,
                title=form.title.data,
                facilitator=form.facilitator.data,
                module_slugs=form.modules.data,
                attendance={pid: v for pid, v in attendance.items() if v},
                submit_token=form.submit_token.data,
            )
            flash(_("Session saved."))
            return redirect(url_for("clinic.session_detail", session_id=session_row.id))
    audit.record("session.form_view", detail=f"{len(patients)} patients listed")
    return render_template(
        "clinic/session_form.html",
        form=form,
        patients=patients,
        attendance=attendance,
        errors=errors,
        editing=None,
    )


@bp.route("/sessions/<session_id>")
def session_detail(session_id: str):
    """404 unless the session's author or an admin; a voided session is shown as voided,
    with its reason."""
    row = _session_or_404(session_id)
    visible = {p.id: p for p in db.session.scalars(access.caseload(_me()))}
    audit.record("session.view", subject=row, detail=f"{len(row.attendance)} attendance")
    return render_template(
        "clinic/session_detail.html",
        session=row,
        library=get_library(),
        patients=visible,
        material=session_q.material_recipients(row),
    )


@bp.route("/sessions/<session_id>/edit", methods=["GET", "POST"])
def session_edit(session_id: str):
    """Correct a session's date, title, facilitator, modules and attendance (patients on the
    caseload; the attendance of anyone else is kept). 404 unless the session's author or an
    admin; a voided session is kept as it was."""
    row = _session_or_404(session_id)
    back = redirect(url_for("clinic.session_detail", session_id=row.id))
    if row.is_voided:
        flash(_("This session was voided, so it is kept as it was."))
        return back
    patients = session_q.patients_for_form(_me(), row)
    if request.method == "GET":
        form = _session_form(
            SessionEditForm,
            held_on=row.held_on,
            title=row.title,
            facilitator=row.facilitator,
            modules=[m.module_slug for m in row.modules],
        )
        attendance = {item.patient_id: item.status.value for item in row.attendance}
        errors = []
    else:
        form = _session_form(SessionEditForm)
        attendance, errors = _attendance_posted(patients, form.all_present.data)
    if form.all_present.data:
        pass  # the same form back, everyone present; nothing saved
    elif form.validate_on_submit() and not errors:
        try:
            changed = session_log.edit_session(
                _me(),
                row,
                held_on=form.held_on.data,
                title=form.title.data,
                facilitator=form.facilitator.data,
                module_slugs=form.modules.data,
                attendance=attendance,
            )
        except FieldProblems as exc:
            for name, messages in exc.errors.items():
                form[name].errors = [*form[name].errors, *(str(m) for m in messages)]
        except Problem as exc:  # voided at this very moment
            flash(str(exc))
            return back
        else:
            flash(_("Session saved.") if changed else _("Nothing needed changing."))
            return back
    audit.record("session_edit.form_view", subject=row, detail=f"{len(patients)} patients listed")
    return render_template(
        "clinic/session_form.html",
        form=form,
        patients=patients,
        attendance=attendance,
        errors=errors,
        editing=row,
    )


@bp.route("/sessions/<session_id>/void", methods=["GET", "POST"])
def session_void(session_id: str):
    """Void a session logged by mistake, with a reason: kept, shown as voided on its page, in
    no list, and its attendance counts nowhere. The page says first what that changes. 404
    unless the session's author or an admin; sent twice, it voids once."""
    row = _session_or_404(session_id)
    back = redirect(url_for("clinic.session_detail", session_id=row.id))
    if row.is_voided:
        return back  # the same form sent twice (or an old page): the first one did it
    form = VoidSessionForm()
    if form.validate_on_submit():
        try:
            voided = session_log.void_session(_me(), row, form.reason.data)
        except FieldProblems as exc:
            form.reason.errors = [*form.reason.errors, *(str(m) for m in exc.errors["reason"])]
        else:
            if voided:
                flash(_("Session voided. It is kept for the record and no longer counts."))
            return back
    audit.record("session_void.form_view", subject=row, detail=f"{len(row.attendance)} attendance")
    return render_template(
        "clinic/session_void.html",
        session=row,
        form=form,
        material=len(session_q.material_recipients(row)),
    ), (400 if request.method == "POST" else 200)


def _csv_response(body, name: str):
    """A CSV export streamed as it is read: the audit row is written (and committed with the
    request) before the first byte; the file follows in chunks, never held whole."""
    stamp = clock.today().isoformat()
    return Response(
        stream_with_context(body),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"'},
    )


@bp.route("/reports")
def reports():
    """A printable report of the caseload's progress, streamed: the rows are sent as they
    are read, so the first lines show at once whatever the caseload's size."""
    audit.record("report.view", detail=f"{report_q.patients_in_scope(_me())} patients")
    page = stream_template(
        "clinic/report.html",
        rows=report_q.report_rows(_me()),
        header=report_q.REPORT_HEADER,
        patient=None,
    )
    return Response(chunked(page), mimetype="text/html")


@bp.route("/reports/caseload.csv")
@recent_auth_required()
def caseload_csv():
    """CSV of every learner-assignment on the caseload, streamed. Audited (with the number of
    patients it covers) before the first byte."""
    patients = report_q.patients_in_scope(_me())
    audit.record("report.export", detail=f"caseload csv, {patients} patients")
    return _csv_response(report_q.report_csv(_me()), "caseload")


@bp.route("/patients/<patient_id>/report.csv")
@recent_auth_required()
def patient_csv(patient_id: str):
    """CSV of one patient's family, streamed. Audited (with its rows) before the first byte."""
    patient = access.patient_for(_me(), patient_id)
    count = report_q.report_count(_me(), patient.id)
    audit.record(
        "report.export",
        subject=patient,
        patient_id=patient.id,
        detail=f"family csv, {count} rows",
    )
    return _csv_response(report_q.report_csv(_me(), patient.id), "family")


@bp.route("/patients/<patient_id>/report")
def patient_report(patient_id: str):
    """A printable report of one patient's family (streamed like the caseload's)."""
    patient = access.patient_for(_me(), patient_id, audit="report.view")
    page = stream_template(
        "clinic/report.html",
        rows=report_q.report_rows(_me(), patient.id),
        header=report_q.REPORT_HEADER,
        patient=patient,
        summary=report_q.family_summary(patient.id),
        generated_at=clock.utcnow(),
    )
    return Response(chunked(page), mimetype="text/html")


@bp.route("/reports/program")
def program_report():
    """Admins only (others 404): completion by module and by clinician, median days, grouped
    in the database; streamed, each table sent as soon as it is computed."""
    if not current_user.is_admin:
        abort(404)
    audit.record("report.program_view")
    page = stream_template("clinic/program_report.html", sections=report_q.program_sections())
    return Response(chunked(page), mimetype="text/html")


# Pages kept in their own modules, on this blueprint.
from lms.blueprints.clinic import corrections, followups, goals, interop, paths  # noqa: E402, F401
from lms.blueprints.clinic import xapi as xapi_exports  # noqa: E402, F401
