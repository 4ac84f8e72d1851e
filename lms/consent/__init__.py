"""Consent (42 CFR Part 2): recording, replacing, withdrawing and ending it, and the one rule
of which consent is in force."""
