"""Learner pages: practise and remember (a private notepad, worksheets)."""

from __future__ import annotations
