"""Bringing patients in from the program's roster: a CSV file read, checked line by line,
planned, then applied through the same operations as enrolling by hand.

The file (UTF-8, with or without a byte-order mark; commas, or semicolons as some spreadsheets
save them) has a header row naming its columns: ``record_number, name, email,
clinician_email`` and up to four family groups ``family_N_name, family_N_email,
family_N_relationship``. Each line becomes one ``LinePlan``:

- **create**: no patient of the program has this record number (compared without case or
  spaces, as ``operations._refuse_duplicate_record`` compares; a voided enrolment gave its
  number back). Enrolled today onto the clinician's caseload, with the family members listed.
- **update**: the patient exists and something on the line differs. ``fields`` names what
  changes (column names, never values): ``name``, ``email``, ``clinician_email`` (the
  clinician joins the care team), ``family_N`` (a new family member, matched by email),
  ``family_N_name`` / ``family_N_relationship`` (an existing family member's details).
- **unchanged**: the patient exists and nothing differs. A record number written differently
  (``mrn 7`` for ``MRN7``) is the same number, so it is not rewritten.
- **refused**: every reason, each in words an administrator can act on.

Nothing is ever taken away: nobody leaves a care team, no family member is removed, an empty
optional cell (the patient's email) leaves what is recorded. No consent is created: each new
family member waits for the patient's consent, recorded by the clinician, before they can be
invited or see anything. A discharged patient's line is refused when it would change
something (re-admitting is the clinician's decision, on the patient's page) and unchanged
otherwise. A family email used by a staff or patient account is refused, because an
invitation to it could never be accepted (``invitations.operations.accept_invitation``); one
used by another patient's family is allowed, as it is by hand (one parent of two patients).

Applying re-plans against the database as it is now, then calls ``operations.enroll_patient``,
``edit_patient``, ``add_family_member``, ``edit_family_member`` and
``care_teams.add_to_care_team``, so every rule and audit row is the one of doing it by hand.
The caller commits once: lines refused are skipped, the rest go in one transaction.

A preview not applied is kept for ``KEEP_HOURS``: after that its text (names, emails) is
blanked (``forget_stale``, run at every upload and when a stale preview is opened) and the
administrator uploads the file again; only its hash and counts stay.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from lms import audit, clock, dates
from lms.extensions import db
from lms.models import (
    LinkState,
    Patient,
    PatientStatus,
    Relationship,
    Role,
    RosterImport,
    User,
    normalize_email,
)
from lms.patients import care_teams
from lms.patients import operations as patient_ops
from lms.problems import Problem

#: How long a preview not applied keeps the file's text (names, emails) for applying it.
KEEP_HOURS = 24
#: The largest file read, in bytes ("1 MB" on the upload page).
MAX_BYTES = 1_000_000
#: The most patient lines in one file (the header row not counted).
MAX_LINES = 2000
#: Family groups a line may carry: ``family_1_*`` … ``family_4_*``.
FAMILY_GROUPS = 4
BASE_COLUMNS = ("record_number", "name", "email", "clinician_email")
FAMILY_PARTS = ("name", "email", "relationship")
COLUMNS = BASE_COLUMNS + tuple(
    f"family_{n}_{part}" for n in range(1, FAMILY_GROUPS + 1) for part in FAMILY_PARTS
)
REQUIRED_COLUMNS = ("record_number", "name", "clinician_email")
# The lengths the tables keep (``Patient``, ``FamilyLink``, ``User``).
MAX_NAME = 120
MAX_RECORD_NUMBER = 40
MAX_EMAIL = 254

CREATE, UPDATE, UNCHANGED, REFUSED = "create", "update", "unchanged", "refused"
ACTIONS = (CREATE, UPDATE, UNCHANGED, REFUSED)

# Relationship words a roster may use: the stored values and the English labels of the
# clinician's form (``clinic.forms.RELATIONSHIP_LABELS``), compared without case, with "_",
# "-" and runs of spaces as one space.
_WORDS = {
    Relationship.PARENT: ("parent",),
    Relationship.PARENT_OF_MINOR: (
        "parent of minor",
        "parent of a minor",
        "parent of a teen or child",
        "parent of a teen or child (under 18)",
    ),
    Relationship.PARTNER: ("partner",),
    Relationship.SPOUSE: ("spouse",),
    Relationship.SIBLING: ("sibling",),
    Relationship.ADULT_CHILD: ("adult child",),
    Relationship.FRIEND: ("friend",),
    Relationship.OTHER: ("other",),
}
RELATIONSHIP_WORDS = {word: kind for kind, words in _WORDS.items() for word in words}


def _fold(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def relationship_of(text: str) -> Relationship | None:
    return RELATIONSHIP_WORDS.get(_fold(text))


#: A record number as the program compares them (``patients.operations``, the one rule).
record_key = patient_ops.record_key


class RosterFileProblem(Problem):
    """The file as a whole cannot be read as a roster (nothing in it is planned)."""


# --- reading the file ----------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyCells:
    group: int  # 1…4: which family_N_* columns
    name: str
    email: str
    relationship: str


@dataclass(frozen=True)
class Line:
    """One line of the file as written (cells stripped)."""

    number: int  # the line in the file, the header being line 1
    record_number: str
    name: str
    email: str
    clinician_email: str
    family: tuple[FamilyCells, ...]
    extra_cells: bool = False  # more cells than the header has columns


def decode(data: bytes) -> str:
    """The file's text, or a ``RosterFileProblem`` saying what to do: empty, too large,
    binary (not a CSV), not UTF-8."""
    if len(data) > MAX_BYTES:
        raise RosterFileProblem(
            _l(
                "The file is larger than 1 MB. Split the roster into smaller files of at most "
                "%(n)d patients each and upload them one at a time.",
                n=MAX_LINES,
            )
        )
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise RosterFileProblem(
            _l("The file is empty. Choose the roster file saved from your spreadsheet.")
        )
    if b"\x00" in data:
        raise RosterFileProblem(
            _l(
                "This is not a CSV file. In your spreadsheet, choose Save as, pick “CSV UTF-8 "
                "(comma delimited)”, and upload that file."
            )
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterFileProblem(
            _l(
                "The file is not saved as UTF-8, so names with accents would come out wrong. "
                "In your spreadsheet, choose Save as, pick “CSV UTF-8 (comma delimited)”, and "
                "upload the new file."
            )
        ) from None


def _header_key(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", cell.strip().lower())


def read_lines(text: str) -> list[Line]:
    """The lines of a roster, or a ``RosterFileProblem``: no header, columns missing, unknown
    or repeated, too many lines, not CSV at all."""
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise RosterFileProblem(
                _l("The file is empty. Choose the roster file saved from your spreadsheet.")
            )
        columns = [_header_key(cell) for cell in header]
        _check_columns(columns)
        lines: list[Line] = []
        while True:
            start = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            if not any(cell.strip() for cell in cells):
                continue  # a blank line between patients
            if len(lines) == MAX_LINES:
                raise RosterFileProblem(
                    _l(
                        "The file has more than %(n)d patient lines. Split it into smaller "
                        "files and upload them one at a time.",
                        n=MAX_LINES,
                    )
                )
            lines.append(_line(start, columns, cells))
    except csv.Error:
        raise RosterFileProblem(
            _l(
                "This file could not be read as CSV (line %(line)d). Check that it was saved "
                "as “CSV UTF-8 (comma delimited)”, not as a workbook.",
                line=reader.line_num,
            )
        ) from None
    return lines


def _check_columns(columns: list[str]) -> None:
    unknown = [c for c in columns if c and c not in COLUMNS]
    if unknown:
        raise RosterFileProblem(
            _l(
                "The header row has columns this import does not know: %(columns)s. Use "
                "the column names of the template.",
                columns=", ".join(unknown),
            )
        )
    repeated = sorted({c for c, n in Counter(columns).items() if c and n > 1})
    if repeated:
        raise RosterFileProblem(
            _l(
                "These columns appear twice in the header row: %(columns)s.",
                columns=", ".join(repeated),
            )
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    for n in range(1, FAMILY_GROUPS + 1):
        group = [f"family_{n}_{part}" for part in FAMILY_PARTS]
        if any(c in columns for c in group):
            missing += [c for c in group if c not in columns]
    if missing:
        raise RosterFileProblem(
            _l(
                "The header row is missing these columns: %(columns)s. The first row must "
                "name the columns, as in the template.",
                columns=", ".join(missing),
            )
        )


def _line(number: int, columns: list[str], cells: list[str]) -> Line:
    values = {c: cells[i].strip() for i, c in enumerate(columns) if c and i < len(cells)}
    family = tuple(
        FamilyCells(
            group=n,
            name=values.get(f"family_{n}_name", ""),
            email=values.get(f"family_{n}_email", ""),
            relationship=values.get(f"family_{n}_relationship", ""),
        )
        for n in range(1, FAMILY_GROUPS + 1)
        if any(values.get(f"family_{n}_{part}") for part in FAMILY_PARTS)
    )
    extra = any(cell.strip() for cell in cells[len(columns) :]) or any(
        cells[i].strip() for i, c in enumerate(columns) if not c and i < len(cells)
    )
    return Line(
        number=number,
        record_number=values.get("record_number", ""),
        name=values.get("name", ""),
        email=values.get("email", ""),
        clinician_email=values.get("clinician_email", ""),
        family=family,
        extra_cells=extra,
    )


# --- planning ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinePlan:
    line: int
    record_number: str  # as written in the file
    action: str  # CREATE, UPDATE, UNCHANGED or REFUSED
    fields: tuple[str, ...] = ()  # what an update changes (column names, never values)
    reasons: tuple = ()  # why a line is refused (lazily translated messages)
    new_family: int = 0  # family members this line adds (each waits for consent)
    source: Line | None = None
    patient_id: int | None = None


@dataclass(frozen=True)
class Plan:
    lines: tuple[LinePlan, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(line.action for line in self.lines)
        return {action: counted.get(action, 0) for action in ACTIONS}

    @property
    def changes(self) -> int:
        """Lines that applying would create or update."""
        return sum(1 for line in self.lines if line.action in (CREATE, UPDATE))

    @property
    def new_family(self) -> int:
        return sum(line.new_family for line in self.lines if line.action in (CREATE, UPDATE))


def _is_email(text: str) -> bool:
    if len(text) > MAX_EMAIL:
        return False
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@dataclass
class _Known:
    """What the database holds about the emails and record numbers of the file (three
    queries, whatever the number of lines)."""

    accounts: dict[str, User]
    patients: dict[str, Patient]


def _known(lines: list[Line]) -> _Known:
    emails = {normalize_email(line.clinician_email) for line in lines} | {
        normalize_email(member.email) for line in lines for member in line.family
    }
    emails.discard("")
    accounts = {}
    if emails:
        accounts = {
            user.email: user
            for user in db.session.scalars(select(User).where(User.email.in_(sorted(emails))))
        }
    keys = sorted({record_key(line.record_number) for line in lines} - {""})
    patients: dict[str, Patient] = {}
    if keys:
        found = db.session.scalars(
            select(Patient)
            .where(
                patient_ops.record_key_column().in_(keys),
                Patient.status != PatientStatus.VOIDED,
            )
            .options(selectinload(Patient.family_links), selectinload(Patient.care_team))
            .order_by(Patient.id)
        )
        for patient in found:
            patients.setdefault(record_key(patient.record_number or ""), patient)
    return _Known(accounts=accounts, patients=patients)


def plan(lines: list[Line]) -> Plan:
    """What applying these lines would do, line by line, against the database as it is."""
    known = _known(lines)
    seen = Counter(record_key(line.record_number) for line in lines if line.record_number)
    first_line: dict[str, list[int]] = {}
    for line in lines:
        first_line.setdefault(record_key(line.record_number), []).append(line.number)
    return Plan(lines=tuple(_plan_line(line, known, seen, first_line) for line in lines))


def _plan_line(line: Line, known: _Known, seen: Counter, lines_of: dict) -> LinePlan:
    reasons: list = []
    if line.extra_cells:
        reasons.append(_l("This line has more cells than the header row has columns."))
    key = record_key(line.record_number)
    if not key:
        reasons.append(_l("The record number is missing."))
    elif len(line.record_number) > MAX_RECORD_NUMBER:
        reasons.append(
            _l("The record number is longer than %(n)d characters.", n=MAX_RECORD_NUMBER)
        )
    elif seen[key] > 1:
        reasons.append(
            _l(
                "This record number is on more than one line (lines %(lines)s). Keep one "
                "line per patient.",
                lines=", ".join(str(n) for n in lines_of[key]),
            )
        )
    if not line.name:
        reasons.append(_l("The patient's name is missing."))
    elif len(line.name) > MAX_NAME:
        reasons.append(_l("The patient's name is longer than %(n)d characters.", n=MAX_NAME))
    patient_email = normalize_email(line.email)
    if patient_email and not _is_email(patient_email):
        reasons.append(_l("The patient's email is not an email address."))
    clinician = None
    clinician_email = normalize_email(line.clinician_email)
    if not clinician_email:
        reasons.append(_l("The clinician's email is missing."))
    else:
        clinician = known.accounts.get(clinician_email)
        if clinician is None or clinician.role != Role.CLINICIAN:
            reasons.append(
                _l(
                    "No clinician account has the email in clinician_email. Check it, or create "
                    "the clinician's account first."
                )
            )
            clinician = None
        elif not clinician.active:
            reasons.append(
                _l("The clinician in clinician_email is deactivated. Name an active clinician.")
            )
            clinician = None
    family_emails: Counter = Counter(normalize_email(m.email) for m in line.family)
    for member in line.family:
        reasons += _family_reasons(member, patient_email, family_emails, known)
    patient = known.patients.get(key) if key else None
    if reasons:
        return LinePlan(line.number, line.record_number, REFUSED, reasons=tuple(reasons))
    if patient is None:
        return LinePlan(
            line.number, line.record_number, CREATE, new_family=len(line.family), source=line
        )
    fields, new_family = _differences(line, patient, clinician)
    if not fields:
        return LinePlan(line.number, line.record_number, UNCHANGED, patient_id=patient.id)
    if not patient.is_active:
        return LinePlan(
            line.number,
            line.record_number,
            REFUSED,
            reasons=(
                _l(
                    "This patient was discharged on %(d)s. If they are back in the program, "
                    "their clinician re-admits them on their page first; then import again.",
                    d=dates.day_text(patient.discharged_on) if patient.discharged_on else "",
                ),
            ),
        )
    return LinePlan(
        line.number,
        line.record_number,
        UPDATE,
        fields=fields,
        new_family=new_family,
        source=line,
        patient_id=patient.id,
    )


def _family_reasons(member: FamilyCells, patient_email: str, emails: Counter, known: _Known):
    column = f"family_{member.group}"
    if not member.name:
        yield _l("%(column)s_name is missing.", column=column)
    elif len(member.name) > MAX_NAME:
        yield _l("%(column)s_name is longer than %(n)d characters.", column=column, n=MAX_NAME)
    email = normalize_email(member.email)
    if not email:
        yield _l("%(column)s_email is missing.", column=column)
    elif not _is_email(email):
        yield _l("%(column)s_email is not an email address.", column=column)
    elif emails[email] > 1:
        yield _l(
            "%(column)s_email is given for another family member on this line too. Each "
            "family member needs their own email.",
            column=column,
        )
    elif email == patient_email:
        yield _l(
            "%(column)s_email is the patient's own email. Each family member needs their own "
            "email.",
            column=column,
        )
    elif (account := known.accounts.get(email)) is not None and account.role != Role.FAMILY:
        yield _l(
            "%(column)s_email belongs to a staff or patient account here, so they could not "
            "join as family with it. Use the family member's own email.",
            column=column,
        )
    if not member.relationship:
        yield _l("%(column)s_relationship is missing.", column=column)
    elif relationship_of(member.relationship) is None:
        yield _l(
            "%(column)s_relationship is not one this program uses. Write one of: parent, "
            "parent of minor, partner, spouse, sibling, adult child, friend, other.",
            column=column,
        )


def _differences(line: Line, patient: Patient, clinician: User) -> tuple[tuple[str, ...], int]:
    """The columns whose values differ from what is recorded, and how many family members
    the line adds."""
    fields: list[str] = []
    if line.name != patient.display_name:
        fields.append("name")
    email = normalize_email(line.email)
    if email and email != (patient.email or ""):
        fields.append("email")
    permanent = {m.clinician_id for m in patient.care_team if m.ends_on is None}
    if clinician.id not in permanent:
        fields.append("clinician_email")
    links = {link.email: link for link in patient.family_links if link.state != LinkState.REMOVED}
    new_family = 0
    for member in line.family:
        link = links.get(normalize_email(member.email))
        column = f"family_{member.group}"
        if link is None:
            fields.append(column)
            new_family += 1
            continue
        if member.name != link.display_name:
            fields.append(f"{column}_name")
        if relationship_of(member.relationship) != link.relationship_kind:
            fields.append(f"{column}_relationship")
    return tuple(fields), new_family


def preview(data: bytes) -> tuple[str, Plan]:
    """The file's text and its plan (``RosterFileProblem`` when it cannot be read)."""
    text = decode(data)
    return text, plan(read_lines(text))


