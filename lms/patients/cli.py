"""Command: ``patients import FILE [--apply]``, the roster import (``lms.patients.roster``)
from the command line. A dry run by default: it prints the plan line by line and changes
nothing; ``--apply`` applies it (audited as the admin pages audit it, with no actor)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from lms import uow
from lms.patients import roster
from lms.problems import Problem

patients_cli = AppGroup("patients", help="Patients: bring them in from the program's roster.")


def describe(line: roster.LinePlan) -> str:
    """One line of the plan as the command prints it (names and values never shown)."""
    head = f"line {line.line} [{line.record_number or '-'}]: {line.action}"
    if line.action == roster.REFUSED:
        return head + "\n" + "\n".join(f"    - {reason}" for reason in line.reasons)
    if line.action == roster.UPDATE:
        return f"{head} ({', '.join(line.fields)})"
    if line.action == roster.CREATE and line.new_family:
        return f"{head} (with {line.new_family} family member(s))"
    return head


@patients_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--apply", "apply_it", is_flag=True, help="Apply the changes (default: dry run).")
def import_command(path: Path, apply_it: bool) -> None:
    """Read a roster CSV and print what would happen to each line; --apply applies it."""
    with path.open("rb") as handle:
        data = handle.read(roster.MAX_BYTES + 1)
    try:
        _text, plan = roster.preview(data)
    except roster.RosterFileProblem as exc:
        raise click.ClickException(str(exc)) from None
    for line in plan.lines:
        click.echo(describe(line))
    counts = plan.counts
    click.echo(" ".join(f"{action}={counts[action]}" for action in roster.ACTIONS))
    if plan.new_family:
        click.echo(
            f"{plan.new_family} family member(s) would be added; each waits for the patient's "
            "consent before they can be invited."
        )
    if not apply_it:
        click.echo("Dry run: nothing was changed. Run again with --apply to apply it.")
        return
    if not plan.changes:
        click.echo("Nothing to change.")
        return
    row, _plan = roster.record_upload(None, path.name, data)
    try:
        _applied, done = roster.apply_import(None, row)
    except Problem as exc:
        raise click.ClickException(str(exc)) from None
    uow.commit()
    click.echo(f"Applied: {done['create']} created, {done['update']} updated.")


def register(app: Flask) -> None:
    app.cli.add_command(patients_cli)
