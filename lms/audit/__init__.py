"""Writing the audit trail: one function every action calls."""

from __future__ import annotations

import re

from flask import g, has_request_context, request
from flask_login import current_user

from lms.extensions import db
from lms.models import AuditEvent, User


def client_ip() -> str | None:
    if not has_request_context():
        return None
    return request.remote_addr


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _storable(text: str) -> str:
    """Details can quote what someone sent (an id typed into an address): control characters
    become "?", since PostgreSQL refuses NUL and a log line should not hold the others."""
    return _CONTROL.sub("?", text)


def record(
    action: str,
    *,
    actor: User | None = None,
    subject: object | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
    patient_id: int | None = None,
    outcome: str = "success",
    detail: str | None = None,
) -> AuditEvent:
    """Add an audit row to the current transaction; the caller's commit writes it.

    The flush links it into the audit hash chain (``lms.audit.chain``), after any row recorded
    before it.

    ``actor`` defaults to the logged-in user. ``detail`` must never hold health information
    beyond ids: the audit log is itself read by admins.
    """
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    grant = g.get("emergency_access") if has_request_context() else None
    if grant is not None and patient_id is not None and patient_id == grant.patient_id:
        # Everything done under break-glass says so, next to the grant's own row and reason.
        detail = (
            f"{detail}; emergency access {grant.id}" if detail else f"emergency access {grant.id}"
        )
    if subject is not None:
        subject_type = getattr(subject, "__tablename__", type(subject).__name__.lower())
        subject_id = getattr(subject, "id", None)
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        patient_id=patient_id,
        outcome=outcome,
        ip=client_ip(),
        detail=(_storable(detail)[:500] if detail else None),
    )
    db.session.add(event)
    return event
