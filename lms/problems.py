"""The one user-facing error type: a refusal a person can act on.

Domain operations raise ``Problem`` with a lazily translated message (``lazy_gettext``), so
every message is extractable for the catalogue and is shown in the reader's language when a
view renders ``str(exc)``. ``FieldProblems`` carries messages that belong beside named form
fields. Nothing else is raised at people.
"""

from __future__ import annotations


class Problem(ValueError):
    """Something the person can fix or understand; the message is safe to show them."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class FieldProblems(Problem):
    """Refusals that belong beside form fields: ``{field name: [messages]}``."""

    def __init__(self, errors: dict[str, list]) -> None:
        super().__init__("; ".join(str(m) for msgs in errors.values() for m in msgs))
        self.errors = errors


class DuplicateRecordNumber(FieldProblems):
    """The record number belongs to a patient already enrolled. ``patient_id`` is that
    patient when the person enrolling may open their page (on their caseload), else None: a
    clash must not reveal who else the program treats."""

    def __init__(self, message, patient_id: int | None) -> None:
        super().__init__({"record_number": [message]})
        self.patient_id = patient_id


class InvitationProblem(Problem):
    """An invitation link that cannot be used, and what to do about it."""
