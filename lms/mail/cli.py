"""Commands: ``reminders send`` (for cron) and ``mail flush`` / ``mail status`` / ``mail test``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from lms.extensions import db
from lms.models import Outbox

reminders_cli = AppGroup("reminders", help="Due-date reminder emails.")
mail_cli = AppGroup("mail", help="The outbox of outgoing email.")


@reminders_cli.command("send")
def reminders_send_command() -> None:
    """Record today's due-soon and overdue reminders and send every unsent email.

    Safe to run from cron on several hosts at once: each reminder is sent once.
    """
    from lms.mail.reminders import send_reminders

    run = send_reminders()
    click.echo(run.summary())


@mail_cli.command("flush")
def mail_flush_command() -> None:
    """Send every unsent email in the outbox (retrying earlier failures)."""
    from lms.mail.outbox import flush

    result = flush()
    click.echo(
        f"Sent {result.sent} email(s); {result.failed} failed; {result.waiting} waiting"
        + (f"; {result.given_up} given up" if result.given_up else "")
        + (f"; {result.dropped_total} no longer due, not sent" if result.dropped_total else "")
        + "."
    )


@mail_cli.command("status")
def mail_status_command() -> None:
    """Count sent and unsent emails, and show the latest errors (no addresses, no bodies)."""
    sent = db.session.scalar(select(func.count(Outbox.id)).where(Outbox.sent_at.is_not(None)))
    unsent = db.session.scalar(select(func.count(Outbox.id)).where(Outbox.sent_at.is_(None)))
    click.echo(f"Outbox: {sent} sent, {unsent} unsent.")
    failing = db.session.scalars(
        select(Outbox)
        .where(Outbox.sent_at.is_(None), Outbox.last_error.is_not(None))
        .order_by(Outbox.id.desc())
        .limit(10)
    )
    for row in failing:
        click.echo(f"  #{row.id} {row.kind}: {row.attempts} tries; {row.last_error}")


def register(app: Flask) -> None:
    app.cli.add_command(reminders_cli)
    app.cli.add_command(mail_cli)
