"""Journey 6, "Are we under attack?", on the lab: the ssh-bruteforce and port-scan faults arrive as
syslog (sshd on srv1, fw1's NFLOG packets read by tcpdump), are parsed, stored, detected and
correlated into one incident each, naming the attacking host and the target, with a breach report.

h1 brute-forces srv1 over SSH; h2 (the branch, so its traffic crosses the VPN and fw1) port-scans
srv1. The inventory is filled from the lab's own plan, as discovery would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from netwarden.context import Context
from netwarden.inventory import service as inventory
from netwarden.inventory.schemas import DeviceIn, InterfaceIn, IPAddressIn, SiteIn
from netwarden.security import correlate, report
from netwarden.security.detect import service
from netwarden.security.detect.schemas import DetectResult, IncidentDetail
from netwarden.security.logs.model import LogEvent
from netwarden.security.logs.parse import parse_message
from netwarden.security.logs.store import store_events
from netwarden.security.syslog import SyslogMessage, SyslogReceiver
from tests.conftest import ADMIN, OPERATOR, VIEWER

pytestmark = pytest.mark.lab
log = logging.getLogger(__name__)


@dataclass
class Story:
    result: DetectResult
    incidents: dict[str, IncidentDetail]  # by vector
    addresses: dict[str, str]  # node -> data-plane address
    attempts: int  # what the brute-force fault says it made
    messages: int
    stats: dict[str, Any]


def seed_inventory(ctx: Context, lab: Any) -> None:
    """Every lab node as a device of its site, with its interfaces' addresses."""
    plan = lab.state.plan
    with ctx.db() as db:
        for site in sorted({n.site or "lab" for n in plan.nodes}):
            inventory.add_site(db, ADMIN, SiteIn(name=site))
        for node in plan.nodes:
            inventory.add_device(
                db,
                ADMIN,
                DeviceIn(
                    name=node.name,
                    site=node.site or "lab",
                    platform=node.platform,
                    role=node.kind,
                    mgmt_ip=str(node.mgmt_ip),
                ),
            )
            for iface in node.ifaces:
                inventory.add_interface(db, ADMIN, node.name, InterfaceIn(name=iface.name))
                if iface.address is not None:
                    inventory.add_ip_address(
                        db, ADMIN, IPAddressIn(address=str(iface.address), device=node.name, interface=iface.name)
                    )


def lines_about(path: Path, offset: int, needle: str) -> int:
    """Lines written to a node's log file since ``offset`` that mention ``needle``."""
    with path.open("rb") as fh:
        fh.seek(offset)
        return sum(1 for line in fh.read().decode(errors="replace").splitlines() if needle in line)


async def wait_for(condition: Any, seconds: float, why: Any) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, f"condition not met in time: {why()}"
        await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
