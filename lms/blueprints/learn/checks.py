"""Learner pages: the knowledge check and the result of one attempt."""

from __future__ import annotations

import secrets

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.blueprints.learn.routes import CheckForm, _user, bp, module_or_404
from lms.content import get_library
from lms.content.grading import AnswerError, parse_answers, shown_order
from lms.extensions import db
from lms.learning import feedback, upnext
from lms.learning import operations as services
from lms.models import QuizAttempt


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
    """One of the learner's own attempts (404 for anyone else's): score, pass mark and
    feedback on their choices; what else it shows is ``lms.learning.feedback``'s rule."""
    mod = module_or_404(slug)
    row = db.session.get(QuizAttempt, attempt_id)
    if row is None or row.user_id != current_user.id or row.module_slug != slug:
        abort(404)
    user = _user()
    progress = services.progress_for(user.id, slug)
    english = get_library().module(slug)
    status = services.status_of(progress, english)
    completed = row.passed and progress is not None and progress.completed_at is not None
    return render_template(
        "learn/attempt.html",
        module=mod,
        attempt=row,
        progress=progress,
        status=status,
        same_version=row.content_version == english.version,
        feedback=feedback.feedback_for(user, row, mod),
        next_reading=upnext.next_after(user, slug) if completed else None,
    )
