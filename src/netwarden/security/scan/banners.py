"""What a service's first bytes say: pure parsers for SSH identification lines, HTTP answers,
telnet negotiation and text greetings (SMTP, FTP, POP3, IMAP).

Nothing here touches the network; :mod:`netwarden.security.scan.probe` moves the bytes. Every
parser takes whatever arrived (possibly truncated, binary or hostile) and returns a record or
None; none raises on bad input.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from netwarden.collect.tcp import escape_banner

__all__ = [
    "HttpAnswer",
    "SshIdent",
    "TelnetRead",
    "classify_greeting",
    "first_line",
    "parse_http",
    "parse_ssh_ident",
    "read_telnet",
]

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
MAX_TITLE = 200


def first_line(data: bytes, limit: int = 200) -> str:
    """The first non-empty line of ``data``, escaped and cut to ``limit`` characters."""
    for raw in data.splitlines():
        if raw.strip():
            text = escape_banner(raw.strip())
            return text if len(text) <= limit else text[: limit - 3] + "..."
    return ""


# ---------------------------------------------------------------- SSH


@dataclass(frozen=True)
class SshIdent:
    """``SSH-protoversion-softwareversion SP comments`` (RFC 4253 4.2)."""

    line: str
    protocol: str  # "2.0", "1.99" (SSH-1 and SSH-2), "1.5"
    software: str  # "OpenSSH_9.2p1"
    comments: str = ""  # "Debian-2+deb12u3"


def parse_ssh_ident(data: bytes) -> SshIdent | None:
    """The identification line from the first bytes of an SSH server, or None."""
    for raw in data.split(b"\n")[:20]:
        if raw.startswith(b"SSH-"):
            line = raw.rstrip(b"\r").decode("ascii", "replace")[:255]
            head, _, comments = line.partition(" ")
            parts = head.split("-", 2)
            if len(parts) < 3 or not parts[1]:
                return None
            return SshIdent(escape_banner(line.encode()), parts[1], escape_banner(parts[2].encode()), comments)
    return None


# ---------------------------------------------------------------- HTTP

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_STATUS = re.compile(rb"^HTTP/(\d(?:\.\d)?) (\d{3})(?: ([^\r\n]*))?")


@dataclass(frozen=True)
class HttpAnswer:
    """The parts of an HTTP answer a scan reports."""

    version: str
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, first value, escaped
    title: str = ""

    @property
    def server(self) -> str:
        return self.headers.get("server", "")

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    @property
    def authenticate(self) -> str:
        return self.headers.get("www-authenticate", "")


def parse_http(data: bytes) -> HttpAnswer | None:
    """Status, headers and ``<title>`` of an HTTP/1.x answer (possibly truncated), or None."""
    match = _STATUS.match(data)
    if match is None:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    if not body and b"\n\n" in data:
        head, _, body = data.partition(b"\n\n")
    headers: dict[str, str] = {}
    for raw in head.splitlines()[1:100]:
        name, sep, value = raw.partition(b":")
        if not sep or not name.strip():
            continue
        key = name.strip().decode("latin-1").lower()
        headers.setdefault(key, escape_banner(value.strip()[:300]))
    title = ""
    found = _TITLE.search(body)
    if found:
        text = html.unescape(found.group(1).decode("utf-8", "replace"))
        title = " ".join(text.split())[:MAX_TITLE]
        title = escape_banner(title.encode())
    reason = escape_banner((match.group(3) or b"").strip())
    return HttpAnswer(match.group(1).decode(), int(match.group(2)), reason, headers, title)


# ---------------------------------------------------------------- telnet


@dataclass(frozen=True)
class TelnetRead:
    """Telnet bytes split into the option negotiation and the text the user would see."""

    text: bytes
    reply: bytes  # our refusals: WONT for each DO, DONT for each WILL
    options: tuple[int, ...]  # options the server asked about, in order
    negotiated: bool  # at least one IAC command was seen


def read_telnet(data: bytes) -> TelnetRead:
    """Strip telnet commands (RFC 854) from ``data`` and build the reply that refuses every option.

    Refusing everything is always a valid answer; servers then send their login prompt.
    """
    text = bytearray()
    reply = bytearray()
    options: list[int] = []
    negotiated = False
    i, n = 0, len(data)
    while i < n:
        byte = data[i]
        if byte != IAC:
            text.append(byte)
            i += 1
            continue
        negotiated = True
        if i + 1 >= n:
            break
        cmd = data[i + 1]
        if cmd == IAC:  # an escaped 255 data byte
            text.append(IAC)
            i += 2
        elif cmd in (DO, DONT, WILL, WONT):
            if i + 2 >= n:
                break
            opt = data[i + 2]
            options.append(opt)
            if cmd == DO:
                reply += bytes((IAC, WONT, opt))
            elif cmd == WILL:
                reply += bytes((IAC, DONT, opt))
            i += 3
        elif cmd == SB:
            end = data.find(bytes((IAC, SE)), i + 2)
            i = n if end < 0 else end + 2
        else:
            i += 2
    return TelnetRead(bytes(text), bytes(reply), tuple(options), negotiated)


# ---------------------------------------------------------------- text greetings

_GREETINGS: tuple[tuple[str, re.Pattern[bytes]], ...] = (
    ("ssh", re.compile(rb"^SSH-\d")),
    ("smtp", re.compile(rb"^220[ -][^\r\n]*(?:SMTP|Mail|MTA|Postfix|Exim|Sendmail)", re.IGNORECASE)),
    ("ftp", re.compile(rb"^220[ -][^\r\n]*FTP", re.IGNORECASE)),
    ("pop3", re.compile(rb"^\+OK")),
    ("imap", re.compile(rb"^\* (?:OK|PREAUTH)")),
    ("mysql", re.compile(rb"^.\x00\x00\x00\x0a[0-9]", re.DOTALL)),
    ("vnc", re.compile(rb"^RFB \d{3}\.\d{3}")),
    ("redis", re.compile(rb"^-(?:ERR|NOAUTH)")),
)
# Ports whose "220" greeting is ambiguous between SMTP and FTP.
_FTP_PORTS = frozenset({21, 2121})
_SMTP_PORTS = frozenset({25, 465, 587, 2525})


def classify_greeting(port: int, data: bytes) -> str | None:
    """The service a first message names (``ssh``, ``smtp``, ``ftp``, ``telnet``...), or None."""
    if not data:
        return None
    if data[0] == IAC:
        return "telnet"
    for name, pattern in _GREETINGS:
        if pattern.match(data):
            return name
    if data.startswith(b"220"):
        if port in _FTP_PORTS:
            return "ftp"
        if port in _SMTP_PORTS:
            return "smtp"
    if re.search(rb"(?:login|username|user name|password)\s*:\s*$", data.rstrip(b"\x00"), re.IGNORECASE):
        return "telnet"  # a login prompt without negotiation: a raw CLI on a TCP port
    return None
