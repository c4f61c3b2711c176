"""Service checks: is a TCP port open, does a web page answer (and when does its certificate expire),
does a DNS server give the expected answer.

Checks are configured as tables in ``monitor_service_checks`` (netwarden.toml)::

    [[monitor_service_checks]]
    name = "intranet"
    device = "srv1"                  # the device the service runs on (alerts are about it)
    kind = "https"                   # tcp | http | https | dns
    url = "https://intranet.example/health"
    expected = "ok"                  # optional: text the body must contain
    status = [200]                   # optional: accepted status codes (default 200-399)
    timeout = 5

    [[monitor_service_checks]]
    name = "dns"
    device = "srv1"
    kind = "dns"
    host = "10.1.10.2"               # the server asked (an address or a name)
    query = "intranet.example"
    record = "A"
    expected = "10.1.10.20"          # optional: a value the answer must hold

:func:`load_checks` turns the tables into :class:`ServiceCheck` records (a bad entry is a one-line
:class:`~netwarden.errors.ConfigError`); :func:`run_checks` runs many at once, each bounded by its own
``timeout`` (one hanging service never delays the others); a :class:`ServiceChecker` turns results into
points and ``service_down``/``service_up`` events, on a change only.

Points (instance = the check's name, device = the check's device): ``svc_up`` (1/0), ``svc_ms`` (time
to answer), ``svc_http_status``, ``svc_tls_days`` (days until the certificate's notAfter; negative
once expired). Failure reasons: ``timeout``, ``refused``, ``no_route``, ``tls`` (handshake or
certificate verification failed), ``status`` (HTTP status not accepted), ``content`` (expected text
or banner missing), ``answer`` (DNS error code, no record of the type, or not the expected value),
``resolve`` (the host name does not resolve), ``protocol`` and ``error``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import ipaddress
import logging
import os
import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import certifi
import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import httpx
from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from netwarden.alerts.events import Event
from netwarden.collect import tcp
from netwarden.errors import ConfigError
from netwarden.monitor.poller import PollOutcome
from netwarden.monitor.records import Point

log = logging.getLogger(__name__)

Kind = Literal["tcp", "http", "https", "dns"]
Reason = Literal["timeout", "refused", "no_route", "tls", "status", "content", "answer", "resolve", "protocol", "error"]
MAX_BODY_BYTES = 1_048_576  # read at most this much of a page when looking for the expected text
_SUBJECT_KIND = {"tcp": "tcp", "http": "http", "https": "http", "dns": "dns"}


class ServiceCheck(BaseModel):
    """One configured check (a table of ``monitor_service_checks``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, description="unique; the points' instance")
    device: str = Field(min_length=1, max_length=200, description="the device the service runs on")
    kind: Kind
    host: str | None = Field(default=None, description="tcp: the address to connect to; dns: the server asked")
    port: int | None = Field(default=None, ge=1, le=65535, description="tcp: required; dns: default 53")
    url: str | None = Field(default=None, description="http/https: the page fetched (GET)")
    query: str | None = Field(default=None, description="dns: the name asked for")
    record: str = Field(default="A", description="dns: the record type asked for")
    expected: str | None = Field(
        default=None, description="http: text the body must contain; tcp: text the banner must contain; dns: a value"
    )
    status: list[int] = Field(default_factory=list, description="http: accepted status codes (default 200-399)")
    verify_tls: bool = Field(default=True, description="https: verify the certificate chain and name")
    ca_file: str | None = Field(default=None, description="https: trust these CA certificates (PEM) instead")
    timeout: float = Field(default=5.0, gt=0, le=60, description="seconds for the whole check")

    @model_validator(mode="after")
    def _fits_kind(self) -> ServiceCheck:
        if self.kind == "tcp" and (not self.host or self.port is None):
            raise ValueError("a tcp check needs host and port")
        if self.kind in ("http", "https"):
            if not self.url:
                raise ValueError(f"an {self.kind} check needs url")
            parts = urlsplit(self.url)
            if parts.scheme != self.kind or not parts.hostname:
                raise ValueError(f"url must be an {self.kind}:// address with a host, not {self.url!r}")
        if self.kind == "dns":
            if not self.host or not self.query:
                raise ValueError("a dns check needs host (the server) and query (the name)")
            try:
                dns.rdatatype.from_text(self.record)
            except dns.rdatatype.UnknownRdatatype:
                raise ValueError(f"unknown DNS record type {self.record!r}") from None
            try:
                dns.name.from_text(self.query)
            except dns.exception.DNSException as exc:
                raise ValueError(f"query {self.query!r} is not a DNS name: {exc}") from None
        if any(not 100 <= code <= 599 for code in self.status):
            raise ValueError("status codes must be 100..599")
        return self

    @property
    def subject(self) -> str:
        """The event subject: ``srv1:http:https://srv1/``, ``srv1:tcp:10.0.0.5:22``, ``srv1:dns:name/A@server``."""
        kind = _SUBJECT_KIND[self.kind]
        if self.kind in ("http", "https"):
            target = self.url or ""
        elif self.kind == "tcp":
            target = f"{self.host}:{self.port}"
        else:
            port = f":{self.port}" if self.port not in (None, 53) else ""
            target = f"{self.query}/{self.record.upper()}@{self.host}{port}"
        return f"{self.device}:{kind}:{target}"


