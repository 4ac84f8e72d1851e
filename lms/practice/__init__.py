"""Practise and remember: a learner's private notepad of questions for the next family
session, and the worksheets in modules they fill in (``operations`` writes, ``queries``
reads; ``queries.shared_with_care_team`` is the one rule for which notes staff see)."""
