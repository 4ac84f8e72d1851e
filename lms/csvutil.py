"""CSV exports that are safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence


def csv_cell(value: object) -> str:
    """A spreadsheet must not run what is in a cell (CSV injection)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_text(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    preamble: Iterable[Sequence[str]] = (),
) -> str:
    """``preamble`` rows come first (e.g. the 42 CFR 2.32 notice on clinical exports)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for line in preamble:
        writer.writerow([csv_cell(v) for v in line])
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()
