"""CSV exports and printable reports are streamed: the response is a stream, its first chunk
goes out before the last batch of rows is read, memory does not grow with the caseload, the
bytes are the ones the whole-file exports gave, and the export is audited — and committed —
before the first byte, the rows being read afterwards in a transaction of their own.

Every test runs on SQLite and, with ``TEST_DATABASE_URL``, on PostgreSQL (server-side
cursors, the ``REPEATABLE READ`` snapshot)."""

from __future__ import annotations

import csv
import io
import os
import statistics
import tracemalloc
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import and_, create_engine, event, func, literal, select, text, union_all

from lms import access, clock, notices
from lms.assignments import queries as assignment_q
from lms.assignments import status as status_rules
from lms.audit.log import AuditFilters, action_label, audit_query, program_zone
from lms.content import get_library
from lms.extensions import db
from lms.models import (
    Assignment,
    AuditEvent,
    CareTeamMember,
    Consent,
    FamilyLink,
    LinkState,
    ModuleProgress,
    Patient,
    Role,
    User,
)
from lms.reports import REPORT_HEADER
from tests.helpers import PASSWORD, _hash, login, make_user

pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
PG_URL = os.environ.get("TEST_DATABASE_URL")

FIRST = 3  # patient names in the first part of an export: a few families make two parts


@pytest.fixture
def app_config(app_config):
    config = {**app_config, "REPORT_FIRST_NAMES": FIRST, "EXPORT_FETCH_ROWS": 50}
    if PG_URL:  # the app's connections can be told apart in pg_stat_activity
        name = f"exports-{uuid.uuid4().hex[:8]}"
        config["SQLALCHEMY_DATABASE_URI"] += f"&application_name={name}"
        config["TEST_APPLICATION_NAME"] = name
    return config


def signed_in(app, user):
    """A client signed in just now (exports ask for a recent sign-in)."""
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


# --- data --------------------------------------------------------------------------------


def add_families(app, clinician_id: int, n: int, *, start: int = 0, prefix="Family") -> None:
    """``n`` families in one transaction: the patient (with a login, a learner too) and three
    family members with consents in force, each with both test modules assigned; some done."""
    now = clock.utcnow()
    with app.app_context():
        for i in range(start, start + n):
            own = User(
                email=f"p{i}.{prefix}@example.org",
                display_name=f"Own {i:04d}",
                role=Role.PATIENT,
                password_hash=_hash(PASSWORD),
            )
            db.session.add(own)
            db.session.flush()
            patient = Patient(
                display_name=f"{prefix} {i:04d}", enrolled_on=clock.today(), user_id=own.id
            )
            patient.care_team.append(CareTeamMember(clinician_id=clinician_id))
            db.session.add(patient)
            db.session.flush()
            learners = [own]
            for k in range(3):
                member = User(
                    email=f"f{i}.{k}.{prefix}@example.org",
                    display_name=f"Member {i:04d}-{k}",
                    role=Role.FAMILY,
                    password_hash=_hash(PASSWORD),
                )
                db.session.add(member)
                db.session.flush()
                link = FamilyLink(
                    patient_id=patient.id,
                    user_id=member.id,
                    display_name=member.display_name,
                    email=member.email,
                    relationship_kind="parent_of_minor" if k else "sibling",
                    state=LinkState.ACTIVE,
                )
                db.session.add(link)
                db.session.flush()
                db.session.add(
                    Consent(
                        patient_id=patient.id,
                        family_link_id=link.id,
                        program_name="Test program",
                        recipient_name=member.display_name,
                        signature_method="paper",
                        signed_on=clock.today() - timedelta(days=3),
                        expires_on=clock.today() + timedelta(days=90),
                    )
                )
                learners.append(member)
            for n_learner, learner in enumerate(learners):
                for slug, due in (("first-steps", -2), ("no-check", 5 + n_learner)):
                    db.session.add(
                        Assignment(
                            module_slug=slug,
                            learner_id=learner.id,
                            patient_id=patient.id,
                            assigned_by_id=clinician_id,
                            assigned_at=now - timedelta(days=4),
                            due_on=clock.today() + timedelta(days=due),
                        )
                    )
                if (i + n_learner) % 2:
                    db.session.add(
                        ModuleProgress(
                            user_id=learner.id,
                            module_slug="first-steps",
                            sections_read=3,
                            sections_total=3,
                            best_score=0.67,
                            completed_at=now - timedelta(days=1),
                        )
                    )
        db.session.commit()


