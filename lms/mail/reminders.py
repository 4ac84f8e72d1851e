"""Due-date reminders, for cron: ``flask --app wsgi reminders send``; and the "new reading"
email a care team's assigning sends.

Stages of one assignment: ``due-soon`` (due within ``REMINDER_DUE_SOON_DAYS``), ``overdue``
(the day after the due date), then ``overdue-1``, ``overdue-2``… every
``REMINDER_OVERDUE_REPEAT_DAYS`` while it stays overdue (``REMINDER_OVERDUE_MAX_REPEATS`` caps
them, 2 by default; 0 = no cap).

**One email per person per run, a digest.** Every reading of a person that reached a stage
they have not been reminded of goes into one outbox row, recorded under the key
``reminder_digest:<user>:<day>`` (at most one a day, however many hosts run the command at the
same time), with one ``outbox_reading`` row per (assignment, stage) it covers. That pair is
unique, so no stage of a reading is reminded twice. A reading that reaches a stage after the
day's digest was recorded waits for the next day's. The subject says only how many readings
are waiting; the body how many are due soon and how many are overdue.

Nobody is reminded of an assignment that was cancelled, that they completed, that they may no
longer see (suspended: consent withdrawn, expired or ended, patient discharged — the status
rule of ``lms.assignments.status``), or when their account is inactive or has reminders turned
off. The same questions are asked again at the moment of sending (``reason_to_drop``), for
every reading the email covers: a digest none of whose readings is still due (recorded before a
withdrawal, a discharge or a completed reading, and not yet delivered because the mail server
was down) is dropped instead of sent. One with some still due is sent, its counts rebuilt at
that moment from those readings only (``refresh``): a late digest never counts a reading that
is no longer waiting, nor says "tomorrow" of a day that has passed.

**New reading.** ``announce_new_readings`` records, when a clinician assigns, one email per
learner however many readings one assigning gave them (a path of eight is one email), under
the same rules (open readings only, active accounts with reminders on) and the same check at
sending; the assigning request delivers it after its commit.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from lms import clock, uow
from lms.assignments import queries as assignment_q
from lms.assignments import status as status_rules
from lms.assignments.status import AssignmentStatus
from lms.extensions import db
from lms.mail import messages, outbox
from lms.mail.wording import check_discreet
from lms.models import Assignment, Outbox, User
from lms.models.mail import OutboxReading

#: The stage an announced reading is recorded at in ``outbox_reading``.
NEW_STAGE = "new"

SKIP_REASONS = {
    "already_sent": "already reminded",
    "completed": "completed",
    "no_access": "consent or enrolment ended",
    "reminders_off": "reminders turned off",
    "inactive": "account inactive",
    "no_more": "no more reminders for it",
    "cancelled": "assignment cancelled",
    "next_day": "in tomorrow's email (one a day)",
}


@dataclass
class ReminderRun:
    queued: int = 0  # emails (one per person)
    readings: int = 0  # the (reading, stage) pairs those emails cover: "new" reminders
    skipped: Counter = field(default_factory=Counter)  # readings, by reason
    delivery: outbox.FlushResult | None = None

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        parts = ", ".join(
            f"{n} {SKIP_REASONS[reason]}" for reason, n in sorted(self.skipped.items()) if n
        )
        # Readings reminded or skipped, then the emails they make (one per person).
        lines = [
            f"Reminders: {self.readings} new, {self.skipped_total} skipped"
            + (f" ({parts})" if parts else "")
            + ".",
            f"Recorded {self.queued} reminder email(s), one per person.",
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


# --- the status of the readings an email covers ---------------------------------------------


def _statuses(
    assignment_ids: Iterable[int], today: date | None = None
) -> dict[int, tuple[AssignmentStatus, date | None]]:
    """Status and due date of these assignments now (one query; missing ids are absent)."""
    ids = list(assignment_ids)
    if not ids:
        return {}
    query, expression, _progress = assignment_q.status_select(today)
    rows = db.session.execute(
        query.with_only_columns(Assignment.id, Assignment.due_on, expression).where(
            Assignment.id.in_(ids)
        )
    )
    return {aid: (AssignmentStatus(value), due_on) for aid, due_on, value in rows}


def _reason_for(status: AssignmentStatus | None) -> str | None:
    """Why a reading in this status is no reason to write (a ``SKIP_REASONS`` key), or None."""
    if status is None or status == AssignmentStatus.CANCELLED:
        return "cancelled"
    if status in status_rules.DONE:
        return "completed"
    if status in status_rules.SUSPENDED:
        return "no_access"
    return None


def _covered(outbox_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(OutboxReading.assignment_id)
            .where(OutboxReading.outbox_id == outbox_id)
            .order_by(OutboxReading.assignment_id)
        )
    )


def _readings_of(row: Outbox) -> list[int]:
    """The readings a message is about: those it covers, or the one a reminder recorded
    before digests named (``Outbox.assignment_id``)."""
    covered = _covered(row.id)
    if covered:
        return covered
    return [row.assignment_id] if row.assignment_id is not None else []


def _cover(outbox_id: int, pairs: list[tuple[int, str]]) -> None:
    """Record which (assignment, stage) pairs a message covers. A pair covered a moment ago by
    another host with another day's digest (a run at midnight) is left to that one."""
    values = [{"outbox_id": outbox_id, "assignment_id": a, "stage": s} for a, s in pairs]
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover -- other databases: a plain insert
        db.session.add_all(OutboxReading(**v) for v in values)
        db.session.flush()
        return
    db.session.execute(
        insert(OutboxReading)
        .values(values)
        .on_conflict_do_nothing(index_elements=["assignment_id", "stage"])
    )