# --- keeping an import between its preview and applying it ---------------------------------


def record_upload(actor: User | None, filename: str, data: bytes) -> tuple[RosterImport, Plan]:
    """Keep an uploaded roster for its preview; audited as ``roster.previewed`` with the
    counts only (no names, no record numbers). ``RosterFileProblem`` when it cannot be read,
    and then nothing is kept."""
    text, the_plan = preview(data)
    forget_stale()
    row = RosterImport(
        created_by_id=actor.id if actor is not None else None,
        filename=_clean_filename(filename),
        sha256=hashlib.sha256(data).hexdigest(),
        content=text,
        summary=json.dumps(the_plan.counts),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "roster.previewed", actor=actor, subject=row, detail=_counts_detail(the_plan.counts)
    )
    return row, the_plan


def _clean_filename(filename: str) -> str:
    name = re.sub(r"[\x00-\x1f\x7f]", "", (filename or "").replace("\\", "/").rsplit("/", 1)[-1])
    return name.strip()[:200] or "roster.csv"


def _counts_detail(counts: dict[str, int]) -> str:
    return " ".join(f"{action}={counts.get(action, 0)}" for action in ACTIONS)


def summary_of(row: RosterImport) -> dict[str, int]:
    try:
        counts = json.loads(row.summary or "{}")
    except ValueError:
        counts = {}
    return {action: int(counts.get(action, 0)) for action in ACTIONS}


