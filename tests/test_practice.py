"""Practise and remember: the private notepad, sharing a note with the care team, and
worksheets in modules (``lms.practice``, ``lms.content.worksheets``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import event, select

from lms.consent import operations as consent_ops
from lms.content import check_library
from lms.extensions import db
from lms.models import AuditEvent, FamilyLink, PracticeNote, User, WorksheetAnswers
from tests.content_fixtures import good_tree, line_of, module_md, write_tree
from tests.forms import form_data
from tests.helpers import (
    login,
    make_family,
    make_patient,
    make_user,
    post_form,
    text_of,
    write_course,
)

PLAN = """\
---
title: My plan
summary: A plan to fill in.
audience: [family, patient]
minutes: 5
objectives:
  - Write a plan
  - Keep it safe
  - Share it if you want
sources:
  - "Stanley and Brown. Safety Planning Intervention."
reviewed: 2026-11-20
---
## Make a plan

Write down what helps.

::: worksheet safety-plan
title: Our family's safety plan
intro: Fill this in together, then print it.
fields:
  - key: warning-signs
    label: Warning signs that a crisis may be coming
    hint: Things you might see or hear
    type: long
  - key: people
    label: People we can call
:::

A line after the worksheet.

## Keep it

Keep it where you can find it.

## Share it

