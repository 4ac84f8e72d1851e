"""Learner pages: library, module reading, knowledge check, results, progress, print view.

Every signed-in role may read the library. A learner sees only their own progress here;
other people's progress is reached only through the clinic pages and ``lms.access``.
"""

from __future__ import annotations

import posixpath
import secrets
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import HiddenField

from lms import access, clock
from lms.assignments import status as assignment_rules
from lms.assignments.queries import Row
from lms.consent import operations as consent_ops
from lms.consent import queries as consent_q
from lms.content import get_library
from lms.content.grading import AnswerError, parse_answers, shown_order
from lms.content.model import Module
from lms.extensions import db
from lms.forms import BaseForm
from lms.learning import operations as services
from lms.learning import variants
from lms.models import Assignment, FamilyLink, QuizAttempt, Role

bp = Blueprint("learn", __name__, url_prefix="/learn")


class SectionForm(BaseForm):
    """A button that marks a section read (CSRF only)."""


class CheckForm(BaseForm):
    """The knowledge check's fixed part. Its questions come from content and are read with
    ``parse_answers``, which explains every kind of bad or forged answer."""

    submit_token = HiddenField()


@bp.before_request
@login_required
def _signed_in():
    """Every learner page needs a signed-in user."""
    return None


def _lang() -> str:
    return str(get_locale() or "en")


def module_or_404(slug: str) -> Module:
    module = get_library().module(slug, _lang())
    if module is None:
        abort(404)
    return module


def _user():
    return current_user._get_current_object()


@bp.route("/")
def index():
    """The learner's start page: assigned readings with due dates, what to continue, and the
    way into the library. Assignments for a patient show only while consent is active."""
    library = get_library()
    progress = services.progress_by_slug(current_user.id)
    assignments = db.session.scalars(
        access.visible_assignments(_user())
        .options(selectinload(Assignment.patient))
        .order_by(Assignment.due_on.is_(None), Assignment.due_on, Assignment.id)
    ).all()
    today = clock.today()
    assigned = []
    for a in assignments:
        module = library.module(a.module_slug, _lang())
        row = progress.get(a.module_slug)
        # Listed here only while the learner may see it (access.visible_assignments), so a
        # family member's consent is in force for each.
        facts = assignment_rules.facts_for(a, row, a.patient, consent_in_force=True)
        status = assignment_rules.status_of(facts, module.version if module else None, today)
        assigned.append((module, Row(a, row, status)))
    done_count = sum(1 for _module, item in assigned if item.is_done)
    assigned_slugs = {a.module_slug for a in assignments}
    in_progress = []
    for slug, row in sorted(
        progress.items(), key=lambda item: item[1].last_activity_at, reverse=True
    ):
        module = library.module(slug, _lang())
        if module is not None and row.completed_at is None and slug not in assigned_slugs:
            in_progress.append((module, row))
    has_links = current_user.role == "family" and bool(
        db.session.scalar(
            select(func.count(FamilyLink.id)).where(FamilyLink.user_id == current_user.id)
        )
    )
    from lms.group_sessions.queries import session_material_for

    sessions = session_material_for(_user()) if current_user.role == "patient" else []
    return render_template(
        "learn/index.html",
        sessions=sessions,
        library=library,
        assigned=assigned,
        done_count=done_count,
        in_progress=in_progress,
        today=today,
        neutral=has_links and not assigned,
        disclosures=access.consents_in_force_for(_user()) if assigned else [],
    )


@bp.route("/family")
def family():
    """A patient's own page: who is linked to them, each consent, and withdrawing it."""
    patient = access.own_patient(_user())
    if patient is None:
        abort(404)
    return render_template(
        "learn/family.html",
        patient=patient,
        family=consent_q.family_consents(patient),
        form=SectionForm(),
    )


@bp.route("/family/<link_id>/withdraw-consent", methods=["POST"])
def withdraw(link_id: str):
    """The patient withdraws consent for one family member: every consent in force for that
    person ends, effective on the very next request."""
    patient = access.own_patient(_user())
    if patient is None:
        abort(404)
    link = db.session.get(FamilyLink, access.parse_id(link_id))
    if link is None or link.patient_id != patient.id:
        abort(404)
    if not SectionForm().validate_on_submit():
        abort(400)
    if consent_ops.withdraw_consent(_user(), link):
        # No names in the message: flashed messages travel in the session cookie.
        flash(_("Consent withdrawn. That person no longer sees anything about you."))
    return redirect(url_for("learn.family"))


@bp.route("/library")
def library():
    """Every course and module, with this learner's status for each."""
    lib = get_library()
    progress = services.progress_by_slug(current_user.id)
    courses = []
    for course in lib.courses:
        items = []
        for slug in course.module_slugs:
            module = lib.module(slug, _lang())
            if module is None:
                continue
            row = progress.get(slug)
            items.append((module, row, services.status_of(row, lib.module(slug))))
        courses.append((course, items))
    unreviewed = any(m.reviewed_by is None for m in lib.modules())
    return render_template(
        "learn/library.html", courses=courses, paths=lib.paths, unreviewed=unreviewed
    )


