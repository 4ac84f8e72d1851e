"""Sign in, sign out, and one's own account."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from lms import audit, security, uow
from lms.accounts import mfa as mfa_rules
from lms.accounts import services, throttle
from lms.accounts.passwords import verify_password
from lms.blueprints.auth.forms import (
    ActionForm,
    ChangePasswordForm,
    CodeForm,
    ConfirmEmailForm,
    ConfirmForm,
    EmailChangeForm,
    ForgotPasswordForm,
    LoginForm,
    PreferencesForm,
    RemindersForm,
    RemindersOffForm,
    ResetPasswordForm,
    SetupForm,
)
from lms.extensions import csrf, db, limiter
from lms.models import normalize_email
from lms.security import end_this_session, home_for, safe_next

bp = Blueprint("auth", __name__, url_prefix="/auth")

GENERIC_FAILURE = _l("That email and password don't match our records. Check both and try again.")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"],
    key_func=throttle.ip_key,
    methods=["POST"],
    deduct_when=throttle.failed,
    scope="login-ip",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT_IP"],
    key_func=throttle.account_ip_key,
    methods=["POST"],
    deduct_when=throttle.failed,
    exempt_when=throttle.known_device,
    scope="login-account-ip",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=throttle.account_key,
    methods=["POST"],
    deduct_when=throttle.failed,
    exempt_when=throttle.known_device,
    scope="login-account",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_DEVICE"],
    key_func=throttle.device_key,
    methods=["POST"],
    deduct_when=throttle.failed,
    exempt_when=throttle.not_known_device,
    scope="login-device",
)
def login():
    """Public. The same message, the same work and the same limits for an unknown email and
    a wrong password. With two-step sign-in, a right password leads to the code page."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), home_for(current_user)))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.AccountTurnedOff as exc:
            form.password.errors.append(str(exc))
            return render_template("auth/login.html", form=form)
        if user is not None:
            if mfa_rules.needed_at_login(user):
                services.password_verified(user)
                security.begin_second_step(user, form.next.data or "")
                step = "auth.mfa" if user.mfa_enabled else "auth.mfa_setup"
                return redirect(url_for(step))
            return _finish_login(user, form.next.data, method="password")
        form.password.errors.append(str(GENERIC_FAILURE))  # escaped like any text
    return render_template("auth/login.html", form=form)


def _finish_login(user, next_url: str | None, *, method: str):
    services.complete_login(user, method=method)
    security.start_session(user)
    response = redirect(safe_next(next_url, home_for(user)))
    throttle.remember_device(response, user.email)
    return response


def _person_key() -> str:
    """Limits on codes and password checks count per person: the one between password and
    code, else the one signed in."""
    token = session.get(security.PENDING_USER)
    if not isinstance(token, str) and current_user.is_authenticated:
        token = current_user.get_id()
    return "person:" + (token.partition(":")[0] if isinstance(token, str) else "none")


def _code_failed(response) -> bool:
    """Only wrong codes or passwords count toward those limits (the view marks them)."""
    return bool(g.get("code_failed"))


@bp.route("/code", methods=["GET", "POST"])
@limiter.limit(
    "5 per 5 minutes",
    key_func=_person_key,
    methods=["POST"],
    deduct_when=_code_failed,
    scope="mfa-code",
)
def mfa():
    """Second step of signing in: a code from the app (each accepted once) or a recovery
    code. Only reachable for a few minutes after a right password."""
    user = security.pending_user()
    if user is None or not user.mfa_enabled:
        flash(_("Please sign in again."))
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        method = mfa_rules.verify_code(user, form.code.data)
        if method is not None:
            next_url = security.pending_next()
            if method == "recovery code":
                flash(
                    _(
                        "You used a recovery code. You have %(n)d left.",
                        n=mfa_rules.remaining_recovery_codes(user),
                    )
                )
            return _finish_login(user, next_url, method=method)
        g.code_failed = True
        audit.record("mfa.failure", actor=user, subject=user, outcome="failure")
        form.code.errors.append(
            _(
                "That code didn't work. Codes change every 30 seconds and work only once: "
                "wait for a new one and type it."
            )
        )
    return render_template("auth/mfa.html", form=form)


