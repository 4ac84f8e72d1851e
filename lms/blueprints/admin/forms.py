"""Admin forms. Choices that come from data (users, actions) are set per request."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from lms.forms import BaseForm, DateField, OnceForm, StrongPassword
from lms.inputs import MAX_ID
from lms.models import Role
from lms.patients.care_teams import MAX_COVER_DAYS, cover_end_problem

CHOOSE_ACTIVE_CLINICIAN = _l("Choose an active clinician from the list.")


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ClinicianField(SelectField):
    """A clinician chosen from a list (ids as values). A forged or stale id, or one that is
    not a number, is one clear message beside the field, never an error page."""

    def __init__(self, *args, invalid_message: str | None = None, **kwargs) -> None:
        kwargs.setdefault("coerce", int)
        kwargs.setdefault("validate_choice", True)
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message or CHOOSE_ACTIVE_CLINICIAN

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(self.invalid_message) from exc

    def pre_validate(self, form: BaseForm) -> None:
        try:
            super().pre_validate(form)
        except ValidationError as exc:
            raise ValidationError(self.invalid_message) from exc


class ActionForm(BaseForm):
    """A CSRF-protected button."""


class StaffForm(OnceForm):
    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(),
            Email(message=_l("Enter an email address, like name@example.org.")),
            Length(max=254),
        ],
        filters=[_strip],
    )
    display_name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=120)],
        filters=[_strip],
        description=_l("As colleagues, patients and families will see it."),
    )
    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice(Role.CLINICIAN.value, _l("Clinician")),
            SelectChoice(Role.ADMIN.value, _l("Administrator")),
        ],
        validate_choice=True,
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(), Length(max=1024), StrongPassword(email_field="email")],
        description=_l(
            "At least 12 characters. Give it to the person privately; they can change it "
            "under “My account”."
        ),
    )
    submit = SubmitField(_l("Create account"))


class CareTeamAddForm(BaseForm):
    """Add one clinician to one patient's care team (one form per patient, by prefix)."""

    clinician_id = ClinicianField(_l("Add a clinician"))


class CareTeamRemoveForm(BaseForm):
    clinician_id = IntegerField(validators=[DataRequired(), NumberRange(min=1, max=MAX_ID)])


class DeactivateForm(BaseForm):
    successor = ClinicianField(
        _l("Who takes their patients"),
        validate_choice=True,
        description=_l("Added to the care team of every patient who has no other clinician."),
    )
    submit = SubmitField(_l("Deactivate"))


class MoveCaseloadForm(BaseForm):
    from_clinician = ClinicianField(
        _l("Move every patient of"),
        invalid_message=_l("Choose a clinician from the list."),
        description=_l("This clinician is taken off every care team they are on."),
    )
    to_clinician = ClinicianField(
        _l("To"),
        description=_l("Added to each of those care teams where not already on it."),
    )
    submit = SubmitField(_l("Move caseload"))

    def validate_to_clinician(self, field: ClinicianField) -> None:
        if field.data is not None and field.data == self.from_clinician.data:
            raise ValidationError(_l("Choose two different clinicians."))


class CoverForm(OnceForm):
    """Cover for a colleague who is away: who is away, who covers, until when."""

    away = ClinicianField(
        _l("Clinician who is away"),
        invalid_message=_l("Choose a clinician from the list."),
    )
    colleague = ClinicianField(
        _l("Colleague who covers"),
        description=_l(
            "Added to the care team of each of their active patients until the last day."
        ),
    )
    ends_on = DateField(
        _l("Last day of the cover (YYYY-MM-DD)"),
        validators=[InputRequired(message=_l("Enter the last day of the cover, as YYYY-MM-DD."))],
        description=_l(
            "The colleague sees these patients through this day; the next day they no longer "
            "do. At most %(days)d days from today.",
            days=MAX_COVER_DAYS,
        ),
    )
    submit = SubmitField(_l("Show the patients"))

    def validate_away(self, field: ClinicianField) -> None:
        if not field.data:
            raise ValidationError(_l("Choose the clinician who is away."))

    def validate_colleague(self, field: ClinicianField) -> None:
        if not field.data:
            raise ValidationError(_l("Choose the colleague who covers."))
        if field.data == self.away.data:
            raise ValidationError(_l("Choose a colleague other than the one away."))

    def validate_ends_on(self, field: DateField) -> None:
        problem = cover_end_problem(field.data)
        if problem:
            raise ValidationError(problem)


class EmergencyAccessForm(BaseForm):
    """Break-glass: why, and for how long."""

    reason = TextAreaField(
        _l("Why do you need to open this patient's records?"),
        validators=[
            DataRequired(message=_l("Give the reason; it is kept in the audit log.")),
            Length(
                min=20,
                max=400,
                message=_l(
                    "Write the reason in 20 to 400 characters, so a reviewer understands it."
                ),
            ),
        ],
        filters=[_strip],
        description=_l(
            "For example: the patient's clinician is away and the family called about an "
            "urgent concern. This is kept in the audit log and shown to other administrators."
        ),
    )
    minutes = SelectField(
        _l("For how long"),
        choices=[
            SelectChoice(30, _l("30 minutes")),
            SelectChoice(60, _l("1 hour")),
            SelectChoice(120, _l("2 hours")),
        ],
        coerce=int,
        default=60,
        validate_choice=True,
    )
    submit = SubmitField(_l("Open the records"))


class AuditFilterForm(BaseForm):
    """The audit log's filters, sent by POST with the CSRF token: a typed name never reaches
    an address (or the server's access log). The view turns names into ids and redirects to
    the log's GET with ids, the action and the dates, so a filtered page can be bookmarked,
    paged and exported. The same form, without CSRF (nothing changes), reads the applied
    action and dates back from that GET; bad values there become messages."""

    person = StringField(
        _l("Person"),
        validators=[Optional(), Length(max=254)],
        filters=[_strip],
        description=_l("Part of a name or an email address; capitals do not matter."),
    )
    patient = StringField(
        _l("Patient"),
        validators=[Optional(), Length(max=120)],
        filters=[_strip],
        description=_l("Part of the patient's name or record number."),
    )
    action = SelectField(_l("What happened"), validate_choice=True, default="")
    date_from = DateField(_l("From (YYYY-MM-DD)"), validators=[Optional()])
    date_to = DateField(_l("To (YYYY-MM-DD), inclusive"), validators=[Optional()])
    submit = SubmitField(_l("Apply filters"))

    def validate_date_to(self, field: DateField) -> None:
        start = self.date_from.data
        if field.data and start and field.data < start:
            raise ValidationError(_l("The end date is before the start date."))
