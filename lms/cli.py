"""Flask commands: ``users``, ``demo``, ``audit``, ``backup`` and (from the course library)
``courses``."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from lms import uow
from lms.accounts import services
from lms.accounts.passwords import password_problems
from lms.extensions import db
from lms.models import Role, User, normalize_email

users_cli = AppGroup("users", help="Manage accounts.")
audit_cli = AppGroup("audit", help="The audit trail.")
backup_cli = AppGroup("backup", help="Back up and restore the database; compare its tables.")

DEMO_ACCOUNTS = (
    ("admin@example.org", "Alex Admin", Role.ADMIN),
    ("clinician@example.org", "Casey Rivera, LCSW", Role.CLINICIAN),
    ("clinician2@example.org", "Jordan Lee, LPC", Role.CLINICIAN),
    ("patient@example.org", "Sam Taylor", Role.PATIENT),
    ("family@example.org", "Pat Taylor", Role.FAMILY),
)

_WORDS = (
    "maple river candle harbor velvet meadow copper lantern orchard pebble willow sparrow "
    "thunder saffron glacier ember juniper compass cobalt marble violet canyon tundra"
).split()


def _check_password(password: str, email: str) -> None:
    problems = password_problems(
        password, email=email, program_name=current_app.config["PROGRAM_NAME"]
    )
    if problems:
        raise click.ClickException(" ".join(problems))


@users_cli.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--email", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(role: str, email: str, display_name: str, password_stdin: bool) -> None:
    """Create an account (the password is prompted for, or read from standard input)."""
    email = normalize_email(email)
    if "@" not in email:
        raise click.ClickException(f"{email!r} is not an email address")
    if db.session.scalars(User.by_email(email)).first() is not None:
        raise click.ClickException(f"an account for {email} already exists")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _check_password(password, email)
    services.create_user(email=email, display_name=display_name, role=role, password=password)
    uow.commit()
    click.echo(f"Created {role} account {email}")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate_user_command(email: str) -> None:
    """Deactivate an account; every session it has ends at once."""
    user = db.session.scalars(User.by_email(email)).first()
    if user is None:
        raise click.ClickException(f"no account for {normalize_email(email)}")
    services.set_active(user, False)
    uow.commit()
    click.echo(f"Deactivated {user.email}")


@users_cli.command("reset-two-step")
@click.argument("email")
def reset_two_step_command(email: str) -> None:
    """Turn off two-step sign-in after a lost phone (audited; signs the person out)."""
    from lms.accounts import mfa

    user = db.session.scalars(User.by_email(email)).first()
    if user is None:
        raise click.ClickException(f"no account for {normalize_email(email)}")
    if not user.mfa_enabled and not user.totp_pending_secret:
        click.echo(f"{user.email} has no two-step sign-in; nothing changed")
        return
    mfa.disable(user, actor=None)
    uow.commit()
    click.echo(f"Two-step sign-in of {user.email} was reset; they set it up at next sign-in")


def demo_password() -> str:
    while True:
        words = [secrets.choice(_WORDS) for _ in range(3)]
        candidate = "-".join(words) + f"-{secrets.randbelow(90) + 10}"
        if not password_problems(candidate, program_name=current_app.config["PROGRAM_NAME"]):
            return candidate


@click.command("demo")
@click.option("--password", help="Password for every demo account (default: a new one, printed).")
@click.option(
    "--scale",
    type=click.IntRange(0, 5000),
    default=0,
    help="Also add this many generated families (3 members each) for benchmarks.",
)
@with_appcontext
def demo_command(password: str | None, scale: int) -> None:
    """Create or refresh demo data (safe to run again) and print every account."""
    from lms import demo

    password = password or demo_password()
    _check_password(password, "")
    demo.build(password)
    uow.commit()
    if scale:
        counts = demo.build_scale(scale, password)
        click.echo(
            f"Added {counts['families']} families, {counts['learners']} learners, "
            f"{counts['progress_rows']} progress rows (modules, sections read, check attempts)."
        )
    click.echo("Demo accounts (all share one password):")
    for email, name, role in DEMO_ACCOUNTS:
        click.echo(f"  {role.value:<10} {email:<26} {name}")
    click.echo("  family     dana.chen@example.org      Dana Chen (consent withdrawn)")
    click.echo(f"Password: {password}")
    click.echo("Open http://127.0.0.1:5000/ and sign in with any account above.")


@audit_cli.command("verify")
def audit_verify_command() -> None:
    """Check the audit trail's hash chain; exit 1 naming the first row edited or removed.

    Run it from cron and keep the printed line outside the database: whoever can rewrite the
    whole table and its chain head can only be caught against a hash kept elsewhere.
    """
    from lms.audit.chain import verify

    check = verify(db.session)
    if not check.intact:
        click.echo(check.message(), err=True)
        raise click.exceptions.Exit(1)
    click.echo(check.message())


@click.command("tidy")
@with_appcontext
def tidy_command() -> None:
    """For cron, daily: forget what is no longer needed. One-time form claims older than any
    session can live (``submissions.prune``), and roster previews not applied within their
    24 hours (``patients.roster.forget_stale``). Safe on several hosts at once."""
    from lms import submissions
    from lms.patients import roster

    claims = submissions.prune()
    previews = roster.forget_stale()
    uow.commit()
    click.echo(f"Forgot {claims} form claims and {previews} roster previews.")


@backup_cli.command("create")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_create_command(path: Path) -> None:
    """Write a backup to PATH while the app keeps running (SQLite: the online backup API;
    PostgreSQL: pg_dump --format=custom of the app's schema)."""
    from lms import backup

    try:
        click.echo(backup.create(db.engine, path))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
def backup_restore_command(path: Path, force: bool) -> None:
    """Replace the database with the backup at PATH (refused over data unless --force)."""
    from alembic.script import ScriptDirectory

    from lms import backup

    db.session.remove()
    try:
        click.echo(backup.restore(db.engine, path, force=force))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    config = current_app.extensions["migrate"].migrate.get_config()
    heads = tuple(ScriptDirectory.from_config(config).get_heads())
    note = backup.migration_note(db.engine, heads)
    if note:
        click.echo(note)
    click.echo("Compare `flask --app wsgi backup checksum` with the one taken before the backup,")
    click.echo("and run `flask --app wsgi audit verify`.")


@backup_cli.command("checksum")
def backup_checksum_command() -> None:
    """Print each table's row count and a checksum of its rows: the same data prints the same
    lines, so compare the output from before a backup with the one after a restore."""
    from lms import backup

    with db.engine.connect() as connection:
        for line in backup.checksum_lines(connection):
            click.echo(line)


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(tidy_command)
    from lms.content.cli import courses_cli

    app.cli.add_command(courses_cli)
    from lms.mail.cli import register as register_mail_cli

    register_mail_cli(app)
    from lms.interop.cli import register as register_xapi_cli

    register_xapi_cli(app)
    from lms.i18n_cli import register as register_translate_cli

    register_translate_cli(app)
    from lms.patients.cli import register as register_patients_cli

    register_patients_cli(app)
