"""Learner pages: a family member's own wellbeing check-in (WHO-5) and their trend.

Family members only: everyone else gets a 404. The rules (when a check-in is offered, what
a score means, how a double submit is kept to one) are in ``lms.wellbeing``; these views
parse the form, call them and render.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from lms.blueprints.learn.routes import _user, bp
from lms.forms import OnceForm
from lms.models import User
from lms.problems import FieldProblems, Problem
from lms.wellbeing import operations as wellbeing_ops
from lms.wellbeing import queries as wellbeing_q
from lms.wellbeing import who5


class CheckinForm(OnceForm):
    """CSRF and the one-time token; the five answers come from ``who5`` and are read by
    ``wellbeing.operations.clean_answers``, which explains every missing or unknown one."""


def _family_member() -> User:
    user = _user()
    if not wellbeing_q.takes_checkins(user):
        abort(404)
    return user


@dataclass(frozen=True)
class HomeCard:
    """What the learner's home shows when a check-in is offered: the "Not now" form."""

    form: CheckinForm


def home_card(user: User) -> HomeCard | None:
    """The home page's check-in card, when one is offered to this person now (same words for
    every occasion)."""
    if wellbeing_q.due_for(user) is None:  # None for anyone who takes no check-ins
        return None
    return HomeCard(CheckinForm())


def _questionnaire() -> dict:
    locale = get_locale()
    return {
        "timeframe": who5.timeframe(locale),
        "items": list(zip(wellbeing_ops.FIELDS, who5.item_texts(locale), strict=True)),
        "answers": who5.answer_labels(locale),
        # The items' own language (a published version), for the lang attribute.
        "items_lang": who5.language(locale),
    }


@bp.route("/wellbeing/check-in", methods=["GET", "POST"])
def wellbeing_checkin():
    """The WHO-5 check-in: five statements, six answers each, "Save" or "Not now". A missing
    answer is named beside its statement; the same form sent twice records once. 404 for
    anyone but a family member."""
    user = _family_member()
    form = CheckinForm()
    errors: dict[str, list[str]] = {}
    if form.is_submitted():
        if not form.validate():
            errors["form"] = [str(m) for messages in form.errors.values() for m in messages]
        elif request.form.get("action") == "skip":
            try:
                wellbeing_ops.record_skip(user, submit_token=form.submit_token.data)
            except Problem as exc:
                errors["form"] = [str(exc)]
            else:
                flash(_("No problem. We will ask again another time."))
                return redirect(url_for("learn.index"))
        else:
            try:
                wellbeing_ops.record_checkin(
                    user,
                    request.form,
                    locale=get_locale(),
                    submit_token=form.submit_token.data,
                )
            except FieldProblems as exc:
                errors = {name: [str(m) for m in messages] for name, messages in exc.errors.items()}
            except Problem as exc:
                errors["form"] = [str(exc)]
            else:
                flash(_("Thank you. Your answers are saved."))
                return redirect(url_for("learn.wellbeing"))
    chosen = {name: request.form.get(name, "") for name in wellbeing_ops.FIELDS}
    return render_template(
        "learn/wellbeing_checkin.html",
        form=form,
        errors=errors,
        chosen=chosen,
        offered=wellbeing_q.due_for(user) is not None,
        **_questionnaire(),
    ), (400 if errors else 200)


@bp.route("/wellbeing")
def wellbeing():
    """The family member's own check-ins over time, with a plain reading of the latest and,
    when it is 50 or below, support and crisis resources. 404 for anyone but a family
    member."""
    user = _family_member()
    checkins = wellbeing_q.checkins_for([user.id])
    summary = wellbeing_q.summaries([user.id]).get(user.id)
    return render_template(
        "learn/wellbeing.html",
        checkins=list(reversed(checkins)),
        summary=summary,
        offered=wellbeing_q.due_for(user) is not None,
        poor_at=who5.POOR_AT_OR_BELOW,
    )
