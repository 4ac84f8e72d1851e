"""Dates and times as people read them: in their own time zone and language.

Stored times are UTC; stored days (due dates) are calendar days. A person's zone is their
account setting (``User.timezone``), else the program's (``PROGRAM_TIMEZONE``). Templates use
the ``day`` and ``local_time`` filters; nothing else formats a date for a reader.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_skeleton, format_time
from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from lms import clock
from lms.config import program_timezone

#: The zones offered on the account page (the program's own is always offered too).
COMMON_ZONES: tuple[tuple[str, object], ...] = (
    ("America/New_York", _l("Eastern time")),
    ("America/Chicago", _l("Central time")),
    ("America/Denver", _l("Mountain time")),
    ("America/Phoenix", _l("Arizona")),
    ("America/Los_Angeles", _l("Pacific time")),
    ("America/Anchorage", _l("Alaska")),
    ("Pacific/Honolulu", _l("Hawaii")),
    ("America/Puerto_Rico", _l("Puerto Rico")),
)


def program_zone() -> ZoneInfo:
    return program_timezone(current_app.config["PROGRAM_TIMEZONE"])


def valid_zone(name: str | None) -> ZoneInfo | None:
    """The zone of that name, or None for an empty or unknown name."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zone_for(user=None) -> ZoneInfo:
    """The reader's zone: their setting, else the program's. Without a user, the signed-in
    one (if any)."""
    if user is None and has_request_context():
        from flask_login import current_user

        user = current_user if current_user.is_authenticated else None
    return valid_zone(getattr(user, "timezone", None)) or program_zone()


def _locale(locale: str | None) -> str:
    if locale:
        return locale
    return str((get_locale() if has_request_context() else None) or "en")


def today_for(user=None) -> date:
    """Today's date where the reader is."""
    return clock.utcnow().astimezone(zone_for(user)).date()


def day_text(
    value: date | datetime | None,
    *,
    user=None,
    locale: str | None = None,
    year: bool = False,
) -> str:
    """A day as a person says it: "Tue, Dec 1" (the year only when it is not this year, or
    always with ``year``, as on a certificate that is read years later). A UTC time is first
    moved to the reader's zone, so it falls on their day."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(zone_for(user)).date()
    this_year = today_for(user).year
    # Skeletons, not patterns: each language orders the parts its own way ("Tue, Dec 1",
    # "mar, 1 dic").
    skeleton = "MMMEd" if value.year == this_year and not year else "yMMMEd"
    return _formatted_day(skeleton, value, _locale(locale))


@lru_cache(maxsize=4096)
def _formatted_day(skeleton: str, value: date, locale: str) -> str:
    """Babel's formatting of a calendar day, kept: a dashboard shows dozens of the same few
    days, and each took Babel longer than the rest of its row."""
    return format_skeleton(skeleton, value, locale=locale)


def time_text(at: datetime | None, *, user=None, locale: str | None = None) -> str:
    """A stored UTC time in the reader's zone: "Tue, Dec 1, 9:14 AM EST" ("mar, 1 dic, 9:14
    EST" in Spanish)."""
    if at is None:
        return ""
    zone = zone_for(user)
    local = at.astimezone(zone)
    lang = _locale(locale)
    skeleton = "MMMEd" if local.year == today_for(user).year else "yMMMEd"
    day = format_skeleton(skeleton, local, locale=lang)
    return f"{day}, {format_time(local, 'short', locale=lang)} {local.tzname()}"


def zone_choices(current: str | None = None) -> list[tuple[str, str]]:
    """(value, label) pairs for the account page: "" is the program's zone."""
    program = current_app.config["PROGRAM_TIMEZONE"]
    choices = [("", str(_l("The program's time zone (%(zone)s)", zone=program)))]
    names = [name for name, _label in COMMON_ZONES]
    choices += [(name, f"{label} ({name})") for name, label in COMMON_ZONES]
    for extra in (program, current):
        if extra and extra not in names and valid_zone(extra):
            choices.append((extra, extra))
            names.append(extra)
    return choices