@bp.route("/modules/<slug>")
def module(slug: str):
    """One section at a time (``?section=``), or all of them (``?view=all``); resumes."""
    mod = module_or_404(slug)
    progress = services.progress_for(current_user.id, slug)
    read = services.read_keys(current_user.id, slug)
    section = None
    if request.args.get("view") != "all":
        key = request.args.get("section") or _resume_key(mod, progress, read)
        if key is not None:
            section = mod.section(key)
            if section is None:
                abort(404)
            progress = services.visit_section(_user(), mod, key, progress)
    return render_template(
        "learn/module.html",
        module=mod,
        progress=progress,
        read=read,
        section=section,
        form=SectionForm(),
        status=services.status_of(progress, get_library().module(slug)),
        **_variant_context(mod),
    )


def _variant_context(mod: Module) -> dict:
    """Which variant of the text to show (``lms.learning.variants``), and for staff the
    chooser that previews any of them."""
    variant = variants.chosen_variant(_user(), request.args.get("for"))
    return {
        "variant": variant,
        "section_html": variants.section_html,
        "variant_choices": [(key, variants.VARIANT_LABELS[key]) for key in mod.variant_keys()]
        if mod.has_variants and current_user.role in (Role.CLINICIAN, Role.ADMIN)
        else [],
    }


def _resume_key(mod: Module, progress, read: set[str]) -> str | None:
    if not mod.sections:
        return None
    if progress is None:
        return mod.sections[0].key
    for section in mod.sections:
        if section.key not in read:
            return section.key
    return None  # all read: show the overview with the check


@bp.route("/modules/<slug>/sections/<key>/read", methods=["POST"])
def mark_read(slug: str, key: str):
    """Mark a section read, then go to the next unread one (or the check)."""
    mod = module_or_404(slug)
    section = mod.section(key)
    if section is None:
        abort(404)
    form = SectionForm()
    if not form.validate_on_submit():
        abort(400)
    services.record_section_read(_user(), mod, key)
    following = mod.sections[section.index + 1 :]
    if following:
        return redirect(url_for("learn.module", slug=slug, section=following[0].key))
    if mod.quiz is not None:
        return redirect(url_for("learn.check", slug=slug))
    return redirect(url_for("learn.module", slug=slug))


@bp.route("/modules/<slug>/check", methods=["GET", "POST"])
def check(slug: str):
    """The knowledge check. A bad or forged answer set gets a clear 400 and records nothing."""
    mod = module_or_404(slug)
    if mod.quiz is None:
        abort(404)
    form = CheckForm()
    if request.method == "GET":
        form.submit_token.data = secrets.token_urlsafe(24)
        return _render_check(mod, form, chosen={}, error=None)
    if not form.validate_on_submit():
        abort(400)
    posted = {k: request.form.getlist(k) for k in request.form if k.startswith("q-")}
    chosen = {k[2:]: list(v) for k, v in posted.items()}  # in order: ordering questions
    token = (form.submit_token.data or "").strip()
    try:
        if not token or len(token) > 64:
            raise AnswerError(_("This form is incomplete. Please reload the page and try again."))
        answers = parse_answers(mod.quiz, posted)
    except AnswerError as exc:
        if not token or len(token) > 64:
            form.submit_token.data = secrets.token_urlsafe(24)
        return _render_check(mod, form, chosen=chosen, error=str(exc)), 400
    submitted = services.submit_attempt(_user(), mod, dict(answers), token)
    return redirect(url_for("learn.attempt", slug=slug, attempt_id=submitted.attempt.id))


def _render_check(mod, form: CheckForm, *, chosen: dict, error: str | None) -> str:
    """The check, its options in this attempt's order (from its one-time token)."""
    seed = form.submit_token.data or ""
    orders = {q.id: shown_order(q, seed) for q in mod.quiz.questions}
    return render_template(
        "learn/check.html", module=mod, form=form, chosen=chosen, error=error, orders=orders
    )


@bp.route("/modules/<slug>/attempts/<id:attempt_id>")
def attempt(slug: str, attempt_id: int):
    """One of the learner's own attempts: score, pass mark and every answer's feedback."""
    mod = module_or_404(slug)
    row = db.session.get(QuizAttempt, attempt_id)
    if row is None or row.user_id != current_user.id or row.module_slug != slug:
        abort(404)
    progress = services.progress_for(current_user.id, slug)
    return render_template(
        "learn/attempt.html",
        module=mod,
        attempt=row,
        progress=progress,
        status=services.status_of(progress, get_library().module(slug)),
        same_version=row.content_version == get_library().module(slug).version,
    )


@bp.route("/modules/<slug>/print")
def print_view(slug: str):
    """A handout: every section, no navigation."""
    mod = module_or_404(slug)
    return render_template("learn/print.html", module=mod, **_variant_context(mod))


@bp.route("/progress")
def progress():
    """The learner's own modules, statuses, and every knowledge-check result."""
    lib = get_library()
    rows = services.progress_by_slug(current_user.id)
    modules = []
    for slug, row in rows.items():
        mod = lib.module(slug, _lang())
        modules.append((slug, mod, row, services.status_of(row, lib.module(slug))))
    modules.sort(key=lambda item: item[2].last_activity_at, reverse=True)
    attempts = db.session.scalars(services.attempts_for(current_user.id)).all()
    titles = {m.slug: m.title for m in lib.modules()}
    return render_template("learn/progress.html", modules=modules, attempts=attempts, titles=titles)


@bp.route("/media/<course>/<path:filename>")
def media(course: str, filename: str):
    """Images that modules use; only from a known course's images/ folder."""
    lib = get_library()
    normalized = posixpath.normpath(filename)
    if lib.course(course) is None or normalized != filename or not normalized.startswith("images/"):
        abort(404)
    return send_from_directory(Path(lib.root) / course, normalized)
