"""Seed data of the security pages (HTTP and browser tests), made by the real backend.

* Log lines as the lab's syslog forwards them (RFC 5424 headers; sshd, sudo and PAM texts from OpenSSH and
  the fail2ban corpus; the firewall's NFLOG accept lines and netfilter deny lines) are written to a file
  and read by ``logs.service.ingest_files``; ``detect.service.detect`` then records the detections and
  correlates them into incidents: a brute force from h1 against srv1 (auth + firewall evidence) and a
  port scan from an outside address.
* The risk register is filled by a real ``scan.service.run_scan`` against a telnet and an FTP greeter on
  a loopback address (an inventory router, edge9, has it as its management address); the FTP greeter
  is then stopped and the address scanned again, so the FTP finding is resolved and telnet stays open.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import socketserver
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from netwarden.access.schemas import SYSTEM
from netwarden.context import Context
from netwarden.inventory import service as inventory
from netwarden.inventory.schemas import DeviceIn, InterfaceIn, IPAddressIn, SiteIn
from netwarden.security.detect import service as detect
from netwarden.security.detect.schemas import DetectResult
from netwarden.security.logs import service as logs
from netwarden.security.scan import service as scan
from netwarden.security.scan.scanner import ScanOptions
from tests.conftest import OPERATOR
from tests.web.support import add_users

H1, SRV1, FW1, OUTSIDE, ALICE_PC, BOB_PC = (
    "10.1.20.2",
    "10.1.10.2",
    "10.1.30.1",
    "203.0.113.9",
    "10.1.20.50",
    "10.1.20.60",
)
SCAN_HOST = f"127.83.{os.getpid() % 250 + 1}.1"  # other scan tests use 127.77/127.80: parallel runs do not meet
SPRAYED = ["admin", "root", "oracle", "test", "ubuntu", "labuser"]
BRUTE_ATTEMPTS = 8
SCANNED_PORTS = list(range(20, 50))


@dataclass
class LogData:
    """The lines written to the log file, by what they show; ``t0`` is the first attack line's time."""

    t0: dt.datetime
    failures: list[str] = field(default_factory=list)  # sshd "Failed password" lines of the brute force
    accepts: list[str] = field(default_factory=list)  # the firewall's accept lines of those connections
    denies: list[str] = field(default_factory=list)  # the port scan's deny lines
    alice_login: str = ""
    alice_session: str = ""
    alice_sudo: str = ""
    old_bob_login: str = ""  # three hours old: outside since=1h
    path: Path | None = None

    @property
    def lines(self) -> list[str]:
        return [
            *self.accepts, *self.failures, *self.denies,
            self.alice_login, self.alice_session, self.alice_sudo, self.old_bob_login,
        ]  # fmt: skip


@dataclass
class SecurityData:
    logs: LogData
    detected: DetectResult | None


def _stamp(t: dt.datetime) -> str:
    return t.isoformat(timespec="microseconds").replace("+00:00", "Z")


def log_lines(now: dt.datetime) -> LogData:
    t0 = now.replace(microsecond=0) - dt.timedelta(minutes=20)
    data = LogData(t0=t0)

    def at(seconds: float) -> dt.datetime:
        return t0 + dt.timedelta(seconds=seconds)

    for i in range(BRUTE_ATTEMPTS):
        t, port = at(i * 2), 50000 + i
        data.accepts.append(
            f"<30>1 {_stamp(t)} fw1 nftables-accept - - - {t:%H:%M:%S.%f} IP {H1}.{port} > {SRV1}.22: "
            "Flags [S], seq 1, win 64240, length 0"
        )
        t = at(i * 2 + 0.5)
        data.failures.append(
            f"<38>1 {_stamp(t)} srv1 sshd 77 - - Failed password for {SPRAYED[i % len(SPRAYED)]} from {H1} "
            f"port {port} ssh2"
        )
    for i, dport in enumerate(SCANNED_PORTS):
        data.denies.append(
            f"<4>1 {_stamp(at(120 + i * 0.1))} fw1 kernel - - - nft-drop IN=eth0 OUT=eth1 SRC={OUTSIDE} DST={SRV1} "
            f"LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=0 DF PROTO=TCP SPT=40000 DPT={dport} WINDOW=1024 RES=0x00 SYN URGP=0"
        )
    data.alice_login = (
        f"<38>1 {_stamp(at(300))} srv1 sshd 90 - - Accepted publickey for alice from {ALICE_PC} port 50522 ssh2"
    )
    data.alice_session = (
        f"<86>1 {_stamp(at(300.5))} srv1 sshd 90 - - pam_unix(sshd:session): session opened for user alice(uid=1000) "
        "by (uid=0)"
    )
    data.alice_sudo = (
        f"<86>1 {_stamp(at(310))} srv1 sudo - - -    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
        "COMMAND=/usr/bin/systemctl restart nginx <script>"
    )
    old = now.replace(microsecond=0) - dt.timedelta(hours=3)
    data.old_bob_login = f"<38>1 {_stamp(old)} srv1 sshd 91 - - Accepted password for bob from {BOB_PC} port 40000 ssh2"
    return data


