"""The read-only JSON API under /api/v1/ for staff integrations (personal access tokens)."""
