"""Learning: reading progress and knowledge checks."""
