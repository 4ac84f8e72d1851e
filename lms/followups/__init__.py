"""Follow-ups on needs-help flags: recording that a family was contacted (``operations``) and
whether a flag is set aside today (``queries.snoozes``, the one rule the dashboard reads)."""
