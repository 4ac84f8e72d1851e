"""CSV exports that are safe to open in a spreadsheet, written as a stream.

``csv_chunks`` yields the file as UTF-8 chunks while its rows are still being read: the
first as soon as it holds one row (the reader sees the download start at once), then about
``CHUNK_BYTES`` each, so a response never holds the whole file. ``chunked`` does the same
for any text produced in small pieces (a template rendered as a stream).

On PostgreSQL a large export has the database write its CSV (``copy_chunks``: ``COPY …
TO STDOUT``, cells escaped by ``sql_cell``), byte for byte what ``csv_chunks`` would write,
without a Python step per cell: the caseload and audit exports at program scale.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import Select, func

from lms.extensions import db

#: About how much text one chunk of a streamed body holds (one write to the socket each).
CHUNK_BYTES = 16 * 1024
#: A cell starting with one of these is escaped with a quote (``lms.reports`` escapes the
#: same in SQL).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A spreadsheet must not run what is in a cell (CSV injection)."""
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_STARTS:
        return "'" + text
    return text


def csv_chunks(
    header: Sequence[object],
    rows: Iterable[Sequence[object]],
    *,
    preamble: Iterable[Sequence[str]] = (),
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[bytes]:
    """The CSV file in UTF-8 chunks: ``preamble`` rows first (e.g. the 42 CFR 2.32 notice on
    clinical exports), then ``header``, then ``rows``, every cell of the rows escaped by
    ``csv_cell``. The first chunk goes out with the first row,
    the others once they hold ``chunk_bytes`` of text, the last when the rows end."""
    out = io.StringIO()
    writer = csv.writer(out)
    for line in preamble:
        writer.writerow([csv_cell(v) for v in line])
    writer.writerow(header)
    first = True
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        if first or out.tell() >= chunk_bytes:
            first = False
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue().encode()


def csv_text(
    header: Sequence[object],
    rows: Iterable[Sequence[object]],
    *,
    preamble: Iterable[Sequence[str]] = (),
) -> str:
    """The whole CSV file as one string (small exports, tests)."""
    return b"".join(csv_chunks(header, rows, preamble=preamble)).decode()


def chunked(pieces: Iterable[str], chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Text produced in many small pieces (a template rendered as a stream) as UTF-8 chunks:
    the first piece at once, then about ``chunk_bytes`` per chunk (one write to the socket
    per chunk, not per piece)."""
    buffer: list[str] = []
    size = 0
    first = True
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if first or size >= chunk_bytes:
            first = False
            yield "".join(buffer).encode()
            buffer.clear()
            size = 0
    if buffer:
        yield "".join(buffer).encode()


# --- PostgreSQL writes the CSV ---------------------------------------------------------------

#: ``csv_cell``'s escape as a regular expression (``FORMULA_STARTS`` in a bracket, "-" last).
_FORMULA = "^([" + "".join(sorted(FORMULA_STARTS, key=lambda c: c == "-")) + "])"


def sql_cell(value):
    """``csv_cell`` in SQL (PostgreSQL): text, a formula's first character escaped with a
    quote; NULL for nothing (``COPY`` writes NULL as an empty field, as the csv module writes
    an empty string, and an empty string as ``""``). ``value`` is named once in the SQL, so
    the database computes it once."""
    escaped = func.regexp_replace(func.coalesce(value, ""), _FORMULA, "'\\1")
    return func.nullif(escaped, "")


def _copy(statement: Select) -> Iterator[memoryview]:
    """The rows of ``statement`` as PostgreSQL writes them in CSV, one row per item (each
    ``COPY`` data message is one row), read as they come, in the session's transaction.
    The parameters are bound by psycopg (``COPY`` takes none of its own)."""
    import psycopg

    connection = db.session.connection()
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    params = {}
    for key, value in compiled.params.items():
        # an IN list's values are numbered after their parameter: status_1_1, status_1_2, …
        bind = compiled.binds.get(key)
        if bind is None:
            bind = compiled.binds[key.rsplit("_", 1)[0]]
        process = bind.type.bind_processor(connection.dialect)
        params[key] = process(value) if process else value
    driver = connection.connection.driver_connection
    query = psycopg.ClientCursor(driver).mogrify(str(compiled), params)
    with driver.cursor() as cursor:
        with cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy:
            yield from copy


def copy_chunks(
    head: bytes, statements: Iterable[Select], chunk_bytes: int = CHUNK_BYTES
) -> Iterator[bytes]:
    """PostgreSQL: ``head`` (the preamble and header, from ``csv_chunks``), then the rows of
    each statement as ``COPY`` writes them in CSV — every cell text (``sql_cell``) or NULL —
    with the csv module's line ending, in chunks as ``csv_chunks`` makes them."""
    chunk = bytearray(head)
    first = True
    for statement in statements:
        for row in _copy(statement):
            chunk += row[:-1]
            chunk += b"\r\n"  # a line break inside a (quoted) cell stays as it is
            if first or len(chunk) >= chunk_bytes:
                first = False
                yield bytes(chunk)
                chunk.clear()
    if chunk:
        yield bytes(chunk)
