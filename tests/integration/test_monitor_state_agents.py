"""Neighbour and wireless reads through netwarden's SNMP client against a real SNMP agent (snmpsim) serving
the recorded walks: the lab's r1 (healthy, with links cut, healed) and a Cisco wireless controller.

snmpsim picks the recording by community: community ``healthy`` answers from ``healthy.snmprec``. One agent
serves them all, so a target switching community between rounds is a device whose state changed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwarden.collect import snmp
from netwarden.monitor.neighbors import NeighborWatch, neighbor_round
from netwarden.monitor.poller import Target
from netwarden.monitor.wireless import WirelessWatch, read_wireless, reading_from, wireless_columns, wireless_round
from tests.unit.monitor import snmprec

VENV = Path(os.environ.get("NETWARDEN_FLEET_VENV", "/opt/netwarden/snmpsim-venv"))
RECORDINGS = {
    "healthy": "frr-r1-healthy.snmprec",
    "faulted": "frr-r1-faulted.snmprec",
    "healed": "frr-r1-healed.snmprec",
    "wlc": "cisco-wlc.snmprec",
}


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def agent() -> Iterator[int]:
    program = VENV / "bin" / "snmpsim-command-responder"
    if not program.exists():
        pytest.skip(f"snmpsim is not installed in {VENV} (make fleet-venv)")
    root = Path(tempfile.mkdtemp(prefix="nw-snmpsim-"))
    root.chmod(0o755)  # the simulator drops root to nobody and still reads its data
    data = root / "data"
    data.mkdir(mode=0o755)
    for community, name in RECORDINGS.items():
        shutil.copy(snmprec.DATA / name, data / f"{community}.snmprec")
        (data / f"{community}.snmprec").chmod(0o644)
    port = free_udp_port()
    argv = [str(program), f"--data-dir={data}", f"--agent-udpv4-endpoint=127.0.0.1:{port}",
            f"--cache-dir={root / 'cache'}", "--log-level=error"]  # fmt: skip
    if os.geteuid() == 0:
        argv += ["--process-user=nobody", "--process-group=nogroup"]
        (root / "cache").mkdir()
        shutil.chown(root / "cache", "nobody", "nogroup")  # the simulator writes its indices as nobody
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    with open(root / "log", "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            got = asyncio.run(
                snmp.collect(
                    "127.0.0.1",
                    snmp.V2c("healthy"),
                    lambda s: s.get(["1.3.6.1.2.1.1.5.0"]),
                    port=port,
                    timeout=0.5,
                    retries=0,
                )
            )
            if got.ok:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"snmpsim did not answer: {(root / 'log').read_text(errors='replace')[-500:]}")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def target(port: int, community: str, name: str = "r1") -> Target:
    return Target(name, "127.0.0.1", snmp.V2c(community), snmp_port=port)


def test_neighbour_changes_read_from_an_agent(agent: int) -> None:
    watch = NeighborWatch()
    rounds = []
    for community in ("healthy", "faulted", "faulted", "healed"):
        (outcome,) = asyncio.run(neighbor_round(watch, [target(agent, community)], timeout=2, retries=1))
        assert outcome.failed is None, outcome.failed
        rounds.append(sorted((e.kind, e.subject) for e in outcome.events))
    down = [("neighbor_down", "r1:bgp:10.254.0.2"), ("neighbor_down", "r1:bgp:203.0.113.2"),
            ("neighbor_down", "r1:ospf:10.255.0.2")]  # fmt: skip
    assert rounds == [[], down, [], [(k.replace("down", "up"), s) for k, s in down]]


def test_an_agent_that_stops_answering_is_a_failed_read_not_a_neighbour_event(agent: int) -> None:
    watch = NeighborWatch()
    asyncio.run(neighbor_round(watch, [target(agent, "healthy")]))
    # A community the agent does not serve: it stays silent, as an agent gone mid-poll does.
    (outcome,) = asyncio.run(neighbor_round(watch, [target(agent, "nosuch")], timeout=0.5, retries=0))
    assert outcome.failed is not None and "timeout" in outcome.failed
    assert outcome.events == [] and outcome.points == []


def test_the_controller_read_over_snmp_equals_the_recording(agent: int) -> None:
    got = asyncio.run(read_wireless(target(agent, "wlc", "wlc1"), timeout=3, retries=1))
    assert got.ok and got.value is not None, got.describe()
    offline = reading_from(snmprec.columns(snmprec.load("cisco-wlc.snmprec"), wireless_columns()), ts=got.value.ts)
    assert got.value.access_points == offline.access_points and len(offline.access_points) == 226
    (outcome,) = asyncio.run(wireless_round(WirelessWatch(), [target(agent, "wlc", "wlc1")], timeout=3))
    assert outcome.events == [] and sum(1 for p in outcome.points if p.metric == "ap_up") == 226


def test_a_router_agent_has_no_access_points(agent: int) -> None:
    got = asyncio.run(read_wireless(target(agent, "healthy"), timeout=2))
    assert got.ok and got.value is not None
    assert got.value.mib is None and got.value.access_points == [] and got.value.ssids == []