def story(lab_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    lab = lab_session
    state, plan = lab.state, lab.state.plan
    ctx = Context.create(data_dir=tmp_path_factory.mktemp("security") / "data")
    seed_inventory(ctx, lab)
    h1, h2, srv1 = lab.address("h1"), lab.address("h2"), lab.address("srv1")
    sshd_log = state.node_dir("srv1") / "log" / "sshd.log"
    nft_log = state.node_dir("fw1") / "log" / "nft.log"
    accept_log = state.node_dir("fw1") / "log" / "nft-accept.log"  # new SSH sessions to srv1, logged and let in
    since = dt.datetime.now(dt.UTC)
    messages: list[SyslogMessage] = []

    async def main() -> tuple[int, dict[str, Any]]:
        receiver = SyslogReceiver(messages.extend, flush_interval=0.2)
        await receiver.start(str(plan.syslog_collector), plan.syslog_port)
        try:
            sshd_at, nft_at = sshd_log.stat().st_size, nft_log.stat().st_size
            accept_at = accept_log.stat().st_size
            fault = await asyncio.to_thread(lab.fault, "ssh-bruteforce", "h1", "srv1")
            await asyncio.to_thread(lab.fault, "port-scan", "h2", "srv1")

            def received(host: str, app: str, needle: str) -> int:
                return sum(1 for m in messages if m.host == host and m.app == app and needle in m.text)

            # Everything the nodes wrote about the attackers has reached the receiver (the files are what
            # the lab's forwarders tail, line by line).
            expected = {
                ("srv1", "sshd", h1): lines_about(sshd_log, sshd_at, h1),
                ("fw1", "nftables", h2): lines_about(nft_log, nft_at, h2),
                ("fw1", "nftables-accept", h1): lines_about(accept_log, accept_at, h1),
            }
            assert all(expected.values()), f"the lab logged nothing about the attacks: {expected}"
            await wait_for(
                lambda: all(received(*k) >= n for k, n in expected.items()),
                60,
                lambda: {k: (received(*k), n) for k, n in expected.items()},
            )
        finally:
            await receiver.close(timeout=10)
        return int(fault.detail["attempts"]) if fault else 0, receiver.stats().as_dict()

    try:
        attempts, stats = asyncio.run(main())
    finally:
        lab.heal()
    events: list[LogEvent] = [parse_message(m) for m in messages]
    with ctx.db() as db:
        store_events(db, events)
    with ctx.db() as db:
        result = service.detect(db, OPERATOR, ctx.settings, since=since)
    with ctx.db() as db:
        incidents = {i.vector: correlate.get_incident(db, VIEWER, i.id) for i in correlate.list_incidents(db, VIEWER)}
    for inc in incidents.values():
        log.info("incident %d %s sources=%s assets=%s", inc.id, inc.title, inc.sources, inc.assets)
    yield Story(result, incidents, {"h1": h1, "h2": h2, "srv1": srv1}, attempts, len(messages), stats)


def test_each_fault_is_one_incident_naming_the_attacker_and_the_target(story: Story) -> None:
    assert sorted(story.incidents) == ["brute-force", "port-scan"], [i.title for i in story.incidents.values()]
    brute, scan = story.incidents["brute-force"], story.incidents["port-scan"]
    assert (brute.attacker, brute.attacker_device) == (story.addresses["h1"], "h1")
    assert (scan.attacker, scan.attacker_device) == (story.addresses["h2"], "h2")
    for inc in (brute, scan):
        assert [(a.device, a.site, a.address) for a in inc.assets] == [("srv1", "hq", story.addresses["srv1"])]
        assert inc.status == "open" and inc.title.endswith("against srv1")
    assert story.stats["received"] == story.stats["parsed"] and not story.stats["lost"]


def test_brute_force_incident_counts_the_attempts_with_auth_evidence(story: Story) -> None:
    brute = story.incidents["brute-force"]
    assert "auth" in brute.sources
    [bf] = [d for d in brute.detection_list if d.rule == "brute-force"]
    assert bf.count == story.attempts and bf.host == "srv1" and bf.source_ip == story.addresses["h1"]
    assert all(story.addresses["h1"] in line for line in bf.evidence)
    assert any("Failed password" in line for line in bf.evidence)
    # Several user names from one source: also password spraying, in the same incident.
    assert {d.rule for d in brute.detection_list} == {"brute-force", "password-spraying"}
    assert len(brute.users) >= 5


def test_brute_force_incident_has_firewall_evidence(story: Story) -> None:
    assert "firewall" in story.incidents["brute-force"].sources


def test_port_scan_incident_joins_the_firewall_and_the_servers_auth_log(story: Story) -> None:
    scan = story.incidents["port-scan"]
    assert {"auth", "firewall"} <= set(scan.sources)
    [ps] = [d for d in scan.detection_list if d.rule == "port-scan"]
    assert ps.host == "fw1" and ps.target == story.addresses["srv1"] and ps.details["ports"] >= 1000
    h2 = story.addresses["h2"]
    by_source = {t.source for t in scan.timeline if t.source != "detection" and h2 in t.raw}
    assert {"auth", "firewall"} <= by_source
    assert any(t.source == "auth" and t.host == "srv1" for t in scan.timeline)


def test_breach_reports_tell_the_story(story: Story, tmp_path: Path) -> None:
    for vector, inc in story.incidents.items():
        text = report.render(inc, "md").decode()
        assert inc.attacker_device and f"inventory device {inc.attacker_device}" in text
        assert "srv1" in text and "## Recommended actions" in text
        assert (vector == "port-scan") == ("nftables" in text)  # the firewall's own lines as evidence
