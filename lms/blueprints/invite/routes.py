"""Accepting an invitation: public, reached by the single-use link the clinician sent."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from lms.extensions import db, limiter
from lms.forms import PASSWORD_HINT, BaseForm, StrongPassword
from lms.invitations import operations as invitation_ops
from lms.models import Role, User
from lms.problems import InvitationProblem
from lms.security import language_choice, start_session, use_invitation_language

bp = Blueprint("invite", __name__, url_prefix="/invite")


class AcceptForm(BaseForm):
    # The invitation's own address: it must match (``accept_invitation``), so it is shown
    # filled in and read-only rather than typed.
    email = EmailField(
        _l("Your email"),
        validators=[DataRequired(), Length(max=254)],
        description=_l("The address the invitation was sent to. You sign in with it."),
        render_kw={"readonly": True},
    )
    display_name = StringField(
        _l("Your name"),
        validators=[DataRequired(), Length(max=120)],
        description=_l("How you would like to be called. You can change it."),
    )
    password = PasswordField(
        _l("Choose a password"),
        validators=[DataRequired(), Length(max=1024), StrongPassword(email_field="email")],
        description=PASSWORD_HINT,
    )
    confirm = PasswordField(
        _l("Type the password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two don't match."))],
    )
    submit = SubmitField(_l("Create my account"))


class JoinForm(BaseForm):
    submit = SubmitField(_l("Accept the invitation"))


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit("30 per 10 minutes", methods=["POST"])
def accept(token: str):
    """Public. Reuse, expiry or another email each get a clear message; nothing else leaks.
    The page is in the invitation's language (the clinician's choice) unless the person
    chose another; a new account starts in the language they saw."""
    try:
        invitation = invitation_ops.find_invitation(token)
        invitation_ops.check_invitation_usable(invitation)
    except InvitationProblem as exc:
        return render_template("invite/problem.html", message=str(exc)), 410
    use_invitation_language(invitation.locale)
    existing = db.session.scalars(User.by_email(invitation.email)).first()
    if existing is not None:
        # Someone who already has an account joins by signing in as themselves.
        form = JoinForm()
        signed_in_as_invitee = current_user.is_authenticated and current_user.id == existing.id
        if signed_in_as_invitee and form.validate_on_submit():
            try:
                invitation_ops.accept_invitation(
                    token,
                    email=existing.email,
                    display_name=existing.display_name,
                    password=None,
                    existing=existing,
                )
            except InvitationProblem as exc:
                return render_template("invite/problem.html", message=str(exc)), 410
            flash(_("You have joined. Your readings are below."))
            return redirect(url_for("learn.index"))
        return render_template(
            "invite/existing.html",
            form=form,
            signed_in_as_invitee=signed_in_as_invitee,
            token=token,
        )
    form = AcceptForm()
    if not form.is_submitted():
        form.email.data = invitation.email
        form.display_name.data = invitation_ops.suggested_name(invitation)
    if form.validate_on_submit():
        try:
            user = invitation_ops.accept_invitation(
                token,
                email=form.email.data,
                display_name=form.display_name.data,
                password=form.password.data,
                existing=None,
                locale=language_choice(),
            )
        except InvitationProblem as exc:
            form.email.errors = [*form.email.errors, str(exc)]
        else:
            start_session(user)
            flash(_("Welcome! Your account is ready."))
            return redirect(url_for("learn.index"))
    return render_template(
        "invite/accept.html", form=form, for_patient=invitation.role == Role.PATIENT
    )
