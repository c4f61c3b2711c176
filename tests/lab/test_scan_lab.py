"""Exposure scan of the real lab's management range, after discovery filled the inventory.

What the lab really runs (src/netwarden/lab): OpenSSH with Debian's default algorithms on every
node, FRR (bgpd listening on 179) on routers and the firewall, nginx over plain HTTP with its
version in the Server header and dnsmasq on srv1, net-snmp answering the lab's own community (not
``public``/``private``). Expected: every node with its SSH and SNMP services, srv1's web server,
no default-community finding, no telnet, srv1's cleartext HTTP and version disclosure, the weak
MACs the nodes' sshd really offers, and the sample feed's FRR CVEs on the routers by their
os_version. Stopping sshd on a node resolves its SSH findings and nothing else.

Run only as ``flock /tmp/netwarden-lab.lock .venv/bin/pytest -m lab tests/lab/test_scan_lab.py``.
"""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path
from typing import Any

import pytest

from netwarden.access.schemas import cli_actor
from netwarden.context import Context
from netwarden.discover.run import Options, run_discovery
from netwarden.inventory import porting
from netwarden.inventory import service as inventory
from netwarden.security.scan import debian, feeds, service
from netwarden.security.scan.scanner import ScanOptions
from netwarden.security.scan.schemas import ScanReport
from netwarden.security.scan.versions import in_range

pytestmark = pytest.mark.lab
ACTOR = cli_actor()
DATA = Path(__file__).resolve().parents[1] / "data" / "scan"
FEEDS = [DATA / "nvd-cve-2.0-sample.json", DATA / "debian-tracker-sample.json"]


