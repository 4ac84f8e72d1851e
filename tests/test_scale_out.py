"""Scale-out: two app servers (gunicorn on two ports) sharing one PostgreSQL database and one
Redis, as two hosts behind a load balancer would. Nothing is kept in a server: a session made
on one is valid on the other, signing out on one ends it on both, the sign-in limit is counted
once for both, two ``reminders send`` started at the same moment send each email once, and the
``demo --scale`` data reads the same from either.

The servers run in development mode over plain HTTP (production's HTTPS and secure cookies are
tested in tests/test_workers.py and tests/browser/test_https.py); the database is one of its
own, created on the server of ``TEST_DATABASE_URL`` and dropped afterwards.
"""

from __future__ import annotations

import html
import http.client
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.helpers import REDIS_URL, redis_available
from tests.smtp_server import SMTPServer, free_port

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL")
PASSWORD = "correct horse battery staple 42"
FAMILIES = 12  # demo --scale: generated families on clinician@example.org, three learners each
COOKIE = "lms_session"  # development: no __Host- prefix (that needs HTTPS)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

pytestmark = [
    pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: TEST_DATABASE_URL is not set"),
    pytest.mark.skipif(
        not redis_available(), reason="needs Redis: nothing answers on 127.0.0.1:6379"
    ),
    # One cluster for the module: its tests run on one pytest-xdist worker, one after another.
    pytest.mark.xdist_group("scale_out"),
]


# --- the cluster ----------------------------------------------------------------------------


def _flask(env: dict, *args: str, timeout: int = 180) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"flask {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


