"""Clinician forms. Choices that come from data (family members, modules) are set per request."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from lms.forms import BaseForm, DateField, OnceForm
from lms.models import Relationship
from lms.security import default_language, language_names

RELATIONSHIP_LABELS = {
    Relationship.PARENT: _l("Parent"),
    Relationship.PARENT_OF_MINOR: _l("Parent of a teen or child (under 18)"),
    Relationship.PARTNER: _l("Partner"),
    Relationship.SPOUSE: _l("Spouse"),
    Relationship.SIBLING: _l("Sibling"),
    Relationship.ADULT_CHILD: _l("Adult child"),
    Relationship.FRIEND: _l("Friend"),
    Relationship.OTHER: _l("Other"),
}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PatientFields:
    """A patient's details, as enrolled and as corrected later (mixed into a form)."""

    display_name = StringField(
        _l("Patient's name"),
        validators=[DataRequired(), Length(max=120)],
        description=_l("As the patient likes to be called. Shown to family only with consent."),
    )
    record_number = StringField(
        _l("Record number (optional)"), validators=[Optional(), Length(max=40)]
    )
    enrolled_on = DateField(_l("Enrolled on"), validators=[InputRequired()])


class FamilyFields:
    """A family member's details, as added and as corrected later (mixed into a form)."""

    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    relationship = SelectField(
        _l("Relationship to the patient"),
        choices=[SelectChoice(str(k), v) for k, v in RELATIONSHIP_LABELS.items()],
    )


class EnrollForm(PatientFields, OnceForm):
    submit = SubmitField(_l("Enroll patient"))


class FamilyMemberForm(FamilyFields, OnceForm):
    submit = SubmitField(_l("Add family member"))


class ConsentForm(OnceForm):
    family_link = SelectField(_l("Family member named in the consent"), coerce=str)
    disclosure = TextAreaField(
        _l("What may be shared"), validators=[DataRequired(), Length(max=2000)]
    )
    purpose = TextAreaField(_l("Purpose"), validators=[DataRequired(), Length(max=2000)])
    revocation_terms = TextAreaField(
        _l("How the patient may withdraw it"), validators=[DataRequired(), Length(max=2000)]
    )
    ends_at_discharge = BooleanField(
        _l("Ends when the patient leaves the program (discharge)"),
        default=True,
        description=_l("Leave ticked unless the patient chose otherwise."),
    )
    expires_on = DateField(_l("Expires on"), validators=[Optional()])
    expiry_event = StringField(
        _l("Or: ends when (another event)"),
        validators=[Optional(), Length(max=200)],
        description=_l("For example: “when my court case closes”. Whichever comes first ends it."),
    )
    signed_by = RadioField(
        _l("Signed by"),
        choices=[
            SelectChoice("patient", _l("The patient")),
            SelectChoice("representative", _l("A legal representative")),
        ],
        default="patient",
    )
    representative_name = StringField(
        _l("Representative's name"), validators=[Optional(), Length(max=120)]
    )
    representative_capacity = StringField(
        _l("Representative's capacity"),
        validators=[Optional(), Length(max=120)],
        description=_l("For example: parent of a minor, court-appointed guardian."),
    )
    signature_method = RadioField(
        _l("How it was signed"),
        choices=[
            SelectChoice("paper", _l("On paper (I have the signed form)")),
            SelectChoice("electronic", _l("Electronically")),
        ],
        default="paper",
    )
    signed_on = DateField(_l("Date signed"), validators=[InputRequired()])
    submit = SubmitField(_l("Record consent"))


def _invitation_languages() -> list[SelectChoice]:
    # Each language named in its own words, marked as such (``lang``) for screen readers.
    return [SelectChoice(code, name, render_kw={"lang": code}) for code, name in language_names()]


class InvitationLanguage:
    """The language of an invitation's email and page, and of the new account (mixed into
    both invitation forms); the program's default unless the clinician chooses another."""

    locale = SelectField(
        _l("Language of the invitation"),
        choices=_invitation_languages,
        default=default_language,
        description=_l("The email and the invitation page are in this language."),
        validate_choice=True,
    )


