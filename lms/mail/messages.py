"""Each kind of email: its discreet subject, its plain-text and HTML bodies, its dedupe key.

Bodies come from ``templates/email/<kind>.txt`` and ``.html`` (reminder digests and "new
reading" emails share ``reminder``). They greet nobody by name, name no patient, module,
diagnosis or program type, and link to the site, where the reader signs in. An invitation's
body names the clinician who sent it and the care team, so the reader knows who it is from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from babel.lists import format_list
from flask import current_app
from flask_babel import force_locale, format_date, get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from lms import access, clock
from lms.config import DEV_SITE_URL
from lms.extensions import db
from lms.mail import outbox, tokens
from lms.models import CareTeamMember, Invitation, Role, User


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
    """Render a message's bodies (no request needed: context processors are not used), in
    the language of the ``force_locale`` around the call: the HTML says which (``lang``)."""
    env = current_app.jinja_env
    context = {
        "lang": str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
        "subject": subject,
        "preheader": preheader,
        "program_name": current_app.config["PROGRAM_NAME"],
        "site_url": site_url(),
        **context,
    }
    text = env.get_template(f"email/{kind}.txt").render(**context)
    html = env.get_template(f"email/{kind}.html").render(**context)
    return Rendered(subject, text.strip() + "\n", html)


def recipient_locale(user: User | None = None, invitation: Invitation | None = None) -> str:
    """The one rule for an email's language, subject and body: the recipient's account
    setting (``User.locale``), else the language of their invitation (the one being sent,
    or the one they joined by), else the program's default."""
    languages = current_app.config["LANGUAGES"]
    if user is not None and user.locale in languages:
        return user.locale
    if invitation is None and user is not None:
        invitation = db.session.scalars(
            select(Invitation)
            .where(Invitation.used_by_id == user.id, Invitation.locale.is_not(None))
            .order_by(Invitation.id.desc())
            .limit(1)
        ).first()
    if invitation is not None and invitation.locale in languages:
        return invitation.locale
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def _locale(user: User | None) -> str:
    return recipient_locale(user)


# --- invitations -------------------------------------------------------------------------


def invitation_key(invitation_id: int) -> str:
    """One email per invitation (a new invitation is a new email)."""
    return f"invitation:{invitation_id}"


def _inviters(invitation: Invitation) -> tuple[str | None, list[str]]:
    """Who sent the invitation, and the patient's care team (clinicians' names only: the
    email names no patient)."""
    sender = db.session.get(User, invitation.created_by_id) if invitation.created_by_id else None
    team = db.session.scalars(
        select(User.display_name)
        .join(CareTeamMember, CareTeamMember.clinician_id == User.id)
        .where(
            CareTeamMember.patient_id == invitation.patient_id,
            User.role == Role.CLINICIAN,
            User.active.is_(True),
            # The care team now: a colleague's cover that has ended is no longer on it.
            access.current_member_clause(clock.today()),
        )
        .order_by(CareTeamMember.id)
    ).all()
    return (sender.display_name if sender is not None else None), list(team)


