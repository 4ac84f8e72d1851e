"""Admin pages: API access tokens (registered on the admin blueprint).

An administrator makes a personal access token for a staff integration of the read-only API
(``/api/v1/``): for one clinician's caseload or the whole program, for 1 to 365 days. The
secret is shown once, in the answer to the form that made it — never in an address, the
session cookie, a flashed message or a log — and only its hash is kept
(``lms.interop.tokens``). Revoking asks first."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import IntegerField, RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange

from lms import clock
from lms.accounts import staff as staff_ops
from lms.blueprints.admin.forms import ClinicianField
from lms.blueprints.admin.routes import bp
from lms.extensions import db
from lms.forms import BaseForm, OnceForm
from lms.interop import tokens as token_ops
from lms.models import ApiToken, User
from lms.problems import FieldProblems
from lms.security import recent_auth_required


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class TokenForm(OnceForm):
    name = StringField(
        _l("Name"),
        validators=[
            InputRequired(message=_l("Give the token a name that says what it is for.")),
            Length(max=token_ops.NAME_MAX),
        ],
        filters=[_strip],
        description=_l("What it is for, for example “Records system nightly import”."),
    )
    scope = RadioField(
        _l("What it can read"),
        choices=[
            SelectChoice("caseload", _l("One clinician's caseload")),
            SelectChoice("program", _l("Every patient in the program")),
        ],
        default="caseload",
        validate_choice=True,
    )
    clinician = ClinicianField(
        _l("Clinician"),
        description=_l("Whose caseload it reads. Leave as is for the whole program."),
    )
    days = IntegerField(
        _l("Days until it stops working"),
        default=90,
        validators=[
            InputRequired(message=_l("Enter a number of days from 1 to 365.")),
            NumberRange(
                min=token_ops.MIN_DAYS,
                max=token_ops.MAX_DAYS,
                message=_l("Enter a number of days from 1 to 365."),
            ),
        ],
        description=_l("From 1 to 365. Make a new token before this one ends."),
    )
    submit = SubmitField(_l("Make the token"))


class RevokeForm(BaseForm):
    submit = SubmitField(_l("Revoke the token"))


def _me() -> User:
    return current_user._get_current_object()


def _token_or_404(token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    return token


def _token_form() -> TokenForm:
    form = TokenForm()
    form.clinician.choices = [SelectChoice(0, _("Choose a clinician"))] + [
        SelectChoice(u.id, f"{u.display_name} ({u.email})")
        for u in staff_ops.clinicians(active_only=True)
    ]
    return form


@bp.route("/tokens")
def tokens():
    """Every API token: whose, what it reads, when it was made, ends and was last used, and
    whether it still works. No secret is shown (only each one's first characters)."""
    return render_template(
        "admin/tokens.html",
        tokens=token_ops.tokens_list(),
        state=token_ops.state,
        now=clock.utcnow(),
    )


@bp.route("/tokens/new", methods=["GET", "POST"])
@recent_auth_required(back="admin.tokens")
def token_new():
    """Make a token. Asks for the password again when the last check is older than a few
    minutes. The answer shows the secret once; the same form sent twice makes one token."""
    form = _token_form()
    if form.validate_on_submit():
        chosen = db.session.get(User, form.clinician.data) if form.clinician.data else None
        try:
            token, secret = token_ops.create_token(
                _me(),
                form.name.data,
                form.scope.data,
                chosen,
                form.days.data,
                submit_token=form.submit_token.data,
            )
        except FieldProblems as exc:
            for name, messages in exc.errors.items():
                form[name].errors = [*form[name].errors, *map(str, messages)]
        else:
            return render_template("admin/token_created.html", token=token, secret=secret)
    return render_template("admin/token_new.html", form=form)


@bp.route("/tokens/<id:token_id>/revoke", methods=["GET", "POST"])
def token_revoke(token_id: int):
    """Asks first; "Revoke the token" stops it at once. A second click changes nothing."""
    token = _token_or_404(token_id)
    form = RevokeForm()
    if request.method == "POST" and form.validate_on_submit():
        if token_ops.revoke_token(_me(), token):
            flash(_("The token “%(name)s” is revoked. It stops working now.", name=token.name))
        else:
            flash(_("Nothing changed: that token was already revoked."))
        return redirect(url_for("admin.tokens"))
    return render_template(
        "admin/token_revoke.html", token=token, form=form, state=token_ops.state(token)
    )
