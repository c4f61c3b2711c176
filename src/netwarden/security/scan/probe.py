"""Ask one open TCP port what it is: the service's greeting, or its answer to an HTTP request.

Like nmap's NULL probe and GetRequest, in that order: connect and wait ``greeting_wait`` seconds
for the service to speak first (SSH, SMTP, FTP, telnet, POP3, IMAP do); an SSH server is then sent
our identification line so that it sends its KEXINIT (its algorithm offer), a telnet server gets
every option refused until it shows its prompt. A silent service is sent ``GET /``; when it
answers with TLS (or is on a TLS port) the request is repeated inside TLS. At most three
connections per port, every read bounded in bytes and time, nothing ever logged in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from netwarden.errors import InvalidInput
from netwarden.security.scan import banners, sshkex
from netwarden.security.scan.schemas import HttpDetails, ServiceOut, SshDetails

__all__ = ["GrabOptions", "grab"]

log = logging.getLogger(__name__)

TLS_PORTS = frozenset({443, 465, 636, 853, 993, 995, 4443, 5986, 8443, 9443})
_TELNET_ROUNDS = 32
_PROMPT_END = (b":", b">", b"#", b"$", b"%")
_SMTP_QUIT = b"QUIT\r\n"


@dataclass(frozen=True)
class GrabOptions:
    """Time and size bounds of one port's service probe (seconds, bytes)."""

    connect_timeout: float = 2.0
    greeting_wait: float = 1.0
    read_timeout: float = 2.0
    max_bytes: int = 16384

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "greeting_wait", "read_timeout"):
            value = getattr(self, name)
            if not 0 < value <= 60:
                raise InvalidInput(f"invalid service probe option: {name} must be in (0, 60] seconds, not {value}")
        if not 256 <= self.max_bytes <= 1 << 20:
            raise InvalidInput(f"invalid service probe option: max_bytes must be 256..1048576, not {self.max_bytes}")


class _Closed(Exception):
    """The port refused, reset or timed out the connection."""


Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def _tls_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # a scan reports what is there; it trusts nothing it reads
    return ctx


async def _connect(address: str, port: int, options: GrabOptions, tls: bool = False) -> Streams:
    try:
        return await asyncio.wait_for(
            asyncio.open_connection(address, port, ssl=_tls_context() if tls else None, limit=options.max_bytes),
            options.connect_timeout,
        )
    except (OSError, TimeoutError, ssl.SSLError, EOFError) as exc:
        raise _Closed(str(exc) or type(exc).__name__) from None


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.transport.abort()