def load_checks(tables: Sequence[dict[str, Any]]) -> list[ServiceCheck]:
    """Parse ``monitor_service_checks``.

    Raises:
        ConfigError: one line naming the entry and what is wrong with it, or a name used twice.
    """
    checks: list[ServiceCheck] = []
    seen: set[str] = set()
    for i, table in enumerate(tables):
        label = f"monitor_service_checks[{i}]"
        if isinstance(table, dict) and isinstance(table.get("name"), str):
            name = table["name"]
            label += f" ({name if name.isprintable() else repr(name)})"  # one line, whatever the name holds
        try:
            check = ServiceCheck.model_validate(table)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = str(first["msg"]).removeprefix("Value error, ")
            raise ConfigError(f"{label}: {where + ': ' if where else ''}{message}") from None
        if check.name in seen:
            raise ConfigError(f"{label}: the name {check.name!r} is used by another check; names must be unique")
        seen.add(check.name)
        checks.append(check)
    return checks


@dataclass(frozen=True)
class CheckResult:
    """What one run of one check found."""

    check: ServiceCheck
    up: bool
    ms: float | None = None  # time to answer (connect, response headers, DNS answer)
    reason: Reason | None = None
    detail: str = ""
    http_status: int | None = None
    tls_days: float | None = None
    answers: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.up:
            return f"{self.check.name}: up"
        return f"{self.check.name}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