def seed_inventory(ctx: Context) -> None:
    """hq: srv1 (the server), h1 (a workstation), fw1 (the firewall) with interface addresses; edge9 (scanned)."""
    with ctx.db() as db:
        inventory.add_site(db, SYSTEM, SiteIn(name="hq"))
        for name, role, platform, addr in (
            ("srv1", "server", "linux", SRV1),
            ("h1", "host", "linux", H1),
            ("fw1", "firewall", "nftables", FW1),
        ):
            inventory.add_device(db, SYSTEM, DeviceIn(name=name, site="hq", platform=platform, role=role))
            inventory.add_interface(db, SYSTEM, name, InterfaceIn(name="eth1", mac=f"52:54:00:00:00:0{len(role)}"))
            inventory.add_ip_address(db, SYSTEM, IPAddressIn(address=f"{addr}/24", device=name, interface="eth1"))
        inventory.add_device(
            db, SYSTEM, DeviceIn(name="edge9", site="hq", platform="cisco_ios", role="router", mgmt_ip=SCAN_HOST)
        )


def seed_security(ctx: Context, work: Path, *, run_detections: bool = True) -> SecurityData:
    """Users, inventory, the log file ingested and (by default) the detections run; no scan (:func:`seed_risks`)."""
    with ctx.db() as db:
        add_users(db)
    seed_inventory(ctx)
    data = log_lines(dt.datetime.now(dt.UTC))
    data.path = work / "lab-syslog.log"
    data.path.write_text("\n".join(data.lines) + "\n")
    with ctx.db() as db:
        logs.ingest_files(db, OPERATOR, [data.path])
    if not run_detections:
        return SecurityData(data, None)
    with ctx.db() as db:
        detected = detect.detect(db, OPERATOR, ctx.settings)
    return SecurityData(data, detected)


# ---------------------------------------------------------------- the scanned services


class _Telnet(socketserver.BaseRequestHandler):
    """A router's telnet server: option negotiation (WILL ECHO, WILL SGA), then the login prompt."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(3)
        try:  # the scanner's first connect only checks the port is open, and resets
            sock.sendall(bytes([255, 251, 1, 255, 251, 3]))
            sock.recv(64)  # the client's answers to the options
            sock.sendall(b"\r\n\r\nUser Access Verification\r\n\r\nUsername: ")
            sock.recv(64)
        except OSError:
            return


class _Ftp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(3)
        try:
            self.request.sendall(b"220 (vsFTPd 3.0.3)\r\n")
            self.request.recv(64)
        except OSError:
            return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _start(handler: type[socketserver.BaseRequestHandler]) -> tuple[_Server, threading.Thread]:
    server = _Server((SCAN_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def _stop(server: _Server, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def seed_risks(ctx: Context) -> dict[str, int]:
    """Two scans of edge9: telnet and FTP found, then FTP gone (resolved). Returns the ports by service."""
    telnet, telnet_thread = _start(_Telnet)
    ftp, ftp_thread = _start(_Ftp)
    ports = {"telnet": telnet.server_address[1], "ftp": ftp.server_address[1]}
    options = ScanOptions(ranges=[SCAN_HOST], ports=sorted(ports.values()), snmp=False, ping=False)

    def run() -> None:
        # In a thread of its own: under Playwright's sync API the test's thread already runs an event loop.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, scan.run_scan(ctx, OPERATOR, options)).result(timeout=120)

    try:
        run()
        _stop(ftp, ftp_thread)
        run()
    finally:
        _stop(telnet, telnet_thread)
        if ftp_thread.is_alive():
            _stop(ftp, ftp_thread)
    return ports