# --- asked again just before sending ------------------------------------------------------


def reason_to_drop(row: Outbox) -> str | None:
    """Asked just before a recorded reminder (or new-reading email) is sent: the reason (a
    ``SKIP_REASONS`` key) it must not go out now, or None. The same rules as recording it: the
    account, the reminder setting, and the one status rule for each reading it covers — sent
    while at least one is still due; otherwise dropped, for the reason most of them share."""
    user = db.session.get(User, row.user_id) if row.user_id is not None else None
    if user is None or not user.active:
        return "inactive"
    if not user.reminders_enabled:
        return "reminders_off"
    ids = _readings_of(row)
    if not ids:
        return None  # recorded before reminders named their assignment; nothing to ask
    statuses = _statuses(ids)
    reasons = [_reason_for(statuses[i][0] if i in statuses else None) for i in ids]
    if None in reasons:
        return None
    return Counter(reasons).most_common(1)[0][0]


def refresh(row: Outbox) -> None:
    """Rebuild a digest's or new-reading email's subject and bodies from the readings it
    covers that are still due now (called just before sending, after ``reason_to_drop``)."""
    if row.kind not in (messages.REMINDER_DIGEST, messages.NEW_READING):
        return  # one-reading reminders recorded before digests: sent as recorded
    user = db.session.get(User, row.user_id) if row.user_id is not None else None
    if user is None:
        return
    today = clock.today()
    statuses = _statuses(_covered(row.id), today)
    due_dates = [due for status, due in statuses.values() if status in status_rules.OPEN]
    if row.kind == messages.REMINDER_DIGEST:
        due_dates = [due for due in due_dates if due is not None]
    if not due_dates:
        return  # nothing still due: reason_to_drop has dropped it already
    if row.kind == messages.REMINDER_DIGEST:
        message = messages.render_reminder_digest(user, due_dates, today)
    else:
        message = messages.render_new_reading(user, due_dates)
    check_discreet(message.subject)
    row.subject, row.body_text, row.body_html = message.subject, message.text, message.html


# --- recording -----------------------------------------------------------------------------


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


def _covered_stages(horizon: date) -> set[tuple[int, str]]:
    """Every (assignment, stage) already covered among the assignments a run considers."""
    rows = db.session.execute(
        select(OutboxReading.assignment_id, OutboxReading.stage)
        .join(Assignment, Assignment.id == OutboxReading.assignment_id)
        .where(
            Assignment.cancelled_at.is_(None),
            Assignment.due_on.is_not(None),
            Assignment.due_on <= horizon,
        )
    )
    return {(assignment_id, stage) for assignment_id, stage in rows}


