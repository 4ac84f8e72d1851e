"""``python -m bench``: the app against a bare Flask floor, in one run, on this machine.

It prepares a database (demo data, optionally ``--families N`` generated families), starts
gunicorn twice — the floor (``bench.floor``: Flask answering "hello") and the app — signs in as
a family member, a clinician and an admin, drives each page of a fixed scenario with wrk on
loopback, and prints per page: requests per second, p50/p95/p99 latency, queries per request
(counted in-process with SQLAlchemy's events, one warm request) and the ratio to the floor
measured in the same run. Then the workers' memory after the scenario and the start-up time of
a library of 100 modules. ``--soak`` runs the mixed scenario for a while and reports errors,
memory growth and database connections instead.

Numbers depend on the machine; the ratios are what compare across machines. No thresholds are
checked here: CI runs ``--smoke`` only to keep this command working.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LUA = Path(__file__).resolve().parent / "wrk" / "scenario.lua"
PASSWORD = "bench-" + secrets.token_hex(8)

FAMILY = "family@example.org"
CLINICIAN = "clinician@example.org"
ADMIN = "admin@example.org"


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A gunicorn serving ``target`` on a free loopback port."""

    target: str
    env: dict
    workers: int
    threads: int
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str = "/") -> Server:
        args = [
            str(BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--log-level",
            "warning",
        ]
        if self.threads > 1:
            args += ["--worker-class", "gthread", "--threads", str(self.threads)]
        self.process = subprocess.Popen(  # noqa: S603 -- our own gunicorn, fixed arguments
            [*args, self.target], cwd=ROOT, env=self.env
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise SystemExit(f"gunicorn for {self.target} exited with {code}")
            try:
                with urllib.request.urlopen(self.base + ready_path, timeout=5):  # noqa: S310
                    pass
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"gunicorn for {self.target} did not answer within 60 s")
        # Every worker has answered once (imports and the library loaded) before measuring.
        for _ in range(self.workers * 4):
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(self.base + ready_path, timeout=10).close()  # noqa: S310
        return self

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def run_ours(what: str, command: list[str], env: dict) -> str:
    """Run one of our own commands in the repository; its output, or stop saying ``what``
    failed, with everything it printed."""
    done = subprocess.run(  # noqa: S603 -- our own commands, fixed arguments
        command, cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def run_flask(env: dict, *args: str) -> str:
    return run_ours(f"flask {' '.join(args)}", [str(BIN / "flask"), "--app", "wsgi", *args], env)


def run_python(what: str, code: str, env: dict, *args: str) -> str:
    return run_ours(what, [sys.executable, "-c", code, *args], env)


# --- the database -----------------------------------------------------------------------------


def redis_available(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1):
            return True
    except OSError:
        return False


def app_environment(args, workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "TEST_"))}
    env.update(
        LMS_ENV="development",
        SECRET_KEY=secrets.token_hex(32),
        DATABASE_URL=args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}",
        MAIL_DIR=str(workdir / "mail"),
        RATELIMIT_KEY_PREFIX="bench-" + secrets.token_hex(4),
        PYTHONPATH=str(ROOT),
    )
    env.pop("REDIS_URL", None)
    if args.redis_url and redis_available(args.redis_url):
        env["REDIS_URL"] = args.redis_url
    if args.courses:
        env["COURSES_DIR"] = str(args.courses)
    return env


def prepare_database(args, env: dict) -> None:
    url = env["DATABASE_URL"]
    if url.startswith("postgresql") and not args.reuse:
        run_flask(env, "db", "upgrade")
    # Always: the demo is idempotent and gives its accounts this run's password.
    run_flask(env, "demo", "--password", PASSWORD)
    if args.families and not args.reuse:
        started = time.monotonic()
        command = [sys.executable, "-m", "bench.generate", "--families", str(args.families)]
        print(run_ours("bench.generate", command, env).strip())
        print(f"generated {args.families} families in {time.monotonic() - started:.0f} s")


