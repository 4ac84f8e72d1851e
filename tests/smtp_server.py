"""A real SMTP server for tests: aiosmtpd on a free local port, collecting what it receives."""

from __future__ import annotations

import email
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()


class Collector:
    """An aiosmtpd handler: keeps every message; refuses them all while ``refuse`` is set."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.refuse = False
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "554 5.7.1 Message refused for this test"
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]


class SMTPServer:
    def __init__(self) -> None:
        self.handler = Collector()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname=HOST, port=self.port)

    def __enter__(self) -> SMTPServer:
        for attempt in range(5):
            try:
                self.controller.start()
                return self
            except OSError:
                # Another process (a parallel test worker) took the free port first.
                if attempt == 4:
                    raise
                self.port = free_port()
                self.controller = Controller(self.handler, hostname=HOST, port=self.port)
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages
