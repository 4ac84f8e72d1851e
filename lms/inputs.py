"""Reading what people send: ids in URLs, page numbers and choices in query strings.

Whatever arrives, the answer is a page or a 404, never an error page: ids are plain ASCII
digits within the database's INTEGER range; a page number or a filter that makes no sense
falls back to its default.
"""

from __future__ import annotations

from collections.abc import Collection

from flask import request
from werkzeug.routing import BaseConverter, ValidationError

MAX_ID = 2**31 - 1  # INTEGER on PostgreSQL; a larger id would make the query fail
MAX_PAGE = 100_000


class IdConverter(BaseConverter):
    """``<id:name>``: 1 to 2**31-1 written in ASCII digits without leading zeros; anything
    else (too large, ``²``, ``٣``, ``007``, ``-1``) does not match, so the URL is a 404."""

    regex = r"[1-9][0-9]{0,9}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))


def page_number(name: str = "page") -> int:
    """The page of a list asked for in the query string: 1 unless it is a whole number
    (``²``, ``1e3`` or a 5,000-digit number are not), clamped to 1..``MAX_PAGE``."""
    number = request.args.get(name, 1, type=int)  # a ValueError gives the default
    return min(max(number, 1), MAX_PAGE)


def choice(name: str, choices: Collection[str], default: str) -> str:
    """A query-string value that must be one of ``choices``; anything else is ``default``."""
    value = request.args.get(name, default)
    return value if value in choices else default
