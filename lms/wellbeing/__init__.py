"""A family member's own wellbeing (CRAFT goal 3): WHO-5 check-ins, when they are offered,
what a score means, who sees it."""
