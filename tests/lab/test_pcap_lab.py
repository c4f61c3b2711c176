"""A capture on a lab link during traffic, analyzed end to end.

dumpcap runs inside srv1's namespace on its link to fw1 (``netwarden pcap capture eth1 --netns ...``) while
the lab's hosts make their periodic traffic (ping and HTTP to srv1) and this test asks srv1's dnsmasq for a
name it knows and one it does not, from h1 and h2. The analysis must show flows between the right lab
addresses, the DNS queries to srv1 with their answers (the known name resolves to srv1's address, the unknown
one is NXDOMAIN), and TCP flows to srv1's web server.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from netwarden.cli.main import main

pytestmark = pytest.mark.lab


def test_capture_on_a_lab_link_is_analyzed(lab: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    srv1 = lab.node("srv1")
    iface = next(i.name for i in srv1.ifaces if i.address is not None)
    srv1_ip, h1_ip, h2_ip = lab.address("srv1"), lab.address("h1"), lab.address("h2")
    argv = ["pcap", "capture", iface, "--netns", srv1.namespace, "--seconds", "8", "--max-mb", "20"]
    argv += ["--data-dir", str(tmp_path), "--json", "--analyze"]
    outcome: dict[str, int] = {}
    thread = threading.Thread(target=lambda: outcome.update(code=main(argv)))
    thread.start()
    deadline = time.monotonic() + 30
    rounds = 0
    while thread.is_alive() and time.monotonic() < deadline:
        for host in ("h1", "h2"):
            lab.exec(host, "dig", "+time=1", "+tries=1", f"@{srv1_ip}", "srv1.lab", "A", timeout=5)
            lab.exec(host, "dig", "+time=1", "+tries=1", f"@{srv1_ip}", "nosuchhost.lab", "A", timeout=5)
        lab.exec("h1", "curl", "-s", "-m", "2", "-o", "/dev/null", f"http://{srv1_ip}/", timeout=5)
        rounds += 1
        thread.join(timeout=0.3)
    thread.join(timeout=30)
    assert outcome.get("code") == 0 and rounds >= 2
    out = json.loads(capsys.readouterr().out)
    cap, report = out["capture"], out["analysis"]
    assert cap["packets"] > 0 and Path(cap["files"][0]).parent == tmp_path / "pcaps"
    assert report["packets"] == cap["packets"] and report["read"]["complete"]

    pairs = {(f["proto"], f["src"], f["dst"], f["dport"]) for f in report["flows"]}
    for client in (h1_ip, h2_ip):
        assert ("udp", client, srv1_ip, 53) in pairs, (client, sorted(pairs))
    assert ("tcp", h1_ip, srv1_ip, 80) in pairs
    web = [f for f in report["flows"] if f["proto"] == "tcp" and f["dport"] == 80 and f["dst"] == srv1_ip]
    assert any(f["state"] == "SF" and f["rtt_ms"] is not None for f in web), web

    dns = report["dns"]
    answered = {(q["client"], q["query"], q["status"]) for q in dns["records"] if q["server"] == srv1_ip}
    for client in (h1_ip, h2_ip):
        assert (client, "srv1.lab", "ok") in answered
        assert (client, "nosuchhost.lab", "nxdomain") in answered
    ok = next(q for q in dns["records"] if q["query"] == "srv1.lab" and q["status"] == "ok")
    assert ok["answers"] == [f"A {srv1_ip}"]
    assert dns["outcomes"]["nxdomain"] >= 2
    # The hosts' own periodic traffic (every 5 s, the capture lasts 8) looks up a name nobody serves too.
    assert {(c, "wpad.lab", "nxdomain") for c in (h1_ip, h2_ip)} & answered, sorted(answered)
    talkers = {t["address"] for t in report["top_talkers"]}
    assert srv1_ip in talkers
