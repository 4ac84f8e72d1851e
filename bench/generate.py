"""Benchmark data at program scale, written in bulk: ``python -m bench.generate --families N``.

Adds N families on top of the demo data (``flask --app wsgi demo``; run here with
``--password`` when the demo accounts are not there yet): a patient with their own login and
two family members who joined (three learners), sometimes a third family member still
invited; consents (in force, ending soon, expired, withdrawn, replaced, ended at discharge);
the invitations they accepted; the family path (family members) and the patient path (the
patient) assigned; module progress, section reads and knowledge-check attempts with their
answers; private notes, some shared with the care team; follow-ups; a weekly education group
per clinician with its attendance; and an audit trail of ``--audit-events`` rows linked into
the hash chain exactly as ``lms.audit.chain`` links them, so ``flask --app wsgi audit
verify`` stays true.

``--caseload`` families (default: 400, as many as every other clinician has) are on
clinician@example.org's caseload, spread through the id range; the rest are shared among
clinician2@example.org and generated clinicians (bench-clinician-NNN@example.org, about 400
families each), with some patients cared for by two clinicians and, when there are
colleagues, clinician@example.org covering 30 of one colleague's patients for ten days: the
caseload query has to filter.

PostgreSQL is written with COPY in one transaction, then VACUUM ANALYZE (20,000 families,
over 5 million progress rows and 600,000 audit rows in a few minutes); SQLite (small sizes)
with executemany. Generated accounts share the demo accounts' password. Records are numbered
BENCH-00000…: a database that already has them is left alone (same size) or refused
(another size). Times are spread over the last year up to now, so generate on the day you
measure. The tables written are locked until the commit and their ids are taken after their
largest: the app may keep running, its writes wait.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select, text

PREFIX = "BENCH-"
#: Families a clinician other than clinician@example.org has, about.
PER_CLINICIAN = 400
#: Families on clinician@example.org's caseload by default: as many as any clinician.
CASELOAD = 400
#: Families written per round of COPY statements (bounds memory, whatever the size).
BATCH = 500

FIRST = (
    "Avery Blake Casey Dakota Emerson Finley Gray Harper Indigo Jordan Kai Logan Marlow Noel "
    "Oakley Parker Quinn Reese Rowan Sage Skyler Tatum Val Wren Ari Bailey Cameron Devon Eden "
    "Frankie Hayden Jesse Kendall Lane Micah Nico Payton Remy Robin Sam Shay Sidney Stevie "
    "Taylor Toby Jamie Alexis Charlie Drew Elliot Jules Kerry Lee Morgan Riley Sasha Terry"
).split()
LAST = (
    "Abbott Alvarez Bennett Brooks Castillo Chen Coleman Diaz Ellis Estrada Fischer Flores "
    "Garcia Gordon Hayes Herrera Hughes Jensen Kim Kowalski Lambert Lopez Marsh Medina Moreno "
    "Nguyen Novak Ortiz Owens Patel Perry Quinn Ramos Reyes Romero Russo Santos Schmidt Shaw "
    "Silva Sullivan Tanaka Torres Vargas Walsh Warren Weber Woods Young Zimmerman Okafor "
    "Haddad Ivanova Mensah Nakamura Oduya Petrov Rahman Sato Yilmaz"
).split()
RELATIONSHIPS = ("parent", "partner", "spouse", "sibling", "adult_child", "friend", "other")


@dataclass
class ModuleFacts:
    slug: str
    version: str
    sections: tuple[str, ...]
    audience: tuple[str, ...]
    #: (question id, number of options, correct option ids, is an ordering question)
    questions: tuple[tuple[str, int, tuple[int, ...], bool], ...] = ()
    pass_mark: float = 0.8


@dataclass
class Counts:
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    caseload: int = 0
    covering: int = 0
    clinicians: int = 0
    seconds: float = 0.0

    @property
    def progress_rows(self) -> int:
        return self.rows["module_progress"] + self.rows["section_read"] + self.rows["quiz_attempt"]

    def lines(self) -> list[str]:
        out = [f"  {table:<16} {count:>10,}" for table, count in sorted(self.rows.items())]
        out.append(
            f"  progress rows (module progress + section reads + check attempts): "
            f"{self.progress_rows:,}"
        )
        out.append(
            f"  clinician@example.org: {self.caseload:,} families on the caseload "
            f"(+{self.covering} covered for a colleague); {self.clinicians} other clinicians"
        )
        return out


# --- writing ---------------------------------------------------------------------------------


class Sink:
    """Bulk writes in the caller's transaction: COPY on PostgreSQL, executemany on SQLite.
    Ids come from each table's sequence (PostgreSQL) or after its largest id (SQLite)."""

    def __init__(self, connection, metadata):
        self.connection = connection
        self.metadata = metadata
        self.postgres = connection.dialect.name == "postgresql"
        self.counts: dict[str, int] = defaultdict(int)
        self._next: dict[str, int] = {}
        self._checked: set[tuple[str, tuple[str, ...]]] = set()

    def lock(self, tables) -> None:
        """Keep other writers out of these tables until the commit (readers go on): the
        ids are taken from a counter here, not from each insert."""
        if self.postgres:
            names = ", ".join(f'"{t}"' for t in tables)
            self.connection.exec_driver_sql(f"LOCK TABLE {names} IN EXCLUSIVE MODE")

    def ids(self, table: str, n: int) -> int:
        """The first of ``n`` new, consecutive ids for ``table``."""
        if table not in self._next:
            top = self.connection.execute(
                select(func.max(self.metadata.tables[table].c.id))
            ).scalar()
            self._next[table] = (top or 0) + 1
        start = self._next[table]
        self._next[table] += n
        return start

    def finish(self) -> None:
        """Move each sequence to the last id written (PostgreSQL; the tables are locked and
        the ids came after their largest), so the app's next insert follows them."""
        if not self.postgres:
            return
        for table, following in self._next.items():
            if following > 1:
                self.connection.execute(
                    text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :n)"),
                    {"t": f'"{table}"', "n": following - 1},
                )

    def _check(self, table: str, columns: tuple[str, ...]) -> None:
        """Refuse early when the schema has a required column this generator does not fill
        (a migration added one): better than a COPY failing half way."""
        if (table, columns) in self._checked:
            return
        schema = self.metadata.tables[table]
        missing = [
            c.name
            for c in schema.columns
            if not c.nullable
            and c.server_default is None
            and c is not schema.autoincrement_column
            and c.name not in columns
        ]
        unknown = [c for c in columns if c not in schema.columns]
        if missing or unknown:
            raise SystemExit(
                f"bench.generate does not match the {table} table: "
                f"missing required columns {missing}, unknown columns {unknown}"
            )
        self._checked.add((table, columns))

    def write(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        self._check(table, columns)
        if self.postgres:
            raw = self.connection.connection.driver_connection
            names = ", ".join(f'"{c}"' for c in columns)
            with raw.cursor() as cursor:
                with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            self.connection.execute(
                insert(self.metadata.tables[table]),
                [dict(zip(columns, r, strict=True)) for r in rows],
            )
        self.counts[table] += len(rows)


# --- the families ----------------------------------------------------------------------------

USER_COLUMNS = (
    "id",
    "email",
    "display_name",
    "role",
    "active",
    "password_hash",
    "locale",
    "oriented_at",
    "reminders_enabled",
    "session_version",
    "last_login_at",
    "created_at",
    "updated_at",
)
PATIENT_COLUMNS = (
    "id",
    "display_name",
    "record_number",
    "status",
    "enrolled_on",
    "discharged_on",
    "user_id",
    "created_by_id",
    "created_at",
)
CARE_TEAM_COLUMNS = (
    "id",
    "patient_id",
    "clinician_id",
    "added_at",
    "ends_on",
    "covering_for_id",
)
LINK_COLUMNS = (
    "id",
    "patient_id",
    "user_id",
    "display_name",
    "email",
    "relationship",
    "state",
    "created_at",
)
CONSENT_COLUMNS = (
    "id",
    "patient_id",
    "family_link_id",
    "program_name",
    "recipient_name",
    "disclosure",
    "purpose",
    "revocation_terms",
    "expires_on",
    "expiry_event",
    "signed_by",
    "signature_method",
    "signed_on",
    "recorded_by_id",
    "created_at",
    "revoked_at",
    "revoked_by_id",
    "superseded_at",
    "superseded_by_id",
    "ends_at_discharge",
    "ended_at",
    "end_reason",
)
INVITATION_COLUMNS = (
    "id",
    "token_hash",
    "email",
    "role",
    "patient_id",
    "family_link_id",
    "created_by_id",
    "created_at",
    "expires_at",
    "used_at",
    "used_by_id",
    "locale",
)
ASSIGNMENT_COLUMNS = (
    "id",
    "module_slug",
    "learner_id",
    "patient_id",
    "path_slug",
    "assigned_by_id",
    "assigned_at",
    "due_on",
    "cancelled_at",
    "cancelled_by_id",
)
PROGRESS_COLUMNS = (
    "id",
    "user_id",
    "module_slug",
    "started_at",
    "last_activity_at",
    "last_section_key",
    "sections_read",
    "sections_total",
    "best_score",
    "passed_at",
    "completed_at",
    "completed_version",
)
READ_COLUMNS = ("id", "user_id", "module_slug", "section_key", "content_version", "read_at")
ATTEMPT_COLUMNS = (
    "id",
    "user_id",
    "module_slug",
    "content_version",
    "lang",
    "submit_token",
    "score",
    "correct_count",
    "total",
    "pass_mark",
    "passed",
    "submitted_at",
)
ANSWER_COLUMNS = (
    "id",
    "attempt_id",
    "position",
    "question_id",
    "chosen",
    "correct",
    "shown_order",
)
FOLLOWUP_COLUMNS = (
    "id",
    "patient_id",
    "family_link_id",
    "clinician_id",
    "contacted_on",
    "follow_up_on",
    "note",
    "reasons",
    "created_at",
)
NOTE_COLUMNS = ("id", "user_id", "body", "shared_at", "asked_at", "created_at", "updated_at")
SESSION_COLUMNS = ("id", "held_on", "title", "facilitator", "created_by_id", "created_at")
SESSION_MODULE_COLUMNS = ("id", "session_id", "module_slug", "position")
ATTENDANCE_COLUMNS = ("id", "session_id", "patient_id", "status")
NOTES = (
    "Ask about how to talk about the weekend plans.",
    "What do we do if they miss a session?",
    "I want to know more about naloxone at home.",
    "Question for group: how do I set a boundary without a fight?",
    "Remember to lock up the medicine cabinet.",
    "How long do cravings last?",
)
AUDIT_COLUMNS = (
    "at",
    "actor_id",
    "action",
    "subject_type",
    "subject_id",
    "patient_id",
    "outcome",
    "ip",
    "detail",
    "chain_seq",
    "prev_hash",
    "row_hash",
)

WRITTEN = (
    "user",
    "patient",
    "care_team",
    "family_link",
    "consent",
    "invitation",
    "assignment",
    "module_progress",
    "section_read",
    "quiz_attempt",
    "quiz_answer",
    "follow_up",
    "practice_note",
    "education_session",
    "session_module",
    "attendance",
    "audit_event",
)

#: An earlier wording of a module: a few attempts and completions were made on it.
OLD_VERSION = "0" * 63 + "1"


@dataclass
class FamilyRef:
    """What the audit trail needs to name a generated family."""

    patient_id: int
    clinician_id: int
    learners: tuple[int, ...]
    consents: tuple[int, ...]
    assignments: tuple[int, int]  # first id, how many


class Families:
    """Rows of one batch of families, table by table."""

    def __init__(self):
        self.tables: dict[str, list[tuple]] = defaultdict(list)

    def add(self, table: str, row: tuple) -> None:
        self.tables[table].append(row)


class Generator:
    def __init__(self, sink: Sink, library, *, families, caseload, audit_events, seed):
        self.sink = sink
        self.rng = random.Random(seed)  # noqa: S311 -- benchmark data, not security
        self.families = families
        self.caseload = caseload
        self.audit_events = audit_events
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.today = self.now.date()
        self.modules = {m.slug: m for m in _module_facts(library)}
        family_path = library.path("family-weeks-1-4")
        patient_path = library.path("patient-core")
        by_audience = defaultdict(list)
        for m in self.modules.values():
            for audience in m.audience:
                by_audience[audience].append(m.slug)
        self.audience_modules = {k: tuple(v) for k, v in by_audience.items()}
        self.paths = {
            "family": (
                "family-weeks-1-4",
                tuple(family_path.module_slugs) if family_path else by_audience["family"][:10],
            ),
            "patient": (
                "patient-core",
                tuple(patient_path.module_slugs) if patient_path else by_audience["patient"][:9],
            ),
        }
        # Each question is harder or easier for everyone: the question analysis has a shape.
        self.difficulty = {
            (m.slug, q[0]): self.rng.uniform(-0.2, 0.05)
            for m in self.modules.values()
            for q in m.questions
        }
        self.refs: list[FamilyRef] = []
        self.clinicians: list[int] = []
        self.staff: dict[str, int] = {}
        #: Patients clinician@example.org covers for a colleague.
        self.covering = 0
        #: Families given to clinicians other than clinician@example.org so far.
        self.others = 0
        #: Active patients of each clinician (for group sessions).
        self.active: dict[int, list[int]] = defaultdict(list)

    # --- accounts ----------------------------------------------------------------------

    def staff_accounts(self, password_hash: str) -> None:
        """The demo's clinicians and admin, and generated clinicians for the other families."""
        c = self.sink.connection
        ids = dict(
            c.execute(
                text(
                    'SELECT email, id FROM "user" WHERE email IN '
                    "('clinician@example.org', 'clinician2@example.org', 'admin@example.org')"
                )
            ).all()
        )
        self.staff = ids
        others = max(0, math.ceil((self.families - self.caseload) / PER_CLINICIAN))
        start = self.sink.ids("user", others)
        rows = []
        for k in range(others):
            name = f"{FIRST[k % len(FIRST)]} {LAST[(k * 7) % len(LAST)]}, LCSW"
            rows.append(
                self._user_row(
                    start + k,
                    f"bench-clinician-{k:03d}@example.org",
                    name,
                    "clinician",
                    password_hash,
                    self.now - timedelta(days=400),
                )
            )
        self.sink.write("user", USER_COLUMNS, rows)
        self.clinicians = [ids["clinician2@example.org"], *range(start, start + others)]

    def _user_row(self, uid, email, name, role, password_hash, created, locale=None):
        login = self.now - timedelta(minutes=self.rng.randint(10, 60 * 24 * 20))
        return (
            uid,
            email,
            name,
            role,
            True,
            password_hash,
            locale,
            created + timedelta(minutes=5) if role in ("family", "patient") else None,
            True,
            1,
            login,
            created,
            created,
        )

    # --- one family --------------------------------------------------------------------

    def family(self, n: int, out: Families, password_hash: str) -> None:
        rng, sink = self.rng, self.sink
        on_caseload = (n * self.caseload) // self.families != (
            (n + 1) * self.caseload
        ) // self.families
        main = self.staff["clinician@example.org"]
        if on_caseload:
            clinician = main
        else:  # the others in turn (a counter of their own: n would skip some)
            clinician = self.clinicians[self.others % len(self.clinicians)]
            self.others += 1
        discharged = rng.random() < 0.14
        if discharged:
            enrolled = self.today - timedelta(days=rng.randint(100, 540))
            left = enrolled + timedelta(days=rng.randint(42, 90))
        else:
            enrolled = self.today - timedelta(days=rng.randint(1, 84))
            left = None
        end_day = left or self.today
        start_at = _at(enrolled, rng)
        end_at = self.now if left is None else _at(left, rng)
        last = LAST[rng.randrange(len(LAST))]
        patient_name = f"{FIRST[rng.randrange(len(FIRST))]} {last}"
        es = rng.random() < 0.1
        locale = "es" if es else None

        pid = sink.ids("patient", 1)
        users = sink.ids("user", 3)
        patient_user, family_users = users, (users + 1, users + 2)
        invited = rng.random() < 0.15
        link0 = sink.ids("family_link", 3 if invited else 2)
        member_names = [
            f"{FIRST[rng.randrange(len(FIRST))]} "
            + (last if rng.random() < 0.8 else LAST[rng.randrange(len(LAST))])
            for _ in range(3)
        ]
        created = start_at
        out.add(
            "user",
            self._user_row(
                patient_user,
                f"bench{n:05d}.p@example.org",
                patient_name,
                "patient",
                password_hash,
                created,
                locale,
            ),
        )
        for k, uid in enumerate(family_users):
            out.add(
                "user",
                self._user_row(
                    uid,
                    f"bench{n:05d}.{k}@example.org",
                    member_names[k],
                    "family",
                    password_hash,
                    created + timedelta(days=1),
                    locale,
                ),
            )
        out.add(
            "patient",
            (
                pid,
                patient_name,
                f"{PREFIX}{n:05d}",
                "discharged" if discharged else "active",
                enrolled,
                left,
                patient_user,
                clinician,
                start_at,
            ),
        )
        # Care team: the clinician; now and then a second one.
        team = [(clinician, None, None)]
        if rng.random() < 0.06 and len(self.clinicians) > 1:
            second = self.clinicians[rng.randrange(len(self.clinicians))]
            if second != clinician:
                team.append((second, None, None))
        covered = (
            not on_caseload
            and clinician == self.clinicians[-1]
            and not discharged
            and self.covering < 30
            and len(self.clinicians) > 1
        )
        if covered:
            team.append((main, self.today + timedelta(days=10), clinician))
            self.covering += 1
        if not discharged:
            self.active[clinician].append(pid)
        team_id = sink.ids("care_team", len(team))
        for k, (who, ends_on, covering_for) in enumerate(team):
            out.add("care_team", (team_id + k, pid, who, start_at, ends_on, covering_for))

        # Family links, consents, invitations.
        links = [(link0, family_users[0], "active"), (link0 + 1, family_users[1], "active")]
        if invited:
            links.append((link0 + 2, None, "invited"))
        consents: list[int] = []
        for k, (lid, uid, state) in enumerate(links):
            email = f"bench{n:05d}.{k}@example.org" if uid else f"bench{n:05d}.invited@example.org"
            name = member_names[k]
            out.add(
                "family_link",
                (lid, pid, uid, name, email, RELATIONSHIPS[rng.randrange(7)], state, start_at),
            )
            self._consents(out, pid, lid, name, clinician, patient_user, enrolled, left, consents)
            invitation_id = sink.ids("invitation", 1)
            sent = start_at + timedelta(hours=rng.randint(1, 30))
            used = sent + timedelta(hours=rng.randint(1, 72)) if uid else None
            if used and used > self.now:
                used = self.now - timedelta(minutes=5)
            out.add(
                "invitation",
                (
                    invitation_id,
                    hashlib.sha256(f"bench-invitation-{invitation_id}".encode()).hexdigest(),
                    email,
                    "family",
                    pid,
                    lid,
                    clinician,
                    sent,
                    sent + timedelta(days=7),
                    used,
                    uid,
                    "es" if es else "en",
                ),
            )
        invitation_id = sink.ids("invitation", 1)
        sent = start_at + timedelta(hours=rng.randint(1, 30))
        out.add(
            "invitation",
            (
                invitation_id,
                hashlib.sha256(f"bench-invitation-{invitation_id}".encode()).hexdigest(),
                f"bench{n:05d}.p@example.org",
                "patient",
                pid,
                None,
                clinician,
                sent,
                sent + timedelta(days=7),
                min(sent + timedelta(hours=2), self.now),
                patient_user,
                "es" if es else "en",
            ),
        )

        # Readings assigned, and what each learner did.
        learners = [(patient_user, "patient"), *((uid, "family") for uid in family_users)]
        first_assignment = None
        assignment_count = 0
        for uid, audience in learners:
            path_slug, slugs = self.paths[audience]
            slugs = [s for s in slugs if s in self.modules]
            aid = sink.ids("assignment", len(slugs))
            first_assignment = first_assignment or aid
            assignment_count += len(slugs)
            assigned_at = start_at + timedelta(hours=rng.randint(2, 30))
            first_due = enrolled + timedelta(days=3)
            due = {}
            for i, slug in enumerate(slugs):
                due_on = first_due + timedelta(days=3 * i)
                cancelled = assigned_at + timedelta(days=2) if rng.random() < 0.02 else None
                out.add(
                    "assignment",
                    (
                        aid + i,
                        slug,
                        uid,
                        pid,
                        path_slug,
                        clinician,
                        assigned_at,
                        due_on,
                        cancelled,
                        clinician if cancelled else None,
                    ),
                )
                due[slug] = (due_on, assigned_at)
            self._learning(out, uid, audience, due, start_at, end_at, end_day)
            self._notes(out, uid, start_at, end_at)
        # Follow-ups on some active families.
        if not discharged and rng.random() < 0.05:
            fid = sink.ids("follow_up", 1)
            contacted = self.today - timedelta(days=rng.randint(0, 12))
            out.add(
                "follow_up",
                (
                    fid,
                    pid,
                    link0 if rng.random() < 0.6 else None,
                    clinician,
                    contacted,
                    contacted + timedelta(days=rng.choice((7, 10, 14))),
                    None,
                    "overdue\ninactive",
                    _at(contacted, rng),
                ),
            )
        self.refs.append(
            FamilyRef(
                pid,
                clinician,
                (patient_user, *family_users),
                tuple(consents),
                (first_assignment or 0, assignment_count),
            )
        )

    def _notes(self, out, uid, start_at, end_at):
        """A private notepad for some learners; some notes shared with the care team."""
        rng = self.rng
        if rng.random() >= 0.25:
            return
        count = rng.randint(1, 3)
        first = self.sink.ids("practice_note", count)
        span = max(60, int((end_at - start_at).total_seconds()))
        for k in range(count):
            written = start_at + timedelta(seconds=rng.randint(0, span))
            shared = written + timedelta(hours=1) if rng.random() < 0.35 else None
            asked = shared + timedelta(days=2) if shared and rng.random() < 0.3 else None
            if asked and asked > self.now:
                asked = None
            out.add(
                "practice_note",
                (first + k, uid, NOTES[rng.randrange(len(NOTES))], shared, asked, written, written),
            )

    def sessions(self) -> None:
        """A weekly education group per clinician over the last twelve weeks, with some of
        their active patients attending."""
        rng, sink = self.rng, self.sink
        statuses = ("present", "present", "present", "absent", "excused")
        slugs = list(self.modules)
        out = Families()
        for clinician, patients in self.active.items():
            if not patients:
                continue
            for week in range(12):
                sid = sink.ids("education_session", 1)
                held = self.today - timedelta(days=7 * week + rng.randint(0, 4))
                out.add(
                    "education_session",
                    (
                        sid,
                        held,
                        "Family education group",
                        "Group facilitator",
                        clinician,
                        _at(held, rng),
                    ),
                )
                covered = rng.sample(slugs, 2)
                mid = sink.ids("session_module", 2)
                for k, slug in enumerate(covered):
                    out.add("session_module", (mid + k, sid, slug, k))
                came = rng.sample(patients, min(len(patients), 8))
                aid = sink.ids("attendance", len(came))
                for k, pid in enumerate(came):
                    out.add("attendance", (aid + k, sid, pid, statuses[rng.randrange(5)]))
        self.write_batch(out)

    def _consents(self, out, pid, lid, name, clinician, patient_user, enrolled, left, ids):
        """One consent for the family member (sometimes after an earlier one it replaced)."""
        from lms.models.clinical import DEFAULT_DISCLOSURE, DEFAULT_PURPOSE, DEFAULT_REVOCATION

        rng = self.rng
        replaced = rng.random() < 0.05
        cid = self.sink.ids("consent", 2 if replaced else 1)
        signed = enrolled + timedelta(days=rng.randint(0, 3))
        rows = []
        if replaced:
            earlier = enrolled - timedelta(days=rng.randint(1, 30))
            rows.append((cid, earlier, _at(signed, rng), cid + 1, None, None))
            cid += 1
        expires = signed + timedelta(days=rng.randint(30, 240)) if rng.random() < 0.85 else None
        at_discharge = rng.random() < 0.7
        ended = _at(left, rng) if (left and at_discharge) else None
        revoked = None
        if rng.random() < 0.04:
            until = left or self.today
            span = max(1, (until - signed).days)
            revoked = _at(signed + timedelta(days=rng.randint(0, span)), rng)
            if revoked > self.now:
                revoked = self.now - timedelta(hours=1)
        rows.append((cid, signed, None, None, revoked, ended))
        for consent_id, signed_on, superseded_at, superseded_by, revoked_at, ended_at in rows:
            out.add(
                "consent",
                (
                    consent_id,
                    pid,
                    lid,
                    "Bench IOP",
                    name,
                    DEFAULT_DISCLOSURE,
                    DEFAULT_PURPOSE,
                    DEFAULT_REVOCATION,
                    expires,
                    "when I finish the program",
                    "patient",
                    "paper" if rng.random() < 0.5 else "electronic",
                    signed_on,
                    clinician,
                    _at(signed_on, rng),
                    revoked_at,
                    patient_user if revoked_at else None,
                    superseded_at,
                    superseded_by,
                    at_discharge,
                    ended_at,
                    "discharge" if ended_at else None,
                ),
            )
            ids.append(consent_id)

    def _learning(self, out, uid, audience, due, start_at, end_at, end_day):
        """Progress, section reads and attempts of one learner: most of the path's readings
        started (all of those due), most of the rest of their audience's modules too."""
        rng, sink = self.rng, self.sink
        engaged = rng.random()
        skill = rng.uniform(0.7, 0.97)
        quiet = end_at == self.now and rng.random() < 0.08  # stopped coming a while ago
        horizon = end_at - timedelta(days=rng.randint(9, 20)) if quiet else end_at
        chosen = []
        for slug in self.audience_modules.get(audience, ()):
            if slug in due:
                due_on, assigned_at = due[slug]
                p = 0.97 if due_on <= end_day else 0.8
                opened = assigned_at
            else:
                p = 0.95
                opened = start_at
            if rng.random() < p * (0.85 + 0.15 * engaged) and opened < horizon:
                chosen.append((slug, opened))
        if not chosen:
            return
        progress = sink.ids("module_progress", len(chosen))
        reads_needed, attempts_needed = [], []
        plans = []
        for slug, opened in chosen:
            m = self.modules[slug]
            span = max(60, int((horizon - opened).total_seconds()))
            started = opened + timedelta(seconds=rng.randint(60, span))
            n = len(m.sections)
            read = n if rng.random() < 0.85 else rng.randint(1, max(1, n - 1))
            times = []
            t = started
            for _ in range(read):
                times.append(t)
                t += timedelta(minutes=rng.randint(1, 12))
                if rng.random() < 0.1:
                    t += timedelta(days=rng.randint(1, 3))
            tries = []
            if m.questions and read == n:
                t += timedelta(minutes=rng.randint(2, 20))
                s = skill
                while True:
                    tries.append((t, s))
                    if len(tries) == 3:
                        break
                    t += timedelta(hours=rng.randint(1, 72))
                    s = min(0.98, s + 0.12)
                    if rng.random() < 0.25:
                        break
            plans.append((m, started, read, times, tries))
            reads_needed.append(read)
            attempts_needed.append(len(tries))
        read_id = sink.ids("section_read", sum(reads_needed))
        attempt_id = sink.ids("quiz_attempt", sum(attempts_needed))
        answer_id = sink.ids(
            "quiz_answer",
            sum(len(p[0].questions) * len(p[4]) for p in plans),
        )
        for k, (m, started, read, times, tries) in enumerate(plans):
            last_activity = times[-1]
            for key, at in zip(m.sections, times, strict=False):
                out.add("section_read", (read_id, uid, m.slug, key, m.version, min(at, self.now)))
                read_id += 1
            best, passed_at = None, None
            for number, (at, s) in enumerate(tries, start=1):
                at = min(at, self.now)
                version = OLD_VERSION if rng.random() < 0.03 else m.version
                correct = 0
                for position, (qid, options, right, ordering) in enumerate(m.questions):
                    ok = rng.random() < s + self.difficulty[(m.slug, qid)]
                    chosen = _chosen(rng, options, right, ordering, ok)
                    correct += ok
                    order = list(range(options))
                    rng.shuffle(order)
                    out.add(
                        "quiz_answer",
                        (
                            answer_id,
                            attempt_id,
                            position,
                            qid,
                            chosen,
                            ok,
                            ",".join(map(str, order)),
                        ),
                    )
                    answer_id += 1
                total = len(m.questions)
                score = correct / total
                passed = score >= m.pass_mark
                out.add(
                    "quiz_attempt",
                    (
                        attempt_id,
                        uid,
                        m.slug,
                        version,
                        "en",
                        f"bench-{attempt_id}-{number}",
                        score,
                        correct,
                        total,
                        m.pass_mark,
                        passed,
                        at,
                    ),
                )
                attempt_id += 1
                best = score if best is None else max(best, score)
                if passed and passed_at is None:
                    passed_at = at
                last_activity = max(last_activity, at)
                if passed:
                    break
            done = read == len(m.sections) and (not m.questions or passed_at is not None)
            completed = (passed_at or times[-1]) if done else None
            out.add(
                "module_progress",
                (
                    progress + k,
                    uid,
                    m.slug,
                    min(started, self.now),
                    min(last_activity, self.now),
                    m.sections[read - 1],
                    read,
                    len(m.sections),
                    best,
                    passed_at,
                    min(completed, self.now) if completed else None,
                    (OLD_VERSION if rng.random() < 0.03 else m.version) if completed else None,
                ),
            )

    def write_batch(self, out: Families) -> None:
        columns = {
            "user": USER_COLUMNS,
            "patient": PATIENT_COLUMNS,
            "care_team": CARE_TEAM_COLUMNS,
            "family_link": LINK_COLUMNS,
            "consent": CONSENT_COLUMNS,
            "invitation": INVITATION_COLUMNS,
            "assignment": ASSIGNMENT_COLUMNS,
            "module_progress": PROGRESS_COLUMNS,
            "section_read": READ_COLUMNS,
            "quiz_attempt": ATTEMPT_COLUMNS,
            "quiz_answer": ANSWER_COLUMNS,
            "follow_up": FOLLOWUP_COLUMNS,
            "practice_note": NOTE_COLUMNS,
            "education_session": SESSION_COLUMNS,
            "session_module": SESSION_MODULE_COLUMNS,
            "attendance": ATTENDANCE_COLUMNS,
        }
        for table, cols in columns.items():  # parents before children
            self.sink.write(table, cols, out.tables.get(table, []))

    # --- the audit trail ---------------------------------------------------------------

    def audit_trail(self) -> None:
        """``audit_events`` rows over the last year, oldest first, chained after the rows
        already there (the head row is locked first, as ``lms.audit.chain`` does)."""
        from lms.audit.chain import HASHED_FIELDS, row_hash

        if not self.audit_events or not self.refs:
            return
        rng = self.rng
        c = self.sink.connection
        head = c.execute(
            text(
                "UPDATE audit_chain_head SET last_seq = last_seq WHERE id = 1 "
                "RETURNING last_seq, last_hash"
            )
        ).one()
        seq, previous = head
        year = 365 * 24 * 3600
        # More recent days are busier (the program grew): a square root spreads them so.
        ages = sorted(
            (year * math.sqrt(rng.random()) for _ in range(self.audit_events)), reverse=True
        )
        admin = self.staff.get("admin@example.org")
        actions = _ACTIONS
        weights = [w for _a, w in actions]
        cumulative = []
        total = 0
        for w in weights:
            total += w
            cumulative.append(total)
        rows = []
        for age in ages:
            at = self.now - timedelta(seconds=int(age), microseconds=rng.randrange(1_000_000))
            family = self.refs[rng.randrange(len(self.refs))]
            pick = rng.random() * total
            action = actions[_bisect(cumulative, pick)][0]
            row = _audit_row(action, family, admin, rng)
            seq += 1
            fields = {
                "chain_seq": seq,
                "at": at,
                "actor_id": row[0],
                "action": action,
                "subject_type": row[1],
                "subject_id": row[2],
                "patient_id": row[3],
                "outcome": row[4],
                "ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                "detail": row[5],
                "prev_hash": previous,
            }
            previous = row_hash({name: fields[name] for name in HASHED_FIELDS})
            rows.append(
                (
                    at,
                    fields["actor_id"],
                    action,
                    fields["subject_type"],
                    fields["subject_id"],
                    fields["patient_id"],
                    fields["outcome"],
                    fields["ip"],
                    fields["detail"],
                    seq,
                    fields["prev_hash"],
                    previous,
                )
            )
            if len(rows) >= 50_000:
                self.sink.write("audit_event", AUDIT_COLUMNS, rows)
                rows = []
        self.sink.write("audit_event", AUDIT_COLUMNS, rows)
        c.execute(
            text("UPDATE audit_chain_head SET last_seq = :s, last_hash = :h WHERE id = 1"),
            {"s": seq, "h": previous},
        )


