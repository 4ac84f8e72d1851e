"""Form building blocks every form uses, so a rule about input is kept in one place."""

from __future__ import annotations

import re
import secrets
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField as _DateField
from wtforms import HiddenField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, StopValidation, ValidationError

# Dates people type: wide enough for any birth, signature or due date, narrow enough that
# date arithmetic (a due date plus weeks, a filter's end plus a day) never leaves the calendar.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2099, 12, 31)
BAD_DATE = _l("Enter a date as YYYY-MM-DD, for example 2025-03-14.")

# Control characters no keyboard types: PostgreSQL refuses NUL in any text, and none of them
# belongs in a name, an email or a note. Tab and line breaks are ordinary text.
UNSAVEABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
HIDDEN_CHARACTER = _l("This contains an invisible character that can't be saved. Please retype it.")


class BaseForm(FlaskForm):
    """Every form's base: text that holds a character no database keeps is a message beside
    its field (instead of an error page when the database refuses it)."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators=extra_validators)
        for field in self:
            if field.type == "CSRFTokenField":
                continue
            values = field.data if isinstance(field.data, list | tuple) else [field.data]
            if any(isinstance(v, str) and UNSAVEABLE.search(v) for v in values):
                field.errors = [*field.errors, HIDDEN_CHARACTER]
                valid = False
        return valid


class DateField(_DateField):
    """A date typed as YYYY-MM-DD between ``EARLIEST_DATE`` and ``LATEST_DATE``; anything else
    is a message beside the field."""

    def __init__(self, label=None, validators=None, invalid_value_message=None, **kwargs) -> None:
        super().__init__(
            label, validators, invalid_value_message=invalid_value_message or BAD_DATE, **kwargs
        )

    def pre_validate(self, form) -> None:
        if self.data is not None and not EARLIEST_DATE <= self.data <= LATEST_DATE:
            raise ValidationError(
                _l(
                    "Enter a date between %(start)s and %(end)s.",
                    start=EARLIEST_DATE.isoformat(),
                    end=LATEST_DATE.isoformat(),
                )
            )


INCOMPLETE = _l("This form is incomplete. Please reload the page and try again.")


class OnceForm(BaseForm):
    """A form that creates something. Each rendering carries a fresh one-time
    ``submit_token``; the action claims it first (``lms.submissions``), so the same rendered
    form sent twice at once (a double click, a resend) does the work once and both answers
    are the same. A post without one (a page from before tokens) gets a new one: it is
    handled, just without that protection."""

    submit_token = HiddenField(_l("Form"), validators=[Length(max=64, message=INCOMPLETE)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.submit_token.data:
            self.submit_token.data = secrets.token_urlsafe(24)


class StrongPassword:
    """Every form that sets a password checks it with ``accounts.passwords.password_problems``
    (length, not the email, not the program's name, not easy to guess), each reason shown
    beside the field. The email it must not contain comes from the form's ``email_field``
    when the person types it, else from ``form.password_email``, which the view sets to the
    account's address."""

    def __init__(self, email_field: str | None = None):
        self.email_field = email_field

    def __call__(self, form, field) -> None:
        from lms.accounts.passwords import password_problems

        if self.email_field is not None:
            email = form[self.email_field].data or ""
        else:
            email = getattr(form, "password_email", "") or ""
        problems = password_problems(
            field.data or "", email=email, program_name=current_app.config["PROGRAM_NAME"]
        )
        if problems:
            field.errors[:] = [*field.errors, *(str(p) for p in problems)]
            raise StopValidation()


PASSWORD_HINT = _l("At least 12 characters. A short sentence is easy to remember.")


class NewPasswordFields:
    """A new password typed twice, checked by ``StrongPassword`` (mixed into a form)."""

    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=1024), StrongPassword()],
        description=PASSWORD_HINT,
    )
    confirm = PasswordField(
        _l("Type the new password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two don't match."))],
    )
