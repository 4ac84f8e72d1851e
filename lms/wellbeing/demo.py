"""Demo check-ins: the demo family member's wellbeing fell between two check-ins, so the
dashboard shows the needs-help reason, the patient page the change, and their home page the
next check-in (four weeks have passed)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lms import clock
from lms.extensions import db
from lms.models import User, WellbeingCheck

#: (days ago, occasion, items): 60 at the start of the path, then 44 four weeks later.
DEMO_CHECKINS = (
    (58, "start", (3, 3, 3, 3, 3)),
    (29, "interval", (3, 2, 2, 2, 2)),
)


def ensure_checkins(user: User) -> None:
    """Add the demo check-ins once (each is found again by its token)."""
    now = clock.utcnow()
    for n, (days_ago, occasion, items) in enumerate(DEMO_CHECKINS, start=1):
        token = f"demo-wellbeing-{user.id}-{n}"
        if db.session.scalars(
            select(WellbeingCheck.id).where(WellbeingCheck.submit_token == token)
        ).first():
            continue
        db.session.add(
            WellbeingCheck(
                user_id=user.id,
                occasion=occasion,
                **{f"item{i}": value for i, value in enumerate(items, start=1)},
                taken_at=now - timedelta(days=days_ago),
                lang="en",
                submit_token=token,
            )
        )
    db.session.flush()
