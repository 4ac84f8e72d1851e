"""Group education sessions: logging a session, attendance, and the material patients review."""