class AppServer:
    """``gunicorn wsgi:app`` on a free port of 127.0.0.1: one worker with four threads (the
    shape docs/deploy.md recommends, per core)."""

    def __init__(self, env: dict, folder: Path, name: str) -> None:
        self.env = env
        self.log_path = folder / f"gunicorn-{name}.log"
        self.log = open(self.log_path, "w")
        self.start()

    def start(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "1",
                "--threads",
                "4",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_until_ready(self) -> None:
        for _attempt in range(3):  # another test may have taken the free port meanwhile
            if self._ready():
                return
            self.stop()
            self.start()
        raise RuntimeError(f"gunicorn did not start: {self.logs()}")

    def _ready(self) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return True
            except OSError:
                time.sleep(0.1)
            finally:
                connection.close()
        return False

    def logs(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def close(self) -> None:
        self.stop()
        self.log.close()


@dataclass
class Cluster:
    a: AppServer
    b: AppServer
    env: dict  # what both servers (and the cron commands) run with
    database_url: str  # for psycopg
    smtp: SMTPServer

    def rows(self, sql: str) -> list[tuple]:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql).fetchall()

    def scalar(self, sql: str):
        return self.rows(sql)[0][0]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale_out")
    server_url = make_url(PG_URL).set(drivername="postgresql")
    database = f"scale_out_{uuid.uuid4().hex[:12]}"
    admin_url = server_url.render_as_string(hide_password=False)
    database_url = server_url.set(database=database).render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    servers: list[AppServer] = []
    try:
        with SMTPServer() as smtp:
            env = {
                **os.environ,
                "LMS_ENV": "development",
                "SECRET_KEY": secrets.token_urlsafe(48),  # the same on both: one site
                "DATABASE_URL": database_url,
                "AUTO_MIGRATE": "0",
                "REDIS_URL": REDIS_URL,
                "RATELIMIT_KEY_PREFIX": "lms-scale-out-" + secrets.token_hex(6),
                "LOGIN_LIMIT_PER_ACCOUNT_IP": "5 per 15 minutes",
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": str(smtp.port),
                "MAIL_TIMEOUT": "10",
                "MAIL_DIR": str(folder / "mail"),
                "SITE_URL": "https://learn.example.org",
            }
            env.pop("TEST_DATABASE_URL", None)
            # The migrations (as `flask db upgrade` runs them), then the demo data.
            migrate_first = {**env, "AUTO_MIGRATE": "1"}
            _flask(migrate_first, "demo", "--password", PASSWORD, "--scale", str(FAMILIES))
            servers.extend(AppServer(env, folder, name) for name in ("a", "b"))
            for server in servers:
                server.wait_until_ready()
            yield Cluster(servers[0], servers[1], env, database_url, smtp)
    finally:
        for server in servers:
            server.close()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# --- a browser that can talk to either server -----------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str

    @property
    def location(self) -> str:
        return urllib.parse.urlsplit(self.headers.get("Location", "")).path


class Browser:
    """One browser's cookies, sent to whichever server it asks (a load balancer's choice)."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def request(self, server: AppServer, method: str, path: str, form: dict | None = None):
        headers = {"Referer": f"http://127.0.0.1:{server.port}{path}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = Answer(response.status, response.msg, response.read().decode())
        finally:
            connection.close()
        for header in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                gone = morsel["max-age"] == "0" or "1970" in morsel["expires"]
                if gone or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        assert answer.status < 500, f"{method} {path}: {answer.status}\n{server.logs()}"
        return answer

    def get(self, server: AppServer, path: str) -> Answer:
        return self.request(server, "GET", path)

    def post(self, server: AppServer, path: str, form: dict, *, form_page: str | None = None):
        page = self.get(server, form_page or path)
        token = CSRF.search(page.body)
        assert token, f"no form on {form_page or path} ({page.status})"
        return self.request(
            server, "POST", path, {**form, "csrf_token": html.unescape(token.group(1))}
        )

    def sign_in(self, server: AppServer, email: str, password: str = PASSWORD) -> Answer:
        return self.post(server, "/auth/login", {"email": email, "password": password})

    def copy(self) -> Browser:
        """Another browser holding the same cookies (a copied or stolen cookie)."""
        other = Browser()
        other.cookies = dict(self.cookies)
        return other


def signed_in_page(browser: Browser, server: AppServer, path: str) -> Answer:
    answer = browser.get(server, path)
    assert answer.status == 200, (path, answer.status, answer.location)
    return answer


def assert_signed_out(browser: Browser, server: AppServer, path: str) -> None:
    answer = browser.get(server, path)
    assert answer.status == 302 and answer.location == "/auth/login", (
        server.port,
        answer.status,
        answer.location,
    )


# --- the tests ------------------------------------------------------------------------------


def test_a_session_made_on_one_server_is_valid_on_the_other(cluster):
    staff = Browser()
    signed_in = staff.sign_in(cluster.a, "clinician@example.org")
    assert signed_in.status == 302, signed_in.body[:500]
    assert COOKIE in staff.cookies
    for server in (cluster.b, cluster.a, cluster.b):
        page = signed_in_page(staff, server, "/clinic/")
        assert re.search(r"Scale Patient \d{4}", page.body), page.body[:1000]  # the caseload
    # Somebody without the cookie is sent to sign in, by either server.
    assert_signed_out(Browser(), cluster.b, "/clinic/")


def test_signing_out_on_one_server_ends_the_session_on_both(cluster):
    email = "scale0001.0@example.org"
    laptop = Browser()
    assert laptop.sign_in(cluster.a, email).status == 302
    phone = Browser()
    assert phone.sign_in(cluster.b, email).status == 302
    copied = laptop.copy()  # the cookie as it was before signing out
    for server in (cluster.a, cluster.b):
        signed_in_page(copied, server, "/learn/")
        signed_in_page(phone, server, "/learn/")

    out = laptop.post(cluster.b, "/auth/logout", {}, form_page="/auth/account")
    assert out.status == 302 and out.location == "/auth/login"

    # This browser, the cookie from before and the other device's: refused by both servers.
    for server in (cluster.a, cluster.b):
        assert_signed_out(laptop, server, "/learn/")
        assert_signed_out(copied, server, "/learn/")
        assert_signed_out(phone, server, "/learn/")
    # Signing in again works, on either.
    again = Browser()
    assert again.sign_in(cluster.a, email).status == 302
    signed_in_page(again, cluster.b, "/learn/")


def test_the_sign_in_limit_is_counted_once_for_both_servers(cluster):
    """LOGIN_LIMIT_PER_ACCOUNT_IP is 5 per 15 minutes here: failures alternate between the
    servers, and the sixth is refused, by either, because both count in the one Redis."""
    email = f"nobody.{uuid.uuid4().hex[:8]}@example.org"
    statuses = []
    for n in range(10):
        server = (cluster.a, cluster.b)[n % 2]
        statuses.append(Browser().sign_in(server, email, f"wrong guess {n}").status)
    assert statuses[:5] == [200] * 5, statuses
    assert statuses[5:] == [429] * 5, statuses


# ``flask --app wsgi reminders send``, exactly as cron runs it, except that the app is built
# first (the slow part) and the command waits for the GO file: both hosts start at one moment.
AT_ONCE = """
import sys, time
from pathlib import Path
import wsgi  # flask --app wsgi finds this app already built
print("ready", flush=True)
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.001)
from flask.cli import main
sys.argv = ["flask", "--app", "wsgi", "reminders", "send"]
main()
"""


def test_reminders_sent_from_two_hosts_at_once_go_out_once(cluster, tmp_path):
    assert cluster.scalar("SELECT count(*) FROM outbox") == 0
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", AT_ONCE, str(go)],
            cwd=ROOT,
            env=cluster.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _host in range(2)
    ]
    for process in processes:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
    go.touch()
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, f"{stdout}\n{stderr}"
        outputs.append(stdout)
    said = [int(n) for out in outputs for n in re.findall(r"^Sent (\d+) email", out, flags=re.M)]

    received = [tuple(sorted(m.rcpt_tos)) for m in cluster.smtp.messages]
    sent = cluster.rows(
        "SELECT recipient, count(*) FROM outbox WHERE sent_at IS NOT NULL GROUP BY recipient"
    )
    report = f"{outputs}\nreceived {len(received)}"
    assert len(received) >= FAMILIES, report  # the scale data has overdue readings
    assert len(set(received)) == len(received), report  # nobody got an email twice
    assert sorted(r[0] for r in received) == sorted(recipient for recipient, _n in sent), report
    assert all(n == 1 for _recipient, n in sent), sent  # one reminder email per person a day
    assert sum(said) == len(received), report  # what the two runs say they sent, together
    assert cluster.scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0


def _page_as_read(answer: Answer) -> str:
    """A page without what differs between two renderings for one person: the forms' CSRF
    tokens (signed with the time) and the seconds left before the idle timeout."""
    text = CSRF.sub('name="csrf_token" value=""', answer.body)
    return re.sub(r'data-idle-left="\d+"', 'data-idle-left=""', text)


def test_the_scale_data_reads_the_same_from_either_server(cluster):
    staff = Browser()
    assert staff.sign_in(cluster.b, "clinician@example.org").status == 302
    families = {
        name
        for (name,) in cluster.rows(
            "SELECT display_name FROM patient WHERE record_number LIKE 'SCALE-%'"
        )
    }
    assert len(families) == FAMILIES
    path = "/clinic/?sort=name"  # every family of the caseload fits on the first page
    on_a = _page_as_read(signed_in_page(staff, cluster.a, path))
    on_b = _page_as_read(signed_in_page(staff, cluster.b, path))
    assert on_a == on_b
    assert set(re.findall(r"Scale Patient \d{4}", on_a)) == families

    # Written through one server, read through the other: the account's language.
    email = "scale0002.1@example.org"
    reader = Browser()
    assert reader.sign_in(cluster.a, email).status == 302
    chosen = reader.post(
        cluster.a, "/language", {"lang": "es", "back": "/learn/"}, form_page="/learn/"
    )
    assert chosen.status == 302
    elsewhere = Browser()  # another device, signing in on the other server
    assert elsewhere.sign_in(cluster.b, email).status == 302
    assert '<html lang="es">' in signed_in_page(elsewhere, cluster.b, "/learn/").body