@pytest.fixture(scope="module")
def store(lab_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Context:
    ctx = Context.create(data_dir=tmp_path_factory.mktemp("scanned"))
    doc = porting.load_document(Path(lab_session.state.credentials_file))
    with ctx.db() as db:
        porting.import_inventory(db, ACTOR, ctx.vault, doc)
        credentials = [c.name for c in inventory.list_credentials(db, ACTOR).items]
    opts = Options(cidrs=[str(lab_session.state.plan.mgmt_cidr)], credentials=credentials, site="lab")
    summary = asyncio.run(run_discovery(ctx, ACTOR, opts))
    assert sorted(summary.devices) == sorted(n.name for n in lab_session.nodes)
    return ctx


def bridge_address(lab: Any) -> str:
    """The host's own address on the management bridge: not a lab node, never scanned."""
    return str(next(lab.state.plan.mgmt_cidr.hosts()))


def snmp_credential(ctx: Context) -> str:
    with ctx.db() as db:
        return next(c.name for c in inventory.list_credentials(db, ACTOR).items if c.kind.startswith("snmp"))


def run(ctx: Context, lab: Any, ranges: list[str]) -> ScanReport:
    options = ScanOptions(ranges=ranges, exclude=[bridge_address(lab)])
    return asyncio.run(service.run_scan(ctx, ACTOR, options, credentials=[snmp_credential(ctx)], feed_paths=FEEDS))


@pytest.fixture(scope="module")
def report(store: Context, lab_session: Any) -> ScanReport:
    done = run(store, lab_session, [str(lab_session.state.plan.mgmt_cidr)])
    print(f"scan of {done.ranges}: {len(done.hosts)} hosts, {len(done.findings)} findings in {done.elapsed:.1f} s")
    for f in done.findings:
        print(f"  {f.level:8} {f.score:4} {f.target:5} {f.port or '':>4} {f.kind:20} {f.cve or ''}")
    return done


def test_every_node_is_scanned_with_its_services(report: ScanReport, lab_session: Any) -> None:
    hosts = {h.device: h for h in report.hosts}
    assert sorted(hosts) == sorted(n.name for n in lab_session.nodes)  # and nothing else: the bridge is excluded
    assert report.failed == []
    credential = snmp_credential_name(report)
    for node in lab_session.nodes:
        host = hosts[node.name]
        assert host.address == str(node.mgmt_ip)
        services = {(s.proto, s.port): s for s in host.services}
        ssh = services[("tcp", 22)]
        assert ssh.service == "ssh" and ssh.product == "OpenSSH" and ssh.ssh is not None and ssh.ssh.kex
        snmp = services[("udp", 161)].snmp
        assert snmp is not None and snmp.default_communities == [] and snmp.credentials == [credential]
        assert f"{node.name}" in snmp.sys_descr
        assert ("tcp", 23) not in services  # no telnet anywhere in the lab
        assert (("tcp", 179) in services) == (node.asn is not None), node.name  # bgpd listens on every address
    srv1 = {(s.proto, s.port): s for s in hosts["srv1"].services}
    http = srv1[("tcp", 80)]
    assert http.service == "http" and http.http is not None and http.http.status == 200
    assert http.http.server.startswith("nginx/") and http.product == "nginx"
    assert ("tcp", 53) in srv1  # dnsmasq


def snmp_credential_name(report: ScanReport) -> str:
    names = {c for h in report.hosts for s in h.services if s.snmp for c in s.snmp.credentials}
    assert len(names) == 1
    return names.pop()


def test_the_weak_settings_the_lab_really_has(report: ScanReport, lab_session: Any) -> None:
    kinds = {f.kind for f in report.findings}
    assert "snmp-default-community" not in kinds and "telnet" not in kinds and "http-management" not in kinds
    srv1 = {f.kind for f in report.findings if f.device == "srv1"}
    assert {"http-cleartext", "http-server-version"} <= srv1
    weak_macs = {"hmac-sha1", "hmac-sha1-etm@openssh.com", "umac-64@openssh.com", "umac-64-etm@openssh.com"}
    for host in report.hosts:
        ssh = next(s.ssh for s in host.services if s.ssh is not None)
        offered = set(ssh.macs) & weak_macs
        finding = next((f for f in report.findings if f.device == host.device and f.kind == "ssh-weak-mac"), None)
        if not offered:
            assert finding is None, host.device
            continue
        assert finding is not None, host.device
        assert {e.split()[2] for e in finding.evidence} == offered  # "tcp/22 macs: NAME (why)"
        terrapin = any(f.kind == "ssh-terrapin" for f in report.findings if f.device == host.device)
        assert terrapin == ("kex-strict-s-v00@openssh.com" not in ssh.kex), host.device


def test_frr_versions_are_matched_against_the_feed(report: ScanReport, lab_session: Any) -> None:
    frr_version = lab_session.vtysh("r1", "show version").split("FRRouting ")[1].split()[0]
    affected = in_range(frr_version, start_including="7.5.1", end_including="9.0")  # CVE-2023-38802's range
    for node in lab_session.nodes:
        if not node.routes:
            continue
        cves = {f.cve: f for f in report.findings if f.device == node.name and f.kind == "vulnerability"}
        assert ("CVE-2023-38802" in cves) == affected, node.name
        if affected:
            found = cves["CVE-2023-38802"]
            assert found.port is None and found.exposure == 0.6 and found.score == round(7.5 * 0.6, 1)
            assert f"inventory: FRRouting {frr_version}" in found.evidence[0]
    assert [f.entries for f in report.feeds] == [9, 4]


def test_debian_packages_are_judged_by_the_debian_tracker(report: ScanReport) -> None:
    """Every node's sshd says 'OpenSSH_9.2p1 Debian-2+deb12uN': NVD's ranges match 9.2p1, the tracker
    knows which package revision fixed each CVE. Each match is a finding or cleared, never both."""
    tracker = feeds.load_feed(FEEDS[1]).debian
    for host in report.hosts:
        ssh = next(p for p in host.products if p.product == "openssh")
        assert ssh.package == "openssh" and ssh.package_release == "bookworm", ssh
        mine = f"1:{ssh.package_version}"
        for cve in ("CVE-2024-6387", "CVE-2023-38408"):
            fixed = tracker[("openssh", cve)]["bookworm"].fixed_version
            cleared = any(c.cve == cve and c.address == host.address for c in report.cleared)
            reported = any(f.cve == cve and f.address == host.address for f in report.findings)
            assert cleared != reported, (host.device, cve)
            assert cleared == (debian.dpkg_compare(mine, fixed) >= 0), (host.device, cve, mine, fixed)


def test_stopping_sshd_resolves_its_findings_only(store: Context, report: ScanReport, lab_session: Any) -> None:
    node = next(n for n in lab_session.nodes if n.routes and n.name != "r1")
    before = {f.id: f for f in report.findings if f.device == node.name}
    ssh_ids = {i for i, f in before.items() if f.port == 22}
    assert ssh_ids and set(before) - ssh_ids  # SSH findings, and others (the FRR CVEs, at least)
    lab_session.fault("daemon-stop", node.name, "sshd")
    try:
        address = str(ipaddress.ip_address(str(node.mgmt_ip)))
        again = run(store, lab_session, [address])
        assert {f.id for f in again.findings} == set(before) - ssh_ids
        with store.db() as db:
            register = {r.id: r for r in service.list_risks(db, ACTOR, status=None) if r.device == node.name}
        assert {i for i, r in register.items() if r.status == "resolved"} == ssh_ids
        assert {i for i, r in register.items() if r.status == "open"} == set(before) - ssh_ids
    finally:
        lab_session.heal()
