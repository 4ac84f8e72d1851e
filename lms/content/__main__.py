"""``python -m lms.content check DIR``: the course check without a Flask app or database.

For content writers who only want to know whether their Markdown is right.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .loader import check_library
from .reporting import exit_code, format_report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lms.content", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check courses and print problems and grades")
    check.add_argument("directory", nargs="?", default="courses", type=Path)
    args = parser.parse_args(argv)
    report = check_library(args.directory)
    print("\n".join(format_report(report)))
    return exit_code(report)


if __name__ == "__main__":
    sys.exit(main())
