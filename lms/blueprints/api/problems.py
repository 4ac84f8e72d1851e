"""Errors of the API as problem documents (RFC 9457, ``application/problem+json``): a
``type``, a short ``title``, the ``status`` and a ``detail`` an integrator can act on.

The API speaks to programs written by integrators, so its messages are English and never
translated; nothing in them comes from the database.
"""

from __future__ import annotations

import json

from flask import Response
from werkzeug.exceptions import HTTPException

MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    413: "Request too large",
    429: "Too many requests",
    500: "Internal server error",
}

DETAILS = {
    400: "The request could not be understood.",
    401: (
        "Send a valid access token as 'Authorization: Bearer <token>'. A token that is "
        "unknown, expired or revoked, or whose account is deactivated, is refused the same way."
    ),
    404: "There is nothing at this address that this token may read.",
    405: "The API is read-only: use GET.",
    413: "The request is too large.",
    429: "This token made too many calls. Wait, then try again.",
    500: "Something went wrong on our side. Nothing was changed; try again later.",
}


def problem(status: int, detail: str | None = None, *, headers: dict | None = None) -> Response:
    """One problem document. Unknown statuses are reported as 400 or 500."""
    if status not in TITLES:
        status = 400 if 400 <= status < 500 else 500
    body = {
        "type": "about:blank",
        "title": TITLES[status],
        "status": status,
        "detail": detail or DETAILS[status],
    }
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_http_error(error: HTTPException) -> Response:
    """An HTTP error raised on the way (routing, the rate limit, a refused request) as a
    problem document, keeping the headers that matter to a client (``Allow``,
    ``Retry-After``)."""
    code = error.code or 500
    kept = {}
    for name, value in error.get_headers():
        if name.lower() in ("allow", "retry-after"):
            kept[name] = value
    if code == 429 and "Retry-After" not in kept:
        kept["Retry-After"] = "60"
    return problem(code, headers=kept)


class ApiProblem(Exception):
    """Raised by the API's views: answered as a problem document with this status and
    detail."""

    def __init__(self, status: int, detail: str | None = None) -> None:
        super().__init__(detail or DETAILS.get(status, ""))
        self.status = status
        self.detail = detail