def add_tricky_caseload(app, clinician_id: int) -> None:
    """Rows that test the export's order and escaping: patients and learners sharing names
    (across batches too), formula-like and quoted names, a learner who is the patient, no due
    date, a consent withdrawn, a discharge, a cancelled reading, a patient on no caseload,
    a cover that has ended."""
    other = make_user("clinician").id
    now = clock.utcnow()
    with app.app_context():

        def patient(name, *, clinicians=(clinician_id,), status="active", user=None, ends=None):
            row = Patient(
                display_name=name,
                enrolled_on=clock.today(),
                status=status,
                user_id=user.id if user else None,
            )
            for c in clinicians:
                row.care_team.append(CareTeamMember(clinician_id=c, ends_on=ends))
            db.session.add(row)
            db.session.flush()
            return row

        made = []

        def learner(name, role=Role.FAMILY):
            made.append(name)
            user = User(
                email=f"tricky{len(made)}@example.org",
                display_name=name,
                role=role,
                password_hash=_hash(PASSWORD),
            )
            db.session.add(user)
            db.session.flush()
            return user

        def link(p, user, relationship="parent", consent="active", state=LinkState.ACTIVE):
            row = FamilyLink(
                patient_id=p.id,
                user_id=user.id,
                display_name=user.display_name,
                email=user.email,
                relationship_kind=relationship,
                state=state,
            )
            db.session.add(row)
            db.session.flush()
            if consent:
                db.session.add(
                    Consent(
                        patient_id=p.id,
                        family_link_id=row.id,
                        program_name="Test program",
                        recipient_name=user.display_name,
                        signature_method="paper",
                        signed_on=clock.today() - timedelta(days=3),
                        expires_on=clock.today() + timedelta(days=30),
                        revoked_at=now if consent == "withdrawn" else None,
                    )
                )

        def assign(p, user, slug, due=3, cancelled=False):
            db.session.add(
                Assignment(
                    module_slug=slug,
                    learner_id=user.id,
                    patient_id=p.id,
                    assigned_at=now - timedelta(days=2),
                    due_on=clock.today() + timedelta(days=due) if due is not None else None,
                    cancelled_at=now if cancelled else None,
                )
            )

        names = ["Same Name", "Same Name", "Same Name", "Same Name", "Alpha", "Zed"]
        for i, name in enumerate(names):
            p = patient(name)
            twin = learner("Twin")
            link(p, twin, "adult_child")
            assign(p, twin, "first-steps", due=i - 2)
            assign(p, twin, "no-check", due=None)
            other_twin = learner("Twin")
            link(p, other_twin, consent="withdrawn" if i % 2 else "active")
            assign(p, other_twin, "first-steps", due=1)
        formula = patient('=HYPERLINK("http://x")')
        quoted = learner('Pat "Quote", Jr.\nline two')
        link(formula, quoted)
        assign(formula, quoted, "first-steps")
        for prefix in ("+1", "-2", "@SUM(A1)", "\tTab"):
            weird = learner(prefix)
            link(formula, weird, "friend")
            assign(formula, weird, "no-check")
        own = learner("Own Login", Role.PATIENT)
        itself = patient("Patient Learner", user=own)
        assign(itself, own, "first-steps")
        gone = patient("Discharged Family", status="discharged")
        member = learner("After Discharge")
        link(gone, member)
        assign(gone, member, "first-steps", due=-5)
        assign(gone, member, "no-check", cancelled=True)
        removed = learner("Removed Link")
        link(gone, removed, state=LinkState.REMOVED)
        assign(gone, removed, "no-check")
        elsewhere = patient("Not Mine", clinicians=(other,))
        assign(elsewhere, learner("Someone Else"), "first-steps")
        ended = patient("Cover Ended", ends=clock.today() - timedelta(days=1))
        assign(ended, learner("Covered Once"), "first-steps")
        done = learner("Done Learner")
        link(itself, done, "spouse")
        assign(itself, done, "first-steps")
        db.session.add(
            ModuleProgress(
                user_id=done.id,
                module_slug="first-steps",
                sections_read=3,
                sections_total=3,
                best_score=0.835,
                completed_at=now,
            )
        )
        db.session.commit()


# --- the exports as they were (whole-file, one list of rows), to compare bytes with ---------