def queue_invitation(invitation: Invitation, token: str) -> int | None:
    """Record the invitation email (in the caller's transaction). The body names the clinician
    who sent it and the care team; the subject names nobody."""
    url = external_url("invite.accept", token=token)
    inviter, team = _inviters(invitation)
    with force_locale(recipient_locale(invitation=invitation)):
        subject = _("You're invited to set up your account")
        message = render(
            "invitation",
            subject,
            _("Set up your account with the link inside."),
            url=url,
            expires_on=format_date(invitation.expires_at.date(), "long"),
            inviter=inviter,
            care_team=format_list(team, locale=str(get_locale() or "en")) if team else None,
            for_patient=invitation.role == Role.PATIENT,
        )
    return outbox.enqueue(
        kind="invitation",
        dedupe_key=invitation_key(invitation.id),
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


# --- reminders and new readings -----------------------------------------------------------
#
# Both name only how many readings there are (and, for readings due on one coming day, that
# day), never which: the same words whoever reads the subject over a shoulder.

REMINDER_DIGEST = "reminder_digest"
NEW_READING = "new_reading"


def _when(due_on: date, today: date) -> str:
    if due_on == today:
        return _("today")
    if due_on == today + timedelta(days=1):
        return _("tomorrow")
    if due_on < today + timedelta(days=7):
        return format_date(due_on, "EEEE")  # a weekday: unambiguous within the coming week
    return _("on %(date)s", date=_long(due_on))


def reminder_subject(due_dates: list[date], today: date) -> str:
    """How many readings are waiting; the day they are due when all are due on one coming day
    ("A reading is due tomorrow", "3 readings are due Friday", "2 readings are waiting for
    you")."""
    count = len(due_dates)
    if due_dates and len(set(due_dates)) == 1 and due_dates[0] >= today:
        return ngettext(
            "A reading is due %(when)s",
            "%(num)d readings are due %(when)s",
            count,
            when=_when(due_dates[0], today),
        )
    return ngettext("A reading is waiting for you", "%(num)d readings are waiting for you", count)


def reminder_digest_key(user_id: int, today: date) -> str:
    """One reminder email per person per day, however many hosts run the command."""
    return f"{REMINDER_DIGEST}:{user_id}:{today.isoformat()}"


def render_reminder_digest(user: User, due_dates: list[date], today: date) -> Rendered:
    """The reminder digest: how many readings are due soon and how many are overdue."""
    soon = sorted(d for d in due_dates if d >= today)
    late = [d for d in due_dates if d < today]
    with force_locale(_locale(user)):
        lines = []
        if soon:
            lines.append(
                ngettext(
                    "%(num)d reading is due %(when)s.",
                    "%(num)d readings are due soon, the first %(when)s.",
                    len(soon),
                    when=_when(soon[0], today),
                )
            )
        if late:
            lines.append(
                ngettext(
                    "%(num)d reading is past its due date. It is still there for you.",
                    "%(num)d readings are past their due date. They are still there for you.",
                    len(late),
                )
            )
        return _render_readings(user, reminder_subject(due_dates, today), lines, len(due_dates))


def queue_reminder_digest(user: User, due_dates: list[date], today: date) -> int | None:
    """Record today's one reminder email for ``user`` (None: already recorded today)."""
    message = render_reminder_digest(user, due_dates, today)
    return outbox.enqueue(
        kind=REMINDER_DIGEST,
        dedupe_key=reminder_digest_key(user.id, today),
        recipient=user.email,
        user_id=user.id,
        subject=message.subject,
        text=message.text,
        html=message.html,
    )


def render_new_reading(user: User, due_dates: list[date | None]) -> Rendered:
    """What a care team just assigned: how many readings, and when the first is due."""
    count = len(due_dates)
    dated = sorted(d for d in due_dates if d is not None)
    with force_locale(_locale(user)):
        subject = ngettext(
            "A new reading is ready for you", "%(num)d new readings are ready for you", count
        )
        lines = [
            ngettext(
                "Your care team has added a reading for you.",
                "Your care team has added %(num)d readings for you.",
                count,
            )
        ]
        if dated:
            lines.append(
                ngettext(
                    "It is due on %(date)s.",
                    "The first is due on %(date)s.",
                    count,
                    date=_long(dated[0]),
                )
            )
        return _render_readings(user, subject, lines, count)


def new_reading_key(user_id: int, assignment_ids: list[int]) -> str:
    """One email per person per assigning: named by the first reading it announces."""
    return f"{NEW_READING}:{user_id}:{min(assignment_ids)}"


def queue_new_reading(
    user: User, assignment_ids: list[int], due_dates: list[date | None]
) -> int | None:
    message = render_new_reading(user, due_dates)
    return outbox.enqueue(
        kind=NEW_READING,
        dedupe_key=new_reading_key(user.id, assignment_ids),
        recipient=user.email,
        user_id=user.id,
        subject=message.subject,
        text=message.text,
        html=message.html,
    )


def _render_readings(user: User, subject: str, lines: list[str], count: int) -> Rendered:
    """Both kinds share one pair of templates (``reminder``) and its reminders-off footer."""
    return render(
        "reminder",
        subject,
        " ".join(lines),
        lines=lines,
        sign_in=ngettext(
            "Sign in to read it, at your own pace:",
            "Sign in to read them, at your own pace:",
            count,
        ),
        url=external_url("learn.index"),
        account_url=external_url("auth.account"),
        off_url=reminders_off_url(user),
    )


def _long(value: date | datetime) -> str:
    return format_date(value, "long")
