"""Learner pages: practise and remember (a private notepad, worksheets).

Both are the learner's own (families and patients): staff get a 404 on every page here, and
a learner gets a 404 on anyone else's note. The rules are in ``lms.practice``.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField

from lms.blueprints.learn.routes import _user, bp, module_or_404
from lms.content.model import Module
from lms.content.worksheets import Worksheet
from lms.extensions import db
from lms.forms import BaseForm, OnceForm
from lms.models.practice import ANSWER_MAX, NOTE_MAX, PracticeNote
from lms.practice import operations as practice_ops
from lms.practice import queries as practice_q
from lms.problems import FieldProblems


class NoteForm(OnceForm):
    """A new note. Its rules (trimmed, not empty, at most ``NOTE_MAX`` characters) are in
    ``practice.operations.clean_note``."""

    body = TextAreaField(
        _l("Your question or note"),
        description=_l(
            "Up to %(max)d characters. Only you can see it unless you share it.", max=NOTE_MAX
        ),
    )
    share = BooleanField(_l("Share with my care team"))


class NoteEditForm(BaseForm):
    body = TextAreaField(_l("Your question or note"))


class NoteActionForm(BaseForm):
    """A button on one note (CSRF only)."""


def _learner():
    """The signed-in learner; staff have no notepad or worksheets here."""
    user = _user()
    if not practice_q.is_learner(user):
        abort(404)
    return user


def _note_or_404(note_id: int) -> PracticeNote:
    note = practice_q.own_note(_learner(), note_id)
    if note is None:
        abort(404)
    return note


def _spread(form, problems: dict) -> None:
    for name, messages in problems.items():
        field = form[name] if name in form else form.body
        field.errors = [*field.errors, *(str(m) for m in messages)]


# --- the notepad -------------------------------------------------------------------------


@bp.route("/notes", methods=["GET", "POST"])
def notes():
    """The learner's notepad: add a note (a double submit adds one), see open and asked
    notes apart. 404 for staff."""
    user = _learner()
    form = NoteForm()
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                practice_ops.add_note(
                    user, form.body.data, share=form.share.data, submit_token=form.submit_token.data
                )
            except FieldProblems as exc:
                _spread(form, exc.errors)
            else:
                flash(_("Note saved."))
                return redirect(url_for("learn.notes"))
        status = 400
    rows = db.session.scalars(practice_q.notes_for(user)).all()
    return render_template(
        "learn/notes.html",
        form=form,
        open_notes=[n for n in rows if not n.is_asked],
        asked_notes=[n for n in rows if n.is_asked],
        action_form=NoteActionForm(),
    ), status


@bp.route("/notes/<id:note_id>/edit", methods=["GET", "POST"])
def edit_note(note_id: int):
    """Change a note's words. 404 unless it is the learner's own."""
    user = _learner()
    note = _note_or_404(note_id)
    form = NoteEditForm(data={"body": note.body})
    if form.is_submitted():
        if form.validate():
            try:
                practice_ops.edit_note(user, note, form.body.data)
            except FieldProblems as exc:
                _spread(form, exc.errors)
            else:
                flash(_("Note saved."))
                return redirect(url_for("learn.notes"))
        return render_template("learn/note_edit.html", form=form, note=note), 400
    return render_template("learn/note_edit.html", form=form, note=note)


@bp.route("/notes/<id:note_id>/asked", methods=["POST"])
def note_asked(note_id: int):
    """Mark a note asked (``asked=1``) or not asked yet (``asked=0``)."""
    user = _learner()
    note = _note_or_404(note_id)
    form = NoteActionForm()
    if not form.validate_on_submit():
        abort(400)
    asked = request.form.get("asked") != "0"
    if practice_ops.set_asked(user, note, asked):
        flash(_("Moved to “Asked”.") if asked else _("Moved back to your open questions."))
    return redirect(url_for("learn.notes"))


@bp.route("/notes/<id:note_id>/share", methods=["POST"])
def share_note(note_id: int):
    """Share a note with the care team (``share=1``) or stop sharing it (``share=0``)."""
    user = _learner()
    note = _note_or_404(note_id)
    form = NoteActionForm()
    if not form.validate_on_submit():
        abort(400)
    share = request.form.get("share") != "0"
    if practice_ops.set_shared(user, note, share):
        flash(
            _("Shared with your care team. They can read it, but not change it.")
            if share
            else _("This note is private again. Only you can see it.")
        )
    return redirect(url_for("learn.notes"))


@bp.route("/notes/<id:note_id>/delete", methods=["GET", "POST"])
def delete_note(note_id: int):
    """Asks first (GET), then deletes (POST). 404 unless it is the learner's own."""
    user = _learner()
    note = _note_or_404(note_id)
    form = NoteActionForm()
    if form.is_submitted():
        if not form.validate():
            abort(400)
        practice_ops.delete_note(user, note)
        flash(_("Note deleted."))
        return redirect(url_for("learn.notes"))
    return render_template("learn/note_delete.html", note=note, form=form)


