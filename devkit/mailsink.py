"""A local SMTP sink: accepts every message over real SMTP and keeps it for inspection.

In dev it also writes each message as an .eml file and serves a JSON list over HTTP.
A message whose Message-ID already arrived is accepted and counted in `duplicates` but kept
once in `messages`, as a mailbox that collapses duplicates would (the notifier resends a mail
after a crash with the same Message-ID); `received` keeps every copy the SMTP server accepted,
which is what a real server would deliver. `connections` counts SMTP sessions. `delay_s`
holds each "250" back, after the message is recorded.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_to: tuple[str, ...]
    subject: str
    text: str
    message_id: str
    raw: bytes
    html: str = ""
    received_at: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.mail_from,
            "to": list(self.rcpt_to),
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "message_id": self.message_id,
            "received_at": self.received_at,
        }


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: Any
    ) -> Any:
        self._sink.count_connection()
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
        html = msg.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
        self._sink.add(
            ReceivedMail(
                mail_from=str(envelope.mail_from),
                rcpt_to=tuple(envelope.rcpt_tos),
                subject=str(msg["Subject"] or ""),
                text=body.get_content() if body is not None else "",
                message_id=str(msg["Message-ID"] or ""),
                raw=raw,
                html=html.get_content() if html is not None else "",
                received_at=time.time(),
            )
        )
        if self._sink.delay_s:
            await asyncio.sleep(self._sink.delay_s)
        return "250 Message accepted for delivery"


class MailSink:
    """SMTP server on 127.0.0.1:<port>; `messages` holds what arrived."""

    def __init__(self, port: int, *, directory: Path | None = None) -> None:
        self.port = port
        self.directory = directory
        self.messages: list[ReceivedMail] = []
        self.received: list[ReceivedMail] = []
        self.duplicates = 0
        self.connections = 0
        self.delay_s = 0.0
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=port)

    def start(self) -> None:
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def count_connection(self) -> None:
        with self._lock:
            self.connections += 1

    def add(self, mail: ReceivedMail) -> None:
        with self._lock:
            self.received.append(mail)
            if mail.message_id and mail.message_id in self._seen:
                self.duplicates += 1
                return
            if mail.message_id:
                self._seen.add(mail.message_id)
            self.messages.append(mail)
            count = len(self.messages)
        if self.directory is not None:
            (self.directory / f"{count:05d}.eml").write_bytes(mail.raw)

    def snapshot(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self.messages)

    def every_copy(self) -> list[ReceivedMail]:
        """Every message the server accepted, duplicates included, oldest first."""
        with self._lock:
            return list(self.received)

    def wait_for(
        self, predicate: Callable[[ReceivedMail], bool], timeout_s: float = 20.0
    ) -> ReceivedMail:
        """The first message matching predicate; TimeoutError after the deadline."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for mail in self.snapshot():
                if predicate(mail):
                    return mail
            time.sleep(0.05)
        raise TimeoutError(f"no matching mail within {timeout_s}s; got {len(self.snapshot())}")


def serve_http(sink: MailSink, port: int) -> ThreadingHTTPServer:
    """GET / lists the messages received, newest last, as JSON."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps([m.as_json() for m in sink.snapshot()], ensure_ascii=False, indent=2)
            self.send_response(200)
            self.send_header("content-type", "application/json; charset=utf-8")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
