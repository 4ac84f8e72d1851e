"""Due-date reminders, for cron: ``flask --app wsgi reminders send``.

Stages of one assignment: ``due-soon`` (due within ``REMINDER_DUE_SOON_DAYS``), ``overdue``
(the day after the due date), then ``overdue-1``, ``overdue-2``… every
``REMINDER_OVERDUE_REPEAT_DAYS`` while it stays overdue (``REMINDER_OVERDUE_MAX_REPEATS`` caps
them; 0 = no cap). Each (assignment, stage) is recorded in the outbox once, under a unique key,
however many hosts run the command at the same time.

Nobody is reminded of an assignment that was cancelled, that they completed, that they may no
longer see (suspended: consent withdrawn, expired or ended, patient discharged — the status
rule of ``lms.assignments.status``),
or when their account is inactive or has reminders turned off. The same questions are asked
again at the moment of sending (``reason_to_drop``): a reminder recorded before a withdrawal,
a discharge or a completed reading, and not yet delivered (the mail server was down), is
dropped instead of sent.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app

from lms import clock, uow
from lms.assignments import queries as assignment_q
from lms.assignments import status as status_rules
from lms.extensions import db
from lms.mail import messages, outbox
from lms.models import Assignment, Outbox, User

SKIP_REASONS = {
    "already_sent": "already reminded",
    "completed": "completed",
    "no_access": "consent or enrolment ended",
    "reminders_off": "reminders turned off",
    "inactive": "account inactive",
    "no_more": "no more reminders for it",
    "cancelled": "assignment cancelled",
}


@dataclass
class ReminderRun:
    queued: int = 0
    skipped: Counter = field(default_factory=Counter)
    delivery: outbox.FlushResult | None = None

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        parts = ", ".join(
            f"{n} {SKIP_REASONS[reason]}" for reason, n in sorted(self.skipped.items()) if n
        )
        lines = [
            f"Reminders: {self.queued} new, {self.skipped_total} skipped"
            + (f" ({parts})" if parts else "")
            + "."
        ]
        if self.delivery is not None:
            d = self.delivery
            line = f"Sent {d.sent} email(s); {d.failed} failed and will be retried"
            if d.given_up:
                line += f"; {d.given_up} given up after {current_app.config['MAIL_MAX_ATTEMPTS']}"
                line += " tries"
            lines.append(line + ".")
            if d.dropped_total:
                parts = ", ".join(
                    f"{n} {SKIP_REASONS.get(reason, reason)}"
                    for reason, n in sorted(d.dropped.items())
                )
                lines.append(f"Not sent, no longer due: {d.dropped_total} ({parts}).")
        return "\n".join(lines)


def reason_to_drop(row: Outbox) -> str | None:
    """Asked just before a recorded reminder is sent: the reason (a ``SKIP_REASONS`` key) it
    must not go out now, or None. The same rules as recording it: the one status rule, the
    account, the reminder setting."""
    user = db.session.get(User, row.user_id) if row.user_id is not None else None
    if user is None or not user.active:
        return "inactive"
    if not user.reminders_enabled:
        return "reminders_off"
    if row.assignment_id is None:
        return None  # recorded before reminders named their assignment; nothing to ask
    status = assignment_q.status_now(row.assignment_id)
    if status is None or status == status_rules.AssignmentStatus.CANCELLED:
        return "cancelled"
    if status in status_rules.DONE:
        return "completed"
    if status in status_rules.SUSPENDED:
        return "no_access"
    return None


def stage_for(due_on: date, today: date) -> str | None:
    """Which reminder an assignment due on ``due_on`` is at today, if any."""
    config = current_app.config
    days_left = (due_on - today).days
    if days_left >= 0:
        return "due-soon" if days_left <= config["REMINDER_DUE_SOON_DAYS"] else None
    days_over = -days_left
    repeat = config["REMINDER_OVERDUE_REPEAT_DAYS"]
    if repeat <= 0 or days_over < repeat:
        return "overdue"
    n = days_over // repeat
    cap = config["REMINDER_OVERDUE_MAX_REPEATS"]
    if cap > 0 and n > cap:
        return None
    return f"overdue-{n}"


def queue_reminders(today: date | None = None) -> ReminderRun:
    """Record every reminder due today in the outbox (once each); send nothing yet."""
    today = today or clock.today()
    run = ReminderRun()
    horizon = today + timedelta(days=current_app.config["REMINDER_DUE_SOON_DAYS"])
    query, expression, _progress = assignment_q.status_select(today)
    rows = db.session.execute(
        query.with_only_columns(Assignment.id, Assignment.learner_id, expression)
        .where(
            Assignment.cancelled_at.is_(None),
            Assignment.due_on.is_not(None),
            Assignment.due_on <= horizon,
        )
        .order_by(Assignment.learner_id, Assignment.id)
    ).all()
    by_learner: dict[int, list[int]] = defaultdict(list)
    for assignment_id, learner_id, status in rows:
        # The one status rule decides: done, or suspended by consent or discharge, is no
        # reason to write to anyone.
        if status in status_rules.DONE:
            run.skipped["completed"] += 1
        elif status in status_rules.SUSPENDED:
            run.skipped["no_access"] += 1
        else:
            by_learner[learner_id].append(assignment_id)

    for learner_id, assignment_ids in by_learner.items():
        user = db.session.get(User, learner_id)
        if user is None or not user.active:
            run.skipped["inactive"] += len(assignment_ids)
            continue
        if not user.reminders_enabled:
            run.skipped["reminders_off"] += len(assignment_ids)
            continue
        for assignment_id in assignment_ids:
            assignment = db.session.get(Assignment, assignment_id)
            stage = stage_for(assignment.due_on, today)
            if stage is None:
                run.skipped["no_more"] += 1
                continue
            if outbox.exists(messages.reminder_dedupe_key(assignment.id, stage)):
                run.skipped["already_sent"] += 1
                continue
            if messages.queue_reminder(assignment, user, stage, today) is None:
                run.skipped["already_sent"] += 1  # another host recorded it a moment ago
            else:
                run.queued += 1
    return run


def send_reminders(today: date | None = None) -> ReminderRun:
    """Record today's reminders and commit them (one unit of work: a run that fails midway
    records none, and the next run records them all, each once), then deliver everything
    unsent, earlier failures too."""
    run = queue_reminders(today)
    uow.commit()
    run.delivery = outbox.flush()
    return run