def rows_before(user, patient_id=None):
    """``report_rows`` as it was before exports were streamed (one query, a list)."""
    today = clock.today()
    ids = access.caseload(user).with_only_columns(Patient.id)
    if patient_id is not None:
        ids = ids.where(Patient.id == patient_id)
    family = select(
        FamilyLink.patient_id.label("patient_id"),
        FamilyLink.user_id.label("user_id"),
        FamilyLink.relationship_kind.label("relationship"),
    ).where(
        FamilyLink.user_id.is_not(None),
        FamilyLink.state == LinkState.ACTIVE,
        FamilyLink.patient_id.in_(ids),
    )
    own = select(
        Patient.id.label("patient_id"),
        Patient.user_id.label("user_id"),
        literal("patient").label("relationship"),
    ).where(Patient.user_id.is_not(None), Patient.id.in_(ids))
    # One change: the patient's select first. Family first, the union read "patient" as a
    # Relationship and the whole export failed (a 500) once a patient with their own login
    # had a reading; the streamed export reads it as text.
    learners = union_all(own, family).subquery("learners")
    query, expression, progress = assignment_q.status_select(today)
    rows = db.session.execute(
        query.with_only_columns(
            Patient.display_name,
            User.display_name,
            learners.c.relationship,
            Assignment.module_slug,
            Assignment.assigned_at,
            Assignment.due_on,
            expression,
            progress.completed_at,
            progress.best_score,
            Patient.id,
        )
        .join(User, User.id == Assignment.learner_id)
        .join(
            learners,
            and_(
                learners.c.patient_id == Assignment.patient_id,
                learners.c.user_id == Assignment.learner_id,
            ),
            isouter=True,
        )
        .where(Assignment.patient_id.in_(ids), Assignment.cancelled_at.is_(None))
        .order_by(Patient.display_name, User.display_name, Assignment.due_on, Assignment.id)
    ).all()
    library = get_library()
    goals = goal_counts_python({row[-1] for row in rows})
    out = []
    for row in rows:
        patient, learner, relationship, slug, assigned, due, status, completed_at, best = row[:-1]
        module = library.module(slug)
        out.append(
            (
                patient,
                learner,
                (relationship or "").replace("_", " "),
                module.title if module else slug,
                clock.aware(assigned).date().isoformat(),
                due.isoformat() if due else "",
                status_rules.label(status),
                clock.aware(completed_at).date().isoformat() if completed_at else "",
                f"{round(best * 100)}%" if best is not None else "",
                *(str(n) for n in goals.get(row[-1], (0, 0, 0))),
            )
        )
    return out


def goal_counts_python(patient_ids) -> dict[int, tuple[int, int, int]]:
    """Goals met, open and missed per patient by the Python form of the goal rule (the
    export's columns come from its SQL twin)."""
    from lms.goals import queries as goal_q
    from lms.models import LearningGoal

    goals = db.session.scalars(
        select(LearningGoal).where(
            LearningGoal.patient_id.in_(sorted(patient_ids)), LearningGoal.cancelled_at.is_(None)
        )
    ).all()
    counts: dict[int, list[int]] = {}
    order = [goal_q.GoalState.MET, goal_q.GoalState.OPEN, goal_q.GoalState.MISSED]
    for shown in goal_q.states_for(goals):
        counts.setdefault(shown.goal.patient_id, [0, 0, 0])[order.index(shown.state)] += 1
    return {pid: tuple(c) for pid, c in counts.items()}


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_before(header, rows, preamble=()) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for line in preamble:
        writer.writerow([_cell(v) for v in line])
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue().encode()


def report_csv_before(app, user_id, patient_id=None) -> bytes:
    with app.test_request_context():
        user = db.session.get(User, user_id)
        return csv_before(REPORT_HEADER, rows_before(user, patient_id), notices.csv_notice_rows())


def audit_csv_before(app, filters: AuditFilters, below_id: int) -> bytes:
    """The audit CSV as it was (everything matching, read before the export's own row)."""
    from lms.audit.log import CSV_HEADER

    with app.test_request_context():
        zone = program_zone()
        rows = db.session.execute(
            audit_query(filters, zone)
            .add_columns(User.email, User.display_name)
            .outerjoin(User, User.id == AuditEvent.actor_id)
            .where(AuditEvent.id < below_id)
        ).all()
        lines = []
        for e, email, name in rows:
            at = e.at.astimezone(UTC)
            lines.append(
                [
                    at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    e.actor_id,
                    email,
                    name,
                    e.action,
                    e.subject_type,
                    e.subject_id,
                    e.patient_id,
                    e.outcome,
                    e.ip,
                    e.detail,
                    at.astimezone(zone).isoformat(timespec="seconds"),
                    action_label(e.action),
                ]
            )
        return csv_before(CSV_HEADER, lines)


