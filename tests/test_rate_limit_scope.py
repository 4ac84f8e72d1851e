"""Flask-Limiter's per-request work is skipped only where no limit applies
(lms.extensions._endpoint_has_no_limits); every limited view keeps its limits."""

from __future__ import annotations

from flask_limiter.util import get_qualified_name

from lms.extensions import _endpoint_has_no_limits, limiter
from tests.helpers import login, make_user

LIMITED = {
    "auth.login",
    "auth.mfa",
    "auth.forgot",
    "invite.accept",
}


def skipped(app, endpoint: str) -> bool:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    path = rule.rule.replace("<token>", "x").replace("<slug>", "x")
    with app.test_request_context(path):
        from flask import request

        request.url_rule = rule
        request.view_args = {}
        return _endpoint_has_no_limits()


def test_every_view_with_a_limit_is_checked(app):
    marked = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if get_qualified_name(view) in limiter._marked_for_limiting
    }
    assert LIMITED <= marked  # the views that must keep their limits are marked
    for endpoint in marked:
        assert skipped(app, endpoint) is False, endpoint


def test_views_without_limits_skip_the_limiter(app):
    for endpoint in ("learn.module", "clinic.caseload", "core.index", "learn.index"):
        assert skipped(app, endpoint) is True, endpoint


def test_the_sign_in_limit_still_counts(app, client):
    user = make_user("family")
    statuses = [
        login(client, user.email, password="wrong password here").status_code for _ in range(7)
    ]
    assert 429 in statuses  # LOGIN_LIMIT_PER_ACCOUNT_IP: 5 per minute