async def _read(
    reader: asyncio.StreamReader, wait: float, max_bytes: int, done: Callable[[bytes], bool] | None = None
) -> bytes:
    """What arrives within ``wait`` seconds: until ``done(data)``, EOF, ``max_bytes`` or the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    data = b""
    while len(data) < max_bytes:  # each pass reads at least one byte, or ends the loop
        left = deadline - loop.time()
        if left <= 0:
            break
        try:
            chunk = await asyncio.wait_for(reader.read(max_bytes - len(data)), left)
        except (TimeoutError, OSError, ssl.SSLError):
            break
        if not chunk:
            break
        data += chunk
        if done is not None and done(data):
            break
    return data


def _http_request(address: str) -> bytes:
    host = f"[{address}]" if ":" in address else address
    return (
        f"GET / HTTP/1.0\r\nHost: {host}\r\nUser-Agent: netwarden-scan\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    ).encode()


def _http_done(data: bytes) -> bool:
    return b"</title" in data.lower()  # the request says Connection: close, so EOF ends the rest


def _http_details(answer: banners.HttpAnswer) -> HttpDetails:
    return HttpDetails(
        status=answer.status,
        server=answer.server,
        title=answer.title,
        location=answer.location,
        authenticate=answer.authenticate,
    )


async def _ssh(port: int, greeting: bytes, streams: Streams, options: GrabOptions) -> ServiceOut:
    reader, writer = streams
    ident = banners.parse_ssh_ident(greeting)
    if ident is None:  # an SSH- prefix without a whole line yet
        greeting += await _read(reader, options.read_timeout, 1024, lambda d: b"\n" in d)
        ident = banners.parse_ssh_ident(greeting)
    if ident is None:
        return ServiceOut(
            port=port, service="ssh", banner=banners.first_line(greeting), detail="no identification line"
        )
    data = greeting
    if ident.protocol in ("2.0", "1.99"):
        with contextlib.suppress(OSError):
            writer.write(sshkex.CLIENT_IDENT)
            await writer.drain()
        data += await _read(
            reader,
            options.read_timeout,
            sshkex.MAX_PACKET + 1024,
            lambda d: sshkex.parse_server_hello(greeting + d) is not None,
        )
    offer = sshkex.parse_server_hello(data)
    details = SshDetails(
        ident=ident.line,
        protocol=ident.protocol,
        software=ident.software,
        comments=ident.comments,
        kex=list(offer.kex) if offer else [],
        host_keys=list(offer.host_keys) if offer else [],
        ciphers=list(offer.ciphers) if offer else [],
        macs=list(offer.macs) if offer else [],
        compression=list(offer.compression) if offer else [],
    )
    detail = "" if offer else "the server sent no readable KEXINIT"
    return ServiceOut(port=port, service="ssh", banner=ident.line, ssh=details, detail=detail)


async def _telnet(port: int, greeting: bytes, streams: Streams, options: GrabOptions) -> ServiceOut:
    reader, writer = streams
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2 * options.read_timeout
    data = greeting
    answered = 0
    for _ in range(_TELNET_ROUNDS):  # each round answers the options asked so far, then reads one chunk
        parsed = banners.read_telnet(data)
        if parsed.text.rstrip(b"\x00 \r\n\t").endswith(_PROMPT_END):
            break
        if len(parsed.reply) > answered:
            with contextlib.suppress(OSError):
                writer.write(parsed.reply[answered:])
                await writer.drain()
            answered = len(parsed.reply)
        left = min(deadline - loop.time(), options.read_timeout / 2)
        if left <= 0 or len(data) >= options.max_bytes:
            break
        more = await _read(reader, left, options.max_bytes - len(data), lambda d: True)
        if not more:
            break
        data += more
    parsed = banners.read_telnet(data)
    lines = [ln.strip() for ln in parsed.text.replace(b"\x00", b"").splitlines() if ln.strip()]
    banner = " | ".join(banners.first_line(ln) for ln in lines[-3:])
    return ServiceOut(port=port, service="telnet", banner=banner[:300])


async def _text_service(port: int, greeting: bytes, name: str, streams: Streams) -> ServiceOut:
    _reader, writer = streams
    if name in ("smtp", "ftp", "pop3"):
        with contextlib.suppress(OSError):  # leave politely: the service logs a clean end
            writer.write(_SMTP_QUIT)
    return ServiceOut(port=port, service=name, banner=banners.first_line(greeting))


async def _http(address: str, port: int, streams: Streams, options: GrabOptions, tls: bool) -> tuple[ServiceOut, bytes]:
    reader, writer = streams
    try:
        writer.write(_http_request(address))
        await writer.drain()
    except (OSError, ssl.SSLError):
        return ServiceOut(port=port, service="tls" if tls else "unknown", tls=tls), b""
    data = await _read(reader, options.read_timeout, options.max_bytes, _http_done)
    answer = banners.parse_http(data)
    if answer is None:
        name = "tls" if tls else "unknown"
        return ServiceOut(port=port, service=name, tls=tls, banner=banners.first_line(data)), data
    return (
        ServiceOut(
            port=port,
            service="https" if tls else "http",
            tls=tls,
            banner=banners.first_line(data),
            http=_http_details(answer),
        ),
        data,
    )


def _wants_tls(data: bytes) -> bool:
    """A plain request answered as a TLS port answers it: a TLS alert record, or nginx/Apache's hint."""
    if data[:1] == b"\x15" and data[1:2] == b"\x03":
        return True
    lowered = data[:2048].lower()
    return b"sent to https port" in lowered or b"speaking plain http to an ssl" in lowered


async def grab(address: str, port: int, options: GrabOptions | None = None) -> ServiceOut:
    """What service answers on ``address:port`` (an open TCP port); never raises for network errors."""
    options = options or GrabOptions()
    started = time.perf_counter()
    if port in TLS_PORTS:
        try:
            streams = await _connect(address, port, options, tls=True)
        except _Closed:
            pass  # not TLS after all (or it went away): fall through to the plain probes
        else:
            try:
                service, _ = await _http(address, port, streams, options, tls=True)
            finally:
                _close(streams[1])
            return service
    try:
        streams = await _connect(address, port, options)
    except _Closed as exc:
        return ServiceOut(port=port, service="unknown", detail=f"connection failed: {exc}")
    try:
        greeting = await _read(streams[0], options.greeting_wait, options.max_bytes, lambda d: b"\n" in d)
        name = banners.classify_greeting(port, greeting)
        if name == "ssh":
            return await _ssh(port, greeting, streams, options)
        if name == "telnet":
            return await _telnet(port, greeting, streams, options)
        if name is not None:
            return await _text_service(port, greeting, name, streams)
        if greeting:
            return ServiceOut(port=port, service="unknown", banner=banners.first_line(greeting))
        service, answer = await _http(address, port, streams, options, tls=False)
    finally:
        _close(streams[1])
    if service.service == "http" and not _wants_tls(answer):
        return service
    if service.service == "unknown" and answer and not _wants_tls(answer):
        return service
    try:  # silent, or asked for TLS: try TLS once
        tls_streams = await _connect(address, port, options, tls=True)
    except _Closed:
        log.debug("no service answer", extra={"kv": {"address": address, "port": port}})
        return service if service.service == "http" else service.model_copy(update={"detail": "no answer to probes"})
    try:
        tls_service, _ = await _http(address, port, tls_streams, options, tls=True)
    finally:
        _close(tls_streams[1])
    log.debug(
        "service probed",
        extra={"kv": {"address": address, "port": port, "elapsed": round(time.perf_counter() - started, 3)}},
    )
    return tls_service