class _Down(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason: Reason = reason
        self.detail = detail


# ---------------------------------------------------------------- running checks


async def run_check(check: ServiceCheck) -> CheckResult:
    """Run one check; never raises for a failing service (the result says why), bounded by ``check.timeout``."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(check.timeout):
            if check.kind == "tcp":
                return await _tcp(check, started)
            if check.kind == "dns":
                return await _dns(check, started)
            return await _http(check, started)
    except _Down as down:
        return CheckResult(check, False, reason=down.reason, detail=down.detail)
    except TimeoutError:
        return CheckResult(check, False, reason="timeout", detail=f"no answer within {check.timeout:g} s")
    except OSError as exc:  # anything the transports did not classify
        return CheckResult(check, False, reason="error", detail=exc.strerror or str(exc))
    except Exception as exc:  # one broken check must not end the round for the others
        log.warning("service check failed unexpectedly check=%s error=%r", check.name, type(exc).__name__)
        return CheckResult(check, False, reason="error", detail=f"{type(exc).__name__}: {exc}"[:200])


async def run_checks(checks: Iterable[ServiceCheck], *, concurrency: int = 64) -> list[CheckResult]:
    """Run many checks, at most ``concurrency`` at once; results in input order."""
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(check: ServiceCheck) -> CheckResult:
        async with limit:
            return await run_check(check)

    return list(await asyncio.gather(*(one(c) for c in checks)))


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def _address(host: str) -> str:
    """``host`` as an IP address (resolved when it is a name)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _Down("resolve", f"{host} does not resolve: {exc.strerror}") from None
    if not infos:
        raise _Down("resolve", f"{host} does not resolve")
    return str(infos[0][4][0])


async def _tcp(check: ServiceCheck, started: float) -> CheckResult:
    assert check.host is not None and check.port is not None
    address = await _address(check.host)
    # One attempt over the whole budget; the banner (when a text is expected) gets what is left.
    options = tcp.TcpOptions(
        timeout=check.timeout,
        retries=0,
        banner=check.expected is not None,
        banner_timeout=max(0.001, check.timeout - (time.perf_counter() - started)),
        banner_bytes=4096,
    )
    got = await tcp.probe_port(address, check.port, options)
    state = got.value
    rtt = state.rtt * 1000 if state is not None and state.rtt is not None else None
    if not got.ok:
        # A port that accepts and stays silent when a banner is expected is a timeout too (a hung service).
        reason: Reason = got.reason if got.reason in ("timeout", "refused", "no_route") else "error"
        return CheckResult(check, False, ms=rtt, reason=reason, detail=got.detail)
    banner = state.banner if state is not None and state.banner is not None else ""
    if check.expected is not None and check.expected not in banner:
        detail = f"banner {banner[:80]!r} lacks {check.expected!r}"
        return CheckResult(check, False, ms=rtt, reason="content", detail=detail)
    return CheckResult(check, True, ms=rtt)


# Building an SSL context reads a CA bundle (about 70 ms of CPU): one per trust setting, shared by all checks.
_contexts: dict[tuple[bool, str | None, float], ssl.SSLContext] = {}


def _tls_context(check: ServiceCheck) -> ssl.SSLContext:
    mtime = 0.0
    if check.verify_tls and check.ca_file:
        try:
            mtime = os.stat(check.ca_file).st_mtime
        except OSError as exc:
            raise _Down("tls", f"cannot read ca_file {check.ca_file}: {exc.strerror}") from None
    key = (check.verify_tls, check.ca_file if check.verify_tls else None, mtime)
    context = _contexts.get(key)
    if context is not None:
        return context
    try:
        if not check.verify_tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context = ssl.create_default_context(cafile=check.ca_file or certifi.where())
    except (OSError, ssl.SSLError) as exc:
        raise _Down("tls", f"cannot read ca_file {check.ca_file}: {exc}") from None
    _contexts[key] = context
    return context


def _days_left(der: bytes | None) -> float | None:
    if not der:
        return None
    cert = x509.load_der_x509_certificate(der)
    left = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    return round(left.total_seconds() / 86400, 3)


async def _http(check: ServiceCheck, started: float) -> CheckResult:
    assert check.url is not None
    timeout = httpx.Timeout(check.timeout)
    try:
        async with (
            httpx.AsyncClient(verify=_tls_context(check), timeout=timeout, follow_redirects=False) as client,
            client.stream("GET", check.url, headers={"User-Agent": "netwarden-check"}) as response,
        ):
            ms = _elapsed_ms(started)
            stream = response.extensions.get("network_stream")
            ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
            days = _days_left(ssl_object.getpeercert(binary_form=True)) if ssl_object is not None else None
            body = b""
            if check.expected is not None:
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) >= MAX_BODY_BYTES or check.expected.encode() in body:
                        break
    except httpx.TimeoutException:
        raise _Down("timeout", f"no answer within {check.timeout:g} s") from None
    except httpx.ConnectError as exc:
        raise _Down(*_connect_failure(exc)) from None
    except (httpx.RemoteProtocolError, httpx.LocalProtocolError) as exc:
        raise _Down("protocol", f"not HTTP: {exc}") from None
    except httpx.HTTPError as exc:
        raise _Down("error", str(exc) or type(exc).__name__) from None
    result = CheckResult(check, True, ms=ms, http_status=response.status_code, tls_days=days)
    accepted = response.status_code in check.status if check.status else 200 <= response.status_code < 400
    if not accepted:
        return dataclasses.replace(result, up=False, reason="status", detail=f"HTTP {response.status_code}")
    if check.expected is not None and check.expected.encode() not in body:
        return dataclasses.replace(result, up=False, reason="content", detail=f"the page lacks {check.expected!r}")
    return result