def forget_stale() -> int:
    """Blank the text of previews not applied within ``KEEP_HOURS`` (one UPDATE); returns how
    many. The roster holds patients' names and emails: nothing keeps them longer than the
    preview needs."""
    cutoff = clock.utcnow() - timedelta(hours=KEEP_HOURS)
    return db.session.execute(
        update(RosterImport)
        .where(
            RosterImport.applied_at.is_(None),
            RosterImport.content.is_not(None),
            RosterImport.created_at < cutoff,
        )
        .values(content=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def plan_for(row: RosterImport) -> Plan | None:
    """The kept import's plan against the database now (None once applied, or once the
    preview is older than ``KEEP_HOURS``: its text is gone, only its counts stay)."""
    if row.applied_at is not None or row.content is None:
        return None
    if clock.aware(row.created_at) < clock.utcnow() - timedelta(hours=KEEP_HOURS):
        forget_stale()
        db.session.refresh(row)
        return None
    return plan(read_lines(row.content))


# --- applying ------------------------------------------------------------------------------


def apply_import(actor: User, row: RosterImport) -> tuple[bool, dict[str, int]]:
    """Apply a previewed import once: a conditional UPDATE on ``applied_at IS NULL`` claims
    it first, so a double click (or two administrators at once) applies it once; the second
    gets ``(False, the first one's counts)``, and so does a preview already forgotten
    (``KEEP_HOURS``). The text is blanked, the counts kept; audited as ``roster.applied``
    with the counts only."""
    forget_stale()
    db.session.refresh(row)
    text = row.content
    claimed = db.session.execute(
        update(RosterImport)
        .where(
            RosterImport.id == row.id,
            RosterImport.applied_at.is_(None),
            # A preview kept too long is forgotten, never applied (``forget_stale``).
            RosterImport.content.is_not(None),
        )
        .values(applied_at=clock.utcnow(), content=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1 or text is None:
        db.session.refresh(row)
        return False, summary_of(row)
    counts = apply_plan(actor, plan(read_lines(text)))
    db.session.execute(
        update(RosterImport)
        .where(RosterImport.id == row.id)
        .values(summary=json.dumps(counts))
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(row)
    audit.record("roster.applied", actor=actor, subject=row, detail=_counts_detail(counts))
    return True, counts


def apply_plan(actor: User | None, the_plan: Plan) -> dict[str, int]:
    """Carry out every line planned as a create or an update (the caller commits). A refusal
    raised by an operation (something changed since the plan was made) names its line and
    leaves the whole import to the caller's rollback."""
    clinicians = _clinicians(the_plan)
    for line in the_plan.lines:
        if line.action not in (CREATE, UPDATE):
            continue
        try:
            if line.action == CREATE:
                _create(actor, line.source, clinicians)
            else:
                _update(actor, line, clinicians)
        except Problem as exc:
            raise Problem(
                _l(
                    "Line %(line)d could not be applied: %(problem)s Nothing was changed. "
                    "Upload the file again to see the roster against what is recorded now.",
                    line=line.line,
                    problem=str(exc),
                )
            ) from exc
    return the_plan.counts


def _clinicians(the_plan: Plan) -> dict[str, User]:
    emails = {
        normalize_email(line.source.clinician_email)
        for line in the_plan.lines
        if line.source is not None
    }
    if not emails:
        return {}
    return {
        user.email: user
        for user in db.session.scalars(select(User).where(User.email.in_(sorted(emails))))
    }


def _create(actor: User | None, line: Line, clinicians: dict[str, User]) -> None:
    clinician = clinicians[normalize_email(line.clinician_email)]
    patient = patient_ops.enroll_patient(
        clinician,
        actor=actor,
        display_name=line.name,
        record_number=line.record_number,
        enrolled_on=clock.today(),
        email=line.email or None,
    )
    for member in line.family:
        patient_ops.add_family_member(
            actor,
            patient,
            display_name=member.name,
            email=member.email,
            relationship=relationship_of(member.relationship),
        )


def _update(actor: User | None, line: LinePlan, clinicians: dict[str, User]) -> None:
    source = line.source
    patient = db.session.get(Patient, line.patient_id)
    if patient is None:  # removed since the plan was made: not something a roster fixes
        raise Problem(_l("The patient's record changed."))
    if "name" in line.fields or "email" in line.fields:
        patient_ops.edit_patient(
            actor,
            patient,
            display_name=source.name,
            record_number=patient.record_number,
            enrolled_on=patient.enrolled_on,
            email=source.email or None,
        )
    if "clinician_email" in line.fields:
        clinician = clinicians[normalize_email(source.clinician_email)]
        care_teams.add_to_care_team(actor, patient, clinician.id)
    links = {link.email: link for link in patient.family_links if link.state != LinkState.REMOVED}
    for member in source.family:
        relationship = relationship_of(member.relationship)
        link = links.get(normalize_email(member.email))
        if link is None:
            patient_ops.add_family_member(
                actor,
                patient,
                display_name=member.name,
                email=member.email,
                relationship=relationship,
            )
        elif member.name != link.display_name or relationship != link.relationship_kind:
            patient_ops.edit_family_member(
                actor, link, display_name=member.name, relationship=relationship
            )


def imports_listed(limit: int = 20) -> list[RosterImport]:
    """The latest imports, newest first, for the upload page."""
    return list(
        db.session.scalars(select(RosterImport).order_by(RosterImport.id.desc()).limit(limit))
    )
