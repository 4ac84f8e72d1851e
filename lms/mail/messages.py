"""Each kind of email: its discreet subject, its plain-text and HTML bodies, its dedupe key.

Bodies come from ``templates/email/<kind>.txt`` and ``.html``. They greet nobody by name, name
no patient, module, diagnosis or program type, and link to the site, where the reader signs in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from lms import clock
from lms.config import DEV_SITE_URL
from lms.mail import outbox, tokens
from lms.models import Assignment, Invitation, User


def site_url() -> str:
    """The configured public address. Never the request's Host (or X-Forwarded-Host): a
    forged header would otherwise put an attacker's address into a reset or invitation link."""
    return (current_app.config.get("SITE_URL") or DEV_SITE_URL).rstrip("/")


def external_url(endpoint: str, **values) -> str:
    """An absolute link to this site, inside or outside a request (commands, cron)."""
    parts = urlsplit(site_url())
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


def reminders_off_url(user: User) -> str:
    return external_url("auth.reminders_off", token=tokens.reminders_off_token(user))


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(kind: str, subject: str, preheader: str, **context) -> Rendered:
    """Render a message's bodies (no request needed: context processors are not used)."""
    env = current_app.jinja_env
    context = {
        "subject": subject,
        "preheader": preheader,
        "program_name": current_app.config["PROGRAM_NAME"],
        "site_url": site_url(),
        **context,
    }
    text = env.get_template(f"email/{kind}.txt").render(**context)
    html = env.get_template(f"email/{kind}.html").render(**context)
    return Rendered(subject, text.strip() + "\n", html)


def _locale(user: User | None) -> str:
    return (user.locale if user is not None else None) or current_app.config["BABEL_DEFAULT_LOCALE"]


# --- invitations -------------------------------------------------------------------------


def queue_invitation(invitation: Invitation, token: str) -> int | None:
    """Record the invitation email (in the caller's transaction)."""
    url = external_url("invite.accept", token=token)
    with force_locale(_locale(None)):
        subject = _("You're invited to set up your account")
        message = render(
            "invitation",
            subject,
            _("Set up your account with the link inside."),
            url=url,
            expires_on=format_date(invitation.expires_at.date(), "long"),
        )
    return outbox.enqueue(
        kind="invitation",
        dedupe_key=f"invitation:{invitation.id}",
        recipient=invitation.email,
        subject=message.subject,
        text=message.text,
        html=message.html,
        sensitive=True,
    )


# --- password reset ----------------------------------------------------------------------

RESET_THROTTLE_MINUTES = 5  # one email per account per window, however often it is asked for


def queue_password_reset(user: User) -> int | None:
    url = external_url("auth.reset", token=tokens.reset_token(user))
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    window = int(clock.utcnow().timestamp()) // (RESET_THROTTLE_MINUTES * 60)
    with force_locale(_locale(user)):
        subject = _("Reset your password")
        message = render(
            "password_reset",
            subject,
            _("Someone asked to reset the password of your account."),
            url=url,
            minutes=minutes,
            forgot_url=external_url("auth.forgot"),
        )
    return outbox.enqueue(
        kind="password_reset",
        dedupe_key=f"password_reset:{user.id}:{window}",
        recipient=user.email,
        user_id=user.id,
        subject=message.subject,
        text=message.text,
        html=message.html,
        sensitive=True,
    )


# --- changing one's sign-in email ------------------------------------------------------


def queue_email_change(user: User) -> int | None:
    """The confirmation link, sent to the new address ``user.pending_email``."""
    new_email = user.pending_email
    url = external_url("auth.confirm_email", token=tokens.email_change_token(user))
    window = int(clock.utcnow().timestamp()) // (RESET_THROTTLE_MINUTES * 60)
    with force_locale(_locale(user)):
        subject = _("Confirm your new email address")
        message = render(
            "email_change",
            subject,
            _("Confirm that this is the address you want to sign in with."),
            url=url,
            hours=tokens.EMAIL_CHANGE_MINUTES // 60,
        )
    return outbox.enqueue(
        kind="email_change",
        dedupe_key=f"email_change:{user.id}:{window}:{new_email}",
        recipient=new_email,
        user_id=user.id,
        subject=message.subject,
        text=message.text,
        html=message.html,
        sensitive=True,
    )


def queue_email_changed_notice(user: User, old_email: str) -> int | None:
    """Tell the old address that the sign-in email changed, in case it was not them."""
    with force_locale(_locale(user)):
        subject = _("Your sign-in email was changed")
        message = render(
            "email_changed",
            subject,
            _("The email address for signing in to your account was changed."),
            forgot_url=external_url("auth.forgot"),
        )
    return outbox.enqueue(
        kind="email_changed",
        dedupe_key=f"email_changed:{user.id}:{int(clock.utcnow().timestamp())}",
        recipient=old_email,
        user_id=user.id,
        subject=message.subject,
        text=message.text,
        html=message.html,
    )


# --- reminders ---------------------------------------------------------------------------


def _when(due_on: date, today: date) -> str:
    if due_on == today:
        return _("today")
    if due_on == today + timedelta(days=1):
        return _("tomorrow")
    return format_date(due_on, "EEEE")  # a weekday: reminders come at most a few days ahead


def reminder_subject(stage: str, due_on: date, today: date) -> str:
    if stage == "due-soon":
        return _("A reading is due %(when)s", when=_when(due_on, today))
    return _("A reading is waiting for you")


def reminder_dedupe_key(assignment_id: int, stage: str) -> str:
    return f"reminder:{assignment_id}:{stage}"


def queue_reminder(assignment: Assignment, user: User, stage: str, today: date) -> int | None:
    with force_locale(_locale(user)):
        subject = reminder_subject(stage, assignment.due_on, today)
        if stage == "due-soon":
            preheader = _(
                "You have a reading to finish by %(date)s.", date=_long(assignment.due_on)
            )
        else:
            preheader = _(
                "A reading was due on %(date)s. It is still there for you.",
                date=_long(assignment.due_on),
            )
        message = render(
            "reminder",
            subject,
            preheader,
            stage=stage,
            url=external_url("learn.index"),
            account_url=external_url("auth.account"),
            off_url=reminders_off_url(user),
        )
    return outbox.enqueue(
        kind="reminder" if stage == "due-soon" else "reminder_overdue",
        dedupe_key=reminder_dedupe_key(assignment.id, stage),
        recipient=user.email,
        user_id=user.id,
        assignment_id=assignment.id,
        subject=message.subject,
        text=message.text,
        html=message.html,
    )


def _long(value: date | datetime) -> str:
    return format_date(value, "long")
