"""Accounts: people who sign in, their passwords, two-step sign-in, staff accounts."""
