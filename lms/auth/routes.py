"""Sign in, sign out, and one's own account."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import audit, clock
from lms.auth import services
from lms.auth.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    PreferencesForm,
    RemindersForm,
    RemindersOffForm,
    ResetPasswordForm,
)
from lms.extensions import csrf, db, limiter
from lms.models import normalize_email
from lms.passwords import password_problems, verify_password
from lms.security import end_this_session, safe_next, start_session

bp = Blueprint("auth", __name__, url_prefix="/auth")

GENERIC_FAILURE = "That email and password don't match our records. Check both and try again."


def _account_key() -> str:
    """Rate-limit key for the account being tried, whether or not it exists."""
    return "acct:" + normalize_email(request.form.get("email", ""))[:254]


def _failed(response) -> bool:  # noqa: ANN001
    """Only failed sign-ins count toward the limits (a success redirects; a 5xx is ours)."""
    return response.status_code != 302 and response.status_code < 500


def home_for(user) -> str:  # noqa: ANN001
    if user.is_staff:
        return url_for("core.staff_home")
    return url_for("core.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"],
    methods=["POST"],
    deduct_when=_failed,
    scope="login-ip",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
    scope="login-account",
)
def login():
    """Public. The same message for an unknown email and a wrong password."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), home_for(current_user)))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        result = services.authenticate(form.email.data, form.password.data)
        if result.locked_until is not None:
            minutes = max(1, int((result.locked_until - clock.utcnow()).total_seconds() // 60) + 1)
            return (
                render_template(
                    "errors/error.html",
                    code=429,
                    title=_("Too many tries"),
                    message=_(
                        "For your safety, signing in is paused. "
                        "Please try again in %(minutes)d minutes.",
                        minutes=minutes,
                    ),
                ),
                429,
                {"Retry-After": str(minutes * 60)},
            )
        if result.ok:
            start_session(result.user)
            return redirect(safe_next(form.next.data, home_for(result.user)))
        form.password.errors.append(_(GENERIC_FAILURE))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """POST only (with CSRF), so a link or image elsewhere cannot sign anyone out."""
    if current_user.is_authenticated:
        services.logout(current_user._get_current_object())  # noqa: SLF001
    end_this_session()
    flash(_("You have signed out."))
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """The signed-in user's own settings: language and password."""
    prefs = PreferencesForm(prefix="prefs", locale=current_user.locale or "")
    pw = ChangePasswordForm(prefix="pw")
    rem = RemindersForm(prefix="rem", reminders_enabled=bool(current_user.reminders_enabled))
    if request.method == "POST" and "rem-submit" in request.form and rem.validate():
        user = current_user._get_current_object()  # noqa: SLF001
        services.set_reminders(user, bool(rem.reminders_enabled.data), via="account page")
        flash(_("Saved."))
        return redirect(url_for("auth.account"))
    if request.method == "POST" and "prefs-submit" in request.form and prefs.validate():
        current_user.locale = prefs.locale.data or None
        audit.record("account.preferences_changed", subject=current_user)
        db.session.commit()
        flash(_("Saved."))
        return redirect(url_for("auth.account"))
    if request.method == "POST" and "pw-submit" in request.form and pw.validate():
        user = current_user._get_current_object()  # noqa: SLF001
        if not verify_password(user.password_hash, pw.current_password.data):
            pw.current_password.errors.append(_("That is not your current password."))
        else:
            problems = password_problems(
                pw.new_password.data,
                email=user.email,
                program_name=current_app.config["PROGRAM_NAME"],
            )
            if problems:
                pw.new_password.errors.extend(problems)
            else:
                services.change_password(user, pw.new_password.data)
                start_session(user)  # this browser stays signed in; every other one is not
                flash(_("Your password was changed. Other devices have been signed out."))
                return redirect(url_for("auth.account"))
    return render_template("auth/account.html", prefs=prefs, pw=pw, rem=rem)


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
            app = current_app._get_current_object()  # noqa: SLF001

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
    if form.validate_on_submit():
        problems = password_problems(
            form.new_password.data,
            email=user.email,
            program_name=current_app.config["PROGRAM_NAME"],
        )
        if problems:
            form.new_password.errors.extend(problems)
        else:
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