# --- signing in -------------------------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """Just enough of a browser for the bench: cookies, no redirects followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str):
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), self._NoRedirect
        )

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post(self, path: str, data: dict) -> int:
        request = urllib.request.Request(  # noqa: S310 -- loopback
            self.base + path, data=urlencode(data, doseq=True).encode(), method="POST"
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def sign_in(self, email: str, password: str) -> Browser:
        _status, page = self.get("/auth/login")
        token = CSRF.search(page).group(1)
        status = self.post(
            "/auth/login", {"csrf_token": token, "email": email, "password": password, "next": ""}
        )
        if status != 302 or not any(c.name.endswith("lms_session") for c in self.jar):
            raise SystemExit(f"could not sign in as {email} (HTTP {status})")
        return self

    @property
    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


# --- the scenario -----------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    who: str | None  # None: anonymous
    path: str
    method: str = "GET"
    body: str = ""


@dataclass
class Result:
    page: Page
    rps: float
    p50: float
    p95: float
    p99: float
    errors: int
    queries: int | None = None
    ratio: float | None = None


def scenario_ids(env: dict) -> dict:
    """Ids the scenario's addresses need, read from the database the servers use."""
    code = (
        "import json\n"
        "from sqlalchemy import select\n"
        "from lms import create_app\n"
        "from lms.extensions import db\n"
        "from lms.models import Patient\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    pid = db.session.scalar(select(Patient.id).where(Patient.record_number=='DEMO-1'))\n"
        "    print(json.dumps({'patient': pid}))\n"
    )
    out = run_python("reading the scenario's ids", code, env)
    return json.loads(out.strip().splitlines()[-1])


MODULE = "what-is-iop"


def check_form_body(family: Browser, slug: str) -> str:
    """A whole, valid answer set for ``slug``'s check, with ``{token}`` for the one-time
    token wrk fills in: every submission records one attempt."""
    status, page = family.get(f"/learn/modules/{slug}/check")
    if status != 200:
        raise SystemExit(f"the check of {slug} answered {status}")
    fields = {"csrf_token": CSRF.search(page).group(1)}
    for name, value in re.findall(r'name="(q-[^"]+)"[^>]*value="([^"]+)"', page):
        fields.setdefault(name, value)
    return urlencode(fields) + "&submit_token={token}"


def build_pages(ids: dict, family: Browser) -> list[Page]:
    first_section = re.search(
        r"section=([a-z0-9-]+)", family.get(f"/learn/modules/{MODULE}")[1] or ""
    )
    section = f"?section={first_section.group(1)}" if first_section else ""
    return [
        Page("healthz", None, "/healthz"),
        Page("sign-in page", None, "/auth/login"),
        Page("family: home", "family", "/learn/"),
        Page("family: module page", "family", f"/learn/modules/{MODULE}{section}"),
        Page("family: submit check", "family", f"/learn/modules/{MODULE}/check", "POST",
             check_form_body(family, MODULE)),
        Page("clinician: dashboard", "clinician", "/clinic/"),
        Page("clinician: patient", "clinician", f"/clinic/patients/{ids['patient']}"),
        Page("clinician: questions", "clinician", "/clinic/items"),
        Page("admin: audit log", "admin", "/admin/audit"),
    ]  # fmt: skip


def wrk(url_base: str, lines: list[str], *, seconds: float, connections: int, workdir: Path):
    requests_file = workdir / f"requests-{secrets.token_hex(4)}.tsv"
    requests_file.write_text("\n".join(lines) + "\n")
    threads = min(2, connections)
    done = subprocess.run(  # noqa: S603 -- wrk on loopback, fixed arguments
        [
            shutil.which("wrk") or "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "30s",
            "-s",
            str(LUA),
            url_base,
        ],
        env={**os.environ, "BENCH_REQUESTS": str(requests_file)},
        capture_output=True,
        text=True,
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")


def measure(base: str, page: Page, cookies: dict, args, workdir: Path) -> Result:
    cookie = cookies.get(page.who, "") if page.who else ""
    line = "\t".join((page.method, page.path, cookie, page.body))
    out = wrk(base, [line], seconds=args.seconds, connections=args.connections, workdir=workdir)
    seconds = out["duration_us"] / 1e6
    return Result(
        page,
        rps=out["requests"] / seconds if seconds else 0.0,
        p50=out["p50_us"] / 1000,
        p95=out["p95_us"] / 1000,
        p99=out["p99_us"] / 1000,
        errors=out["errors_status"] + out["errors_timeout"],
    )


# --- queries per request (in-process, the same database) --------------------------------------

QUERY_COUNTER = r"""
import json, re, sys
from sqlalchemy import event
from lms import create_app
from lms.extensions import db

pages = json.loads(sys.argv[1])
password = sys.argv[2]
app = create_app()
count = [0]
with app.app_context():
    def counted(*args, **kwargs):
        count[0] += 1
    event.listen(db.engine, "before_cursor_execute", counted)
clients = {}

def client_for(who, email):
    if who not in clients:
        c = app.test_client()
        if who:
            page = c.get("/auth/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            c.post("/auth/login", data={"csrf_token": token, "email": email, "password": password})
        clients[who] = c
    return clients[who]

out = {}
for page in pages:
    c = client_for(page["who"], page["email"])
    body = page["body"]
    if page["method"] == "POST":  # this client's own CSRF token, from the form's page
        form = c.get(page["path"]).get_data(as_text=True)
        mine = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
        body = re.sub(r"csrf_token=[^&]*", "csrf_token=" + mine, body)
    def once():
        if page["method"] == "POST":
            data = body.replace("{token}", "q" + str(count[0]) + "x" + str(len(out)))
            return c.post(page["path"], data=data, content_type="application/x-www-form-urlencoded")
        return c.get(page["path"])
    once()  # warm: caches, the idle clock's once-a-minute refresh
    count[0] = 0
    response = once()
    out[page["name"]] = [count[0], response.status_code]
print(json.dumps(out))
"""


def count_queries(pages: list[Page], env: dict) -> dict:
    emails = {"family": FAMILY, "clinician": CLINICIAN, "admin": ADMIN, None: None}
    spec = [
        {
            "name": p.name,
            "who": p.who,
            "email": emails[p.who],
            "path": p.path,
            "method": p.method,
            "body": p.body,
        }
        for p in pages
    ]
    out = run_python("counting queries", QUERY_COUNTER, env, json.dumps(spec), PASSWORD)
    return json.loads(out.strip().splitlines()[-1])


# --- start-up with 100 modules ----------------------------------------------------------------


def generate_library(target: Path, modules: int) -> Path:
    """A copy of ``courses/`` grown to ``modules`` modules by copies of its own modules."""
    shutil.copytree(ROOT / "courses", target)
    sources = sorted(p for p in target.glob("*/*.md") if not p.name.endswith(".es.md"))
    count = len(sources)
    extra = target / "generated"
    extra.mkdir()
    slugs = []
    n = 0
    while count < modules:
        source = sources[n % len(sources)]
        slug = f"copy-{n:03d}-{source.stem}"
        # Links to sibling modules ("](other.md)") point back into the source's course.
        text = re.sub(
            r"\]\((?!\.\./|https?:|#|mailto:)([^)]+?\.md)",
            rf"](../{source.parent.name}/\1",
            source.read_text(),
        )
        (extra / f"{slug}.md").write_text(text)
        slugs.append(slug)
        n += 1
        count += 1
    (extra / "course.yml").write_text(
        "title: Generated copies\nsummary: Copies of the library's modules, for timing.\n"
        "audience: [family, patient]\nmodules: [" + ", ".join(slugs) + "]\n"
    )
    return target


STARTUP = r"""
import time, sys
t0 = time.perf_counter()
from lms.content import load_library
t1 = time.perf_counter()
c1 = time.process_time()
library = load_library(__import__("pathlib").Path(sys.argv[1]))
c2 = time.process_time()
t2 = time.perf_counter()
from lms import create_app
app = create_app()
t3 = time.perf_counter()
print(len(list(library.modules())), t2 - t1, t3 - t2, c2 - c1)
"""


def startup_time(env: dict, workdir: Path, modules: int) -> tuple[int, float, float]:
    library = generate_library(workdir / "library", modules)
    env = {**env, "COURSES_DIR": str(library)}
    best = None
    for _ in range(3):
        out = run_python("start-up timing", STARTUP, env, str(library))
        count, load, app, cpu = out.split()
        if best is None or float(load) < best[1]:
            best = (int(count), float(load), float(app), float(cpu))
    return best


# --- output -----------------------------------------------------------------------------------


def table(floor: Result, results: list[Result]) -> str:
    head = f"| {'page':<22} | req/s | p50 ms | p95 ms | p99 ms | queries | × floor | errors |"
    rule = "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"
    rows = [head, rule]

    def row(r: Result) -> str:
        queries = "" if r.queries is None else str(r.queries)
        ratio = "1.00" if r is floor else f"{r.ratio:.2f}"
        return (
            f"| {r.page.name:<22} | {r.rps:5.0f} | {r.p50:6.1f} | {r.p95:6.1f} | {r.p99:6.1f} "
            f"| {queries:>7} | {ratio:>7} | {r.errors:>6} |"
        )

    rows.append(row(floor))
    rows += [row(r) for r in results]
    return "\n".join(rows)


def describe_database(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


def pg_connections(url: str) -> int | None:
    if not url.startswith("postgresql"):
        return None
    import psycopg

    dbname = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        ).fetchone()
        return int(row[0])


def soak(args, app: Server, pages: list[Page], cookies: dict, env: dict, workdir: Path) -> int:
    lines = [
        "\t".join((p.method, p.path, cookies.get(p.who, "") if p.who else "", p.body))
        for p in pages
    ]
    chunk = min(60.0, args.soak)
    rounds = max(1, int(round(args.soak / chunk)))
    print(f"soak: {rounds} × {chunk:.0f} s of the mixed scenario, {args.connections} connections")
    print("| minute | requests | req/s | p95 ms | p99 ms | errors | worker RSS MB | db conns |")
    print("|--------|----------|-------|--------|--------|--------|---------------|----------|")
    first_rss = last_rss = None
    first_conns = last_conns = None
    errors = 0
    for n in range(rounds):
        out = wrk(app.base, lines, seconds=chunk, connections=args.connections, workdir=workdir)
        rss = max(app.worker_rss_mb() or [0.0])
        conns = pg_connections(env["DATABASE_URL"])
        first_rss = first_rss or rss
        last_rss = rss
        first_conns = conns if first_conns is None else first_conns
        last_conns = conns
        bad = out["errors_status"] + out["errors_timeout"]
        errors += bad
        seconds = out["duration_us"] / 1e6
        print(
            f"| {n + 1:>6} | {out['requests']:>8} | {out['requests'] / seconds:5.0f} "
            f"| {out['p95_us'] / 1000:6.1f} | {out['p99_us'] / 1000:6.1f} | {bad:>6} "
            f"| {rss:13.1f} | {'' if conns is None else conns:>8} |"
        )
    growth = (last_rss - first_rss) / first_rss * 100 if first_rss else 0.0
    print(
        f"soak: {errors} answers of 400 or more; worker RSS {first_rss:.1f} → {last_rss:.1f} MB "
        f"({growth:+.1f}%); database connections {first_conns} → {last_conns}"
    )
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a new SQLite file)")
    parser.add_argument(
        "--reuse", action="store_true", help="use the database as it is (no migration, no families)"
    )
    parser.add_argument("--families", type=int, default=0, help="generated families to add")
    parser.add_argument("--seconds", type=float, default=8, help="wrk duration per page")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/0",
        help="rate-limit storage, as in production (used if it answers)",
    )
    parser.add_argument("--modules", type=int, default=100, help="modules for the start-up time")
    parser.add_argument("--courses", type=Path, help="COURSES_DIR for the servers")
    parser.add_argument("--only", help="comma-separated words: measure pages whose name has one")
    parser.add_argument("--soak", type=float, default=0, help="seconds of mixed load instead")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--smoke", action="store_true", help="1 s per page: the command works")
    args = parser.parse_args(argv)
    if args.smoke:
        args.seconds, args.connections, args.modules = 1, 4, 30
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")

    workdir = Path(tempfile.mkdtemp(prefix="lms-bench-"))
    servers: list[Server] = []
    try:
        env = app_environment(args, workdir)
        prepare_database(args, env)
        floor = Server("bench.floor:app", env, args.workers, args.threads).start()
        servers.append(floor)
        app = Server("wsgi:app", env, args.workers, args.threads).start("/healthz")
        servers.append(app)
        browsers = {
            who: Browser(app.base).sign_in(email, PASSWORD)
            for who, email in (("family", FAMILY), ("clinician", CLINICIAN), ("admin", ADMIN))
        }
        pages = build_pages(scenario_ids(env), browsers["family"])
        # After the pages are built: opening a form puts its CSRF token in the session cookie.
        cookies = {who: b.cookie for who, b in browsers.items()}
        if args.only:
            words = [w.strip() for w in args.only.split(",") if w.strip()]
            pages = [p for p in pages if any(w in p.name for w in words)]
        print(
            f"{describe_database(env['DATABASE_URL'])}, gunicorn {args.workers} worker(s) × "
            f"{args.threads} thread(s), wrk {min(2, args.connections)} threads × "
            f"{args.connections} connections × {args.seconds:g} s per page, "
            f"rate limits in {'Redis' if 'REDIS_URL' in env else 'memory'}, {os.cpu_count()} CPUs"
        )
        if args.soak:
            return soak(args, app, pages, cookies, env, workdir)
        floor_page = Page("bare Flask (floor)", None, "/")
        floor_result = measure(floor.base, floor_page, cookies, args, workdir)
        results = [measure(app.base, page, cookies, args, workdir) for page in pages]
        counts = count_queries(pages, env)
        for r in results:
            r.queries = counts[r.page.name][0]
            r.ratio = r.rps / floor_result.rps if floor_result.rps else 0.0
        rss = app.worker_rss_mb()
        print(table(floor_result, results))
        print(
            "worker RSS after the scenario: " + ", ".join(f"{mb:.0f} MB" for mb in rss)
            + f" (max {max(rss or [0]):.0f} MB)"
        )  # fmt: skip
        modules, load, whole, cpu = startup_time(env, workdir, args.modules)
        print(
            f"start-up: library of {modules} modules loaded in {load:.2f} s "
            f"({cpu:.2f} s of CPU); create_app() in {whole:.2f} s"
        )
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "database": describe_database(env["DATABASE_URL"]),
                        "floor_rps": floor_result.rps,
                        "pages": [
                            {
                                "page": r.page.name,
                                "rps": r.rps,
                                "p50_ms": r.p50,
                                "p95_ms": r.p95,
                                "p99_ms": r.p99,
                                "queries": r.queries,
                                "ratio": r.ratio,
                                "errors": r.errors,
                            }
                            for r in results
                        ],
                        "worker_rss_mb": rss,
                        "startup": {
                            "modules": modules,
                            "load_s": load,
                            "load_cpu_s": cpu,
                            "create_app_s": whole,
                        },
                    },
                    indent=2,
                )
            )
        return 0
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
