"""Blueprint ``admin`` (``/admin/``): staff accounts, caseload reassignment, the audit log."""
