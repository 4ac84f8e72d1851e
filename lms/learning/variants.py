"""Which text of a module a reader sees: the variant for their relationship to the patient.

Modules hold ``::: for partner`` blocks (``lms.content``); the family link records how a family
member is related to the patient. One rule here maps the one to the other; pages only display.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select

from lms.content.model import OTHERWISE, VARIANT_KEYS, Section
from lms.extensions import db
from lms.models import FamilyLink, LinkState, Relationship, Role, User

#: How each relationship on a family link reads a variant module. Friends and others, and
#: patients themselves, read the ``everyone-else`` text.
VARIANT_OF_RELATIONSHIP = {
    Relationship.PARENT_OF_MINOR: "parent-of-teen",
    Relationship.PARENT: "parent-of-adult",
    Relationship.PARTNER: "partner",
    Relationship.SPOUSE: "partner",
    Relationship.ADULT_CHILD: "adult-child",
    Relationship.SIBLING: "sibling",
}

#: The words that name each variant's readers (previews, handouts, the chooser).
VARIANT_LABELS = {
    "parent-of-teen": _l("For a parent of a teen or child"),
    "parent-of-adult": _l("For a parent of an adult"),
    "partner": _l("For a partner or spouse"),
    "adult-child": _l("For an adult son or daughter"),
    "sibling": _l("For a brother or sister"),
    OTHERWISE: _l("For everyone else"),
}
ALL = "all"


_LINK_KINDS = select(FamilyLink.relationship_kind).where(
    FamilyLink.user_id == bindparam("user_id"), FamilyLink.state == LinkState.ACTIVE
)  # built once: every page of a reading asks


def reader_variant(user: User) -> str | None:
    """The variant this person reads by default; None means "show every variant, labelled"
    (staff previewing, or a family member linked to patients in different ways)."""
    if user.role == Role.PATIENT:
        return OTHERWISE
    if user.role != Role.FAMILY:
        return None
    kinds = set(db.session.scalars(_LINK_KINDS, {"user_id": user.id}))
    keys = {VARIANT_OF_RELATIONSHIP.get(kind, OTHERWISE) for kind in kinds}
    if not keys:
        return OTHERWISE
    return keys.pop() if len(keys) == 1 else None


def chosen_variant(user: User, asked: str | None) -> str | None:
    """``?for=`` picks any variant (or ``all``) — the clinician's preview and print, or a
    reader who wants another view; otherwise the reader's own."""
    if asked == ALL:
        return None
    if asked in VARIANT_KEYS:
        return asked
    return reader_variant(user)


def section_html(section: Section, variant: str | None) -> str:
    """The section's HTML for this variant (None: every variant, labelled)."""
    if variant is None:
        return section.html_all(VARIANT_LABELS)
    return section.html_for(variant)
