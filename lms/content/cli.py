"""``flask courses check [DIR]``: validate the course files, as CI and content writers do."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from .loader import check_library
from .reporting import exit_code, format_report

courses_cli = AppGroup("courses", help="Work with the course library in courses/.")


@courses_cli.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def check_command(directory: Path | None) -> None:
    """Check every course and module; print path:line problems, each English module's reading
    grade and each Spanish translation's INFLESZ score and band.

    Exits 1 if there is any error, so CI fails; warnings are printed but pass.
    """
    root = directory or Path(current_app.config.get("COURSES_DIR") or "courses")
    report = check_library(root)
    for line in format_report(report):
        click.echo(line)
    raise click.exceptions.Exit(exit_code(report))
