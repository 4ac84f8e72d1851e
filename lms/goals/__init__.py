"""Learning goals a clinician sets: what counts, and whether each is met, open or missed."""
