"""Admin pages under /admin/. Admins only: anyone else signed in gets 404 (the area's
existence is not confirmed), anonymous visitors are sent to sign in."""

from __future__ import annotations

import re
import secrets
from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from lms import audit, clock, inputs
from lms.accounts import mfa
from lms.accounts import staff as staff_ops
from lms.audit import log as audit_records
from lms.blueprints.admin.forms import (
    ActionForm,
    AuditFilterForm,
    CareTeamAddForm,
    CareTeamRemoveForm,
    CoverForm,
    DeactivateForm,
    EmergencyAccessForm,
    MoveCaseloadForm,
    StaffForm,
)
from lms.extensions import db
from lms.models import CaseloadMove, EmergencyAccess, Patient, Role, User
from lms.patients import care_teams as care_team_ops
from lms.patients import emergency as emergency_ops
from lms.problems import FieldProblems, Problem
from lms.security import recent_auth_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _admins_only():
    if not current_user.is_admin:
        abort(404)
    return None


def _me() -> User:
    return current_user._get_current_object()


def _flash_form_errors(form) -> None:
    for name, messages in form.errors.items():
        if name == "csrf_token":
            flash(_("This form expired. Please try again."), "error")
            continue
        label = form[name].label.text if form[name].label.text else _("Choice")
        for message in messages:
            flash(_("%(label)s: %(message)s", label=label, message=message), "error")


@bp.route("/")
def index():
    """The overview, with every emergency access of the last 30 days (who, which patient,
    why, how long): break-glass use is visible to every administrator."""
    grants = emergency_ops.recent_emergency_access()
    audit.record("admin.overview.view", detail=f"{len(grants)} emergency accesses listed")
    return render_template("admin/index.html", grants=grants, now=clock.utcnow())


# --- staff accounts ------------------------------------------------------------------------


@bp.route("/staff", methods=["GET", "POST"])
@recent_auth_required()
def staff():
    """Staff accounts. Opening it asks for the password again when the last check is older
    than a few minutes: accounts are created, deactivated and reset here."""
    form = StaffForm()
    if form.validate_on_submit():
        try:
            user = staff_ops.create_staff(
                _me(),
                email=form.email.data,
                display_name=form.display_name.data,
                role=form.role.data,
                password=form.password.data,
                submit_token=form.submit_token.data,
            )
        except FieldProblems as exc:
            for name, messages in exc.errors.items():
                form[name].errors = [*form[name].errors, *messages]
        else:
            flash(_("Account created for %(email)s.", email=user.email))
            return redirect(url_for("admin.staff"))
    return render_template(
        "admin/staff.html",
        form=form,
        action_form=ActionForm(),
        accounts=staff_ops.staff_accounts(),
    )


def _set_active(user_id: int, active: bool):
    form = ActionForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for("admin.staff"))
    user = staff_ops.staff_member(user_id)
    if user is None:
        abort(404)
    try:
        changed = staff_ops.set_staff_active(_me(), user, active)
    except Problem as exc:
        flash(str(exc), "error")
    else:
        if not changed:
            flash(_("Nothing changed: %(email)s was already like that.", email=user.email))
        elif active:
            flash(_("%(email)s can sign in again.", email=user.email))
        else:
            flash(_("%(email)s is deactivated and signed out everywhere.", email=user.email))
    return redirect(url_for("admin.staff"))


@bp.route("/staff/<id:user_id>/deactivate", methods=["GET", "POST"])
@recent_auth_required(back="admin.staff")
def deactivate(user_id: int):
    """Asks first: what deactivating does, and, for a clinician who is some patients' only
    clinician, who takes those patients."""
    user = staff_ops.staff_member(user_id)
    if user is None:
        abort(404)
    alone = care_team_ops.patients_only_with(user.id) if user.role == Role.CLINICIAN else []
    others = [u for u in staff_ops.clinicians(active_only=True) if u.id != user.id]
    form = DeactivateForm()
    form.successor.choices = _clinician_choices(others, _("Choose a clinician"))
    if request.method == "POST" and (form.validate_on_submit() or not alone):
        try:
            changed = staff_ops.set_staff_active(
                _me(), user, False, successor_id=form.successor.data if alone else None
            )
        except FieldProblems as exc:
            form.successor.errors = [*form.successor.errors, *map(str, exc.errors["successor"])]
        except Problem as exc:
            flash(str(exc), "error")
            return redirect(url_for("admin.staff"))
        else:
            if changed:
                flash(_("%(email)s is deactivated and signed out everywhere.", email=user.email))
            return redirect(url_for("admin.staff"))
    audit.record("staff.deactivate_form_view", subject=user, detail=f"{len(alone)} alone")
    return render_template("admin/deactivate.html", user=user, alone=alone, form=form)


