"""Syslog over TLS (RFC 5425) on real sockets: a self-signed certificate made here, Python's ssl client and
``openssl s_client`` sending octet-counted frames, a client that does not trust the certificate, a peer that
speaks no TLS at all, and the settings path of ``netwarden serve``."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import shutil
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from netwarden.context import Context
from netwarden.security.syslog import SyslogError, SyslogMessage, SyslogReceiver, start_from_settings, tls_context


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A P-256 certificate for localhost and 127.0.0.1, valid for a day, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "syslog.crt", directory / "syslog.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def pki(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


async def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def receiving(cert: Path, key: Path) -> AsyncIterator[tuple[SyslogReceiver, list[SyslogMessage]]]:
    got: list[SyslogMessage] = []
    receiver = SyslogReceiver(got.extend, flush_interval=0.05)
    await receiver.start("127.0.0.1", 0, tls=tls_context(cert, key), tls_port=0)
    try:
        yield receiver, got
    finally:
        await receiver.close()


def octet_counted(lines: list[bytes]) -> bytes:
    return b"".join(b"%d %s" % (len(line), line) for line in lines)


LINES = [
    b"<34>1 2026-11-23T12:00:00.000Z r1 sshd 42 - - Failed password for root from 192.0.2.9 port 4242 ssh2",
    b"<189>48: r9: *Mar  1 00:15:00: %SYS-5-CONFIG_I: Configured from console by admin",
    # a frame with an LF inside: octet counting carries it whole
    b"<13>1 2026-11-23T12:00:01Z h app - - - first line\nsecond line",
]


def test_python_tls_client_frames_arrive_whole(pki: tuple[Path, Path]) -> None:
    cert, key = pki

    async def main() -> tuple[list[SyslogMessage], SyslogReceiver]:
        async with receiving(cert, key) as (receiver, got):
            assert receiver.tls_address is not None
            client = ssl.create_default_context(cafile=str(cert))
            _reader, writer = await asyncio.open_connection(*receiver.tls_address, ssl=client)
            payload = octet_counted(LINES)
            for i in range(0, len(payload), 7):  # frames split across TLS records
                writer.write(payload[i : i + 7])
                await writer.drain()
            await wait_for(lambda: len(got) == len(LINES))
            writer.close()
            await writer.wait_closed()
            version = writer.get_extra_info("ssl_object").version()
            assert version in ("TLSv1.2", "TLSv1.3"), version
        return got, receiver

    got, receiver = asyncio.run(main())
    assert [m.text for m in got] == [
        "Failed password for root from 192.0.2.9 port 4242 ssh2",
        "%SYS-5-CONFIG_I: Configured from console by admin",
        "first line\nsecond line",
    ]
    assert {m.source for m in got} == {"127.0.0.1"}
    s = receiver.stats()
    assert (s.received, s.parsed, s.delivered, s.dropped, s.tls_handshakes_failed) == (3, 3, 3, {}, 0)


def test_openssl_s_client_sends_over_tls(pki: tuple[Path, Path]) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = pki

    async def main() -> list[SyslogMessage]:
        async with receiving(cert, key) as (receiver, got):
            assert receiver.tls_address is not None
            host, port = receiver.tls_address
            proc = await asyncio.create_subprocess_exec(
                "openssl", "s_client", "-connect", f"{host}:{port}", "-CAfile", str(cert), "-verify_return_error",
                "-verify_ip", "127.0.0.1", "-quiet", "-no_ign_eof",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            assert proc.stdin is not None
            proc.stdin.write(octet_counted(LINES))
            await proc.stdin.drain()
            await wait_for(lambda: len(got) == len(LINES))
            proc.stdin.close()
            _out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
            assert proc.returncode == 0, err.decode(errors="replace")
        return got

    got = asyncio.run(main())
    assert [(m.host, m.app) for m in got] == [("r1", "sshd"), ("r9", ""), ("h", "app")]


def test_untrusting_client_and_plain_tcp_peer_are_counted_and_the_listener_goes_on(pki: tuple[Path, Path]) -> None:
    cert, key = pki

    async def main() -> tuple[list[SyslogMessage], SyslogReceiver]:
        async with receiving(cert, key) as (receiver, got):
            assert receiver.tls_address is not None
            # A client with the default trust store refuses the self-signed certificate.
            with pytest.raises(ssl.SSLCertVerificationError):
                await asyncio.open_connection(*receiver.tls_address, ssl=ssl.create_default_context())
            # A peer speaking plain syslog to the TLS port: its bytes are no TLS handshake.
            plain = socket.create_connection(receiver.tls_address)
            plain.sendall(b"<13>Nov 23 12:00:00 h app: not encrypted\n" * 200)
            await wait_for(lambda: receiver.stats().tls_handshakes_failed == 2)
            plain.close()
            # And a good client afterwards is served.
            _reader, writer = await asyncio.open_connection(
                *receiver.tls_address, ssl=ssl.create_default_context(cafile=str(cert))
            )
            writer.write(octet_counted(LINES[:1]))
            await wait_for(lambda: len(got) == 1)
            writer.close()
        return got, receiver

    got, receiver = asyncio.run(main())
    s = receiver.stats()
    assert (s.received, s.parsed, s.tls_handshakes_failed) == (1, 1, 2)
    assert got[0].host == "r1"


def test_settings_start_tls_and_refuse_half_a_configuration(pki: tuple[Path, Path], tmp_path: Path) -> None:
    cert, key = pki

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    async def main() -> None:
        port, tls_port = free_port(), free_port()
        ctx = Context.create(
            data_dir=tmp_path / "data", syslog_enabled=True, syslog_host="127.0.0.1", syslog_port=port,
            syslog_tls_port=tls_port, syslog_tls_cert=cert, syslog_tls_key=key,
        )  # fmt: skip
        got: list[SyslogMessage] = []
        receiver = await start_from_settings(ctx, got.extend)
        try:
            assert receiver.tls_address == ("127.0.0.1", tls_port)
            _reader, writer = await asyncio.open_connection(
                "127.0.0.1", tls_port, ssl=ssl.create_default_context(cafile=str(cert))
            )
            writer.write(octet_counted(LINES[:2]))
            writer.close()
            await wait_for(lambda: len(got) == 2)
        finally:
            await receiver.close()
        half = Context.create(
            data_dir=tmp_path / "half", syslog_enabled=True, syslog_host="127.0.0.1", syslog_port=0,
            syslog_tls_port=tls_port, syslog_tls_cert=cert,
        )  # fmt: skip
        with pytest.raises(SyslogError, match="syslog_tls_key"):
            await start_from_settings(half, got.extend)
        with pytest.raises(SyslogError, match="cannot load the syslog TLS certificate"):
            tls_context(key, cert)

    asyncio.run(main())


def test_mutual_tls_takes_only_senders_with_a_certificate_from_the_client_ca(tmp_path: Path) -> None:
    server_dir, good_dir, other_dir = (tmp_path / n for n in ("server", "good", "other"))
    for d in (server_dir, good_dir, other_dir):
        d.mkdir()
    cert, key = self_signed(server_dir)
    good_cert, good_key = self_signed(good_dir)  # the CA the receiver trusts for senders (self-signed, ca=True)
    other_cert, other_key = self_signed(other_dir)

    def client(chain: tuple[Path, Path] | None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(cert))
        if chain is not None:
            context.load_cert_chain(*chain)
        return context

    async def send(address: tuple[str, int], context: ssl.SSLContext, line: bytes) -> None:
        try:
            _reader, writer = await asyncio.open_connection(*address, ssl=context)
            writer.write(octet_counted([line]))
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        except (ssl.SSLError, ConnectionError):
            pass  # TLS 1.3 reports a refused client certificate after the client's handshake has ended

    async def main() -> tuple[list[SyslogMessage], SyslogReceiver]:
        got: list[SyslogMessage] = []
        receiver = SyslogReceiver(got.extend, flush_interval=0.05)
        await receiver.start("127.0.0.1", 0, udp=False, tls=tls_context(cert, key, good_cert), tls_port=0)
        try:
            assert receiver.tls_address is not None
            await send(receiver.tls_address, client(None), b"<13>Nov 23 12:00:00 h app: no certificate")
            await send(receiver.tls_address, client((other_cert, other_key)), b"<13>Nov 23 12:00:00 h app: other CA")
            await wait_for(lambda: receiver.stats().tls_handshakes_failed == 2)
            await send(receiver.tls_address, client((good_cert, good_key)), b"<13>Nov 23 12:00:00 h app: trusted")
            await wait_for(lambda: len(got) == 1)
        finally:
            await receiver.close()
        return got, receiver

    got, receiver = asyncio.run(main())
    assert [m.text for m in got] == ["trusted"]
    assert receiver.stats().tls_handshakes_failed == 2

    bad = tmp_path / "bad-ca.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(SyslogError, match="syslog_tls_client_ca"):
        tls_context(cert, key, bad)