Share it if you want to.
"""


def write_practice_course(root: Path, plan: str = PLAN) -> None:
    folder = root / "practice"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "course.yml").write_text(
        "title: Practice\nsummary: Plans.\naudience: [family, patient]\nmodules: [my-plan]\n"
    )
    (folder / "my-plan.md").write_text(plan)


@pytest.fixture
def courses(tmp_path):
    root = tmp_path / "courses"
    write_course(root)
    write_practice_course(root)
    return root


def signed_in(app, user):
    other = app.test_client()
    assert login(other, user.email).status_code == 302
    return other


@pytest.fixture
def clinician(app):
    return make_user("clinician", name="Casey Clinician")


@pytest.fixture
def family(app):
    return make_user("family", name="Pat Parent")


@pytest.fixture
def as_family(app, family):
    return signed_in(app, family)


def notes_of(app, user) -> list[PracticeNote]:
    with app.app_context():
        return db.session.scalars(
            select(PracticeNote).where(PracticeNote.user_id == user.id).order_by(PracticeNote.id)
        ).all()


def add(client, body: str, **extra):
    return post_form(client, "/learn/notes", {"body": body, **extra})


# --- the notepad -------------------------------------------------------------------------


def test_a_learner_adds_edits_marks_asked_and_deletes_a_note(app, as_family, family):
    page = text_of(as_family.get("/learn/notes"))
    assert "Questions for my next family session" in page
    assert 'href="/learn/notes" aria-current="page"' in page  # "My notes" in the menu

    response = add(as_family, "  Can we talk about curfew?  ")
    assert response.status_code == 302
    [note] = notes_of(app, family)
    assert note.body == "Can we talk about curfew?"  # trimmed
    assert note.shared_at is None  # private by default
    assert "Can we talk about curfew?" in text_of(as_family.get("/learn/notes"))

    post_form(as_family, f"/learn/notes/{note.id}/edit", {"body": "Can we talk about sleep?"})
    assert notes_of(app, family)[0].body == "Can we talk about sleep?"

    post_form(as_family, f"/learn/notes/{note.id}/asked", {"asked": "1"}, form_page="/learn/notes")
    [note] = notes_of(app, family)
    assert note.asked_at is not None  # kept
    page = text_of(as_family.get("/learn/notes"))
    asked_part = page.split('id="asked-h"')[1]
    assert "Can we talk about sleep?" in asked_part  # shown apart
    assert "Not asked yet" in asked_part

    confirm = as_family.get(f"/learn/notes/{note.id}/delete")
    assert "Delete this note?" in text_of(confirm)
    assert len(notes_of(app, family)) == 1  # asking deletes nothing
    response = post_form(as_family, f"/learn/notes/{note.id}/delete", {})
    assert response.status_code == 302
    assert notes_of(app, family) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Write your question or note first."),
        ("   \n  ", "Write your question or note first."),
        ("x" * 1001, "Keep it to 1000 characters or fewer (it has 1001)"),
    ],
)
def test_an_empty_or_over_long_note_is_refused_with_a_message(
    app, as_family, family, body, message
):
    response = add(as_family, body)
    assert response.status_code == 400
    assert message in text_of(response)
    assert notes_of(app, family) == []


def test_a_note_of_exactly_the_limit_is_kept_and_an_edit_over_it_is_refused(app, as_family, family):
    assert add(as_family, " " + "y" * 1000 + "\n").status_code == 302
    [note] = notes_of(app, family)
    assert len(note.body) == 1000
    response = post_form(as_family, f"/learn/notes/{note.id}/edit", {"body": "z" * 1001})
    assert response.status_code == 400
    assert "Keep it to 1000 characters or fewer (it has 1001)" in text_of(response)
    assert notes_of(app, family)[0].body == "y" * 1000


def test_a_double_submit_adds_the_note_once(app, as_family, family):
    data = form_data(as_family, "/learn/notes", "/learn/notes", body="Who do I call at night?")
    first = as_family.post("/learn/notes", data=data)
    second = as_family.post("/learn/notes", data=data)
    assert first.status_code == second.status_code == 302
    assert [n.body for n in notes_of(app, family)] == ["Who do I call at night?"]


def test_another_learners_note_is_not_found(app, as_family, family):
    add(as_family, "Mine alone")
    [note] = notes_of(app, family)
    stranger = signed_in(app, make_user("family"))
    for path in (f"/learn/notes/{note.id}/edit", f"/learn/notes/{note.id}/delete"):
        assert stranger.get(path).status_code == 404
    for path, data in (
        (f"/learn/notes/{note.id}/edit", {"body": "Taken over"}),
        (f"/learn/notes/{note.id}/asked", {"asked": "1"}),
        (f"/learn/notes/{note.id}/share", {"share": "1"}),
        (f"/learn/notes/{note.id}/delete", {}),
    ):
        assert post_form(stranger, path, data, form_page="/learn/notes").status_code == 404
    [kept] = notes_of(app, family)
    assert (kept.body, kept.asked_at, kept.shared_at) == ("Mine alone", None, None)


def test_staff_have_no_notepad_and_cannot_change_a_note(app, as_family, family, clinician):
    add(as_family, "Private words", share="y")
    [note] = notes_of(app, family)
    staff = signed_in(app, clinician)
    assert staff.get("/learn/notes").status_code == 404
    assert staff.get(f"/learn/notes/{note.id}/edit").status_code == 404
    response = post_form(
        staff, f"/learn/notes/{note.id}/edit", {"body": "Changed"}, form_page="/auth/account"
    )
    assert response.status_code == 404
    assert notes_of(app, family)[0].body == "Private words"
    assert "My notes" not in text_of(staff.get("/learn/"))


# --- what the care team sees -------------------------------------------------------------


@pytest.fixture
def patient_user(app):
    return make_user("patient", name="Sam Example")


@pytest.fixture
def patient(app, clinician, patient_user):
    return make_patient(clinician, name="Sam Example", user=patient_user)


def clinic_page(app, clinician, patient) -> str:
    response = signed_in(app, clinician).get(f"/clinic/patients/{patient.id}")
    assert response.status_code == 200
    return text_of(response)


def test_a_patients_note_shows_on_their_page_only_while_shared(
    app, clinician, patient, patient_user
):
    own = signed_in(app, patient_user)
    add(own, "Private: I worry about going home")
    add(own, "Shared: how do I tell my brother?", share="y")
    page = clinic_page(app, clinician, patient)
    assert "Questions shared for the next family session" in page
    assert "how do I tell my brother?" in page
    assert "I worry about going home" not in page

    shared = next(n for n in notes_of(app, patient_user) if n.shared_at)
    post_form(own, f"/learn/notes/{shared.id}/share", {"share": "0"}, form_page="/learn/notes")
    page = clinic_page(app, clinician, patient)
    assert "how do I tell my brother?" not in page
    assert "Nothing shared." in page


def test_a_family_note_shows_only_while_their_consent_is_in_force(
    app, clinician, patient, family, as_family
):
    link_id, _consent = make_family(patient, family, consent="active")
    add(as_family, "What should we say about the relapse?", share="y")
    page = clinic_page(app, clinician, patient)
    assert "What should we say about the relapse?" in page
    assert "Pat Parent" in page

    with app.app_context():
        actor = db.session.get(User, clinician.id)
        consent_ops.withdraw_consent(actor, db.session.get(FamilyLink, link_id))
        db.session.commit()
    assert "What should we say about the relapse?" not in clinic_page(app, clinician, patient)


@pytest.mark.parametrize("consent", ["none", "withdrawn", "expired"])
def test_a_family_note_without_consent_in_force_never_shows(
    app, clinician, patient, family, as_family, consent
):
    make_family(patient, family, consent=consent)
    add(as_family, "Shared but not allowed", share="y")
    assert "Shared but not allowed" not in clinic_page(app, clinician, patient)


def test_a_family_note_hides_when_their_link_is_removed(app, clinician, patient, family, as_family):
    link_id, _consent = make_family(patient, family, consent="active")
    add(as_family, "Seen while linked", share="y")
    assert "Seen while linked" in clinic_page(app, clinician, patient)
    with app.app_context():
        db.session.get(FamilyLink, link_id).state = "removed"
        db.session.commit()
    assert "Seen while linked" not in clinic_page(app, clinician, patient)


def test_sharing_and_unsharing_are_audited_without_the_note_text(app, patient, patient_user):
    own = signed_in(app, patient_user)
    add(own, "Secret words about my mother")
    [note] = notes_of(app, patient_user)
    post_form(own, f"/learn/notes/{note.id}/share", {"share": "1"}, form_page="/learn/notes")
    post_form(own, f"/learn/notes/{note.id}/share", {"share": "1"}, form_page="/learn/notes")
    post_form(own, f"/learn/notes/{note.id}/share", {"share": "0"}, form_page="/learn/notes")
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.like("practice_note.%"))
            .order_by(AuditEvent.id)
        ).all()
        assert [r.action for r in rows] == ["practice_note.shared", "practice_note.unshared"]
        assert {(r.actor_id, r.subject_id, r.patient_id) for r in rows} == {
            (patient_user.id, note.id, patient.id)
        }
        everything = db.session.scalars(select(AuditEvent)).all()
        assert not any("Secret words" in (r.detail or "") for r in everything)


def _patient_page_queries(app, clinician, patient) -> int:
    client = signed_in(app, clinician)
    count = {"n": 0}

    def tally(*_args, **_kwargs):
        count["n"] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", tally)
    try:
        assert client.get(f"/clinic/patients/{patient.id}").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", tally)
    return count["n"]


def test_shared_notes_load_in_one_query_however_many(app, clinician, patient, patient_user, family):
    make_family(patient, family, consent="active")
    own, theirs = signed_in(app, patient_user), signed_in(app, family)
    add(own, "One from the patient", share="y")
    add(theirs, "One from the family", share="y")
    few = _patient_page_queries(app, clinician, patient)
    for n in range(6):
        add(own, f"Patient question {n}", share="y")
        add(theirs, f"Family question {n}", share="y")
    assert _patient_page_queries(app, clinician, patient) == few
    page = clinic_page(app, clinician, patient)
    assert page.count('class="shared-note"') == 14


# --- worksheets --------------------------------------------------------------------------

SHEET = "/learn/modules/my-plan/worksheets/safety-plan"


def test_the_worksheet_block_is_a_card_not_prose(app, as_family):
    page = text_of(as_family.get("/learn/modules/my-plan?section=make-a-plan"))
    assert "Our family&#39;s safety plan" in page
    assert "Fill this in together, then print it." in page
    assert "Fill in" in page and "Continue" not in page
    assert f'href="{SHEET}"' in page
    assert "key: warning-signs" not in page and ":::" not in page
    assert "A line after the worksheet." in page


def test_a_worksheet_is_saved_reloaded_and_printed(app, as_family, family):
    page = text_of(as_family.get(SHEET))
    assert '<label for="warning-signs">Warning signs that a crisis may be coming</label>' in page
    assert "Things you might see or hear" in page
    response = post_form(
        as_family,
        SHEET,
        {"warning-signs": "He stops eating.\r\nHe gives things away.", "people": ""},
    )
    assert response.status_code == 302 and response.headers["Location"] == SHEET
    page = text_of(as_family.get(SHEET))
    assert "Saved." in page
    assert "He stops eating.\nHe gives things away.</textarea>" in page
    with app.app_context():
        row = db.session.scalars(select(WorksheetAnswers)).one()
        assert (row.user_id, row.module_slug, row.worksheet_key) == (
            family.id,
            "my-plan",
            "safety-plan",
        )
        assert json.loads(row.answers) == {
            "warning-signs": "He stops eating.\nHe gives things away."
        }

    printed = text_of(as_family.get(SHEET + "/print"))
    assert "He stops eating." in printed and "People we can call" in printed
    assert 'class="print-view"' in printed
    module = text_of(as_family.get("/learn/modules/my-plan?section=make-a-plan"))
    assert "Continue" in module

    # Saving again updates the one row; another learner sees none of it.
    post_form(as_family, SHEET, {"warning-signs": "Changed", "people": "Aunt Jo 555-0100"})
    with app.app_context():
        assert len(db.session.scalars(select(WorksheetAnswers)).all()) == 1
    other = signed_in(app, make_user("patient"))
    assert "Changed" not in text_of(other.get(SHEET))
    assert "Aunt Jo" not in text_of(other.get(SHEET + "/print"))


def test_an_over_long_answer_keeps_what_was_typed_and_saves_nothing(app, as_family):
    typed = "w" * 2001
    response = post_form(as_family, SHEET, {"warning-signs": typed, "people": "Gran"})
    assert response.status_code == 400
    page = text_of(response)
    assert "Keep this to 2000 characters or fewer (it has 2001)." in page
    assert typed in page and 'value="Gran"' in page
    with app.app_context():
        assert db.session.scalars(select(WorksheetAnswers)).all() == []


@pytest.mark.parametrize(
    "path",
    [
        "/learn/modules/my-plan/worksheets/no-such-sheet",
        "/learn/modules/my-plan/worksheets/no-such-sheet/print",
        "/learn/modules/no-such-module/worksheets/safety-plan",
    ],
)
def test_an_unknown_worksheet_is_not_found(as_family, path):
    assert as_family.get(path).status_code == 404


def test_staff_cannot_open_a_learners_worksheet(app, as_family, clinician):
    post_form(as_family, SHEET, {"warning-signs": "Only mine", "people": ""})
    staff = signed_in(app, clinician)
    assert staff.get(SHEET).status_code == 404
    assert staff.get(SHEET + "/print").status_code == 404
    module = text_of(staff.get("/learn/modules/my-plan?section=make-a-plan"))
    assert "Our family&#39;s safety plan" in module and "Only mine" not in module
    assert f'href="{SHEET}"' not in module


def test_answers_to_a_removed_field_are_kept_but_not_shown(
    app, make_app, as_family, family, tmp_path
):
    post_form(as_family, SHEET, {"warning-signs": "Kept signs", "people": "Kept people"})
    changed = tmp_path / "changed"
    write_course(changed)
    write_practice_course(
        changed, PLAN.replace("  - key: people\n    label: People we can call\n", "")
    )
    other_app = make_app(COURSES_DIR=str(changed))
    client = signed_in(other_app, family)
    page = text_of(client.get(SHEET))
    assert "Kept signs" in page
    assert "Kept people" not in page and "People we can call" not in page
    assert "Kept people" not in text_of(client.get(SHEET + "/print"))
    post_form(client, SHEET, {"warning-signs": "New signs"})
    with app.app_context():
        row = db.session.scalars(select(WorksheetAnswers)).one()
        assert json.loads(row.answers) == {"warning-signs": "New signs", "people": "Kept people"}


def test_the_shipped_plans_have_their_worksheets(app):
    from lms.content import load_library

    library = load_library(Path(__file__).resolve().parent.parent / "courses")
    relapse = library.module("my-relapse-prevention-plan").worksheet("relapse-prevention-plan")
    safety = library.module("suicide-risk-and-safety-plan").worksheet("safety-plan")
    assert relapse is not None and safety is not None
    assert {"triggers", "warning-signs", "instead", "people-to-call", "family-help"} <= set(
        relapse.field_keys()
    )
    assert {"warning-signs", "safer-home", "people-to-ask", "crisis-lines"} <= set(
        safety.field_keys()
    )
    assert "988" in " ".join(f.hint for f in safety.fields)


# --- courses check ---------------------------------------------------------------------------

MODULE = "family/understanding-triggers.md"
GOOD_BLOCK = """
::: worksheet my-sheet
title: A sheet
intro: Fill it in.
fields:
  - key: one
    label: First box
    type: long
  - key: two
    label: Second box
:::
"""


def _with_block(block: str) -> str:
    text = module_md()
    marker = "Write down one trigger you know.\n"
    return text.replace(marker, marker + block)


@pytest.mark.parametrize(
    ("old", "new", "at", "fragment"),
    [
        ("title: A sheet\n", "", "intro: Fill it in.", "missing required key 'title'"),
        (
            "fields:\n  - key: one\n    label: First box\n    type: long\n"
            "  - key: two\n    label: Second box\n",
            "fields: []\n",
            "fields: []",
            "the worksheet has no fields",
        ),
        ("  - key: two\n", "  - key: one\n", "Second box", "field key 'one' is used twice"),
        ("    type: long\n", "    type: huge\n", "type: huge", "'huge' is not a field type"),
        (
            "    label: Second box\n",
            "    label: Second box\n    colour: red\n",
            "colour: red",
            "unknown key 'colour'",
        ),
        ("::: worksheet my-sheet\n", "::: worksheet\n", "::: worksheet", "needs a key"),
        (":::\n", "", "::: worksheet my-sheet", "never closed"),
    ],
)
def test_a_bad_worksheet_fails_courses_check_at_its_line(tmp_path, old, new, at, fragment):
    root = tmp_path / "courses"
    good_tree(root)
    block = GOOD_BLOCK.replace(old, new, 1) if old != ":::\n" else GOOD_BLOCK.rsplit(":::", 1)[0]
    text = _with_block(block)
    write_tree(root, {MODULE: text})
    report = check_library(root)
    line = line_of(text, at) - (1 if at == "Second box" else 0)  # the key is above its label
    prefix = f"courses/{MODULE}:{line}: "
    problems = [str(p) for p in report.errors]
    assert any(p.startswith(prefix) and fragment in p for p in problems), problems
    assert not report.ok


def test_a_good_worksheet_passes_and_a_key_used_twice_in_a_module_does_not(tmp_path):
    root = tmp_path / "courses"
    good_tree(root)
    write_tree(root, {MODULE: _with_block(GOOD_BLOCK)})
    assert check_library(root).errors == []
    text = module_md()
    text = text.replace(
        "Write down one trigger you know.\n", "Write down one trigger you know.\n" + GOOD_BLOCK
    ).replace(
        "Pick one thing to try this week.\n", "Pick one thing to try this week.\n" + GOOD_BLOCK
    )
    write_tree(root, {MODULE: text})
    second = [i for i, line in enumerate(text.splitlines(), 1) if "::: worksheet" in line][1]
    problems = [str(p) for p in check_library(root).errors]
    assert any(
        p.startswith(f"courses/{MODULE}:{second}: ") and "'my-sheet' is used twice" in p
        for p in problems
    ), problems


def test_the_courses_check_command_fails_at_the_bad_worksheets_line(tmp_path):
    from flask import Flask

    from lms.content.cli import courses_cli

    root = tmp_path / "courses"
    good_tree(root)
    text = _with_block(GOOD_BLOCK.replace("    type: long\n", "    type: essay\n"))
    write_tree(root, {MODULE: text})
    app = Flask(__name__)
    app.config.update(COURSES_DIR=str(root))
    app.cli.add_command(courses_cli)
    result = app.test_cli_runner().invoke(args=["courses", "check", str(root)])
    assert result.exit_code == 1
    line = line_of(text, "type: essay")
    assert f":{line}: 'essay' is not a field type; use text or long" in result.output
