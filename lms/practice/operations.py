"""Writing notes and worksheet answers: each action validates, writes, flushes and audits
what the care team could see; the request commits.

Notes are private to their author. Sharing and un-sharing are audited (actor: the learner;
never the note's text). Staff have no action here: nothing a clinician does changes a note.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from lms import access, audit, clock, submissions
from lms.content.model import Module
from lms.content.worksheets import Worksheet
from lms.extensions import db
from lms.models import Role, User
from lms.models.practice import ANSWER_MAX, NOTE_MAX, PracticeNote, WorksheetAnswers
from lms.practice.queries import answers_row, decode, is_learner
from lms.problems import FieldProblems, Problem


def clean_note(body: str | None) -> str:
    """The note as it will be kept: trimmed, line breaks as ``\\n``. Refused (beside the
    field) when nothing is left or it is over ``NOTE_MAX`` characters."""
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise FieldProblems({"body": [_l("Write your question or note first.")]})
    if len(text) > NOTE_MAX:
        raise FieldProblems(
            {
                "body": [
                    _l(
                        "Keep it to %(max)d characters or fewer (it has %(n)d). "
                        "You could split it into two notes.",
                        max=NOTE_MAX,
                        n=len(text),
                    )
                ]
            }
        )
    return text


def _learner(user: User) -> None:
    if not is_learner(user):
        raise Problem(_l("Only families and patients keep notes here."))


def _patient_id(user: User) -> int | None:
    """The patient a patient's own note is about, for the audit row; a family member's notes
    may reach several care teams, so theirs name none."""
    if user.role != Role.PATIENT:
        return None
    patient = access.own_patient(user)
    return patient.id if patient is not None else None


def _audit_sharing(user: User, note: PracticeNote, shared: bool) -> None:
    audit.record(
        "practice_note.shared" if shared else "practice_note.unshared",
        actor=user,
        subject=note,
        patient_id=_patient_id(user),
        # Ids only: the note's words stay in its row.
    )


def add_note(
    user: User, body: str | None, *, share: bool = False, submit_token: str | None = None
) -> PracticeNote:
    """Add a note to the learner's notepad, private unless ``share``. The same form sent
    twice at once adds one note."""
    _learner(user)
    text = clean_note(body)
    once = submissions.claim(user, submit_token, "practice_note.add")
    if once.earlier and (earlier := db.session.get(PracticeNote, once.result or 0)) is not None:
        return earlier
    now = clock.utcnow()
    note = PracticeNote(
        user_id=user.id,
        body=text,
        shared_at=now if share else None,
        created_at=now,
        updated_at=now,
    )
    db.session.add(note)
    db.session.flush()
    if share:
        _audit_sharing(user, note, True)
    submissions.finish(once, note.id)
    return note


def edit_note(user: User, note: PracticeNote, body: str | None) -> bool:
    """Change the note's words (only its author reaches it). Whether anything changed."""
    text = clean_note(body)
    if note.user_id != user.id:
        raise Problem(_l("This note is not yours to change."))
    if text == note.body:
        return False
    note.body = text
    note.updated_at = clock.utcnow()
    db.session.flush()
    return True


def _conditional(note: PracticeNote, condition, **values) -> bool:
    """One conditional UPDATE: the second of two identical clicks matches nothing."""
    result = db.session.execute(
        update(PracticeNote)
        .where(PracticeNote.id == note.id, condition)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        for name, value in values.items():
            setattr(note, name, value)
        return True
    return False


def set_asked(user: User, note: PracticeNote, asked: bool) -> bool:
    """Mark the note asked (kept, listed apart), or not asked after all."""
    if note.user_id != user.id:
        raise Problem(_l("This note is not yours to change."))
    if asked:
        return _conditional(note, PracticeNote.asked_at.is_(None), asked_at=clock.utcnow())
    return _conditional(note, PracticeNote.asked_at.is_not(None), asked_at=None)


def set_shared(user: User, note: PracticeNote, shared: bool) -> bool:
    """Share the note with the care team, or stop sharing it; audited when it changes."""
    if note.user_id != user.id:
        raise Problem(_l("This note is not yours to change."))
    if shared:
        changed = _conditional(note, PracticeNote.shared_at.is_(None), shared_at=clock.utcnow())
    else:
        changed = _conditional(note, PracticeNote.shared_at.is_not(None), shared_at=None)
    if changed:
        _audit_sharing(user, note, shared)
    return changed


def delete_note(user: User, note: PracticeNote) -> None:
    """Delete the note for good (the page asked first). A shared one stops being shared, and
    the audit trail says so."""
    if note.user_id != user.id:
        raise Problem(_l("This note is not yours to delete."))
    if note.is_shared:
        _audit_sharing(user, note, False)
    db.session.delete(note)
    db.session.flush()


def clean_answers(worksheet: Worksheet, values: Mapping[str, str | None]) -> dict[str, str]:
    """The answers to keep, one per field the worksheet has (trimmed; empty ones dropped).
    Over ``ANSWER_MAX`` characters is refused beside the field."""
    kept: dict[str, str] = {}
    errors: dict[str, list] = {}
    for field in worksheet.fields:
        text = (values.get(field.key) or "").replace("\r\n", "\n").strip()
        if len(text) > ANSWER_MAX:
            errors[field.key] = [
                _l(
                    "Keep this to %(max)d characters or fewer (it has %(n)d).",
                    max=ANSWER_MAX,
                    n=len(text),
                )
            ]
        elif text:
            kept[field.key] = text
    if errors:
        raise FieldProblems(errors)
    return kept


def save_answers(
    user: User, module: Module, worksheet: Worksheet, values: Mapping[str, str | None]
) -> WorksheetAnswers:
    """Save the learner's answers to one worksheet: one row per learner and worksheet, so
    saving twice at once keeps one. Answers to fields the content no longer has stay in the
    row; a field emptied is removed."""
    _learner(user)
    answers = clean_answers(worksheet, values)
    row = answers_row(user, module.slug, worksheet.key)
    dropped = {k: v for k, v in decode(row).items() if k not in worksheet.field_keys()}
    stored = json.dumps({**dropped, **answers}, ensure_ascii=False, sort_keys=True)
    now = clock.utcnow()
    values_in = {
        "user_id": user.id,
        "module_slug": module.slug,
        "worksheet_key": worksheet.key,
        "answers": stored,
        "module_version": module.version,
        "created_at": now,
        "updated_at": now,
    }
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(WorksheetAnswers).values(**values_in)
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id", "module_slug", "worksheet_key"],
        set_={
            "answers": stmt.excluded.answers,
            "module_version": stmt.excluded.module_version,
            "updated_at": stmt.excluded.updated_at,
        },
    ).returning(WorksheetAnswers.id)
    row_id = db.session.execute(stmt).scalar_one()
    saved = db.session.get(WorksheetAnswers, row_id)
    db.session.refresh(saved)
    return saved