# --- worksheets --------------------------------------------------------------------------


def _worksheet_or_404(slug: str, key: str) -> tuple[Module, Worksheet]:
    module = module_or_404(slug)
    worksheet = module.worksheet(key)
    if worksheet is None:
        abort(404)
    return module, worksheet


def worksheet_form(worksheet: Worksheet, answers: dict[str, str]) -> BaseForm:
    """The worksheet's form, built from its fields (content decides what they are)."""

    class WorksheetForm(BaseForm):
        pass

    for item in worksheet.fields:
        kind = TextAreaField if item.is_long else StringField
        setattr(WorksheetForm, item.key, kind(item.label, description=item.hint or None))
    return WorksheetForm(data={f.key: answers.get(f.key, "") for f in worksheet.fields})


@bp.route("/modules/<slug>/worksheets/<worksheet_key>", methods=["GET", "POST"])
def worksheet(slug: str, worksheet_key: str):
    """Fill in a worksheet; Save stays on the page. 404 for staff and for a worksheet the
    module no longer has. Answers are the learner's alone."""
    user = _learner()
    module, sheet = _worksheet_or_404(slug, worksheet_key)
    saved = practice_q.answers_for(user, module.slug, sheet.key)
    form = worksheet_form(sheet, saved)
    if form.is_submitted():
        if form.validate():
            try:
                practice_ops.save_answers(
                    user, module, sheet, {f.key: form[f.key].data for f in sheet.fields}
                )
            except FieldProblems as exc:
                for name, messages in exc.errors.items():
                    form[name].errors = [*form[name].errors, *(str(m) for m in messages)]
            else:
                flash(_("Saved."))
                return redirect(
                    url_for("learn.worksheet", slug=module.slug, worksheet_key=sheet.key)
                )
        return render_template(
            "learn/worksheet.html", module=module, worksheet=sheet, form=form, max=ANSWER_MAX
        ), 400
    return render_template(
        "learn/worksheet.html", module=module, worksheet=sheet, form=form, max=ANSWER_MAX
    )


@bp.route("/modules/<slug>/worksheets/<worksheet_key>/print")
def worksheet_print(slug: str, worksheet_key: str):
    """The learner's worksheet with their answers, ready to print."""
    user = _learner()
    module, sheet = _worksheet_or_404(slug, worksheet_key)
    return render_template(
        "learn/worksheet_print.html",
        module=module,
        worksheet=sheet,
        answers=practice_q.answers_for(user, module.slug, sheet.key),
    )


@bp.context_processor
def _worksheet_helpers() -> dict:
    """``worksheets_started(slug)`` for the worksheet cards under a section: the keys of the
    module's worksheets the learner has saved answers for (one query per page, on demand)."""

    def worksheets_started(module_slug: str) -> frozenset[str]:
        cache = g.setdefault("worksheets_started", {})
        if module_slug not in cache:
            cache[module_slug] = practice_q.started_worksheets(_user(), module_slug)
        return cache[module_slug]

    return {"worksheets_started": worksheets_started}
