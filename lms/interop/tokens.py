"""Personal access tokens for staff integrations of the read-only API (``/api/v1/``).

An administrator makes a token for one purpose (a records system reading a clinician's
caseload, a report reading the program). The secret is shown once, on the page that made it:
only its SHA-256 is stored (``ApiToken.token_hash``), with its first characters (``prefix``) to
tell tokens apart in lists. A secret is 256 random bits, so a fast hash is enough: there is no
password to guess, and a lookup by hash answers in one indexed query.

A token reaches either one clinician's caseload (``scope="caseload"``: the same rule as that
clinician's own pages, ``lms.access.caseload``) or every patient of the program
(``scope="program"``, held by the administrator who made it). It stops working when it
expires, when it is revoked, or when the account it belongs to is deactivated — whichever
comes first; ``authenticate`` gives the same answer (None) for each, so a caller learns
nothing about which.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select, update
from sqlalchemy.orm import joinedload

from lms import access, audit, clock, submissions
from lms.extensions import db
from lms.models import ApiToken, Patient, PatientStatus, Role, User
from lms.problems import FieldProblems

#: Every secret starts with this, so a leaked one is recognisable (secret scanners, logs).
SECRET_PREFIX = "iop_"  # noqa: S105 -- a marker every secret starts with, not a secret
#: How many characters of the secret are kept to tell tokens apart ("iop_" and 8 more).
SHOWN_PREFIX = len(SECRET_PREFIX) + 8
SCOPES = ("caseload", "program")
MIN_DAYS, MAX_DAYS = 1, 365
NAME_MAX = 100
#: ``last_used_at`` is written at most this often: each call would otherwise be a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    admin: User,
    name: str,
    scope: str,
    user: User | None,
    days: int,
    *,
    submit_token: str | None = None,
) -> tuple[ApiToken, str | None]:
    """Make a token; returns the row and its secret, the only time the secret exists.

    ``user`` is the clinician whose caseload a "caseload" token reads (an active clinician);
    a "program" token belongs to ``admin``. The same form sent twice at once makes one token
    (``lms.submissions``): the second answer gets that token and ``None`` for the secret,
    which was shown once, to the first."""
    once = submissions.claim(admin, submit_token, "api_token.create")
    if once.earlier and (earlier := db.session.get(ApiToken, once.result or 0)) is not None:
        return earlier, None
    try:
        row, secret = _create(admin, name, scope, user, days)
    except FieldProblems:
        db.session.rollback()  # frees the claim: a resend with the mistake fixed goes through
        raise
    submissions.finish(once, row.id)
    return row, secret


def _create(
    admin: User, name: str, scope: str, user: User | None, days: int
) -> tuple[ApiToken, str]:
    if admin.role != Role.ADMIN or not admin.active:
        raise FieldProblems({"name": [_l("Only an administrator can make an access token.")]})
    errors: dict[str, list] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_l("Give the token a name that says what it is for.")]
    elif len(name) > NAME_MAX:
        errors["name"] = [_l("Keep the name to %(max)d characters or fewer.", max=NAME_MAX)]
    if scope not in SCOPES:
        errors["scope"] = [_l("Choose one clinician's caseload or the whole program.")]
    elif scope == "caseload":
        if user is None or user.role != Role.CLINICIAN or not user.active:
            errors["clinician"] = [_l("Choose an active clinician from the list.")]
    if not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        errors["days"] = [
            _l("Choose between %(min)d and %(max)d days.", min=MIN_DAYS, max=MAX_DAYS)
        ]
    if errors:
        raise FieldProblems(errors)
    owner = user if scope == "caseload" else admin
    assert owner is not None  # noqa: S101 -- checked above; narrows the type
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    now = clock.utcnow()
    row = ApiToken(
        name=name,
        token_hash=hash_secret(secret),
        prefix=secret[:SHOWN_PREFIX],
        scope=scope,
        user_id=owner.id,
        created_by_id=admin.id,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "api_token.created",
        actor=admin,
        subject=row,
        detail=f"scope={scope} user={owner.id} days={days}",
    )
    return row, secret


def revoke_token(admin: User, token: ApiToken) -> bool:
    """Revoke at once. False when it was already revoked (a double click): nothing written.
    One conditional UPDATE, so two revokes at the same moment revoke (and audit) once."""
    now = clock.utcnow()
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by_id=admin.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(token)
        return False
    token.revoked_at, token.revoked_by_id = now, admin.id
    audit.record("api_token.revoked", actor=admin, subject=token)
    return True


def state(token: ApiToken, now=None) -> str:
    """ "revoked", "expired", "inactive" (its account is deactivated) or "active"."""
    now = now or clock.utcnow()
    if token.revoked_at is not None:
        return "revoked"
    if clock.aware(token.expires_at) <= now:
        return "expired"
    if not token.user.active:
        return "inactive"
    return "active"


def by_secret(secret: object) -> ApiToken | None:
    """The token this secret belongs to, whatever its state (None for a made-up one)."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    return db.session.scalars(
        select(ApiToken)
        .where(ApiToken.token_hash == hash_secret(secret))
        .options(joinedload(ApiToken.user))
    ).first()


def authenticate(secret: object) -> ApiToken | None:
    """The token this secret belongs to, if it works now; None for an unknown, expired or
    revoked one, or one whose account is deactivated — the same None for all. Notes when it
    was used, at most once a minute."""
    token = by_secret(secret)
    now = clock.utcnow()
    if token is None or state(token, now) != "active":
        return None
    if token.scope == "caseload" and token.user.role != Role.CLINICIAN:
        return None  # no longer a clinician: no caseload to read
    if token.scope == "program" and token.user.role != Role.ADMIN:
        return None
    last = clock.aware(token.last_used_at)
    if last is None or now - last >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token


def patients_query(token: ApiToken) -> Select:
    """The patients this token reaches, as a select the caller filters and pages: a
    clinician's caseload by the one rule of ``lms.access.caseload``, or every patient of the
    program. Voided enrolments (duplicates) are in neither: they are listed nowhere."""
    if token.scope == "caseload":
        query = access.caseload(token.user)
    elif token.scope == "program":
        query = select(Patient)
    else:
        return select(Patient).where(False)
    return query.where(Patient.status != PatientStatus.VOIDED)


def tokens_list() -> list[ApiToken]:
    """Every token, newest first, with whom it belongs to and who made it."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .options(joinedload(ApiToken.user), joinedload(ApiToken.created_by))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )
