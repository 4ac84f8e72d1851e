"""Forms for signing in and managing one's own account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from lms.forms import UNSAVEABLE, BaseForm, NewPasswordFields

MAX_NEXT_LENGTH = 2048


def _drop_unusable_next(value: str | None) -> str | None:
    """A ``next`` that is very long or holds control characters is dropped (signing in then
    goes home) instead of failing the form on a field nobody sees."""
    if isinstance(value, str) and (len(value) > MAX_NEXT_LENGTH or UNSAVEABLE.search(value)):
        return ""
    return value


class LoginForm(BaseForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField(filters=[_drop_unusable_next])
    submit = SubmitField(_l("Sign in"))


class ChangePasswordForm(NewPasswordFields, BaseForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=1024)]
    )
    submit = SubmitField(_l("Change password"))


class PreferencesForm(BaseForm):
    locale = SelectField(
        _l("Language"),
        choices=[
            SelectChoice("", _l("Same as my browser")),
            SelectChoice("en", "English"),
            SelectChoice("es", "Español"),
        ],
        validate_choice=True,
    )
    timezone = SelectField(
        _l("Time zone"),
        description=_l("Dates and times on this site are shown in this time zone."),
        validate_choice=True,
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from lms import dates

        self.timezone.choices = dates.zone_choices(self.timezone.data)


class ForgotPasswordForm(BaseForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Length(max=254)],
        description=_l("The email address you sign in with."),
    )
    submit = SubmitField(_l("Send me a link"))


class ResetPasswordForm(NewPasswordFields, BaseForm):
    submit = SubmitField(_l("Set new password"))


class RemindersForm(BaseForm):
    reminders_enabled = BooleanField(
        _l("Email me when I have a new reading, and when one is due soon or overdue")
    )
    submit = SubmitField(_l("Save"))


class RemindersOffForm(BaseForm):
    submit = SubmitField(_l("Turn off reminder emails"))


class CodeForm(BaseForm):
    """The second step of signing in: a code from the app, or a recovery code."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=64)],
        description=_l(
            "The 6-digit code your authenticator app shows now. Lost your phone? "
            "Type one of your recovery codes instead."
        ),
    )
    submit = SubmitField(_l("Continue"))


class SetupForm(BaseForm):
    code = StringField(
        _l("6-digit code from the app"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("It changes every 30 seconds. Type the one shown now."),
    )
    submit = SubmitField(_l("Turn on two-step sign-in"))


class ConfirmForm(BaseForm):
    """Re-authentication before a sensitive action."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=1024)])
    code = StringField(
        _l("Code"),
        validators=[Length(max=64)],
        description=_l("The 6-digit code your authenticator app shows now, or a recovery code."),
    )
    next = HiddenField()
    submit = SubmitField(_l("Confirm"))


class ActionForm(BaseForm):
    """A button that does one thing (CSRF only)."""


class EmailChangeForm(BaseForm):
    new_email = EmailField(
        _l("New email address"),
        validators=[
            DataRequired(),
            Email(message=_l("Enter an email address, like name@example.org.")),
            Length(max=254),
        ],
        description=_l("We send a link there. Nothing changes until you open it."),
    )
    submit = SubmitField(_l("Send the link"))


class ConfirmEmailForm(BaseForm):
    submit = SubmitField(_l("Use this address from now on"))