class InviteForm(InvitationLanguage, OnceForm):
    family_link = SelectField(_l("Family member to invite"), coerce=str)
    submit = SubmitField(_l("Create invitation link"))


class AssignForm(OnceForm):
    what = SelectField(_l("Module or path"), coerce=str, validators=[DataRequired()])
    learners = MultiCheckboxField(_l("Assign to"), coerce=str)
    due_on = DateField(
        _l("Due date (first module)"),
        validators=[Optional()],
        description=_l("Leave empty for no due date."),
    )
    spread_days = IntegerField(
        _l("Days between modules of a path"),
        default=7,
        validators=[Optional(), NumberRange(min=0, max=60)],
    )
    note = TextAreaField(
        _l("Note for the family (optional)"), validators=[Optional(), Length(max=500)]
    )
    submit = SubmitField(_l("Assign"))


class ActionForm(BaseForm):
    """A CSRF-protected button."""


class DischargeForm(BaseForm):
    discharged_on = DateField(_l("Discharge date"), validators=[InputRequired()])
    submit = SubmitField(_l("Discharge patient"))


class PatientLoginForm(InvitationLanguage, OnceForm):
    email = EmailField(_l("Patient's email"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Create patient invitation link"))


class SessionFields:
    """An education session's fields (mixed into the new and edit forms). Attendance radios
    (one group per listed patient) are read from the request by the view; their names are
    ``attendance-<patient id>``. ``all_present`` saves nothing: the form comes back with every
    listed patient marked present and everything else as typed."""

    held_on = DateField(_l("Date of the session"), validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    facilitator = StringField(_l("Facilitator"), validators=[DataRequired(), Length(max=120)])
    modules = MultiCheckboxField(_l("Modules covered"), coerce=str)
    all_present = SubmitField(_l("Mark everyone present"))


class SessionForm(SessionFields, OnceForm):
    submit = SubmitField(_l("Save session"))


class SessionEditForm(SessionFields, BaseForm):
    """Correct a session (an UPDATE of what differs: sent twice, it changes once)."""

    submit = SubmitField(_l("Save changes"))


class VoidSessionForm(BaseForm):
    reason = TextAreaField(
        _l("Why this session is a mistake"),
        validators=[
            DataRequired(message=_l("Say why this session is a mistake.")),
            Length(max=300, message=_l("Keep it to %(n)d characters or fewer.", n=300)),
        ],
        description=_l(
            "For example: logged twice, or logged for the wrong group. Up to 300 characters. "
            "Patients do not see this."
        ),
    )
    submit = SubmitField(_l("Void this session"))


# --- corrections ----------------------------------------------------------------------------

REASON_MAX = 300


def _reason_validators(required: str):
    return [
        DataRequired(message=required),
        Length(max=REASON_MAX, message=_l("Keep it to %(n)d characters or fewer.", n=REASON_MAX)),
    ]


class PatientDetailsForm(PatientFields, BaseForm):
    """Correct a patient's details (an UPDATE: sent twice, it changes once)."""

    submit = SubmitField(_l("Save changes"))


class FamilyDetailsForm(FamilyFields, BaseForm):
    """Correct a family member's details. The view removes ``email`` once they have joined."""

    submit = SubmitField(_l("Save changes"))


class ConsentErrorForm(BaseForm):
    reason = TextAreaField(
        _l("Why it was entered in error"),
        validators=_reason_validators(_l("Say why this consent was entered in error.")),
        description=_l(
            "For example: recorded for the wrong family member, or recorded twice. Up to 300 "
            "characters. The family member and the patient do not see this."
        ),
    )
    submit = SubmitField(_l("Mark as entered in error"))


class VoidEnrolmentForm(BaseForm):
    reason = TextAreaField(
        _l("Why this enrolment is a mistake"),
        validators=_reason_validators(_l("Say why this enrolment is a mistake.")),
        description=_l(
            "For example: the same patient was enrolled twice; the right record is the other "
            "one. Up to 300 characters."
        ),
    )
    submit = SubmitField(_l("Void this enrolment"))