_ACTIONS = (
    ("login.success", 28),
    ("logout", 8),
    ("login.failure", 3),
    ("patient.view", 15),
    ("caseload.view", 10),
    ("learner.view", 5),
    ("items.view", 2),
    ("assignment.created", 10),
    ("consent.recorded", 3),
    ("invite.sent", 3),
    ("invite.accepted", 3),
    ("family.added", 2),
    ("report.view", 1),
    ("followup.recorded", 1),
    ("account.preferences_changed", 1),
    ("reauth.success", 1),
    ("consent.form_view", 2),
    ("assignment.form_view", 1),
    ("audit.view", 1),
)


def _bisect(cumulative: list[float], value: float) -> int:
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _audit_row(action: str, family: FamilyRef, admin: int | None, rng: random.Random):
    """(actor, subject type, subject id, patient id, outcome, detail) for one event."""
    learner = family.learners[rng.randrange(len(family.learners))]
    staff = family.clinician_id
    pid = family.patient_id
    if action in ("login.success", "logout", "account.preferences_changed", "invite.accepted"):
        return (learner, "user", learner, None, "success", None)
    if action == "login.failure":
        return (None, None, None, None, "failure", "unknown or wrong password")
    if action == "patient.view":
        return (staff, "patient", pid, pid, "success", None)
    if action == "caseload.view":
        return (staff, None, None, None, "success", f"{rng.randint(1, 25)} families shown")
    if action == "learner.view":
        return (staff, "user", learner, pid, "success", None)
    if action == "items.view":
        return (staff, None, None, None, "success", "module=None attempts=first")
    if action == "assignment.created":
        first, count = family.assignments
        return (staff, "assignment", first + rng.randrange(max(1, count)), pid, "success", None)
    if action in ("consent.recorded", "consent.form_view"):
        consent = family.consents[rng.randrange(len(family.consents))] if family.consents else None
        return (staff, "consent", consent, pid, "success", None)
    if action == "invite.sent":
        return (staff, "patient", pid, pid, "success", None)
    if action in ("family.added", "assignment.form_view", "report.view", "followup.recorded"):
        return (staff, "patient", pid, pid, "success", None)
    if action == "reauth.success":
        return (staff, "user", staff, None, "success", None)
    if action == "audit.view":
        return (admin, None, None, None, "success", "page=1 all")
    return (staff, None, None, None, "success", None)


