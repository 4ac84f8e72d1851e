"""Clinic pages: followups (registered on the clinic blueprint)."""

from __future__ import annotations

from lms.blueprints.clinic.routes import bp  # noqa: F401