@bp.route("/staff/<id:user_id>/reactivate", methods=["POST"])
@recent_auth_required(back="admin.staff")
def reactivate(user_id: int):
    return _set_active(user_id, True)


@bp.route("/staff/<id:user_id>/two-step/reset", methods=["POST"])
@recent_auth_required(back="admin.staff")
def reset_two_step(user_id: int):
    """After a lost phone: two-step sign-in is cleared, the person is signed out everywhere
    and sets it up again at their next sign-in. Audited."""
    form = ActionForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for("admin.staff"))
    user = staff_ops.staff_member(user_id)
    if user is None:
        abort(404)
    if user.id == _me().id:
        flash(_("Use “My account” to change your own two-step sign-in."), "error")
    elif not user.mfa_enabled:
        flash(_("Nothing changed: %(email)s has no two-step sign-in set up.", email=user.email))
    else:
        mfa.disable(user, actor=_me())
        flash(
            _(
                "Two-step sign-in of %(email)s was reset. They set it up again when they "
                "next sign in.",
                email=user.email,
            )
        )
    return redirect(url_for("admin.staff"))


# --- emergency access ------------------------------------------------------------------------


@bp.route("/emergency/<id:patient_id>", methods=["GET", "POST"])
@recent_auth_required()
def emergency(patient_id: int):
    """Break-glass: open one patient's records for a stated reason and a limited time."""
    patient = db.get_or_404(Patient, patient_id)
    form = EmergencyAccessForm()
    if form.validate_on_submit():
        try:
            emergency_ops.open_emergency_access(
                _me(), patient, reason=form.reason.data, minutes=form.minutes.data
            )
        except FieldProblems as exc:
            for name, messages in exc.errors.items():
                form[name].errors = [*form[name].errors, *messages]
        else:
            return redirect(url_for("clinic.patient", patient_id=patient.id))
    # The form names the patient: asking for emergency access is itself audited.
    audit.record("emergency_access.form_view", subject=patient, patient_id=patient.id)
    return render_template("admin/emergency.html", patient=patient, form=form)


@bp.route("/emergency/<id:grant_id>/end", methods=["POST"])
def end_emergency(grant_id: int):
    grant = db.get_or_404(EmergencyAccess, grant_id)
    if grant.user_id != _me().id:
        abort(404)
    form = ActionForm()
    if form.validate_on_submit() and emergency_ops.end_emergency_access(_me(), grant):
        flash(_("Emergency access ended."))
    return redirect(url_for("admin.index"))


# --- caseloads -----------------------------------------------------------------------------


def _clinician_choices(users: list[User], placeholder: str) -> list[SelectChoice]:
    choices = [SelectChoice(0, placeholder)]
    for user in users:
        label = f"{user.display_name} ({user.email})"
        if not user.active:
            label = _("%(name)s — deactivated", name=label)
        choices.append(SelectChoice(user.id, label))
    return choices


def _add_form(patient_id: int, active: list[User]) -> CareTeamAddForm:
    # One form per patient on one page: a prefix keeps field ids unique. The app-wide CSRF
    # check covers it (the template sends the token).
    form = CareTeamAddForm(prefix=f"p{patient_id}", meta={"csrf": False})
    form.clinician_id.choices = _clinician_choices(active, _("Choose a clinician"))
    return form


def _move_form(everyone: list[User], active: list[User]) -> MoveCaseloadForm:
    form = MoveCaseloadForm()
    form.from_clinician.choices = _clinician_choices(everyone, _("Choose a clinician"))
    form.to_clinician.choices = _clinician_choices(active, _("Choose a clinician"))
    return form