@bp.route("/two-step/setup", methods=["GET", "POST"])
@limiter.limit(
    "10 per 5 minutes",
    key_func=_person_key,
    methods=["POST"],
    deduct_when=_code_failed,
    scope="mfa-setup",
)
def mfa_setup():
    """Turn on two-step sign-in: at the first sign-in when it is required (between password
    and session), or from the security page (signed in, password confirmed recently)."""
    if current_user.is_authenticated:
        if not security.auth_is_recent():
            return redirect(url_for("auth.confirm", next=url_for("auth.mfa_setup")))
        user = current_user._get_current_object()
        during_login = False
    else:
        user = security.pending_user()
        if user is None:
            flash(_("Please sign in again."))
            return redirect(url_for("auth.login"))
        during_login = True
    if user.mfa_enabled:
        return redirect(url_for("auth.security") if not during_login else url_for("auth.mfa"))
    secret = mfa_rules.pending_secret(user)
    form = SetupForm()
    if form.validate_on_submit():
        codes = mfa_rules.confirm_setup(user, form.code.data)
        if codes is not None:
            if during_login:
                next_url = security.pending_next()
                services.complete_login(user, method="code (set up)")
                security.start_session(user)
                continue_url = safe_next(next_url, home_for(user))
            else:
                security.mark_reauthenticated()
                continue_url = url_for("auth.security")
            response = make_response(
                render_template("auth/recovery_codes.html", codes=codes, continue_url=continue_url)
            )
            if during_login:
                throttle.remember_device(response, user.email)
            return response
        g.code_failed = True
        form.code.errors.append(
            _(
                "That code didn't match. Check the app shows this site, then type the code "
                "shown now."
            )
        )
    uri = mfa_rules.provisioning_uri(user, secret)
    return render_template(
        "auth/mfa_setup.html",
        form=form,
        qr=mfa_rules.qr_data_uri(uri),
        secret=mfa_rules.grouped(secret),
        during_login=during_login,
        required=mfa_rules.required_for(user),
    )


@bp.route("/confirm", methods=["GET", "POST"])
@login_required
@limiter.limit(
    "5 per 15 minutes",
    key_func=_person_key,
    methods=["POST"],
    deduct_when=_code_failed,
    scope="reauth",
)
def confirm():
    """Re-authentication before a sensitive action: the password, and the code when two-step
    sign-in is on. Failures are limited and audited."""
    user = current_user._get_current_object()
    form = ConfirmForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        password_ok = verify_password(user.password_hash, form.password.data)
        code_ok = True
        if password_ok and user.mfa_enabled:
            code_ok = mfa_rules.verify_code(user, form.code.data or "") is not None
        if password_ok and code_ok:
            security.mark_reauthenticated()
            audit.record("reauth.success", actor=user, subject=user)
            return redirect(safe_next(form.next.data, url_for("auth.account")))
        g.code_failed = True
        audit.record("reauth.failure", actor=user, subject=user, outcome="failure")
        if not password_ok:
            form.password.errors.append(_("That is not your password."))
        else:
            form.code.errors.append(_("That code didn't work. Wait for a new one and try again."))
    return render_template("auth/confirm.html", form=form, needs_code=user.mfa_enabled)


@bp.route("/logout", methods=["POST"])
def logout():
    """POST only (with CSRF), so a link or image elsewhere cannot sign anyone out."""
    if current_user.is_authenticated:
        services.logout(current_user._get_current_object())
    end_this_session()
    flash(_("You have signed out."))
    return redirect(url_for("auth.login"))


# --- quick exit and the idle-timeout warning ------------------------------------------------


def _sign_out_now() -> None:
    """As ``logout`` does: every cookie of this person stops working, audited as a logout."""
    if current_user.is_authenticated:
        services.logout(current_user._get_current_object())
    end_this_session()


@bp.route("/quick-exit", methods=["POST"])
def quick_exit():
    """The quick exit's sign-out (``static/js/quick-exit.js``, with the CSRF token): the
    hidden page waits a moment for this answer before it leaves for the neutral site, so the
    session has ended by then; signed out already, nothing happens."""
    _sign_out_now()
    return "", 204


