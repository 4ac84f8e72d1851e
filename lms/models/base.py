"""Shared column types."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, String, TypeDecorator

from lms import clock, sealing


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use lms.clock.utcnow()")
        if dialect.name == "sqlite":
            return value.astimezone(clock.UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):
        return clock.aware(value)


class SealedString(TypeDecorator):
    """Text sealed at rest (``lms.sealing``): written sealed, read as the plain value. For
    the two-step sign-in secrets only; needs the app (its ``SECRET_KEY``)."""

    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect):
        return None if value is None else sealing.seal(value)

    def process_result_value(self, value: str | None, dialect):
        return None if value is None else sealing.unseal(value)


class StrEnumColumn(TypeDecorator):
    """A ``StrEnum`` stored as its plain text value (VARCHAR, so the schema and existing
    rows are unchanged). Reads give the enum member; writing a value the enum does not know
    is refused before it reaches the database, so a typo cannot store an attendance of
    "presnt" that every count would silently skip."""

    impl = String
    cache_ok = True

    def __init__(self, enum_type: type[enum.StrEnum], length: int):
        super().__init__(length)
        self.enum_type = enum_type

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return self.enum_type(value).value  # ValueError for anything the enum does not know

    def process_result_value(self, value, dialect):
        return self.enum_type(value) if value is not None else None
