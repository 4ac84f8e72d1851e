"""Limits hold across worker processes: gunicorn with 4 workers in production mode (Redis
shared), real HTTP over TLS. With per-process memory counts, four workers allowed up to four
times every limit; production now refuses to start without Redis."""

from __future__ import annotations

import html
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.helpers import redis_available

pytestmark = pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379")

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def failed_sign_ins(tmp_path, env: dict) -> list[int]:
    """Twelve wrong passwords for one new email from one address; the status of each."""
    from tests.browser.production import Certificates, GunicornApp, free_port

    certs = Certificates(tmp_path)
    port = free_port()
    site = f"https://127.0.0.1:{port}"
    app = GunicornApp(
        tls=certs,
        site_url=site,
        port=port,
        workers=4,
        env={"LOGIN_LIMIT_PER_ACCOUNT_IP": "5 per 15 minutes", **env},
    )
    try:
        https = urllib.request.HTTPSHandler(context=certs.client_context())
        email = f"limit.{port}@example.org"  # a fresh key in the shared Redis
        statuses = []
        for n in range(12):
            # A new connection (and cookie jar) each time: gunicorn hands them to any worker.
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(https, urllib.request.HTTPCookieProcessor(jar))
            with opener.open(f"{site}/auth/login") as page:
                token = html.unescape(CSRF.search(page.read().decode()).group(1))
            data = urllib.parse.urlencode(
                {"email": email, "password": f"guess {n}", "csrf_token": token}
            ).encode()
            request = urllib.request.Request(  # noqa: S310 -- https to our own test server
                f"{site}/auth/login", data=data, headers={"Referer": f"{site}/auth/login"}
            )
            try:
                with opener.open(request) as response:
                    statuses.append(response.status)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
        return statuses
    finally:
        app.close()


def test_sign_in_limit_is_shared_by_four_workers(tmp_path):
    statuses = failed_sign_ins(tmp_path, {})  # production: Redis shared by the workers
    assert statuses[:5] == [200] * 5, statuses
    assert set(statuses[5:]) == {429}, statuses


def test_without_shared_storage_four_workers_would_allow_more(tmp_path):
    """Why production requires Redis: the same run in development (per-process counts)
    lets more than five attempts through, because the workers each count their own."""
    statuses = failed_sign_ins(
        tmp_path, {"LMS_ENV": "development", "REDIS_URL": "", "SITE_URL": ""}
    )
    assert statuses.count(200) > 5, statuses
