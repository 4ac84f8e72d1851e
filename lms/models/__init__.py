"""Typed SQLAlchemy models, shared by every blueprint."""

from lms.models.audit import AuditEvent
from lms.models.user import Role, User, normalize_email

__all__ = ["AuditEvent", "Role", "User", "normalize_email"]
