"""Real receivers for notification tests: an SMTP server (aiosmtpd) and a webhook receiver (http.server)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, Session

SMTP_USER = "noc-relay"
SMTP_PASSWORD = "pa/ss:w0rd-Secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- a real SMTP server -------------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def authenticate(self, server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any) -> Any:
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((login, password))
        return AuthResult(success=(login, password) == (SMTP_USER, SMTP_PASSWORD))

    def url(self, password: str = SMTP_PASSWORD, to: str = "noc@example.net") -> str:
        from urllib.parse import quote

        return (
            f"mailto://{SMTP_USER}:{quote(password, safe='')}@127.0.0.1:{self.port}"
            f"?from=netwarden@example.net&to={to}&name=netwarden"
        )

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@contextmanager
def running_smtp() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(
        box, hostname="127.0.0.1", port=box.port, authenticator=box.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


# --- a real webhook receiver ----------------------------------------------------------------------------------


@dataclass
class Hooks:
    port: int
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def titles(self, path: str | None = None) -> list[str]:
        return [str(p["title"]) for where, p in self.posts if path is None or where == path]


@contextmanager
def running_hooks() -> Iterator[Hooks]:
    store = Hooks(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length", "0"))
            store.posts.append((self.path, json.loads(self.rfile.read(size))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    store.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield store
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
