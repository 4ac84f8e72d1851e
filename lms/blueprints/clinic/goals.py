"""Clinic pages: learning goals (registered on the clinic blueprint).

A clinician sets a goal for one learner of a patient — finish a path's readings or chosen
readings, or pass their knowledge checks, by a target date — and may cancel it (the page
asks first). The patient page lists the goals (``templates/clinic/_goals.html``); whether
each is met, open or missed is ``lms.goals.queries``'s rule. 404 unless the patient is on
the clinician's caseload.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from lms import access, audit
from lms.assignments import queries as assignment_q
from lms.blueprints.clinic.forms import MultiCheckboxField
from lms.blueprints.clinic.routes import _ask_first, _me, bp
from lms.content import get_library
from lms.forms import DateField, OnceForm
from lms.goals import operations as goal_ops
from lms.goals import queries as goal_q
from lms.models import Patient
from lms.problems import FieldProblems, Problem

#: What the form's "what" choice means: (goal kind, readings come from the path or the list).
WHAT = {
    "path": goal_q.GoalKind.FINISH,
    "finish": goal_q.GoalKind.FINISH,
    "pass": goal_q.GoalKind.PASS,
}


class GoalForm(OnceForm):
    learner = SelectField(_l("Who is the goal for?"), coerce=str)
    what = RadioField(
        _l("What is the goal?"),
        choices=[
            SelectChoice("path", _l("Finish every reading of a path")),
            SelectChoice("finish", _l("Finish the readings chosen below")),
            SelectChoice("pass", _l("Pass the knowledge check of the readings chosen below")),
        ],
        default="path",
    )
    path = SelectField(_l("Path"), coerce=str, validators=[Optional()])
    modules = MultiCheckboxField(_l("Readings"), coerce=str)
    target_on = DateField(
        _l("Target date"),
        validators=[Optional()],
        description=_l("Today or later, within a year, as YYYY-MM-DD."),
    )
    title = StringField(
        _l("Title (optional)"),
        description=_l(
            "Up to 200 characters, shown to the learner. Leave empty for one made from your "
            "choice, such as “Finish 4 readings by Jan 15”."
        ),
    )
    submit = SubmitField(_l("Set the goal"))


def _form(patient: Patient) -> GoalForm:
    library = get_library()
    form = GoalForm()
    form.learner.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(
            str(person.user_id),
            _("%(name)s (the patient)", name=person.name) if person.is_patient else person.name,
        )
        for person in assignment_q.learners_for(patient)
    ]
    form.path.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(p.slug, _("%(t)s (%(n)d readings)", t=p.title, n=len(p.module_slugs)))
        for p in library.paths
    ]
    form.modules.choices = [
        SelectChoice(
            m.slug, m.title if m.quiz is not None else _("%(t)s (no knowledge check)", t=m.title)
        )
        for m in library.modules()
    ]
    return form


def _chosen(form: GoalForm) -> tuple[str, list[str]]:
    """The goal's kind and readings from the form (unknown choices are left for the domain
    to refuse by name)."""
    what = form.what.data if form.what.data in WHAT else ""
    if what == "path":
        path = get_library().path(form.path.data or "")
        return WHAT[what].value, list(path.module_slugs) if path else []
    return (WHAT[what].value if what else ""), list(form.modules.data or [])


@bp.route("/patients/<patient_id>/goals/new", methods=["GET", "POST"])
def new_goal(patient_id: str):
    """Set a learning goal. 404 unless the patient is on the caseload; every refusal is shown
    beside its field. Audited (``goal.form_view``, then ``goal.set``)."""
    me = _me()
    patient = access.patient_for(me, patient_id)
    if not patient.is_active:
        flash(_("This patient has left the program; no new goal can be set."))
        return redirect(url_for("clinic.patient", patient_id=patient.id))
    form = _form(patient)
    if request.method == "GET" and request.args.get("learner"):
        form.learner.data = request.args["learner"]
    if form.is_submitted() and form.validate():
        kind, modules = _chosen(form)
        try:
            goal_ops.set_goal(
                me,
                patient,
                learner_id=int(form.learner.data) if form.learner.data.isdigit() else None,
                kind=kind,
                modules=modules,
                target_on=form.target_on.data,
                title=form.title.data,
                submit_token=form.submit_token.data,
            )
        except FieldProblems as exc:
            for name, messages in exc.errors.items():
                if name == "modules" and form.what.data == "path":
                    name = "path"
                form[name].errors = [*form[name].errors, *map(str, messages)]
        except Problem as exc:
            flash(str(exc), "error")
            return redirect(url_for("clinic.patient", patient_id=patient.id))
        else:
            flash(_("Goal set."))
            return redirect(url_for("clinic.patient", patient_id=patient.id) + "#goals-h")
    audit.record("goal.form_view", subject=patient, patient_id=patient.id)
    return render_template("clinic/goal_form.html", patient=patient, form=form), (
        400 if request.method == "POST" else 200
    )


@bp.route("/goals/<goal_id>/cancel", methods=["GET", "POST"])
def cancel_goal(goal_id: str):
    """Cancel a goal; the page asks first and names the goal and the learner. 404 unless its
    patient is on the caseload."""
    me = _me()
    goal, patient = goal_q.goal_for_staff(me, goal_id)
    return _ask_first(
        patient,
        act=lambda: goal_ops.cancel_goal(me, goal),
        done=lambda _n: _("Goal cancelled."),
        audit_as="goal.form_view",
        subject=goal,
        template="clinic/goal_cancel.html",
        goal=goal,
        title=goal_q.title_of(goal),
    )
