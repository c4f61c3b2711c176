"""The risk register on both store backends: a finding is stored, seen again, resolved; roles are enforced."""

from __future__ import annotations

import asyncio
import os
import socketserver
import threading
from collections.abc import Iterator

import pytest

from netwarden.context import Context
from netwarden.errors import PermissionDenied
from netwarden.security.scan import service
from netwarden.security.scan.scanner import ScanOptions
from tests.conftest import OPERATOR, VIEWER

HOST = f"127.80.{os.getpid() % 250 + 1}.1"


class _Greeting(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"220 (vsFTPd 3.0.3)\r\n")


@pytest.fixture
def ftp() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer((HOST, 0), _Greeting)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def scan(ctx: Context, port: int) -> list[str]:
    options = ScanOptions(ranges=[HOST], ports=[port], snmp=False, ping=False)
    report = asyncio.run(service.run_scan(ctx, OPERATOR, options))
    return sorted(f.kind for f in report.findings)


def test_register_lifecycle(ctx: Context, ftp: socketserver.ThreadingTCPServer) -> None:
    port = ftp.server_address[1]
    assert scan(ctx, port) == ["ftp"]
    with ctx.db() as db:
        (first,) = service.list_risks(db, VIEWER)
    assert (first.kind, first.address, first.port, first.status) == ("ftp", HOST, port, "open")
    assert scan(ctx, port) == ["ftp"]
    with ctx.db() as db:
        (again,) = service.list_risks(db, VIEWER)
    assert again.id == first.id and again.first_seen == first.first_seen and again.last_seen > first.last_seen

    ftp.shutdown()
    ftp.server_close()
    assert scan(ctx, port) == []
    with ctx.db() as db:
        assert service.list_risks(db, VIEWER) == []
        (gone,) = service.list_risks(db, VIEWER, status="resolved")
        assert gone.id == first.id and gone.resolved_at is not None
        assert service.show_risk(db, VIEWER, first.id[:6]).status == "resolved"


def test_viewers_read_but_do_not_scan(ctx: Context) -> None:
    with pytest.raises(PermissionDenied, match="run exposure scans"):
        asyncio.run(service.run_scan(ctx, VIEWER, ScanOptions(ranges=[HOST], ports=[1], snmp=False)))