@bp.route("/leave")
def leave():
    """The quick exit without JavaScript: a link that signs out and goes on to the neutral
    site. Only with this session's exit token (``security.exit_token``), so another site
    cannot sign people out with a link; without it, straight on to the neutral site all the
    same, never an error page for someone leaving in a hurry."""
    if current_user.is_authenticated and security.exit_token_valid(request.args.get("t")):
        _sign_out_now()
    return redirect(security.quick_exit_url(), code=303)


@bp.route("/keep-alive", methods=["POST"])
def keep_alive():
    """The idle-timeout warning's "Stay signed in" (``static/js/session-timeout.js``):
    restart the idle clock. Already signed out, the answer is the sign-in page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    security.keep_alive()
    return "", 204


@bp.app_context_processor
def _quick_exit_and_timer() -> dict:
    """For ``base.html``: the quick exit's address and the idle timer's seconds."""

    def quick_exit_href() -> str:
        if current_user.is_authenticated:
            return url_for("auth.leave", t=security.exit_token())
        return security.quick_exit_url()

    return {
        "quick_exit_href": quick_exit_href,
        "quick_exit_url": security.quick_exit_url,
        "idle_seconds": security.idle_seconds,
        "idle_seconds_left": security.idle_seconds_left,
    }


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """The signed-in user's own settings: language and reminders; the way to security."""
    prefs = PreferencesForm(
        prefix="prefs", locale=current_user.locale or "", timezone=current_user.timezone or ""
    )
    rem = RemindersForm(prefix="rem", reminders_enabled=bool(current_user.reminders_enabled))
    if request.method == "POST" and "rem-submit" in request.form and rem.validate():
        user = current_user._get_current_object()
        services.set_reminders(user, bool(rem.reminders_enabled.data), via="account page")
        flash(_("Saved."))
        return redirect(url_for("auth.account"))
    if request.method == "POST" and "prefs-submit" in request.form and prefs.validate():
        current_user.locale = prefs.locale.data or None
        current_user.timezone = prefs.timezone.data or None
        audit.record("account.preferences_changed", subject=current_user)
        flash(_("Saved."))
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", prefs=prefs, rem=rem)


@bp.route("/security", methods=["GET", "POST"], endpoint="security")
@login_required
@security.recent_auth_required()
@limiter.limit(
    "5 per 15 minutes",
    key_func=_person_key,
    methods=["POST"],
    deduct_when=_code_failed,
    scope="reauth",
)
def security_page():
    """Password and two-step sign-in. Opens only with the password (and code) confirmed in
    the last few minutes; changing the password asks for the current one too, and wrong
    guesses count toward the same limit as the confirm page."""
    user = current_user._get_current_object()
    pw = ChangePasswordForm(prefix="pw")
    pw.password_email = user.email
    action = ActionForm(prefix="mfa")
    em = EmailChangeForm(prefix="em")
    if request.method == "POST" and "em-submit" in request.form and em.validate():
        if normalize_email(em.new_email.data) == user.email:
            em.new_email.errors.append(_("That is already your email address."))
        else:
            outbox_id = services.request_email_change(user, em.new_email.data)
            if outbox_id is not None:
                from lms.mail.outbox import send_now

                uow.after_commit(lambda: send_now(outbox_id))
            # The same answer whether or not the address belongs to someone else.
            flash(
                _(
                    "We sent a link to the new address. Open it within 24 hours to start "
                    "using that address; until then nothing changes."
                )
            )
            return redirect(url_for("auth.security"))
    if request.method == "POST" and "pw-submit" in request.form and pw.validate():
        if not verify_password(user.password_hash, pw.current_password.data):
            g.code_failed = True
            audit.record(
                "account.password_change_failed", actor=user, subject=user, outcome="failure"
            )
            pw.current_password.errors.append(_("That is not your current password."))
        else:
            services.change_password(user, pw.new_password.data)
            security.start_session(user)  # this browser stays signed in; no other one
            flash(_("Your password was changed. Other devices have been signed out."))
            return redirect(url_for("auth.security"))
    if request.method == "POST" and "mfa-off" in request.form and action.validate():
        if mfa_rules.required_for(user):
            flash(_("Staff accounts must use two-step sign-in."), "error")
        else:
            mfa_rules.disable(user, actor=user)
            flash(_("Two-step sign-in is off."))
        return redirect(url_for("auth.security"))
    if request.method == "POST" and "mfa-codes" in request.form and action.validate():
        if user.mfa_enabled:
            codes = mfa_rules.regenerate_recovery_codes(user)
            return render_template(
                "auth/recovery_codes.html", codes=codes, continue_url=url_for("auth.security")
            )
    return render_template(
        "auth/security.html",
        pw=pw,
        em=em,
        action=action,
        required=mfa_rules.required_for(user),
        remaining=mfa_rules.remaining_recovery_codes(user) if user.mfa_enabled else 0,
    )


