"""One byte-exact serialization of database values, for hashes that must not drift.

The audit chain hashes each row when it is written and again, read back, when it is verified;
backup checksums hash tables before a backup and after a restore. Both only work if a value
serializes the same whichever database it was read from: SQLite hands back naive datetimes
and PostgreSQL aware ones in the session's time zone, so datetimes become UTC ISO strings with
microseconds; NULL stays ``null`` and is never confused with an empty string. A value of any
other type is refused rather than guessed at.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

Canonical = None | bool | int | float | str


def canonical_value(value: object) -> Canonical:
    """The JSON-ready form of one column value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store times through UTCDateTime")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"no canonical form for {type(value).__name__} value {value!r}")


def canonical_bytes(document: object) -> bytes:
    """Compact, key-sorted, ASCII-only JSON: equal documents give equal bytes."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")
