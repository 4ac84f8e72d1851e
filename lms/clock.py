"""The app's one source of "now", in UTC.

Everything time-dependent (session timeouts, lockouts, expiry, due dates) asks this module, so
tests can move the clock forward instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

__all__ = ["UTC", "advance", "aware", "reset", "today", "utcnow"]

_offset = timedelta(0)


def utcnow() -> datetime:
    """Timezone-aware current time in UTC (plus any offset a test has applied)."""
    return datetime.now(UTC) + _offset


def today() -> date:
    return utcnow().date()


def advance(delta: timedelta) -> None:
    """Move the clock forward (tests only)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)


def aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; treat stored values as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