def _chosen(rng, options, right, ordering, ok) -> str:
    """What a learner chose, stored as the app stores it (option ids; an ordering's steps in
    the learner's order)."""
    if ordering:
        order = list(range(options))
        if not ok:
            while order == list(range(options)):
                rng.shuffle(order)
        return ",".join(map(str, order))
    if ok:
        return ",".join(map(str, right))
    wrong = [i for i in range(options) if i not in right] or [0]
    return str(wrong[rng.randrange(len(wrong))])


def _at(day: date, rng: random.Random) -> datetime:
    """A time during the program's working day (UTC), on ``day``."""
    return datetime(day.year, day.month, day.day, 13, 0, tzinfo=UTC) + timedelta(
        minutes=rng.randint(0, 9 * 60)
    )


def _module_facts(library) -> list[ModuleFacts]:
    out = []
    for m in library.modules():
        questions = ()
        pass_mark = 0.8
        if m.quiz is not None:
            questions = tuple(
                (q.id, len(q.choices), tuple(sorted(q.correct_indices)), q.is_ordering)
                for q in m.quiz.questions
            )
            pass_mark = m.quiz.pass_mark
        out.append(
            ModuleFacts(
                slug=m.slug,
                version=m.version,
                sections=tuple(s.key for s in m.sections),
                audience=tuple(str(a) for a in m.audience),
                questions=questions,
                pass_mark=pass_mark,
            )
        )
    return out


