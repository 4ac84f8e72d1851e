"""Flask-Limiter's per-request work is skipped only where no limit applies
(lms.extensions._endpoint_has_no_limits); every limited view keeps its limits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flask_limiter.util import get_qualified_name

from lms.extensions import _endpoint_has_no_limits, limiter
from tests.helpers import login, make_user

ROOT = Path(__file__).resolve().parent.parent
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


REDIS_DOWN = r"""
import re, sys, tempfile
from lms import create_app

folder = tempfile.mkdtemp()
app = create_app({
    "SECRET_KEY": "x" * 64,
    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/x.sqlite3",
    "AUTO_MIGRATE": True,
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",  # nothing answers there
})
client = app.test_client()
page = client.get("/auth/login").get_data(as_text=True)
token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
data = {"csrf_token": token, "email": "someone@example.org", "password": "wrong password x"}
print(" ".join(str(client.post("/auth/login", data=data).status_code) for _ in range(7)))
"""


def test_sign_in_with_redis_down_counts_in_memory_instead_of_failing():
    # A process of its own: Flask-Limiter keeps its fallback switch for good once an app of
    # the process turned it on, so only a fresh process shows what the settings give.
    done = subprocess.run(
        [sys.executable, "-c", REDIS_DOWN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "REDIS"))},
    )
    assert done.returncode == 0, done.stderr
    statuses = done.stdout.split()[-7:]
    assert "500" not in statuses, statuses
    assert statuses[0] == "200"  # the usual "that did not work" page
    assert "429" in statuses  # and the limit still holds, counted in this process