@bp.route("/email/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """Public: the link sent to a new address. GET asks (mail scanners only look), POST
    switches the sign-in email, tells the old address and signs the person out everywhere."""
    from lms.mail.outbox import send_now
    from lms.mail.tokens import email_change_for_token

    user = email_change_for_token(token)
    if user is None:
        return render_template("auth/email_confirm.html", form=None, invalid=True), 400
    form = ConfirmEmailForm()
    if form.validate_on_submit():
        try:
            notice_id = services.confirm_email_change(user)
        except services.EmailTakenError:
            db.session.rollback()
            return render_template("auth/email_confirm.html", form=None, invalid=True), 400
        if notice_id is not None:
            uow.after_commit(lambda: send_now(notice_id))
        end_this_session()
        flash(_("Your email address is changed. Sign in with the new one."))
        return redirect(url_for("auth.login"))
    return render_template("auth/email_confirm.html", form=form, invalid=False)


# --- forgotten password -------------------------------------------------------------------


def _forgot_account_key() -> str:
    return "forgot:" + normalize_email(request.form.get("email", ""))[:254]


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"], scope="forgot-ip"
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_forgot_account_key,
    methods=["POST"],
    scope="forgot-account",
)
def forgot():
    """Public. The same answer whether or not the email has an account."""
    from lms.mail.outbox import send_now

    form = ForgotPasswordForm()
    if form.validate_on_submit():
        outbox_id = services.request_password_reset(form.email.data)
        response = make_response(render_template("auth/forgot.html", form=None, sent=True))
        if outbox_id is not None:
            # Deliver after the answer has gone out: talking to the mail server during the
            # request would make a real account answer measurably slower than an unknown one.
            app = current_app._get_current_object()

            @response.call_on_close
            def _deliver() -> None:
                with app.app_context():
                    send_now(outbox_id)

        return response
    return render_template("auth/forgot.html", form=form, sent=False)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """Public. Choose a new password from an emailed, single-use, expiring link."""
    from lms.mail.tokens import user_for_reset_token

    user = user_for_reset_token(token)
    if user is None:
        return render_template("auth/reset.html", form=None, invalid=True), 400
    form = ResetPasswordForm()
    form.password_email = user.email
    if form.validate_on_submit():
        services.reset_password(user, form.new_password.data)
        end_this_session()  # whoever was signed in here signs in again, as this user
        flash(_("Your new password is set, and you were signed out everywhere. Sign in now."))
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, invalid=False)


# --- reminder emails off, from the link in every reminder ---------------------------------


@bp.route("/reminders/off/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the proof; mail programs POST here for one-click (RFC 8058)
def reminders_off(token: str):
    """Public. GET asks to confirm (link scanners only look); POST turns reminders off."""
    from lms.mail.tokens import user_for_reminders_off_token

    user = user_for_reminders_off_token(token)
    if user is None:
        return render_template("auth/reminders_off.html", form=None, invalid=True), 400
    form = RemindersOffForm()
    if request.method == "POST":
        services.set_reminders(user, False, via="email link")
        return render_template("auth/reminders_off.html", form=None, done=True)
    return render_template("auth/reminders_off.html", form=form, done=False)
