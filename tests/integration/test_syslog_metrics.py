"""The syslog counters on /metrics, for the receiver ``netwarden serve`` runs: real UDP, TCP and TLS senders
to the app's own receiver, the exposition read over HTTP and parsed as Prometheus parses it."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from netwarden.api.app import create_app
from netwarden.context import Context
from tests.integration.test_syslog_tls import self_signed

Sample = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(client: TestClient) -> Sample:
    response = client.get("/metrics")
    assert response.status_code == 200
    out: Sample = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name.startswith("netwarden_syslog_"):
                out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def poll(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)  # between scrapes of a condition with a deadline


def test_serve_exposes_syslog_counters(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    port, tls_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_STREAM)
    ctx = Context.create(
        data_dir=tmp_path / "data", syslog_enabled=True, syslog_host="127.0.0.1", syslog_port=port,
        syslog_tls_port=tls_port, syslog_tls_cert=cert, syslog_tls_key=key,
    )  # fmt: skip
    with TestClient(create_app(ctx), base_url="http://testserver") as client:
        before = scrape(client)
        assert before[("netwarden_syslog_listening", ())] >= 1

        def delta(name: str, **labels: str) -> float:
            k = (name, tuple(sorted(labels.items())))
            return scrape(client).get(k, 0.0) - before.get(k, 0.0)

        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for line in (b"<13>Nov 23 12:00:00 h app: one", b"<999>bad pri", b"<13>Nov 23 12:00:00 h app: \xff\xfe"):
            udp.sendto(line, ("127.0.0.1", port))
        udp.close()
        with socket.create_connection(("127.0.0.1", port)) as tcp:
            tcp.sendall(b"<13>Nov 23 12:00:00 h app: two\nno pri at all\n<13>no timestamp here\n")
        tls = ssl.create_default_context(cafile=str(cert))
        with (
            socket.create_connection(("127.0.0.1", tls_port)) as raw,
            tls.wrap_socket(raw, server_hostname="localhost") as conn,
        ):
            line = b"<13>Nov 23 12:00:00 h app: three"
            conn.sendall(b"%d %s" % (len(line), line))
            conn.unwrap()

        poll(lambda: delta("netwarden_syslog_delivered_total") == 5)
        assert delta("netwarden_syslog_received_total", transport="udp") == 3
        assert delta("netwarden_syslog_received_total", transport="tcp") == 3
        assert delta("netwarden_syslog_received_total", transport="tls") == 1
        assert delta("netwarden_syslog_parsed_total") == 5
        assert delta("netwarden_syslog_dropped_total", reason="bad_pri") == 1
        assert delta("netwarden_syslog_dropped_total", reason="no_pri") == 1
        assert delta("netwarden_syslog_anomalies_total", reason="invalid_utf8") == 1
        assert delta("netwarden_syslog_anomalies_total", reason="no_timestamp") == 1
        assert delta("netwarden_syslog_connections_total") == 2
        after = scrape(client)
        assert after[("netwarden_syslog_pending", ())] == 0