# --- reading a streamed response ---------------------------------------------------------


class Statements:
    """The SQL statements run while it is open (every connection of the app's engine)."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.seen: list[str] = []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._hit)
        return self

    def _hit(self, conn, cursor, statement, *args):
        self.seen.append(statement)

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._hit)

    def reading_assignments(self) -> int:
        # Counting statements (the audit row's) start with count(); the export's own may
        # count inside (a goal's readings done).
        return sum(
            1
            for s in self.seen
            if "FROM assignment" in s and not s.lstrip().lower().startswith("select count(")
        )


def read_all(response) -> bytes:
    try:
        return b"".join(response.response)
    finally:
        response.close()


def audit_count(url: str, action: str) -> int:
    """Rows of ``action`` that another connection sees: committed ones only."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            )
    finally:
        engine.dispose()


# --- the tests ---------------------------------------------------------------------------


CSV_PATHS = ["/clinic/reports/caseload.csv", "/clinic/reports"]


def test_caseload_csv_is_streamed_and_has_the_bytes_of_the_whole_file_export(app):
    clinician = make_user("clinician")
    add_tricky_caseload(app, clinician.id)
    add_families(app, clinician.id, 4)
    client = signed_in(app, clinician)
    response = client.get("/clinic/reports/caseload.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    body = read_all(response)
    assert body == report_csv_before(app, clinician.id)
    rows = list(csv.reader(io.StringIO(body.decode())))
    table = rows[3:]
    assert rows[2] == [str(h) for h in REPORT_HEADER]
    # Names shared by several patients stay together, in the one order, across batches of 3.
    patients = [r[0] for r in table]
    assert patients == sorted(patients, key=lambda name: patients.index(name))
    assert patients.count("Same Name") == 12 and "Not Mine" not in patients
    assert "Cover Ended" not in patients and '\'=HYPERLINK("http://x")' in patients
    learners = {r[1] for r in table}
    assert {"'+1", "'-2", "'@SUM(A1)", "'\tTab", 'Pat "Quote", Jr.\nline two'} <= learners
    assert "Removed Link" in learners  # still listed, with no relationship (the link is gone)
    own = next(r for r in table if r[1] == "Own Login")
    assert own[2] == "patient"
    done = next(r for r in table if r[1] == "Done Learner")
    assert done[2] == "spouse" and done[8] == "84%"
    gone = [r for r in table if r[0] == "Discharged Family"]
    assert [r[6] for r in gone if r[1] == "After Discharge"] == ["Suspended: discharged"]


def test_family_csv_is_streamed_and_matches(app):
    clinician = make_user("clinician")
    add_families(app, clinician.id, 2)
    with app.app_context():
        patient_id = db.session.scalar(
            select(Patient.id).where(Patient.display_name == "Family 0001")
        )
    client = signed_in(app, clinician)
    response = client.get(f"/clinic/patients/{patient_id}/report.csv")
    assert response.status_code == 200 and response.is_streamed
    body = read_all(response)
    assert body == report_csv_before(app, clinician.id, patient_id)
    assert body.decode().count("Family 0001") == 8 and b"Family 0000" not in body


def copy_started(app_config) -> datetime:
    """On PostgreSQL, when the app's connection started its latest ``COPY``."""
    engine = create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            return conn.scalar(
                text(
                    "SELECT query_start FROM pg_stat_activity WHERE application_name = :name "
                    "AND query LIKE 'COPY (%'"
                ),
                {"name": app_config["TEST_APPLICATION_NAME"]},
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("path", CSV_PATHS)
def test_first_chunk_goes_out_before_the_rest_is_read(app, app_config, path):
    clinician = make_user("clinician")
    marker = f"Fam{uuid.uuid4().hex[:8]}"  # names no other test's export reads
    add_families(app, clinician.id, 4 * FIRST, prefix=marker)
    client = signed_in(app, clinician)
    copy = path.endswith(".csv") and PG_URL is not None  # PostgreSQL writes the CSV itself
    with Statements(app) as statements:
        # The test client, like a server, takes the first chunk as soon as the view returns.
        response = client.get(path)
        try:
            assert response.is_streamed
            at_first_chunk = statements.reading_assignments()
            if copy:
                first_copy = copy_started(app_config)
            chunks = iter(response.response)
            first = next(chunks)
            rest = b""
            while marker.encode() + b" 0011" not in rest:  # into the second part
                rest += next(chunks)
            if copy:
                last_copy = copy_started(app_config)
            rest += b"".join(chunks)
        finally:
            response.close()
    assert marker.encode() + b" 0011" in rest and marker.encode() + b" 0011" not in first
    if not path.endswith(".csv"):
        # The page's head goes out before any row is read; then the two parts.
        assert at_first_chunk == 0 and statements.reading_assignments() == 2
        assert first.startswith(b"<!") and marker.encode() not in first
        return
    # The notice, a blank line, the header and the first row, once the first part is asked.
    assert first.startswith(b'"Notice (42 CFR 2.32)') and first.count(b"\r\n") == 4
    assert marker.encode() + b" 0000" in first
    if copy:
        # The database wrote the first part; it was asked for the rest after the first chunk.
        assert first_copy is not None and last_copy > first_copy
    else:
        assert at_first_chunk == 1 and statements.reading_assignments() == 2


def test_export_is_audited_and_committed_before_the_first_byte(app, app_config):
    clinician = make_user("clinician")
    add_families(app, clinician.id, 2 * FIRST + 1)
    client = signed_in(app, clinician)
    url = app_config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        engine = db.engine
    response = client.get("/clinic/reports/caseload.csv")
    try:
        # Nothing of the body read yet: the export is already on record, and committed.
        assert response.is_streamed
        assert audit_count(url, "report.export") == 1
        # The rows are read after that commit, in a transaction of their own, still valid.
        body = b"".join(response.response)
    finally:
        response.close()
    # The stream's connection went back to the pool with its transaction ended.
    assert engine.pool.checkedout() == 0
    assert body == report_csv_before(app, clinician.id)
    with app.app_context():
        detail = db.session.scalar(
            select(AuditEvent.detail).where(AuditEvent.action == "report.export")
        )
    assert detail == f"caseload csv, {2 * FIRST + 1} patients"


def test_an_export_left_unread_releases_its_connection(app):
    clinician = make_user("clinician")
    add_families(app, clinician.id, 2 * FIRST)
    client = signed_in(app, clinician)
    with app.app_context():
        engine = db.engine
    for path in CSV_PATHS:
        response = client.get(path)
        next(iter(response.response))  # the reader goes away after the first chunk
        response.close()
        assert engine.pool.checkedout() == 0


@pytest.mark.skipif(
    PG_URL is None,
    reason="needs PostgreSQL (TEST_DATABASE_URL): on SQLite each part reads the data as it is",
)
@pytest.mark.parametrize("path", CSV_PATHS)
def test_on_postgresql_both_parts_read_one_snapshot(app, app_config, path):
    clinician = make_user("clinician")
    add_families(app, clinician.id, 3 * FIRST)
    before = read_all(signed_in(app, clinician).get(path))
    client = signed_in(app, clinician)
    response = client.get(path)
    engine = create_engine(app_config["SQLALCHEMY_DATABASE_URI"])
    try:
        chunks = iter(response.response)
        first = b""
        while b"Family 0000" not in first:  # the export has begun reading
            first += next(chunks)
        # Meanwhile, a reading of a family of the second part is cancelled (committed).
        with engine.begin() as conn:
            conn.execute(
                Assignment.__table__.update()
                .where(
                    Assignment.patient_id
                    == select(Patient.id)
                    .where(Patient.display_name == "Family 0008")
                    .scalar_subquery()
                )
                .values(cancelled_at=clock.utcnow())
            )
        body = first + b"".join(chunks)
    finally:
        response.close()
        engine.dispose()
    # The rows are as they stood when the export began (a page's form tokens aside), and
    # the change is real: the next export no longer lists the cancelled readings.
    after = read_all(signed_in(app, clinician).get(path))
    assert table(body) == table(before) and b"Family 0008" in table(body)
    assert b"Family 0008" not in table(after)


def table(body: bytes) -> bytes:
    """The rows of a CSV export or of a printable report."""
    if b"<tbody>" in body:
        return body[body.index(b"<tbody>") : body.index(b"</tbody>")]
    return body


@pytest.mark.parametrize("path", CSV_PATHS)
def test_memory_stays_flat_from_n_to_ten_n_families(app, path):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    add_families(app, clinician.id, 30)

    def peak() -> tuple[int, int]:
        read_all(client.get(path))  # warm: compiled statements and templates are cached
        tracemalloc.start()
        try:
            response = client.get(path)
            assert response.is_streamed
            size = 0
            try:
                for chunk in response.response:
                    size += len(chunk)
            finally:
                response.close()
            return tracemalloc.get_traced_memory()[1], size
        finally:
            tracemalloc.stop()

    small, small_size = peak()
    add_families(app, clinician.id, 270, start=30)
    large, large_size = peak()
    print(f"{path}: peak {small} B for {small_size} B, {large} B for {large_size} B")
    assert large_size > 8 * small_size
    # Ten times the rows, about the same memory: less than the body itself (a whole-file
    # export holds the body, and its rows several times over).
    assert large - small < min(256 * 1024, large_size), (small, large, large_size)


def test_printable_caseload_report_is_streamed_and_audited_first(app, app_config):
    clinician = make_user("clinician")
    client = signed_in(app, clinician)
    empty = client.get("/clinic/reports")
    assert empty.is_streamed and "Nothing assigned yet." in read_all(empty).decode()
    add_families(app, clinician.id, 2 * FIRST + 1)
    response = client.get("/clinic/reports")
    try:
        assert response.status_code == 200 and response.is_streamed
        assert response.headers["Cache-Control"] == "no-store"
        assert audit_count(app_config["SQLALCHEMY_DATABASE_URI"], "report.view") == 2
        page = b"".join(response.response).decode()
    finally:
        response.close()
    assert page.count("<tr><td>Family ") == (2 * FIRST + 1) * 8
    assert page.index("Family 0000") < page.index("Family 0006")
    assert page.rstrip().endswith("</html>")
    with app.app_context():
        details = db.session.scalars(
            select(AuditEvent.detail)
            .where(AuditEvent.action == "report.view")
            .order_by(AuditEvent.id)
        ).all()
    assert details == ["0 patients", f"{2 * FIRST + 1} patients"]


def test_printable_family_report_is_streamed(app):
    clinician = make_user("clinician")
    add_families(app, clinician.id, 2)
    with app.app_context():
        patient_id = db.session.scalar(
            select(Patient.id).where(Patient.display_name == "Family 0000")
        )
    response = signed_in(app, clinician).get(f"/clinic/patients/{patient_id}/report")
    assert response.is_streamed
    page = read_all(response).decode()
    assert page.count("<tr><td>Family 0000") == 8 and "Family 0001" not in page
    assert "Member 0000-0" in page and "sibling" in page


def test_audit_csv_is_streamed_and_holds_what_matched_when_asked(app):
    admin = make_user("admin", name="Alex Admin")
    clinician = make_user("clinician", name='=Casey "C"')
    with app.app_context():
        for n in range(40):
            db.session.add(
                AuditEvent(
                    action="zz.csv" if n % 4 else "zz.other",
                    actor_id=clinician.id if n % 3 else None,
                    patient_id=n,
                    detail='=HYPERLINK("x")' if n == 5 else f"n={n}",
                )
            )
        db.session.commit()
    client = signed_in(app, admin)
    response = client.get("/admin/audit.csv?action=zz.csv")
    assert response.status_code == 200 and response.is_streamed
    body = read_all(response)
    with app.app_context():
        export = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "audit.export")
        ).one()
        assert export.detail.startswith("rows=30 ") and "action=zz.csv" in export.detail
        export_id = export.id
    assert body == audit_csv_before(app, AuditFilters(action="zz.csv"), export_id)
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert len(rows) == 31 and '\'=Casey "C"' in {r[3] for r in rows}
    assert any(r[10] == '\'=HYPERLINK("x")' for r in rows)
    # Filtered by people and patients (lists of ids), the same bytes as before too.
    query = f"actor_id={clinician.id}&patient_id=7&patient_id=9&patient_id=10"
    response = client.get(f"/admin/audit.csv?{query}")
    body = read_all(response)
    filters = AuditFilters(actor_ids=(clinician.id,), patient_ids=(7, 9, 10))
    with app.app_context():
        export_id = db.session.scalar(select(func.max(AuditEvent.id)))
    assert body == audit_csv_before(app, filters, export_id)
    assert body.count(b"\r\n") == 3  # the header, patients 7 and 10 (9 had no actor)
    # Unfiltered: every row before the export's own one, which it never holds itself.
    everything = read_all(client.get("/admin/audit.csv")).decode()
    assert everything.count("audit.export") == 2  # the two exports before it


