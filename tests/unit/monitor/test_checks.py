"""Service checks against real local servers on 127.0.0.1: an asyncio TCP server, http.server over plain
HTTP and over TLS (a self-signed certificate made here), dnsmasq, and sockets that accept and never answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http.server
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from netwarden.errors import ConfigError
from netwarden.monitor.checks import CheckResult, ServiceCheck, ServiceChecker, load_checks, run_check, run_checks


def check(**fields: Any) -> ServiceCheck:
    return ServiceCheck.model_validate({"name": "c", "device": "srv1", "timeout": 2, **fields})


def run(c: ServiceCheck) -> CheckResult:
    return asyncio.run(run_check(c))


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- servers


@pytest.fixture
def silent_tcp() -> Iterator[int]:
    """A port that completes the TCP handshake (the kernel does) and never says or answers anything."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


@pytest.fixture
def silent_udp() -> Iterator[int]:
    """A UDP port that receives and never answers (a hung DNS server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


class Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = {"/ok": (200, b"service is all good"), "/broken": (503, b"maintenance")}.get(
            self.path, (404, b"no such page")
        )
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_http(context: ssl.SSLContext | None = None) -> tuple[http.server.ThreadingHTTPServer, int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, server.server_address[1]


@pytest.fixture
def http_port() -> Iterator[int]:
    server, port = serve_http()
    yield port
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 that expires in 10 days (it is its own CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "netwarden check test")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=10))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(ski, False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, False, False, False), True)
        .sign(key, hashes.SHA256())
    )
    root = tmp_path_factory.mktemp("tls")
    (root / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (root / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return root / "cert.pem", root / "key.pem"


@pytest.fixture
def https_port(certificate: tuple[Path, Path]) -> Iterator[int]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server, port = serve_http(context)
    yield port
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def dnsmasq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """dnsmasq on 127.0.0.1 answering for check.test from its own records only."""
    if shutil.which("dnsmasq") is None:
        pytest.skip("dnsmasq is not installed (make test installs it)")
    port = free_port(socket.SOCK_DGRAM)
    log = tmp_path_factory.mktemp("dnsmasq") / "log"
    argv = [
        "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
        "--bind-interfaces", "--listen-address=127.0.0.1", f"--port={port}", "--pid-file=",
        "--host-record=www.check.test,192.0.2.10", "--host-record=www.check.test,192.0.2.11",
        "--txt-record=check.test,v=netwarden", "--local=/check.test/", "--log-facility=" + str(log),
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        probe = check(kind="dns", host="127.0.0.1", port=port, query="www.check.test", timeout=0.3)
        deadline = time.monotonic() + 20
        while not run(probe).up:
            if proc.poll() is not None:
                raise RuntimeError(f"dnsmasq exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            if time.monotonic() > deadline:
                raise RuntimeError("dnsmasq did not answer within 20 s")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---------------------------------------------------------------- configuration


def test_load_checks_reads_every_kind() -> None:
    checks = load_checks(
        [
            {"name": "ssh", "device": "srv1", "kind": "tcp", "host": "10.1.10.2", "port": 22},
            {"name": "web", "device": "srv1", "kind": "https", "url": "https://srv1.example/", "status": [200]},
            {"name": "dns", "device": "srv1", "kind": "dns", "host": "10.1.10.2", "query": "srv1.lab", "record": "a"},
        ]
    )
    assert [c.kind for c in checks] == ["tcp", "https", "dns"]
    assert [c.subject for c in checks] == [
        "srv1:tcp:10.1.10.2:22",
        "srv1:http:https://srv1.example/",
        "srv1:dns:srv1.lab/A@10.1.10.2",
    ]


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({"name": "x", "device": "d", "kind": "tcp", "host": "h"}, "needs host and port"),
        ({"name": "x", "device": "d", "kind": "https", "url": "http://h/"}, "https://"),
        ({"name": "x", "device": "d", "kind": "http"}, "needs url"),
        ({"name": "x", "device": "d", "kind": "dns", "host": "h", "query": "q", "record": "NOPE"}, "NOPE"),
        ({"name": "x", "device": "d", "kind": "ftp"}, "kind"),
        ({"name": "x", "device": "d", "kind": "tcp", "host": "h", "port": 0}, "port"),
        ({"name": "x", "device": "d", "kind": "tcp", "host": "h", "port": 1, "colour": "red"}, "colour"),
        ({"name": "x", "device": "d", "kind": "tcp", "host": "h", "port": 1, "timeout": 0}, "timeout"),
        ({"name": "x", "device": "d", "kind": "dns", "host": "h", "query": "a" * 70 + ".example"}, "not a DNS name"),
    ],
)
def test_a_bad_entry_is_a_one_line_config_error(entry: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_checks([{"name": "fine", "device": "d", "kind": "tcp", "host": "h", "port": 1}, entry])
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("monitor_service_checks[1] (x)")
    assert says in message


@given(
    st.dictionaries(
        st.sampled_from(["name", "device", "kind", "host", "port", "url", "query", "record", "expected", "timeout"]),
        st.one_of(st.text(max_size=30), st.integers(-5, 70000), st.sampled_from(["tcp", "http", "https", "dns"])),
    )
)
def test_any_entry_is_a_check_or_a_config_error(entry: dict[str, Any]) -> None:
    try:
        load_checks([entry])
    except ConfigError as exc:
        assert "\n" not in str(exc)


def test_names_must_be_unique() -> None:
    entry = {"name": "same", "device": "d", "kind": "tcp", "host": "h", "port": 1}
    with pytest.raises(ConfigError, match="used by another check"):
        load_checks([entry, entry])


# ---------------------------------------------------------------- TCP


def test_tcp_open_port_is_up_with_its_banner_checked() -> None:
    async def scenario() -> tuple[CheckResult, CheckResult, CheckResult]:
        async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"SSH-2.0-OpenSSH_9.2 check\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(greet, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return (
                await run_check(check(kind="tcp", host="127.0.0.1", port=port)),
                await run_check(check(kind="tcp", host="127.0.0.1", port=port, expected="SSH-2.0")),
                await run_check(check(kind="tcp", host="localhost", port=port, expected="SMTP")),
            )

    plain, banner, wrong = asyncio.run(scenario())
    assert plain.up and plain.ms is not None and plain.ms >= 0
    assert banner.up
    assert not wrong.up and wrong.reason == "content" and "SSH-2.0" in wrong.detail


def test_tcp_closed_port_is_down_refused() -> None:
    got = run(check(kind="tcp", host="127.0.0.1", port=free_port()))
    assert not got.up and got.reason == "refused"


def test_tcp_silent_service_with_an_expected_banner_times_out(silent_tcp: int) -> None:
    got = run(check(kind="tcp", host="127.0.0.1", port=silent_tcp, expected="220", timeout=0.5))
    assert not got.up and got.reason == "timeout"


def test_unresolvable_host_says_so() -> None:
    got = run(check(kind="tcp", host="no-such-host.invalid", port=22))
    assert not got.up and got.reason == "resolve"


# ---------------------------------------------------------------- HTTP


def test_http_status_and_content(http_port: int) -> None:
    base = f"http://127.0.0.1:{http_port}"
    ok = run(check(kind="http", url=f"{base}/ok", expected="all good"))
    assert ok.up and ok.http_status == 200 and ok.tls_days is None
    broken = run(check(kind="http", url=f"{base}/broken"))
    assert not broken.up and broken.reason == "status" and broken.http_status == 503
    accepted = run(check(kind="http", url=f"{base}/broken", status=[503]))
    assert accepted.up
    missing = run(check(kind="http", url=f"{base}/ok", expected="database"))
    assert not missing.up and missing.reason == "content"


def test_http_closed_port_is_refused_and_a_hanging_server_times_out(silent_tcp: int) -> None:
    closed = run(check(kind="http", url=f"http://127.0.0.1:{free_port()}/"))
    assert not closed.up and closed.reason == "refused"
    hung = run(check(kind="http", url=f"http://127.0.0.1:{silent_tcp}/", timeout=0.5))
    assert not hung.up and hung.reason == "timeout"


def test_https_reports_days_to_expiry_and_refuses_an_untrusted_certificate(
    https_port: int, certificate: tuple[Path, Path]
) -> None:
    url = f"https://127.0.0.1:{https_port}/ok"
    untrusted = run(check(kind="https", url=url))
    assert not untrusted.up and untrusted.reason == "tls", untrusted
    trusted = run(check(kind="https", url=url, ca_file=str(certificate[0]), expected="all good"))
    assert trusted.up and trusted.http_status == 200, trusted
    assert trusted.tls_days is not None and 9.9 < trusted.tls_days <= 10
    unverified = run(check(kind="https", url=url, verify_tls=False))
    assert unverified.up and unverified.tls_days == pytest.approx(trusted.tls_days, abs=0.01)


def test_https_against_a_plain_http_server_is_a_tls_failure(http_port: int) -> None:
    got = run(check(kind="https", url=f"https://127.0.0.1:{http_port}/ok", verify_tls=False))
    assert not got.up and got.reason == "tls", got


# ---------------------------------------------------------------- DNS


def test_dns_answers(dnsmasq: int) -> None:
    base = {"kind": "dns", "host": "127.0.0.1", "port": dnsmasq}
    a = run(check(**base, query="www.check.test", expected="192.0.2.11"))
    assert a.up and set(a.answers) == {"192.0.2.10", "192.0.2.11"}
    txt = run(check(**base, query="check.test", record="TXT", expected="v=netwarden"))
    assert txt.up, txt
    wrong = run(check(**base, query="www.check.test", expected="192.0.2.99"))
    assert not wrong.up and wrong.reason == "answer" and "192.0.2.10" in wrong.detail
    nx = run(check(**base, query="nothing.check.test"))
    assert not nx.up and nx.reason == "answer" and "NXDOMAIN" in nx.detail
    no_record = run(check(**base, query="www.check.test", record="MX"))
    assert not no_record.up and no_record.reason == "answer"


def test_dns_server_that_never_answers_times_out(silent_udp: int) -> None:
    got = run(check(kind="dns", host="127.0.0.1", port=silent_udp, query="www.check.test", timeout=0.5))
    assert not got.up and got.reason == "timeout"


# ---------------------------------------------------------------- many at once, points and events


def test_many_checks_run_at_once_and_hung_ones_block_no_other(silent_tcp: int) -> None:
    """A server that greets only once six connections are open at the same time: only parallel checks pass."""

    async def scenario(concurrency: int) -> list[CheckResult]:
        live: set[asyncio.StreamWriter] = set()
        all_there = asyncio.Event()

        async def greet_when_six(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            live.add(writer)
            if len(live) == 6:
                all_there.set()
            gone = asyncio.ensure_future(reader.read(1))  # ends when the client gives up (EOF or reset)
            ready = asyncio.ensure_future(all_there.wait())
            try:
                await asyncio.wait({gone, ready}, return_when=asyncio.FIRST_COMPLETED)
                if not gone.done():
                    writer.write(b"220 ready\r\n")
            finally:
                live.discard(writer)
                for task in (gone, ready):
                    task.cancel()
                await asyncio.gather(gone, ready, return_exceptions=True)
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()

        server = await asyncio.start_server(greet_when_six, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        hung = [
            check(name=f"hung{i}", kind="tcp", host="127.0.0.1", port=silent_tcp, expected="220", timeout=0.5)
            for i in range(4)
        ]
        gated = [
            check(name=f"ok{i}", kind="tcp", host="127.0.0.1", port=port, expected="220", timeout=0.5) for i in range(6)
        ]
        async with server:
            return await run_checks(hung + gated, concurrency=concurrency)

    parallel = asyncio.run(scenario(concurrency=16))
    assert [r.check.name for r in parallel] == [f"hung{i}" for i in range(4)] + [f"ok{i}" for i in range(6)]
    assert [r.up for r in parallel] == [False] * 4 + [True] * 6
    assert {r.reason for r in parallel[:4]} == {"timeout"}
    one_by_one = asyncio.run(scenario(concurrency=1))
    assert not any(r.up for r in one_by_one)


def test_events_only_on_a_change() -> None:
    async def scenario() -> list[list[Any]]:
        checker = ServiceChecker()
        rounds: list[list[Any]] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        c = check(name="app", kind="tcp", host="127.0.0.1", port=port)
        for _ in range(2):
            rounds.append(checker.observe([await run_check(c)], ts=1.0))
        server.close()
        await server.wait_closed()
        for _ in range(2):
            rounds.append(checker.observe([await run_check(c)], ts=2.0))
        server = await asyncio.start_server(serve, "127.0.0.1", port)
        async with server:
            rounds.append(checker.observe([await run_check(c)], ts=3.0))
        return rounds

    rounds = asyncio.run(scenario())
    events = [[e for o in r for e in o.events] for r in rounds]
    assert [[e.kind for e in evs] for evs in events] == [[], [], ["service_down"], [], ["service_up"]]
    down = events[2][0]
    assert down.subject.startswith("srv1:tcp:127.0.0.1:") and down.device == "srv1" and "refused" in down.summary
    points = {(p.metric, p.instance, p.value) for p in rounds[2][0].points}
    assert ("svc_up", "app", 0.0) in points
    assert ("svc_up", "app", 1.0) in {(p.metric, p.instance, p.value) for p in rounds[4][0].points}


def test_a_check_down_at_first_sight_raises_an_event() -> None:
    checker = ServiceChecker()
    c = check(kind="tcp", host="127.0.0.1", port=free_port())
    first = checker.observe([run(c)])
    assert [e.kind for o in first for e in o.events] == ["service_down"]
