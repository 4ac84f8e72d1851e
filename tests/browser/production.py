"""The app the way it is deployed, for the browser tests over HTTPS.

- ``GunicornApp``: the real ``wsgi:app`` under gunicorn (2 sync workers) in production mode
  (``LMS_ENV=production``: secure cookies, HSTS, Redis-shared limits, two-step sign-in for
  staff, the HTTPS redirect), on its own SQLite file migrated at start and filled with the
  demo data by the ``demo`` command, either serving TLS itself (a certificate made for the
  test by ``trustme``) or plain HTTP behind ``TLSProxy``.
- ``TLSProxy``: a small TLS-terminating reverse proxy, as a load balancer would be: it
  forwards every request to the app over plain HTTP with ``X-Forwarded-For``,
  ``X-Forwarded-Proto: https`` and ``X-Forwarded-Host`` (the app trusts them with
  ``TRUSTED_PROXIES=1``).
"""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple 42"
REDIS_URL = "redis://127.0.0.1:6379/14"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Certificates:
    """A throwaway certificate authority and a server certificate for 127.0.0.1."""

    def __init__(self, folder: Path) -> None:
        import trustme

        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.cert_file = folder / "server.pem"
        self.key_file = folder / "server.key"
        self.ca_file = folder / "ca.pem"
        cert.private_key_pem.write_to_path(str(self.key_file))
        cert.cert_chain_pems[0].write_to_path(str(self.cert_file))
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context


class GunicornApp:
    def __init__(
        self,
        *,
        tls: Certificates | None,
        site_url: str,
        port: int,
        proxies: int = 0,
        workers: int = 2,
        env: dict | None = None,
    ):
        self.tmp = Path(tempfile.mkdtemp(prefix="lms-https-"))
        self.port = port
        self.env = {
            **os.environ,
            "LMS_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"sqlite:///{self.tmp / 'prod.sqlite3'}",
            "SITE_URL": site_url,
            "REDIS_URL": REDIS_URL,
            # Counts of its own: other servers of this run sign in from 127.0.0.1 too.
            "RATELIMIT_KEY_PREFIX": "lms-https-" + secrets.token_hex(6),
            "TRUSTED_PROXIES": str(proxies),
            "MAIL_DIR": str(self.tmp / "mail"),
            "COURSES_DIR": str(ROOT / "courses"),
            **(env or {}),
        }
        self.env.pop("TEST_DATABASE_URL", None)
        demo = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "demo", "--password", PASSWORD],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if demo.returncode != 0:
            raise RuntimeError(f"demo failed: {demo.stdout}\n{demo.stderr}")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ]
        if tls is not None:
            command += ["--certfile", str(tls.cert_file), "--keyfile", str(tls.key_file)]
        self.log = open(self.tmp / "gunicorn.log", "w")
        self.process = subprocess.Popen(
            [*command, "wsgi:app"], cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log
        )
        scheme = "https" if tls else "http"
        context = tls.client_context() if tls else None
        self._wait(f"{scheme}://127.0.0.1:{port}/healthz", context)

    def _wait(self, url: str, context: ssl.SSLContext | None) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.logs()}")
            try:
                with urllib.request.urlopen(url, context=context, timeout=2) as response:  # noqa: S310 -- our own test server
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer: {self.logs()}")

    def logs(self) -> str:
        self.log.flush()
        return (self.tmp / "gunicorn.log").read_text()

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
}


class TLSProxy:
    """Terminates TLS on ``port`` and forwards to the app on ``backend_port``."""

    def __init__(self, certs: Certificates, port: int, backend_port: int) -> None:
        backend = backend_port

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                """No access log lines in the test output."""

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                headers["X-Forwarded-For"] = self.client_address[0]
                headers["X-Forwarded-Proto"] = "https"
                headers["X-Forwarded-Host"] = self.headers.get("Host", "")
                upstream = http.client.HTTPConnection("127.0.0.1", backend, timeout=30)
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
                self.send_response(response.status, response.reason)
                for name, value in response.getheaders():  # repeated Set-Cookie kept
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                upstream.close()
                self.close_connection = True

            do_GET = do_POST = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.socket = certs.server_context().wrap_socket(
            self.server.socket, server_side=True
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