def test_audit_csv_memory_stays_flat(app):
    admin = make_user("admin")
    client = signed_in(app, admin)

    def add(n):
        with app.app_context():
            db.session.add_all(
                AuditEvent(action="zz.mem", actor_id=admin.id, patient_id=i, detail=f"n={i}")
                for i in range(n)
            )
            db.session.commit()

    def peak():
        read_all(client.get("/admin/audit.csv?action=zz.mem"))
        tracemalloc.start()
        try:
            size = sum(len(c) for c in read_all_iter(client.get("/admin/audit.csv?action=zz.mem")))
            return tracemalloc.get_traced_memory()[1], size
        finally:
            tracemalloc.stop()

    add(300)
    small, small_size = peak()
    add(2700)
    large, large_size = peak()
    print(f"audit csv: peak {small} B for {small_size} B, {large} B for {large_size} B")
    assert large_size > 8 * small_size
    assert large - small < min(256 * 1024, large_size), (small, large, large_size)


def read_all_iter(response):
    try:
        yield from response.response
    finally:
        response.close()


def test_program_report_medians_and_counts_are_computed_in_the_database(app):
    admin = make_user("admin")
    clinician = make_user("clinician", name="Casey Clinician")
    other = make_user("clinician", name="Casey Clinician")  # the same name: one line, as before
    family = make_user("family", name="Not Staff")
    start = clock.utcnow() - timedelta(days=30)
    # (assigned by, module, days to complete or None); -1: completed before it was assigned
    plan = [
        (clinician, "first-steps", 1.0),
        (clinician, "first-steps", 2.5),
        (other, "first-steps", 10.0),
        (None, "first-steps", None),
        (clinician, "no-check", 4.0),
        (family, "no-check", -1.0),
        (family, "no-check", None),
        (None, "no-check", 3.0),
    ]
    with app.app_context():
        p = Patient(display_name="P", enrolled_on=clock.today())
        db.session.add(p)
        db.session.flush()
        for i, (by, slug, days) in enumerate(plan):
            learner = User(
                email=f"l{i}@example.org", display_name=f"L{i}", role=Role.FAMILY, password_hash="x"
            )
            db.session.add(learner)
            db.session.flush()
            db.session.add(
                Assignment(
                    module_slug=slug,
                    learner_id=learner.id,
                    patient_id=p.id,
                    assigned_by_id=by.id if by else None,
                    assigned_at=start,
                )
            )
            if days is not None:
                db.session.add(
                    ModuleProgress(
                        user_id=learner.id,
                        module_slug=slug,
                        completed_at=start + timedelta(days=days),
                    )
                )
        cancelled = Assignment(
            module_slug="no-check",
            learner_id=family.id,
            patient_id=p.id,
            assigned_at=start,
            cancelled_at=start,
        )
        db.session.add(cancelled)
        db.session.commit()
        from lms.reports import program_report

        by_module, by_clinician = program_report()

    expected_module = defaultdict(lambda: [0, 0, []])
    expected_clinician = defaultdict(lambda: [0, 0, []])
    names = {clinician.id: "Casey Clinician", other.id: "Casey Clinician"}
    titles = {"first-steps": "First steps", "no-check": "No check here"}
    for by, slug, days in plan:
        for bucket in (
            expected_module[titles[slug]],
            expected_clinician[names.get(by and by.id, "—")],
        ):
            bucket[0] += 1
            if days is not None:
                bucket[1] += 1
                bucket[2].append(max(days, 0.0))

    def expect(groups):
        return [
            (label, a, c, statistics.median(d) if d else None)
            for label, (a, c, d) in sorted(groups.items())
        ]

    def got(items):
        return [
            (
                i["label"],
                i["assigned"],
                i["completed"],
                i["median_days"] and round(i["median_days"], 6),
            )
            for i in items
        ]

    assert got(by_module) == expect(expected_module)
    assert got(by_clinician) == expect(expected_clinician)
    assert [i["rate"] for i in by_module] == [3 / 4, 3 / 4]
    response = signed_in(app, admin).get("/clinic/reports/program")
    assert response.is_streamed
    page = read_all(response).decode()
    assert "<td>2.5</td>" in page and "<td>3.0</td>" in page