def _connect_failure(exc: httpx.ConnectError) -> tuple[Reason, str]:
    cause: BaseException | None = exc
    while cause is not None:  # httpx wraps the socket/TLS error two levels down
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "tls", f"certificate not trusted: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return "tls", f"TLS handshake failed: {cause.reason or cause}"
        if isinstance(cause, ConnectionRefusedError):
            return "refused", "connection refused"
        if isinstance(cause, OSError) and cause.errno in tcp._NO_ROUTE:
            return "no_route", cause.strerror or str(cause)
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "tls", "certificate not trusted"
    if "refused" in text.lower():
        return "refused", "connection refused"
    return "error", text or "connection failed"


def _normal(value: str) -> str:
    return value.strip().strip('"').rstrip(".").lower()


async def _dns(check: ServiceCheck, started: float) -> CheckResult:
    assert check.host is not None and check.query is not None
    server = await _address(check.host)
    rdtype = dns.rdatatype.from_text(check.record)
    query = dns.message.make_query(check.query, rdtype)
    try:
        answer, _ = await dns.asyncquery.udp_with_fallback(query, server, timeout=check.timeout, port=check.port or 53)
    except dns.exception.Timeout:
        raise _Down("timeout", f"no answer from {check.host} within {check.timeout:g} s") from None
    except ConnectionRefusedError:
        raise _Down("refused", f"nothing listens on {check.host} port {check.port or 53}") from None
    except dns.exception.DNSException as exc:
        raise _Down("protocol", f"not a DNS answer: {exc}") from None
    ms = _elapsed_ms(started)
    rcode = answer.rcode()
    if rcode != dns.rcode.NOERROR:
        return CheckResult(check, False, ms=ms, reason="answer", detail=f"{check.query}: {dns.rcode.to_text(rcode)}")
    values = tuple(rd.to_text() for rrset in answer.answer if rrset.rdtype == rdtype for rd in rrset)
    if not values:
        return CheckResult(check, False, ms=ms, reason="answer", detail=f"no {check.record.upper()} record")
    if check.expected is not None and _normal(check.expected) not in {_normal(v) for v in values}:
        shown = ", ".join(values[:5])
        detail = f"answer {shown} lacks {check.expected}"
        return CheckResult(check, False, ms=ms, reason="answer", detail=detail, answers=values)
    return CheckResult(check, True, ms=ms, answers=values)


# ---------------------------------------------------------------- results -> points and events


class ServiceChecker:
    """Turns check results into points and change events; remembers each check's last state."""

    def __init__(self) -> None:
        self.up: dict[str, bool] = {}  # by check name

    def observe(self, results: Iterable[CheckResult], ts: float | None = None) -> list[PollOutcome]:
        """Points and ``service_down``/``service_up`` events (on a change only), one outcome per device."""
        now = time.time() if ts is None else ts
        outcomes: dict[str, PollOutcome] = {}
        for result in results:
            check = result.check
            out = outcomes.setdefault(check.device, PollOutcome(check.device))
            points = out.points
            points.append(Point(check.device, "svc_up", check.name, now, 1.0 if result.up else 0.0))
            if result.ms is not None:
                points.append(Point(check.device, "svc_ms", check.name, now, round(result.ms, 3)))
            if result.http_status is not None:
                points.append(Point(check.device, "svc_http_status", check.name, now, float(result.http_status)))
            if result.tls_days is not None:
                points.append(Point(check.device, "svc_tls_days", check.name, now, result.tls_days))
            before = self.up.get(check.name)
            self.up[check.name] = result.up
            if before == result.up or (before is None and result.up):
                continue
            log.info("service check changed check=%s up=%s reason=%s", check.name, result.up, result.reason)
            summary = (
                f"{check.name} ({check.kind}) answers again"
                if result.up
                else f"{check.name} ({check.kind}) is down: {result.reason}"
                + (f" ({result.detail})" if result.detail else "")
            )
            out.events.append(
                Event(
                    source="poll",
                    kind="service_up" if result.up else "service_down",
                    subject=check.subject,
                    device=check.device,
                    severity="major",
                    summary=summary,
                )
            )
        return list(outcomes.values())

    def forget(self, names: Iterable[str]) -> None:
        """Drop the memory of checks removed from the configuration."""
        for name in names:
            self.up.pop(name, None)


async def check_round(
    checker: ServiceChecker, checks: Sequence[ServiceCheck], concurrency: int = 64
) -> list[PollOutcome]:
    """Run every check once and turn the results into points and events."""
    results = await run_checks(checks, concurrency=concurrency)
    return checker.observe(results)
