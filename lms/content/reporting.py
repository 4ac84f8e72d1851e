"""Plain-text report of a check, shared by ``flask courses check`` and ``python -m lms.content``.

Pure (no Flask, no printing) so its exact output is tested directly.
"""

from __future__ import annotations

from .language import inflesz_band
from .problems import CheckReport


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def format_report(report: CheckReport) -> list[str]:
    """Lines to print: every problem as ``path:line: message``, each English module's
    grade, each Spanish module's INFLESZ score and band, then a summary.

    Warnings read ``path:line: warning: message`` so editors still jump to the line.
    """
    lines = []
    for problem in report.problems:
        prefix = "" if problem.is_error else "warning: "
        lines.append(f"{problem.path}:{problem.line}: {prefix}{problem.message}")
    for path, grade in sorted(report.grades.items()):
        lines.append(f"  grade {grade:4.1f}  {path}")
    for path, score in sorted(report.inflesz.items()):
        lines.append(f"  inflesz {score:5.1f}  {inflesz_band(score):14}  {path}")
    for path, score in sorted(report.guesser.items()):
        verdict = "PASSES" if score.passed else "fails"
        lines.append(
            f"  guesser {score.correct:2d}/{score.total:<2d} {score.score:4.0%} {verdict:6}  {path}"
        )
    summary = (
        f"{_plural(report.module_count, 'module')} in {_plural(report.course_count, 'course')}, "
        f"{_plural(report.path_count, 'path')}: {_plural(len(report.errors), 'error')}, "
        f"{_plural(len(report.warnings), 'warning')}"
    )
    average = report.average_grade
    if average is not None:
        summary += f"; average reading grade {average:.1f}"
    mean = report.mean_guesser_score
    if mean is not None:
        passed = sum(1 for score in report.guesser.values() if score.passed)
        summary += (
            f"; a no-reading guesser passes {passed} of {len(report.guesser)} checks "
            f"(mean {mean:.0%})"
        )
    if report.inflesz:
        scores = report.inflesz.values()
        mean_score = sum(scores) / len(scores)
        summary += (
            f"; {_plural(len(scores), 'Spanish translation')}, average INFLESZ "
            f"{mean_score:.1f} ({inflesz_band(mean_score)})"
        )
    lines.append(summary)
    return lines


def exit_code(report: CheckReport) -> int:
    """1 if anything must be fixed (errors), else 0: warnings do not fail CI."""
    return 1 if report.errors else 0
