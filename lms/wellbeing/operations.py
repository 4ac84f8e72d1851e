"""Recording a wellbeing check-in or a "Not now": validate, write, flush, audit (ids and the
occasion only, never a score); the request commits.

A check-in or a skip carries the form's one-time ``submit_token``, unique on its row: the same
form sent twice at once (a double click, a phone resending) records one row, and both
answers name it.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from lms import audit, clock
from lms.extensions import db
from lms.models import User, WellbeingCheck
from lms.problems import FieldProblems, Problem
from lms.wellbeing import queries, who5

#: The form's field name of each item, in order ("item1" … "item5").
FIELDS = tuple(f"item{link_id}" for link_id in who5.LINK_IDS)
TOKEN_MAX = 64


def _family_only(user: User) -> None:
    if not queries.takes_checkins(user):
        raise Problem(_l("Wellbeing check-ins are for family members."))


def clean_answers(answers: Mapping[str, object], locale: object) -> tuple[int, ...]:
    """The five answers as numbers 0–5, from what the form sent (``{"item1": "4", …}``).
    Every item is required; a missing or unknown answer is refused beside its own item, in
    words that name it."""
    texts = who5.item_texts(locale)
    values: list[int] = []
    problems: dict[str, list] = {}
    for number, (name, text) in enumerate(zip(FIELDS, texts, strict=True), start=1):
        raw = answers.get(name)
        raw = raw.strip() if isinstance(raw, str) else raw
        if raw is None or raw == "":
            problems[name] = [
                _l("Choose an answer for statement %(n)d, “%(item)s”.", n=number, item=text)
            ]
            continue
        value = int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() else raw
        if who5.item_problem(value):
            problems[name] = [
                _l(
                    "The answer for statement %(n)d is not one of the choices. Please choose "
                    "one of the six answers.",
                    n=number,
                )
            ]
            continue
        values.append(value)  # type: ignore[arg-type]
    if problems:
        raise FieldProblems(problems)
    return tuple(values)


def _token(submit_token: str | None) -> str:
    token = (submit_token or "").strip()
    if not token or len(token) > TOKEN_MAX:
        raise Problem(_l("This form is incomplete. Please reload the page and try again."))
    return token


def _insert_once(values: dict) -> tuple[WellbeingCheck, bool]:
    """INSERT the row unless its ``submit_token`` is taken; an identical submit waits on the
    unique index (PostgreSQL) or the write lock (SQLite) and then finds the first one's row."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    new_id = db.session.execute(
        insert(WellbeingCheck)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["submit_token"])
        .returning(WellbeingCheck.id)
    ).scalar()
    if new_id is not None:
        return db.session.get(WellbeingCheck, new_id), True
    earlier = db.session.scalars(
        select(WellbeingCheck).where(WellbeingCheck.submit_token == values["submit_token"])
    ).one()
    if earlier.user_id != values["user_id"]:
        raise Problem(_l("This form is incomplete. Please reload the page and try again."))
    return earlier, False


def record_checkin(
    user: User,
    answers: Mapping[str, object],
    *,
    locale: object,
    submit_token: str | None,
) -> tuple[WellbeingCheck, bool]:
    """Record a check-in of five answers (``clean_answers``), in the language the items were
    shown in. The occasion is the one offered now, else ``"interval"`` (a check-in the person
    chose to take between offers). Returns the row and whether this submit wrote it (False:
    the same form was sent before)."""
    _family_only(user)
    items = clean_answers(answers, locale)
    token = _token(submit_token)
    row, created = _insert_once(
        {
            "user_id": user.id,
            "occasion": queries.due_for(user) or queries.INTERVAL,
            **{f"item{n}": value for n, value in enumerate(items, start=1)},
            "taken_at": clock.utcnow(),
            "lang": who5.language(locale),
            "submit_token": token,
        }
    )
    if created:
        audit.record(
            "wellbeing.checkin", actor=user, subject=row, detail=f"occasion={row.occasion}"
        )
    return row, created


def record_skip(user: User, *, submit_token: str | None) -> WellbeingCheck | None:
    """The "Not now" button: set the offer aside for ``queries.SKIP_DAYS`` days. Nothing is written
    when nothing is offered (the offer was already set aside, or a check-in was just taken)."""
    _family_only(user)
    token = _token(submit_token)
    occasion = queries.due_for(user)
    if occasion is None:
        return db.session.scalars(
            select(WellbeingCheck).where(
                WellbeingCheck.submit_token == token, WellbeingCheck.user_id == user.id
            )
        ).first()
    now = clock.utcnow()
    row, _created = _insert_once(
        {
            "user_id": user.id,
            "occasion": occasion,
            "skipped_at": now,
            "taken_at": now,
            "lang": "en",
            "submit_token": token,
        }
    )
    return row
