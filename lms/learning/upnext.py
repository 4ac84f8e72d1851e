"""What a learner should read next: the one rule behind "Up next" and "Next reading"."""

from __future__ import annotations


def next_after(user, slug: str):
    """The reading to offer after finishing ``slug`` (None: nothing waiting)."""
    return None