def _covered_pairs(pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
    ids = {a for a, _stage in pairs}
    found = db.session.execute(
        select(OutboxReading.assignment_id, OutboxReading.stage).where(
            OutboxReading.assignment_id.in_(ids)
        )
    )
    return {(assignment_id, stage) for assignment_id, stage in found} & set(pairs)


def queue_reminders(today: date | None = None) -> ReminderRun:
    """Record today's reminders in the outbox, one digest per person; send nothing yet."""
    today = today or clock.today()
    run = ReminderRun()
    horizon = today + timedelta(days=current_app.config["REMINDER_DUE_SOON_DAYS"])
    query, expression, _progress = assignment_q.status_select(today)
    rows = db.session.execute(
        query.with_only_columns(Assignment.id, Assignment.learner_id, Assignment.due_on, expression)
        .where(
            Assignment.cancelled_at.is_(None),
            Assignment.due_on.is_not(None),
            Assignment.due_on <= horizon,
        )
        .order_by(Assignment.learner_id, Assignment.due_on, Assignment.id)
    ).all()
    by_learner: dict[int, list[tuple[int, date]]] = defaultdict(list)
    for assignment_id, learner_id, due_on, status in rows:
        # The one status rule decides: done, or suspended by consent or discharge, is no
        # reason to write to anyone.
        if status in status_rules.DONE:
            run.skipped["completed"] += 1
        elif status in status_rules.SUSPENDED:
            run.skipped["no_access"] += 1
        else:
            by_learner[learner_id].append((assignment_id, due_on))
    covered = _covered_stages(horizon) if by_learner else set()

    for learner_id, readings in by_learner.items():
        user = db.session.get(User, learner_id)
        if user is None or not user.active:
            run.skipped["inactive"] += len(readings)
            continue
        if not user.reminders_enabled:
            run.skipped["reminders_off"] += len(readings)
            continue
        pairs, due_dates = [], []
        for assignment_id, due_on in readings:
            stage = stage_for(due_on, today)
            if stage is None:
                run.skipped["no_more"] += 1
            elif (assignment_id, stage) in covered:
                run.skipped["already_sent"] += 1
            else:
                pairs.append((assignment_id, stage))
                due_dates.append(due_on)
        if not pairs:
            continue
        outbox_id = messages.queue_reminder_digest(user, due_dates, today)
        if outbox_id is None:
            # Today's email to this person is recorded already: by another host a moment
            # ago (it covers these readings), or by an earlier run today (they wait).
            now_covered = _covered_pairs(pairs)
            run.skipped["already_sent"] += len(now_covered)
            run.skipped["next_day"] += len(pairs) - len(now_covered)
            continue
        _cover(outbox_id, pairs)
        run.queued += 1
        run.readings += len(pairs)
    return run


def send_reminders(today: date | None = None) -> ReminderRun:
    """Record today's reminders and commit them (one unit of work: a run that fails midway
    records none, and the next run records them all, each once), then deliver everything
    unsent, earlier failures too."""
    run = queue_reminders(today)
    uow.commit()
    run.delivery = outbox.flush()
    return run


def announce_new_readings(assignments: list[Assignment]) -> list[int]:
    """Record one "new reading" email per learner for readings just assigned (in the caller's
    unit of work, after they are flushed). Only readings the learner may act on now (the
    status rule: open), only to active accounts with reminders on. Returns the outbox ids,
    for the caller to deliver after its commit (``outbox.send_now``)."""
    statuses = _statuses(a.id for a in assignments)
    by_learner: dict[int, list[Assignment]] = defaultdict(list)
    for assignment in assignments:
        known = statuses.get(assignment.id)
        if known is not None and known[0] in status_rules.OPEN:
            by_learner[assignment.learner_id].append(assignment)
    recorded = []
    for learner_id, readings in by_learner.items():
        user = db.session.get(User, learner_id)
        if user is None or not user.active or not user.reminders_enabled:
            continue
        outbox_id = messages.queue_new_reading(
            user, [a.id for a in readings], [a.due_on for a in readings]
        )
        if outbox_id is None:
            continue
        _cover(outbox_id, [(a.id, NEW_STAGE) for a in readings])
        recorded.append(outbox_id)
    return recorded
