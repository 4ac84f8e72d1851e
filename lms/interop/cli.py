"""Commands: ``xapi export`` (a JSON array on standard output), ``xapi push`` (for cron),
``xapi status`` and ``xapi enqueue``.

Output never holds a password, and ``status`` shows the reasons sends failed, never a
statement."""

from __future__ import annotations

import json
from datetime import date, datetime, time

import click
from flask import Flask
from flask.cli import AppGroup

from lms import uow
from lms.dates import program_zone
from lms.extensions import db
from lms.interop import lrs, xapi
from lms.models import User
from lms.problems import Problem

xapi_cli = AppGroup(
    "xapi", help="xAPI statements: export, and the push to a learning-record store."
)


@xapi_cli.command("export")
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD (program's zone).")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD, included.")
@click.option("--learner-id", type=int, default=None, help="Only this learner (a user id).")
def export_command(start: str, end: str, learner_id: int | None) -> None:
    """Write the statements of every learner (or one) in the span as a JSON array."""
    try:
        span = xapi.parse_range(start, end)
    except Problem as exc:
        raise click.BadParameter(str(exc)) from exc
    if learner_id is not None:
        if db.session.get(User, learner_id) is None:
            raise click.BadParameter(f"no user with id {learner_id}", param_hint="--learner-id")
        learners = [learner_id]
    else:
        learners = xapi.learners_with_history()
    statements = []
    for offset in range(0, len(learners), 200):
        chunk = learners[offset : offset + 200]
        statements.extend(xapi.statements_for(chunk, span.start, span.end))
    statements.sort(key=xapi.order_key)
    click.echo(json.dumps(statements, ensure_ascii=False, indent=2))


@xapi_cli.command("push")
def push_command() -> None:
    """Send every waiting statement to XAPI_LRS_URL (safe to run on several hosts at once)."""
    try:
        result = lrs.push()
    except lrs.LrsNotConfigured as exc:
        raise click.ClickException(f"{exc}: nothing to send to.") from exc
    click.echo(
        f"Sent {result.sent} statement(s); {result.failed} failed; {result.waiting} waiting."
    )


@xapi_cli.command("status")
def status_command() -> None:
    """Count waiting, sent and failing statements, with the reasons sends failed."""
    found = lrs.status()
    click.echo(f"xAPI outbox: {found.waiting} waiting, {found.sent} sent, {found.failing} failing.")
    for error, count in found.last_errors:
        click.echo(f"  {count} × {error}")


@xapi_cli.command("enqueue")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only events on or after this day (program's zone); default: everything.",
)
def enqueue_command(since: datetime | None) -> None:
    """Put the statements of past events in the outbox (an LRS set up after learning began);
    statements already there are kept as they are."""
    start = None
    if since is not None:
        day: date = since.date()
        start = datetime.combine(day, time.min, tzinfo=program_zone())
    new = xapi.enqueue_history(start)
    uow.commit()
    click.echo(f"Recorded {new} statement(s) for the learning-record store.")


def register(app: Flask) -> None:
    app.cli.add_command(xapi_cli)