def _cover_form(active: list[User]) -> CoverForm:
    form = CoverForm()
    form.away.choices = _clinician_choices(active, _("Choose a clinician"))
    form.colleague.choices = _clinician_choices(active, _("Choose a clinician"))
    return form


@bp.route("/caseloads")
def caseloads():
    show = inputs.choice("status", ("active", "discharged", "all"), "active")
    # Patients' names are shown: the viewing is audited.
    audit.record("admin.caseloads.view", detail=f"status={show}")
    active = staff_ops.clinicians(active_only=True)
    everyone = staff_ops.clinicians(active_only=False)
    patients = care_team_ops.patients_with_care_teams(show)
    return render_template(
        "admin/caseloads.html",
        show=show,
        patients=patients,
        add_forms={p.id: _add_form(p.id, active) for p in patients},
        remove_form=CareTeamRemoveForm(),
        move_form=_move_form(everyone, active),
        cover_form=_cover_form(active),
    )


def _back_to(patient_id: int):
    return redirect(url_for("admin.caseloads", status="all", _anchor=f"patient-{patient_id}"))


@bp.route("/caseloads/<id:patient_id>/add", methods=["POST"])
def care_team_add(patient_id: int):
    patient = db.get_or_404(Patient, patient_id)
    form = _add_form(patient.id, staff_ops.clinicians(active_only=True))
    if not form.validate_on_submit() or not form.clinician_id.data:
        if not form.errors:
            flash(_("Choose a clinician to add."), "error")
        _flash_form_errors(form)
        return _back_to(patient.id)
    try:
        added = care_team_ops.add_to_care_team(_me(), patient, form.clinician_id.data)
    except Problem as exc:
        flash(str(exc), "error")
    else:
        # No patient names in flashed messages: they travel in the session cookie.
        if added:
            flash(_("Added to the patient's care team."))
        else:
            flash(_("That clinician is already on this patient's care team."))
    return _back_to(patient.id)


@bp.route("/caseloads/<id:patient_id>/remove", methods=["POST"])
def care_team_remove(patient_id: int):
    patient = db.get_or_404(Patient, patient_id)
    form = CareTeamRemoveForm()
    if not form.validate_on_submit():
        if form.errors.keys() - {"csrf_token"}:
            flash(_("Choose a clinician to remove."), "error")
        else:
            _flash_form_errors(form)
        return _back_to(patient.id)
    try:
        care_team_ops.remove_from_care_team(_me(), patient, form.clinician_id.data)
    except Problem as exc:
        flash(str(exc), "error")
    else:
        flash(_("Removed from the patient's care team."))
    return _back_to(patient.id)


@bp.route("/caseloads/move", methods=["POST"])
@recent_auth_required(back="admin.caseloads")
def move_caseload():
    """First a page listing the patients who would move; then, on "Move these patients",
    the move, and a page that can move exactly those patients back."""
    everyone = staff_ops.clinicians(active_only=False)
    form = _move_form(everyone, [u for u in everyone if u.active])
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for("admin.caseloads", status="all"))
    try:
        if request.form.get("confirm") != "1":
            source, target, patients = care_team_ops.move_preview(
                form.from_clinician.data, form.to_clinician.data
            )
            audit.record("caseload.move_preview_view", detail=f"{len(patients)} patients")
            return render_template(
                "admin/move_preview.html",
                form=form,
                source=source,
                target=target,
                patients=patients,
            )
        move = care_team_ops.move_caseload(_me(), form.from_clinician.data, form.to_clinician.data)
    except Problem as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.caseloads", status="all"))
    flash(_("%(n)d patients moved.", n=len(CaseloadMove.ids(move.moved))))
    return redirect(url_for("admin.caseload_move", move_id=move.id))


def _move_or_404(move_id: int) -> CaseloadMove:
    move = db.session.get(CaseloadMove, move_id)
    if move is None:
        abort(404)
    return move


@bp.route("/caseloads/moves/<id:move_id>")
def caseload_move(move_id: int):
    """One move: whose patients went to whom, and the button that moves exactly them back."""
    move = _move_or_404(move_id)
    patients = [db.session.get(Patient, pid) for pid in CaseloadMove.ids(move.moved)]
    audit.record("caseload.move_view", subject=move)
    return render_template(
        "admin/move_done.html",
        move=move,
        patients=[p for p in patients if p is not None],
        source=db.session.get(User, move.from_clinician_id),
        target=db.session.get(User, move.to_clinician_id),
        form=ActionForm(),
    )


