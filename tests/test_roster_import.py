"""Bringing patients in from the roster (``lms.patients.roster``, ``admin/roster.py``, the
``patients import`` command): a CSV previewed line by line, applied once, idempotent on the
record number, applied through the same operations (and audit rows) as doing it by hand."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from lms import clock
from lms.extensions import db
from lms.models import (
    AuditEvent,
    CareTeamMember,
    Consent,
    FamilyLink,
    Patient,
    PatientStatus,
    Relationship,
    RosterImport,
)
from lms.patients import roster
from lms.problems import Problem
from tests.forms import form_data
from tests.helpers import app_context, csrf_token, login, make_patient, make_user, text_of
from tests.test_concurrency import assert_calm, at_once

HEADER = (
    "record_number,name,email,clinician_email,"
    "family_1_name,family_1_email,family_1_relationship,"
    "family_2_name,family_2_email,family_2_relationship\n"
)


def roster_csv(clinician_email: str, other_email: str) -> str:
    return HEADER + (
        f"MRN-100,Ana Ruiz,ana@example.net,{clinician_email},"
        "Rosa Ruiz,rosa@example.net,parent,Luis Ruiz,luis@example.net,Sibling\n"
        f"MRN-200,Ben Cole,,{other_email},Kim Cole,kim@example.net,Adult child,,,\n"
    )


@pytest.fixture
def admin(app):
    return make_user("admin", name="Alex Admin")


@pytest.fixture
def clinicians(app):
    return (
        make_user("clinician", email="casey@example.org", name="Casey"),
        make_user("clinician", email="jordan@example.org", name="Jordan"),
    )


@pytest.fixture
def as_admin(app, client, admin):
    assert login(client, admin.email).status_code == 302
    return client


def upload(client, content: bytes | str, filename: str = "roster.csv"):
    data = content.encode() if isinstance(content, str) else content
    token = csrf_token(client, "/admin/roster")
    # Encoded here, in memory: the test client would spool a large body to a temporary file
    # it never closes.
    file = FileStorage(io.BytesIO(data), filename, content_type="text/csv")
    boundary, body = encode_multipart({"csrf_token": token, "file": file})
    file.close()
    return client.post(
        "/admin/roster", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def import_id_of(response) -> int:
    assert response.status_code == 302, text_of(response)
    match = re.fullmatch(r"/admin/roster/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def apply(client, import_id: int, data: dict | None = None):
    page = f"/admin/roster/{import_id}"
    action = f"/admin/roster/{import_id}/apply"
    return client.post(action, data=data or form_data(client, page, action))


def counts() -> dict[str, int]:
    """Rows of everything an import may write, and the audit rows about patients."""
    with app_context():
        return {
            "patients": db.session.scalar(select(func.count(Patient.id))),
            "care_team": db.session.scalar(select(func.count(CareTeamMember.id))),
            "family": db.session.scalar(select(func.count(FamilyLink.id))),
            "consents": db.session.scalar(select(func.count(Consent.id))),
            "patient_audit": db.session.scalar(
                select(func.count(AuditEvent.id)).where(AuditEvent.patient_id.is_not(None))
            ),
        }


def actions(name: str) -> list[AuditEvent]:
    with app_context():
        return list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == name).order_by(AuditEvent.id)
            )
        )


def by_record(number: str) -> Patient:
    with app_context():
        patient = db.session.scalars(select(Patient).where(Patient.record_number == number)).one()
        return patient, list(patient.family_links), {m.clinician_id for m in patient.care_team}


# --- the whole journey -------------------------------------------------------------------


def test_a_roster_imports_once_and_the_second_run_changes_nothing(app, as_admin, admin, clinicians):
    casey, jordan = clinicians
    content = roster_csv(casey.email, jordan.email)
    before = counts()

    preview = as_admin.get(f"/admin/roster/{import_id_of(upload(as_admin, content))}")
    page = text_of(preview)
    assert preview.status_code == 200
    assert "Apply 2 changes" in page
    assert "3 family members will be added" in page and "consent" in page
    assert counts() == before  # a preview changes nothing
    first = actions("roster.previewed")[0]
    assert first.actor_id == admin.id
    assert first.detail == "create=2 update=0 unchanged=0 refused=0"  # counts, no names

    import_id = int(preview.request.path.rsplit("/", 1)[1])
    response = apply(as_admin, import_id)
    assert response.headers["Location"] == f"/admin/roster/{import_id}"
    result = text_of(as_admin.get(response.headers["Location"]))
    assert "Roster applied" in result and "Patients added" in result

    ana, ana_family, ana_team = by_record("MRN-100")
    assert ana.display_name == "Ana Ruiz" and ana.email == "ana@example.net"
    assert ana.status == PatientStatus.ACTIVE and ana.enrolled_on == clock.today()
    assert ana_team == {casey.id}  # the clinician's caseload, never the admin's
    assert {(f.email, f.relationship_kind) for f in ana_family} == {
        ("rosa@example.net", Relationship.PARENT),
        ("luis@example.net", Relationship.SIBLING),
    }
    ben, ben_family, ben_team = by_record("MRN-200")
    assert ben.email is None and ben_team == {jordan.id}
    assert [(f.display_name, f.relationship_kind) for f in ben_family] == [
        ("Kim Cole", Relationship.ADULT_CHILD)
    ]
    after = counts()
    assert after["patients"] == before["patients"] + 2
    assert after["family"] == before["family"] + 3
    assert after["consents"] == before["consents"]  # each family member waits for consent
    # The same audit rows as enrolling by hand, the admin as actor.
    enrolled = actions("patient.enrolled")
    assert len(enrolled) == 2 and {e.actor_id for e in enrolled} == {admin.id}
    assert len(actions("family.added")) == 3
    applied = actions("roster.applied")
    assert len(applied) == 1 and applied[0].detail == "create=2 update=0 unchanged=0 refused=0"
    with app_context():
        row = db.session.get(RosterImport, import_id)
        assert row.applied_at is not None and row.content is None  # the text is not kept

    # The same file again: nothing to change, and applying it writes nothing.
    again = import_id_of(upload(as_admin, content))
    page = text_of(as_admin.get(f"/admin/roster/{again}"))
    assert "Nothing to change." in page and "Apply" not in page
    assert page.count("No change") == 2
    audited = counts()
    token = csrf_token(as_admin, f"/admin/roster/{again}")  # no button, but a post may come
    assert (
        as_admin.post(f"/admin/roster/{again}/apply", data={"csrf_token": token}).status_code == 302
    )
    assert counts() == audited
    assert len(actions("roster.applied")) == 2  # the import itself, counted as unchanged
    assert actions("roster.applied")[1].detail == "create=0 update=0 unchanged=2 refused=0"


def test_an_edited_line_updates_only_what_changed(app, as_admin, clinicians):
    casey, jordan = clinicians
    apply(as_admin, import_id_of(upload(as_admin, roster_csv(casey.email, jordan.email))))
    edited = roster_csv(casey.email, jordan.email).replace("Ana Ruiz,ana@", "Ana María Ruiz,ana@")
    edited = edited.replace("luis@example.net,Sibling", "luis@example.net,spouse")
    import_id = import_id_of(upload(as_admin, edited))
    with app_context():
        plan = roster.plan_for(db.session.get(RosterImport, import_id))
    assert [(line.action, line.fields) for line in plan.lines] == [
        ("update", ("name", "family_2_relationship")),
        ("unchanged", ()),
    ]
    page = text_of(as_admin.get(f"/admin/roster/{import_id}"))
    assert "changes: name" in page and "changes: family_2_relationship" in page
    assert "Ana María" not in page  # field names, never values
    assert "Apply 1 change" in page
    before = counts()
    ben = by_record("MRN-200")[0]
    ben_rows = select(func.count(AuditEvent.id)).where(AuditEvent.patient_id == ben.id)
    with app_context():
        ben_audited = db.session.scalar(ben_rows)
    apply(as_admin, import_id)
    ana, family, _team = by_record("MRN-100")
    assert ana.display_name == "Ana María Ruiz"
    assert {f.email: f.relationship_kind for f in family}["luis@example.net"] == (
        Relationship.SPOUSE
    )
    assert [(e.patient_id, e.detail) for e in actions("patient.edited")] == [
        (ana.id, "fields=display_name")
    ]
    assert [e.detail for e in actions("family.edited")] == ["fields=relationship"]
    with app_context():  # the unchanged line wrote nothing about its patient
        assert db.session.scalar(ben_rows) == ben_audited
    after = counts()
    assert after["patients"] == before["patients"] and after["family"] == before["family"]


def test_record_numbers_match_without_case_or_spaces_and_update_field_names(
    app, as_admin, clinicians
):
    casey, jordan = clinicians
    apply(as_admin, import_id_of(upload(as_admin, roster_csv(casey.email, jordan.email))))
    before = counts()
    edited = HEADER + (
        f" mrn-100 ,Ana Ruiz,ana@example.net,{casey.email},"
        "Rosa Ruiz,rosa@example.net,parent,Luis Ruiz,luis@example.net,spouse\n"
        f"MRN - 200,Benjamin Cole,ben@example.net,{casey.email},"
        "Kim Cole,kim@example.net,adult_child,Sue Cole,sue@example.net,Friend\n"
    )
    import_id = import_id_of(upload(as_admin, edited))
    with app_context():
        plan = roster.plan_for(db.session.get(RosterImport, import_id))
    assert [(line.action, line.fields) for line in plan.lines] == [
        ("update", ("family_2_relationship",)),
        ("update", ("name", "email", "clinician_email", "family_2")),
    ]
    apply(as_admin, import_id)
    ana, ana_family, _ = by_record("MRN-100")
    assert ana.record_number == "MRN-100"  # the same number written differently: kept
    assert {f.email: f.relationship_kind for f in ana_family}["luis@example.net"] == (
        Relationship.SPOUSE
    )
    ben, ben_family, ben_team = by_record("MRN-200")
    assert (ben.display_name, ben.email) == ("Benjamin Cole", "ben@example.net")
    assert ben_team == {jordan.id, casey.id}  # joined; nobody leaves a care team
    assert len(ben_family) == 2
    after = counts()
    assert after["patients"] == before["patients"] and after["family"] == before["family"] + 1
    edits = [e.detail for e in actions("patient.edited")]
    assert edits == ["fields=display_name,email"]
    assert [e.detail for e in actions("family.edited")] == ["fields=relationship"]
    assert [e.detail for e in actions("care_team.added")] == [f"clinician={casey.id}"]


# --- lines refused, by line number --------------------------------------------------------


def test_bad_rows_are_explained_by_line(app, as_admin, admin, clinicians):
    casey, _jordan = clinicians
    make_user("clinician", email="gone@example.org", active=False)
    content = HEADER + "\n".join(
        [
            f",No Number,,{casey.email},,,,,,",  # line 2
            f"A1,,,{casey.email},,,,,,",  # line 3
            f"A2,Bad Email,not-an-email,{casey.email},,,,,,",  # line 4
            "A3,Who Cares,,nobody@example.org,,,,,,",  # line 5
            "A4,Left,,gone@example.org,,,,,,",  # line 6
            f"A5,Odd Kin,,{casey.email},Al,al@example.net,cousin,,,",  # line 7
            f"A6,Twice,,{casey.email},,,,,,",  # line 8
            f"a 6,Twice Again,,{casey.email},,,,,,",  # line 9
            f"A7,Same Twice,,{casey.email},Al,al@example.net,parent,Bo,AL@example.net,parent",
            f"A8,Staff Kin,,{casey.email},Al,{admin.email},parent,,,",  # line 11
            f"A9,Fine,,{casey.email},Al,al@example.net,parent,,,",  # line 12
        ]
    )
    import_id = import_id_of(upload(as_admin, content))
    with app_context():
        plan = roster.plan_for(db.session.get(RosterImport, import_id))
        reasons = {line.line: [str(r) for r in line.reasons] for line in plan.lines}
    assert [line.action for line in plan.lines] == ["refused"] * 10 + ["create"]
    assert reasons[2] == ["The record number is missing."]
    assert reasons[3] == ["The patient's name is missing."]
    assert reasons[4] == ["The patient's email is not an email address."]
    assert "No clinician account" in reasons[5][0]
    assert "deactivated" in reasons[6][0]
    assert "family_1_relationship is not one this program uses" in reasons[7][0]
    assert "lines 8, 9" in reasons[8][0] and reasons[8] == reasons[9]
    assert "family_2_email is given for another family member" in " ".join(reasons[10])
    assert "staff or patient account" in reasons[11][0]
    page = text_of(as_admin.get(f"/admin/roster/{import_id}"))
    assert "Line 7" in page and "cousin" not in page.split("Line 7")[0][-200:]
    assert "Apply 1 change" in page
    before = counts()
    apply(as_admin, import_id)
    assert counts()["patients"] == before["patients"] + 1  # refused lines skipped


def test_a_line_with_every_problem_lists_every_reason(app, ctx):
    lines = roster.read_lines(HEADER + ",,bad,nobody@example.org,,x@example.net,unknown,,,\n")
    plan = roster.plan(lines)
    reasons = [str(r) for r in plan.lines[0].reasons]
    assert len(reasons) == 6, reasons  # number, name, email, clinician, family name, kin


def test_discharged_patients_are_refused_when_the_line_changes_something(app, as_admin, clinicians):
    casey, _jordan = clinicians
    patient = make_patient(casey, name="Dee Gone", status="discharged")
    with app_context():
        row = db.session.get(Patient, patient.id)
        row.record_number, row.discharged_on = "D-1", clock.today()
        db.session.commit()
    same = HEADER + f"D-1,Dee Gone,,{casey.email},,,,,,\n"
    changed = HEADER + f"D-1,Dee Gone,,{casey.email},Al,al@example.net,parent,,,\n"
    with app_context():
        assert roster.plan(roster.read_lines(same)).lines[0].action == "unchanged"
        refused = roster.plan(roster.read_lines(changed)).lines[0]
    assert refused.action == "refused" and "discharged" in str(refused.reasons[0])


def test_a_voided_enrolment_gives_its_number_back(app, ctx, clinicians):
    casey, _jordan = clinicians
    patient = make_patient(casey, name="Dup", status="voided")
    patient.record_number = "V-1"
    db.session.commit()
    plan = roster.plan(roster.read_lines(HEADER + f"V-1,Val,,{casey.email},,,,,,\n"))
    assert plan.lines[0].action == "create"


def test_family_of_another_patient_may_be_listed_as_by_hand(app, as_admin, clinicians):
    casey, jordan = clinicians
    content = HEADER + (
        f"S-1,Sib One,,{casey.email},Mum,mum@example.net,parent,,,\n"
        f"S-2,Sib Two,,{jordan.email},Mum,mum@example.net,parent,,,\n"
    )
    apply(as_admin, import_id_of(upload(as_admin, content)))
    with app_context():
        assert (
            db.session.scalar(
                select(func.count(FamilyLink.id)).where(FamilyLink.email == "mum@example.net")
            )
            == 2
        )


# --- applying once ------------------------------------------------------------------------


def test_a_double_submit_applies_once(app, as_admin, clinicians):
    casey, jordan = clinicians
    import_id = import_id_of(upload(as_admin, roster_csv(casey.email, jordan.email)))
    page = f"/admin/roster/{import_id}"
    action = f"{page}/apply"
    data = form_data(as_admin, page, action)
    first = as_admin.post(action, data=data)
    second = as_admin.post(action, data=data)  # the same rendered form again
    token = csrf_token(as_admin, page)  # another form: the import is already applied
    third = as_admin.post(action, data={"csrf_token": token})
    assert {r.headers["Location"] for r in (first, second, third)} == {page}
    assert counts()["patients"] == 2
    assert len(actions("roster.applied")) == 1
    assert len(actions("patient.enrolled")) == 2
    assert "Roster applied" in text_of(as_admin.get(page))


def test_ten_applies_at_once_apply_once(app, as_admin, clinicians):
    casey, jordan = clinicians
    import_id = import_id_of(upload(as_admin, roster_csv(casey.email, jordan.email)))
    page = f"/admin/roster/{import_id}"
    data = form_data(as_admin, page, f"{page}/apply")
    assert assert_calm(at_once(app, as_admin, f"{page}/apply", data)) == page
    assert counts()["patients"] == 2
    assert len(actions("roster.applied")) == 1


# --- who may, and files that are not rosters -----------------------------------------------


@pytest.mark.parametrize("role", ["clinician", "family", "patient"])
def test_only_admins_see_the_roster_pages(app, client, role, admin):
    with app_context():
        row = RosterImport(filename="r.csv", sha256="0" * 64, content=HEADER, summary="{}")
        db.session.add(row)
        db.session.commit()
        import_id = row.id
    assert login(client, make_user(role).email).status_code == 302
    token = csrf_token(client, "/auth/account")
    assert client.get("/admin/roster").status_code == 404
    assert client.get(f"/admin/roster/{import_id}").status_code == 404
    response = client.post(f"/admin/roster/{import_id}/apply", data={"csrf_token": token})
    assert response.status_code == 404
    with app_context():
        assert db.session.get(RosterImport, import_id).applied_at is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"\xef\xbb\xbf\r\n  \r\n", "The file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV file"),
        ("record_number,name\nA1,Zoë\n".encode("latin-1"), "not saved as UTF-8"),
        (b"x" * (roster.MAX_BYTES + 1), "larger than 1 MB"),
        (
            b"record_number,name,clinician_email,diagnosis,ssn\nA1,A,c@example.org,x,y\n",
            "columns this import does not know: diagnosis, ssn",
        ),
        (b"record_number,name\nA1,A\n", "missing these columns: clinician_email"),
        (
            b"record_number,name,clinician_email,family_1_name\n",
            "missing these columns: family_1_email, family_1_relationship",
        ),
        (b'record_number,name,clinician_email\n"A1,B\n', "could not be read as CSV"),
    ],
    ids=[
        "empty",
        "only-blank",
        "binary",
        "latin-1",
        "too-big",
        "unknown-columns",
        "missing-column",
        "half-a-family",
        "broken-quotes",
    ],
)
def test_bad_files_get_a_clear_message(app, as_admin, content, message):
    response = upload(as_admin, content)
    assert response.status_code == 400
    assert message in text_of(response).replace("&#39;", "'")
    with app_context():
        assert db.session.scalar(select(func.count(RosterImport.id))) == 0


def test_more_than_the_request_limit_is_refused_with_the_roster_message(app, as_admin):
    response = upload(as_admin, b"a,b\n" * 400_000)  # 1.6 MB: over the request limit
    assert response.status_code == 413
    assert "larger than 1 MB" in text_of(response)


def test_too_many_lines(app, as_admin, clinicians):
    casey, _ = clinicians
    lines = "".join(f"R{n},P {n},,{casey.email}\n" for n in range(roster.MAX_LINES + 1))
    response = upload(as_admin, "record_number,name,email,clinician_email\n" + lines)
    assert response.status_code == 400
    assert "more than 2000 patient lines" in text_of(response)


def test_no_file_chosen(app, as_admin):
    token = csrf_token(as_admin, "/admin/roster")
    response = as_admin.post("/admin/roster", data={"csrf_token": token})
    assert response.status_code == 400
    assert "Choose the roster file to upload." in text_of(response)


def test_semicolons_a_bom_and_header_words_are_accepted(app, ctx, clinicians):
    casey, _ = clinicians
    text = roster.decode(
        (
            "\ufeffRecord Number;Name;Email;Clinician Email\r\nX-1;Zoë Núñez;;CASEY@example.org\r\n"
        ).encode()
    )
    plan = roster.plan(roster.read_lines(text))
    assert [line.action for line in plan.lines] == ["create"]
    assert plan.lines[0].source.name == "Zoë Núñez"


def test_the_upload_page_offers_the_template(app, as_admin):
    page = text_of(as_admin.get("/admin/roster"))
    assert 'type="file"' in page and 'accept=".csv,text/csv"' in page
    assert "at most 1 MB" in page
    link = re.search(r'href="(/static/roster-template[^"]*\.csv)"', page).group(1)
    response = as_admin.get(link)
    body = response.get_data(as_text=True)
    response.close()
    header = body.splitlines()[0].split(",")
    assert header[:4] == ["record_number", "name", "email", "clinician_email"]
    with app_context():  # the template's own example line reads as a roster
        lines = roster.read_lines(body)
    assert len(lines) == 1 and lines[0].family[0].relationship == "parent"


# --- the command line ---------------------------------------------------------------------


def test_the_command_is_a_dry_run_unless_told_to_apply(app, runner, tmp_path, clinicians):
    casey, jordan = clinicians
    path = tmp_path / "roster.csv"
    path.write_text(roster_csv(casey.email, jordan.email) + "R9,,,x@example.org,,,,,,\n")
    before = counts()
    audit_rows = len(actions("roster.previewed")) + len(actions("roster.applied"))
    result = runner.invoke(args=["patients", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "line 2 [MRN-100]: create (with 2 family member(s))" in result.output
    assert "line 4 [R9]: refused" in result.output and "name is missing" in result.output
    assert "create=2 update=0 unchanged=0 refused=1" in result.output
    assert "Dry run: nothing was changed." in result.output
    assert counts() == before
    assert len(actions("roster.previewed")) + len(actions("roster.applied")) == audit_rows

    applied = runner.invoke(args=["patients", "import", str(path), "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "Applied: 2 created, 0 updated." in applied.output
    assert counts()["patients"] == before["patients"] + 2
    again = runner.invoke(args=["patients", "import", str(path), "--apply"])
    assert "unchanged=2" in again.output and "Nothing to change." in again.output
    assert counts()["patients"] == before["patients"] + 2


def test_the_command_explains_a_bad_file(app, runner, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(b"\x00\x01\x02")
    result = runner.invoke(args=["patients", "import", str(path)])
    assert result.exit_code == 1
    assert "This is not a CSV file" in result.output


def test_a_refusal_while_applying_names_its_line_and_keeps_nothing(app, ctx, clinicians):
    casey, _ = clinicians
    plan = roster.plan(roster.read_lines(HEADER + f"L-1,Lee,,{casey.email},,,,,,\n"))
    assert plan.lines[0].action == "create"
    # Enrolled by hand after the plan was made: the operation's own rule refuses the line.
    make_patient(casey, name="Lee").record_number = "L-1"
    db.session.commit()
    with pytest.raises(Problem) as refused:
        roster.apply_plan(None, plan)
    assert str(refused.value).startswith("Line 2 could not be applied: Record number L-1")


def test_a_preview_not_applied_is_forgotten_after_a_day(app, as_admin, admin, clinicians):
    """The roster holds names and emails: a preview left unapplied keeps them KEEP_HOURS,
    then only its counts stay, and applying it changes nothing."""
    casey, jordan = clinicians
    import_id = import_id_of(upload(as_admin, roster_csv(casey.email, jordan.email)))
    page = f"/admin/roster/{import_id}"
    data = form_data(as_admin, page, f"{page}/apply")
    clock.advance(timedelta(hours=roster.KEEP_HOURS, minutes=1))
    fresh = app.test_client()  # the first sign-in has timed out; the pages need a recent one
    assert login(fresh, admin.email).status_code == 302
    shown = text_of(fresh.get(page))
    assert "no longer kept" in shown and "Apply" not in shown
    with app.app_context():
        row = db.session.get(RosterImport, import_id)
        assert row.content is None and row.applied_at is None and row.sha256
    data["csrf_token"] = csrf_token(fresh, page)
    fresh.post(f"{page}/apply", data=data)
    assert counts()["patients"] == 0
    assert actions("roster.applied") == []
    with app.app_context():
        assert db.session.get(RosterImport, import_id).applied_at is None


def test_a_new_upload_forgets_other_stale_previews(app, as_admin, admin, clinicians):
    casey, jordan = clinicians
    old_id = import_id_of(upload(as_admin, roster_csv(casey.email, jordan.email)))
    clock.advance(timedelta(hours=roster.KEEP_HOURS + 1))
    fresh = app.test_client()
    assert login(fresh, admin.email).status_code == 302
    new_id = import_id_of(upload(fresh, roster_csv(casey.email, jordan.email)))
    with app.app_context():
        assert db.session.get(RosterImport, old_id).content is None
        assert db.session.get(RosterImport, new_id).content is not None
