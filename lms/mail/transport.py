"""Putting a message on the wire: SMTP, or (no ``MAIL_SERVER``) the log and the instance folder."""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

from flask import current_app

from lms import clock


def build_message(
    *,
    outbox_id: int,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    config = current_app.config
    sender = config["MAIL_DEFAULT_SENDER"]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = format_datetime(clock.utcnow())
    msg["Message-ID"] = make_msgid(idstring=f"outbox{outbox_id}", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        # RFC 8058: mail programs offer a one-click "unsubscribe" that POSTs to this URL.
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def deliver(msg: EmailMessage, *, outbox_id: int) -> str:
    """Send one message; raise on failure (the caller records the error). Returns how."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return _deliver_locally(msg, outbox_id)
    host, port, timeout = config["MAIL_SERVER"], int(config["MAIL_PORT"]), config["MAIL_TIMEOUT"]
    if config.get("MAIL_USE_SSL"):
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(msg)
    current_app.logger.info("mail: outbox %s sent by SMTP", outbox_id)
    return "smtp"


def mail_dir() -> Path | None:
    """Where development mail is written: ``MAIL_DIR``, else ``instance/mail`` (not in tests)."""
    configured = current_app.config.get("MAIL_DIR")
    if configured:
        return Path(configured)
    if current_app.config.get("TESTING"):
        return None
    return Path(current_app.instance_path) / "mail"


def _deliver_locally(msg: EmailMessage, outbox_id: int) -> str:
    """Development: no server configured. Print the message and keep a copy as a file."""
    body = msg.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    where = "the log only"
    folder = mail_dir()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = clock.utcnow().strftime("%Y%m%dT%H%M%S")
        kind = re.sub(r"[^a-z0-9]+", "-", str(msg["Subject"]).lower()).strip("-")[:40]
        path = folder / f"{stamp}-{outbox_id:06d}-{kind}.eml"
        path.write_bytes(bytes(msg))
        where = str(path)
    current_app.logger.warning(
        "mail: no MAIL_SERVER set, email not sent but kept in %s\nTo: %s\nSubject: %s\n\n%s",
        where,
        msg["To"],
        msg["Subject"],
        text,
    )
    return "file" if folder is not None else "log"
