"""The check command's output and exit code, and the Flask hook (init_app / get_library)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from lms.content import CheckReport, ContentError, Problem, format_report, get_library, init_app
from lms.content.cli import courses_cli
from tests.content_fixtures import good_tree, line_of, module_md, write_tree

REPO = Path(__file__).resolve().parents[1]
BROKEN = module_md(extra="titel: Oops\n")
TITEL = f":{line_of(BROKEN, 'titel:')}: unknown key 'titel' in front matter"


def broken(root: Path) -> Path:
    good_tree(root)
    return write_tree(root, {"family/understanding-triggers.md": BROKEN})


def test_format_report() -> None:
    report = CheckReport(
        problems=[
            Problem("courses/a/x.md", 12, "question 'q' has no correct choice"),
            Problem("courses/a/y.md", 1, "module is not listed", "warning"),
        ],
        grades={"courses/a/y.md": 5.25, "courses/a/x.md": 7.0},
        module_count=2,
        course_count=1,
        path_count=0,
    )
    assert format_report(report) == [
        "courses/a/x.md:12: question 'q' has no correct choice",
        "courses/a/y.md:1: warning: module is not listed",
        "  grade  7.0  courses/a/x.md",
        "  grade  5.2  courses/a/y.md",
        "2 modules in 1 course, 0 paths: 1 error, 1 warning; average reading grade 6.1",
    ]


def test_format_report_for_an_empty_tree() -> None:
    assert format_report(CheckReport()) == ["0 modules in 0 courses, 0 paths: 0 errors, 0 warnings"]


def run_module(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "lms.content", "check", "courses"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python_m_check_fails_on_a_broken_tree(tmp_path: Path) -> None:
    broken(tmp_path / "courses")
    result = run_module(tmp_path)
    assert result.returncode == 1, result.stderr
    assert f"courses/family/understanding-triggers.md{TITEL}" in result.stdout
    assert result.stdout.rstrip().endswith(
        "average reading grade 0.2; a no-reading guesser passes 0 of 3 checks (mean 40%)"
    )
    assert "1 error" in result.stdout.splitlines()[-1]


def test_python_m_check_passes_on_a_good_tree(tmp_path: Path) -> None:
    good_tree(tmp_path / "courses")
    result = run_module(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "  grade  0.2  courses/family/healthy-coping.md" in result.stdout
    assert result.stdout.splitlines()[-1].startswith(
        "3 modules in 2 courses, 1 path: 0 errors, 0 warnings"
    )


def make_app(courses: Path, **config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(COURSES_DIR=str(courses), **config)
    app.cli.add_command(courses_cli)
    return app


def test_flask_courses_check_uses_courses_dir(tmp_path: Path) -> None:
    app = make_app(good_tree(tmp_path / "courses"))
    result = app.test_cli_runner().invoke(args=["courses", "check"])
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.output


def test_flask_courses_check_takes_a_directory_and_exits_1(tmp_path: Path) -> None:
    app = make_app(tmp_path / "elsewhere")
    bad = broken(tmp_path / "courses")
    result = app.test_cli_runner().invoke(args=["courses", "check", str(bad)])
    assert result.exit_code == 1
    assert TITEL in result.output


def test_init_app_stores_the_library(tmp_path: Path) -> None:
    app = make_app(good_tree(tmp_path / "courses"))
    init_app(app)
    with app.app_context():
        library = get_library()
        assert "my-plan" in library
        assert library.problems == ()
        assert get_library() is library  # loaded once, not per call


def test_init_app_in_production_refuses_bad_content(tmp_path: Path) -> None:
    app = make_app(broken(tmp_path / "courses"), LMS_ENV="production")
    with pytest.raises(ContentError) as caught:
        init_app(app)
    assert f"understanding-triggers.md{TITEL}" in str(caught.value)


def test_init_app_in_development_logs_and_keeps_running(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(broken(tmp_path / "courses"), LMS_ENV="development")
    with caplog.at_level(logging.ERROR, logger="lms.content"):
        init_app(app)
    with app.app_context():
        library = get_library()
    assert library.modules() == ()
    assert library.module("my-plan") is None
    assert [p.message.split(";")[0] for p in library.problems] == [
        "unknown key 'titel' in front matter"
    ]
    assert "unknown key 'titel'" in caplog.text
