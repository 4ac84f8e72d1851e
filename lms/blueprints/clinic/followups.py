"""Clinic pages: followups (registered on the clinic blueprint).

Beside a family's needs-help flags on the dashboard, a clinician records that they contacted
the patient or a family member, with an optional note and a date to look again; the flags
are set aside until then (``lms.followups``)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from lms import access, audit, clock, dates, insight
from lms.blueprints.clinic.forms import RELATIONSHIP_LABELS
from lms.blueprints.clinic.routes import bp
from lms.followups import operations as followup_ops
from lms.followups import queries as followup_q
from lms.forms import DateField, OnceForm
from lms.models import User
from lms.models.followup import NOTE_MAX
from lms.problems import FieldProblems, Problem


class FollowUpForm(OnceForm):
    who = SelectField(_l("Who did you speak with?"), coerce=str)
    note = TextAreaField(
        _l("Note (optional)"),
        validators=[
            Optional(),
            Length(
                max=NOTE_MAX,
                message=_l("Keep the note to %(max)d characters or fewer (it has %(length)d)."),
            ),
        ],
        description=_l("A few words for the care team, up to 500 characters."),
    )
    follow_up_on = DateField(
        _l("Follow up on"),
        validators=[InputRequired(message=_l("Enter the date to look at this family again."))],
        description=_l(
            "Today or later, as YYYY-MM-DD. Until then the flags you see now are set aside; "
            "on that date they come back if their reasons still hold."
        ),
    )
    submit = SubmitField(_l("Record contact"))

    def validate_follow_up_on(self, field) -> None:
        if field.data is None:
            return  # not a date: the field already says how to write one
        problem = followup_ops.follow_up_date_problem(field.data, clock.today())
        if problem is not None:
            raise ValidationError(str(problem))


def _me() -> User:
    return current_user._get_current_object()


def _choices(people: list[followup_q.Contact]) -> list[tuple[str, str]]:
    choices = []
    for person in people:
        if person.link is None:
            label = _("%(name)s (the patient)", name=person.name)
        else:
            kind = RELATIONSHIP_LABELS.get(person.link.relationship_kind, "")
            label = f"{person.name} ({kind})" if kind else person.name
        choices.append((person.value, label))
    return choices


@bp.route("/patients/<patient_id>/contacted", methods=["GET", "POST"])
@bp.route("/patients/<patient_id>/learners/<learner_id>/contacted", methods=["GET", "POST"])
def contacted(patient_id: str, learner_id: str | None = None):
    """Record that the family was contacted about its needs-help flags. 404 unless the
    patient is on the caseload and the learner (if named) is the patient's login or a family
    member whose consent is in force. Audited (``followup.form_view``, ``followup.recorded``)."""
    me = _me()
    patient = access.patient_for(me, patient_id)
    today = clock.today()
    people = followup_q.contactable(patient, today)
    chosen = "patient"
    if learner_id is not None:
        person = followup_q.contact_for_learner(patient, access.parse_id(learner_id), today)
        if person is None:
            abort(404)
        chosen = person.value
    if not patient.is_active:
        flash(_("This patient has left the program; there is nothing to follow up."))
        return redirect(url_for("clinic.patient", patient_id=patient.id))
    form = FollowUpForm(who=chosen)
    form.who.choices = _choices(people)
    if request.method == "GET":
        form.follow_up_on.data = today + timedelta(days=followup_ops.DEFAULT_FOLLOW_UP_DAYS)
    rows = insight.caseload_rows(me, status="active", today=today, patient_id=patient.id)
    row = rows[0] if rows else None
    if form.validate_on_submit():
        link = next((p.link for p in people if p.value == form.who.data), None)
        try:
            followup_ops.record_followup(
                me,
                patient,
                family_link=link,
                note=form.note.data,
                follow_up_on=form.follow_up_on.data,
                reasons=row.reason_keys if row else (),
                submit_token=form.submit_token.data,
                today=today,
            )
        except FieldProblems as exc:
            for name, messages in exc.errors.items():
                form[name].errors = [*form[name].errors, *map(str, messages)]
        except Problem as exc:
            flash(str(exc), "error")
            return redirect(url_for("clinic.patient", patient_id=patient.id))
        else:
            # No names in the flash: it travels in the session cookie.
            if row is not None and row.reason_keys:
                flash(
                    _(
                        "Contact recorded. The flags are set aside until %(d)s.",
                        d=dates.day_text(form.follow_up_on.data),
                    )
                )
            else:
                flash(_("Contact recorded."))
            return redirect(url_for("clinic.caseload"))
    audit.record("followup.form_view", subject=patient, patient_id=patient.id)
    return render_template(
        "clinic/followup.html",
        patient=patient,
        form=form,
        row=row,
    ), (400 if request.method == "POST" else 200)