@bp.route("/caseloads/moves/<id:move_id>/undo", methods=["POST"])
@recent_auth_required(back="admin.caseloads")
def move_back(move_id: int):
    """Undo a move for exactly the patients it moved."""
    move = _move_or_404(move_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        count = care_team_ops.move_back(_me(), move)
    except Problem as exc:
        flash(str(exc), "error")
    else:
        if count:
            flash(_("%(n)d patients moved back.", n=count))
    return redirect(url_for("admin.caseload_move", move_id=move.id))


@bp.route("/caseloads/cover", methods=["GET", "POST"])
@recent_auth_required(back="admin.cover")
def cover():
    """Cover for a colleague who is away: the form; then a page listing the patients whose
    care team the colleague would join, and until when; only "Add the cover" changes
    anything. Errors are shown beside their field."""
    form = _cover_form(staff_ops.clinicians(active_only=True))
    if form.validate_on_submit():
        choice = (form.away.data, form.colleague.data, form.ends_on.data)
        try:
            if request.form.get("confirm") != "1":
                plan = care_team_ops.cover_plan(*choice)
                audit.record(
                    "caseload.cover_preview_view",
                    detail=(
                        f"{len(plan.changes)} patients of clinician={plan.away.id}; "
                        f"clinician={plan.colleague.id} until {plan.ends_on.isoformat()}"
                    ),
                )
                return render_template("admin/cover_preview.html", form=form, plan=plan)
            changed = care_team_ops.add_cover(_me(), *choice, submit_token=form.submit_token.data)
        except FieldProblems as exc:
            for name, messages in exc.errors.items():
                form[name].errors = [*form[name].errors, *map(str, messages)]
            form.submit_token.data = secrets.token_urlsafe(24)  # this try did nothing
        else:
            # No patient names in flashed messages: they travel in the session cookie.
            flash(
                ngettext(
                    "The cover is added to %(num)d care team.",
                    "The cover is added to %(num)d care teams.",
                    changed,
                )
                if changed
                else _("Nothing changed: the colleague was already on those care teams.")
            )
            return redirect(url_for("admin.caseloads"))
    audit.record("caseload.cover_form_view")
    return render_template("admin/cover.html", form=form)


@bp.route("/caseloads/<id:patient_id>/end-cover", methods=["POST"])
def care_team_end_cover(patient_id: int):
    """End a colleague's cover of this patient today, before its last day."""
    patient = db.get_or_404(Patient, patient_id)
    form = CareTeamRemoveForm()
    if not form.validate_on_submit():
        if form.errors.keys() - {"csrf_token"}:
            flash(_("Choose a cover to end."), "error")
        else:
            _flash_form_errors(form)
        return _back_to(patient.id)
    if care_team_ops.end_cover(_me(), patient, form.clinician_id.data):
        flash(_("The cover has ended: the colleague no longer sees this patient."))
    else:
        flash(_("Nothing changed: that cover had already ended."))
    return _back_to(patient.id)


# --- audit log -----------------------------------------------------------------------------

_ID = re.compile(inputs.IdConverter.regex)


def _ids_from_args(name: str) -> tuple[tuple[int, ...], bool]:
    """Ids from a repeated query-string argument (``?patient_id=3&patient_id=7``), and whether
    the argument was unusable (not ids, or more than one typed name can match): then none
    apply, rather than a part of what was asked for."""
    values = [v for v in request.args.getlist(name) if v != ""]
    if len(values) > audit_records.MAX_NAME_MATCHES:
        return (), True
    if not all(_ID.fullmatch(v) and int(v) <= inputs.MAX_ID for v in values):
        return (), True
    return tuple(dict.fromkeys(int(v) for v in values)), False


def _prepare(form: AuditFilterForm, choices: list[SelectChoice] | None = None) -> None:
    """Choices and hints that come from data and settings."""
    form.action.choices = choices or [SelectChoice("", _("Anything"))] + [
        SelectChoice(action, label) for action, label in audit_records.audit_actions()
    ]
    form.date_from.description = _(
        "Days in the program's time zone (%(zone)s).", zone=current_app.config["PROGRAM_TIMEZONE"]
    )


def _applied_filters() -> tuple[AuditFilterForm, audit_records.AuditFilters]:
    """The filters in the query string: person and patient ids, the action, the dates. Only
    valid filters apply; the others show a message beside their box. Names are never read
    from an address (the form sends them by POST)."""
    form = AuditFilterForm(request.args, meta={"csrf": False})
    _prepare(form)
    form.person.data = form.patient.data = None
    form.validate()
    actor_ids, bad_people = _ids_from_args("actor_id")
    patient_ids, bad_patients = _ids_from_args("patient_id")
    if bad_people:
        form.person.errors.append(_("The person in this link is not valid: type the name again."))
    if bad_patients:
        form.patient.errors.append(_("The patient in this link is not valid: type the name again."))

    def ok(field) -> bool:
        return not field.errors and field.data not in (None, "")

    date_from: date | None = form.date_from.data if ok(form.date_from) else None
    date_to: date | None = form.date_to.data if ok(form.date_to) else None
    filters = audit_records.AuditFilters(
        actor_ids=actor_ids,
        patient_ids=patient_ids,
        action=form.action.data if ok(form.action) else None,
        date_from=date_from,
        date_to=date_to,
    )
    return form, filters


def _filter_args(filters: audit_records.AuditFilters) -> dict[str, object]:
    """The applied filters as query-string arguments (ids only), for links and redirects."""
    args = {
        "actor_id": list(filters.actor_ids),
        "patient_id": list(filters.patient_ids),
        "action": filters.action,
        "date_from": filters.date_from.isoformat() if filters.date_from else None,
        "date_to": filters.date_to.isoformat() if filters.date_to else None,
    }
    return {k: v for k, v in args.items() if v not in (None, "", [])}


@bp.route("/audit", methods=["GET", "POST"])
def audit_log():
    """The audit log, newest first. GET: filtered by the query string (ids, action, dates).
    POST: the filter form; typed names become ids (a box left empty keeps the person or
    patient already applied), then a redirect to the GET, so no name is ever in an address.
    A name that matches nobody, or too many, is a message beside its box."""
    form, filters = _applied_filters()
    posted = request.method == "POST"
    if posted:
        choices = form.action.choices
        form = AuditFilterForm()
        _prepare(form, choices)
        if form.validate_on_submit():
            try:
                actor_ids, patient_ids = audit_records.ids_for_names(
                    form.person.data, form.patient.data
                )
            except FieldProblems as exc:
                for name, messages in exc.errors.items():
                    form[name].errors = [*form[name].errors, *messages]
            else:
                chosen = audit_records.AuditFilters(
                    actor_ids=filters.actor_ids if actor_ids is None else actor_ids,
                    patient_ids=filters.patient_ids if patient_ids is None else patient_ids,
                    action=form.action.data or None,
                    date_from=form.date_from.data,
                    date_to=form.date_to.data,
                )
                return redirect(url_for("admin.audit_log", **_filter_args(chosen)))
    args = _filter_args(filters)
    result = audit_records.audit_page(_me(), filters, inputs.page_number())
    return render_template(
        "admin/audit.html",
        form=form,
        posted=posted,
        result=result,
        args=args,
        everyone=url_for("admin.audit_log", **{k: v for k, v in args.items() if k != "actor_id"}),
        every_patient=url_for(
            "admin.audit_log", **{k: v for k, v in args.items() if k != "patient_id"}
        ),
    )


@bp.route("/audit.csv")
@recent_auth_required()
def audit_csv():
    """The filtered audit log as CSV, streamed: audited (and committed with the request)
    before the first byte; the rows follow in chunks as they are read."""
    _form, filters = _applied_filters()
    body = audit_records.audit_csv(_me(), filters)
    stamp = clock.utcnow().strftime("%Y%m%d-%H%M%S")
    return Response(
        stream_with_context(body),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )


# Pages kept in modules of their own add their routes to ``bp`` when imported here.
from lms.blueprints.admin import roster as _roster  # noqa: E402, F401  (registers its routes)
from lms.blueprints.admin import tokens as _tokens  # noqa: E402, F401  (registers its routes)
