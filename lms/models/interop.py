"""Ways in and out: API tokens, the xAPI statements waiting for a learning-record store, and
patient roster imports.

``ApiToken`` is a personal access token for a staff integration: only a SHA-256 of the secret
is kept; its scope is one clinician's caseload or the whole program; it expires and can be
revoked. Which patients a token reaches is decided in one place,
``lms.interop.tokens.patients_query`` (a caseload token: ``lms.access.caseload``).

``XapiOutbox`` is the outbox for xAPI statements: a statement is recorded in the same
transaction as the learning event it describes and sent later (``flask xapi push``), so a
learning-record store that is down loses nothing; ``statement_id`` is unique, so a statement
is recorded once however many times it is built.

``RosterImport`` is one uploaded roster: previewed first (a dry run), then applied once.
The file's text is kept only until it is applied or abandoned; its hash and counts stay.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms import clock
from lms.extensions import db
from lms.models.base import UTCDateTime
from lms.models.user import User


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 (hex) of the secret; the secret itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the secret, to tell tokens apart in lists and logs.
    prefix: Mapped[str] = mapped_column(String(16))
    # "caseload" (``user_id``'s caseload) or "program" (every patient in the program).
    scope: Mapped[str] = mapped_column(String(16))
    # Whose caseload a "caseload" token reads; the admin who made a "program" token.
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], viewonly=True)


class XapiOutbox(db.Model):
    __tablename__ = "xapi_outbox"
    __table_args__ = (Index("ix_xapi_outbox_unsent", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The statement's own id (a UUID made from the event it describes).
    statement_id: Mapped[str] = mapped_column(String(36), unique=True)
    # The statement as JSON, validated before it was recorded.
    statement: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    # A sender claims a row until this time, so two senders never send it twice at once.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RosterImport(db.Model):
    __tablename__ = "roster_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.utcnow)
    filename: Mapped[str] = mapped_column(String(200))
    # SHA-256 of the uploaded bytes.
    sha256: Mapped[str] = mapped_column(String(64))
    # The uploaded text, kept between the preview and applying it; blanked once applied.
    content: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the preview or the apply found, as JSON counts ({"create": 3, "update": 1, ...}).
    summary: Mapped[str | None] = mapped_column(Text)
