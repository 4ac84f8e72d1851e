"""Staff accounts: create, deactivate (handing over patients nobody else has), reactivate;
the lists the admin pages show."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lms import submissions
from lms.accounts import services as auth_services
from lms.accounts.passwords import password_problems
from lms.extensions import db
from lms.models import (
    Role,
    User,
    normalize_email,
)
from lms.patients import care_teams
from lms.problems import FieldProblems, Problem

STAFF_ROLES = (Role.ADMIN.value, Role.CLINICIAN.value)


def staff_accounts() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role.in_(STAFF_ROLES))
            .order_by(User.role, func.lower(User.display_name), User.id)
        )
    )


def staff_member(user_id: int) -> User | None:
    """An admin or clinician account, or None (the view turns that into a 404)."""
    user = db.session.get(User, user_id)
    if user is None or user.role not in STAFF_ROLES:
        return None
    return user


def create_staff(
    actor: User,
    *,
    email: str,
    display_name: str,
    role: str,
    password: str,
    submit_token: str | None = None,
) -> User:
    """Create a clinician or admin account. The same form sent twice at once creates one
    account and both get it (``lms.submissions``); the email is unique case-insensitively,
    so another form with the same email is refused with a message."""
    once = submissions.claim(actor, submit_token, "staff.create")
    if once.earlier and (earlier := db.session.get(User, once.result or 0)) is not None:
        return earlier
    try:
        user = _create_staff(
            actor, email=email, display_name=display_name, role=role, password=password
        )
    except FieldProblems:
        db.session.rollback()  # frees the claim: a resend with the mistake fixed goes through
        raise
    submissions.finish(once, user.id)
    return user


def _create_staff(actor: User, *, email: str, display_name: str, role: str, password: str) -> User:
    email = normalize_email(email)
    if role not in STAFF_ROLES:
        raise FieldProblems({"role": [_("Choose clinician or administrator.")]})
    taken = _("An account with this email already exists.")
    if db.session.scalars(User.by_email(email)).first() is not None:
        raise FieldProblems({"email": [taken]})
    problems = password_problems(
        password, email=email, program_name=current_app.config["PROGRAM_NAME"]
    )
    if problems:
        raise FieldProblems({"password": problems})
    try:
        with db.session.begin_nested():
            user = auth_services.create_user(
                email=email, display_name=display_name, role=role, password=password, actor=actor
            )
    except IntegrityError:
        # Another form with this email at the same moment: the unique index lets one through.
        raise FieldProblems({"email": [taken]}) from None
    return user


def set_staff_active(
    actor: User, user: User, active: bool, *, successor_id: int | None = None
) -> bool:
    """Deactivate (ending every session of that user at once) or reactivate an account.

    A clinician who is the only active clinician of some patients is deactivated only with a
    successor, who joins those care teams first: no patient is left with nobody.
    Returns False when the account was already in that state (a double click): nothing is
    written then.
    """
    if user.id == actor.id and not active:
        raise Problem(
            _("You can't deactivate your own account. Ask another administrator to do it.")
        )
    if bool(user.active) == active:
        return False
    if not active and user.role == Role.CLINICIAN:
        alone = care_teams.patients_only_with(user.id)
        if alone and successor_id is None:
            raise FieldProblems(
                {
                    "successor": [
                        ngettext(
                            "%(num)d patient has no other clinician. Choose who takes them.",
                            "%(num)d patients have no other clinician. Choose who takes them.",
                            len(alone),
                        )
                    ]
                }
            )
        if alone:
            try:
                care_teams.hand_over(actor, alone, user.id, successor_id)
            except Problem as exc:
                raise FieldProblems({"successor": [str(exc)]}) from None
    auth_services.set_active(user, active, actor=actor)
    return True


def clinicians(*, active_only: bool) -> list[User]:
    query = select(User).where(User.role == Role.CLINICIAN)
    if active_only:
        query = query.where(User.active.is_(True))
    return list(db.session.scalars(query.order_by(func.lower(User.display_name), User.id)))


def all_users() -> list[User]:
    return list(
        db.session.scalars(select(User).order_by(User.role, func.lower(User.display_name), User.id))
    )
