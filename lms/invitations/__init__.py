"""Invitations to join: creating, emailing and accepting them."""
