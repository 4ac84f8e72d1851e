"""Learner pages: library, module reading, knowledge check, results, progress, print view.

Every signed-in role may read the library. A learner sees only their own progress here;
other people's progress is reached only through the clinic pages and ``lms.access``.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import HiddenField

from lms import access, clock
from lms.consent import operations as consent_ops
from lms.consent import queries as consent_q
from lms.content import get_library
from lms.content.model import Module
from lms.extensions import db
from lms.forms import BaseForm
from lms.goals import queries as goal_q
from lms.learning import certificate as certificate_rules
from lms.learning import operations as services
from lms.learning import orientation, upnext, variants
from lms.models import FamilyLink, Role
from lms.wellbeing import queries as wellbeing_q

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
    """The learner's home: "Up next" first, then each path as weeks, other readings, what they
    started on their own, and the way into the library (``lms.learning.upnext`` decides all of
    it). Assignments for a patient show only while consent is active."""
    user = _user()
    home = upnext.home_for(user, _lang(), clock.today())
    from lms.group_sessions.queries import session_material_for

    sessions = session_material_for(user) if current_user.role == "patient" else []
    goals = goal_q.for_learner(user)
    return render_template(
        "learn/index.html",
        home=home,
        goals=goals,
        goal_title=goal_q.title_of,
        sessions=sessions,
        library=get_library(),
        orientation=orientation.needed(user),
        orientation_guide=orientation.guide_for(user) if orientation.needed(user) else None,
        completed_any=services.completed_count(user.id) > 0,
        wellbeing=_wellbeing.home_card(user),  # a check-in offered now (family members)
        wellbeing_page=wellbeing_q.takes_checkins(user),
        disclosures=access.consents_in_force_for(user) if home.items else [],
    )


@bp.route("/welcome")
def welcome():
    """How this site works: the care team and how to reach the program, what each side sees,
    quick exit. Shown on the home page until the learner says "Got it"; always here."""
    user = _user()
    if not orientation.is_for(user):
        abort(404)
    return render_template(
        "learn/welcome.html", guide=orientation.guide_for(user), form=SectionForm()
    )


@bp.route("/welcome/done", methods=["POST"])
def welcome_done():
    """The learner has read the orientation: the home page stops showing it (once)."""
    if not orientation.is_for(_user()):
        abort(404)
    if not SectionForm().validate_on_submit():
        abort(400)
    orientation.mark_seen(_user())
    return redirect(url_for("learn.index"))


@bp.route("/certificate")
def certificate():
    """A printable certificate of the modules this learner completed (``?m=`` chooses which);
    titles and dates only (``lms.learning.certificate``)."""
    chosen = [slug[:100] for slug in request.args.getlist("m")[:100]]
    lines = certificate_rules.lines_for(_user(), _lang(), chosen)
    return render_template(
        "learn/certificate.html",
        lines=lines,
        included=[line for line in lines if line.included],
        issued_on=clock.today(),
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
    status = services.status_of(progress, get_library().module(slug))
    finished = section is None and status in (
        services.Status.COMPLETED,
        services.Status.COMPLETED_EARLIER,
    )
    return render_template(
        "learn/module.html",
        next_reading=upnext.next_after(_user(), slug, _lang()) if finished else None,
        module=mod,
        progress=progress,
        read=read,
        section=section,
        status=status,
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


# Pages kept in their own modules, on this blueprint.
from lms.blueprints.learn import catalogue, checks, practice  # noqa: E402, F401
from lms.blueprints.learn import wellbeing as _wellbeing  # noqa: E402
