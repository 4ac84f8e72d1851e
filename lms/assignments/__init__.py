"""Assignments: giving readings with due dates, and their one status."""
