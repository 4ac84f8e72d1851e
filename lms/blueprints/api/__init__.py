"""The read-only JSON API for staff integrations, under ``/api/v1/``.

Only a personal access token (``Authorization: Bearer …``, ``lms.interop.tokens``) opens it:
a browser's session cookie is neither read nor written here (``routes.NoSessionHere``), so a
signed-in person's browser cannot be made to call it, and CSRF does not apply. Errors are
problem documents (RFC 9457, ``problems``), the OpenAPI document is data (``openapi``).
"""

from __future__ import annotations

PREFIX = "/api/v1"


def under_api(path: str) -> bool:
    """Whether an address belongs to the API (its errors are JSON, not pages)."""
    return path == PREFIX or path.startswith(PREFIX + "/")