# --- the command -----------------------------------------------------------------------------


def generate(
    *,
    families: int,
    caseload: int | None = None,
    audit_events: int | None = None,
    password: str | None = None,
    seed: int = 17,
    echo=print,
) -> Counts | None:
    """Write the benchmark data into the current app's database (inside an app context).
    None when the database already holds exactly this many generated families."""
    from lms import uow
    from lms.content import get_library
    from lms.extensions import db
    from lms.models import Patient, User

    started = time.monotonic()
    caseload = min(families, CASELOAD) if caseload is None else min(caseload, families)
    audit_events = families * 30 if audit_events is None else audit_events
    there = db.session.scalar(
        select(func.count()).select_from(Patient).where(Patient.record_number.like(f"{PREFIX}%"))
    )
    if there == families:
        echo(f"The database already has {there:,} generated families: nothing to do.")
        return None
    if there:
        raise SystemExit(
            f"The database already has {there:,} generated families, not {families:,}: "
            "generate into a fresh database (createdb, flask db upgrade) instead."
        )
    clinician = db.session.scalars(User.by_email("clinician@example.org")).first()
    if clinician is None:
        if not password:
            raise SystemExit(
                "No demo accounts in this database: run `flask --app wsgi demo --password P` "
                "first, or pass --password P to create them here."
            )
        from lms import demo

        echo("Creating the demo accounts first…", flush=True)
        demo.build(password)
        uow.commit()
        clinician = db.session.scalars(User.by_email("clinician@example.org")).one()
    password_hash = clinician.password_hash
    db.session.commit()

    library = get_library()
    with db.engine.begin() as connection:
        sink = Sink(connection, db.metadata)
        sink.lock(WRITTEN)
        gen = Generator(
            sink,
            library,
            families=families,
            caseload=caseload,
            audit_events=audit_events,
            seed=seed,
        )
        gen.staff_accounts(password_hash)
        batch = Families()
        for n in range(families):
            gen.family(n, batch, password_hash)
            if (n + 1) % BATCH == 0 or n + 1 == families:
                gen.write_batch(batch)
                batch = Families()
                if (n + 1) % (BATCH * 10) == 0:
                    echo(f"  {n + 1:,} families ({time.monotonic() - started:.0f} s)", flush=True)
        gen.sessions()
        echo(f"Writing {audit_events:,} audit rows (hash-chained)…", flush=True)
        gen.audit_trail()
        sink.finish()
    if db.engine.dialect.name == "postgresql":
        echo("VACUUM ANALYZE…", flush=True)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as c:
            c.exec_driver_sql("ANALYZE")
    counts = Counts(rows=sink.counts)
    counts.caseload = caseload
    counts.covering = gen.covering
    counts.clinicians = len(gen.clinicians)
    counts.seconds = time.monotonic() - started
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description="Add generated families, their learning and an audit trail for benchmarks.",
    )
    parser.add_argument("--families", type=int, required=True, help="families to add")
    parser.add_argument(
        "--caseload",
        type=int,
        help="of which on clinician@example.org's caseload (default: all, at most 400)",
    )
    parser.add_argument(
        "--audit-events", type=int, help="audit rows to add (default: 30 per family)"
    )
    parser.add_argument(
        "--database-url", help="the database (default: DATABASE_URL, as the app reads it)"
    )
    parser.add_argument(
        "--password",
        help="creates the demo accounts with this password when they are not there yet",
    )
    parser.add_argument("--seed", type=int, default=17, help="random seed (default 17)")
    args = parser.parse_args(argv)
    if args.families < 1:
        parser.error("--families must be at least 1")

    from lms import create_app

    config = {"AUTO_MIGRATE": True}
    if args.database_url:
        config["SQLALCHEMY_DATABASE_URI"] = args.database_url
    app = create_app(config)
    with app.app_context():
        counts = generate(
            families=args.families,
            caseload=args.caseload,
            audit_events=args.audit_events,
            password=args.password,
            seed=args.seed,
        )
    if counts is None:
        return 0
    print(f"Added {args.families:,} families in {counts.seconds:.0f} s:")
    for line in counts.lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
