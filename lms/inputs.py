"""Reading what people send: ids in URLs.

Whatever arrives, the answer is a page or a 404, never an error page: ids are plain ASCII
digits within the database's INTEGER range.
"""

from __future__ import annotations

from werkzeug.routing import BaseConverter, ValidationError

MAX_ID = 2**31 - 1  # INTEGER on PostgreSQL; a larger id would make the query fail


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
