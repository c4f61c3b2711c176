"""serve's syslog receiver feeds both the alert engine (network events) and the log store (every message),
on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from netwarden.alerts import service as alerts
from netwarden.api.app import create_app
from netwarden.context import Context
from netwarden.security.logs.store import query_events
from tests.conftest import VIEWER, auth


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)  # between checks of a condition with a deadline


def test_serve_stores_every_syslog_message_and_still_raises_alerts(ctx: Context, tokens: dict[str, str]) -> None:
    port = free_port()
    served = Context.create(
        data_dir=ctx.data_dir,
        database_url=None if ctx.url.startswith("sqlite") else ctx.url,
        syslog_enabled=True,
        syslog_host="127.0.0.1",
        syslog_port=port,
    )
    lines = [
        b"<187>Mar  9 10:00:00 edge1 %LINK-3-UPDOWN: Interface Gi0/1, changed state to down",
        b"<38>Mar  9 10:00:01 srv1 sshd[100]: Failed password for root from 192.0.2.10 port 40000 ssh2",
        b"<13>Mar  9 10:00:02 srv1 app: nothing a rule knows",
    ]
    with TestClient(create_app(served), base_url="http://testserver") as client:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(lines[0], ("127.0.0.1", port))
        with socket.create_connection(("127.0.0.1", port)) as tcp:
            tcp.sendall(b"\n".join(lines[1:]) + b"\n")

        def stored() -> list[str]:
            with served.db() as db:
                return sorted(e.kind for e in query_events(db))

        poll(lambda: len(stored()) == 3)
        assert stored() == ["auth-failure", "interface-down", "other"]

        def link_alerts() -> list[tuple[str, str, str]]:
            with served.db() as db:
                return [(a.device, a.subject, a.kind) for a in alerts.list_alerts(db, VIEWER)]

        poll(lambda: link_alerts() == [("edge1", "edge1:Gi0/1", "interface_down")])
        r = client.get("/api/v1/logs", params={"source_ip": "192.0.2.10"}, headers=auth(tokens["viewer"]))
        assert [i["user"] for i in r.json()["items"]] == ["root"]
