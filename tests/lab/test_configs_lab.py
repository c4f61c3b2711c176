"""Config management on the lab: every node backed up over SSH into git, a real config change diffed
exactly, a change reported by syslog triggering the backup by itself, and the firewall's rule set read
back from the backup and analysed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from netwarden.alerts.events import Event
from netwarden.configs.backup import backup, repo_of
from netwarden.configs.jobs import ConfigJobs
from netwarden.context import Context
from netwarden.inventory.credentials import add_credential
from netwarden.inventory.devices import add_device, add_site
from netwarden.inventory.schemas import CredentialIn, CredentialParams, DeviceIn, SiteIn
from netwarden.jobs.scheduler import compliance_after
from netwarden.security.network_events import events_sink
from netwarden.security.syslog import SyslogReceiver
from tests.conftest import ADMIN, OPERATOR

pytestmark = pytest.mark.lab

PLATFORM = {"router": "frr", "firewall": "frr", "switch": "linux", "host": "linux", "server": "linux"}


@pytest.fixture
def store(lab: Any, tmp_path: Path) -> Iterator[Context]:
    """A store holding the lab's devices (as discovery names them) and its SSH login."""
    ctx = Context.create(data_dir=tmp_path / "data")
    with ctx.db() as db:
        for site in sorted({n.site for n in lab.nodes if n.site}):
            add_site(db, ADMIN, SiteIn(name=site))
        for node in lab.nodes:
            data = DeviceIn(name=node.name, site=node.site, platform=PLATFORM[node.kind], mgmt_ip=str(node.mgmt_ip))
            add_device(db, ADMIN, data)
        login = CredentialIn(
            name="lab-ssh", kind="ssh", username=lab.state.ssh_user, secret=SecretStr(lab.state.ssh_password),
            params=CredentialParams(port=22),
        )  # fmt: skip
        add_credential(db, ADMIN, ctx.vault, login)
        db.commit()
    ctx.settings.config_credentials = ["lab-ssh"]
    yield ctx


def _changed_lines(diff: str) -> tuple[list[str], list[str]]:
    body = [ln for ln in diff.splitlines() if ln[:3] not in ("+++", "---")]
    added = [ln[1:] for ln in body if ln.startswith("+") and ln[1:].strip() != "!"]
    removed = [ln[1:] for ln in body if ln.startswith("-") and ln[1:].strip() != "!"]
    return added, removed


def test_every_node_lands_in_git_and_a_change_diffs_exactly(lab: Any, store: Context) -> None:
    first = asyncio.run(backup(store, OPERATOR, why="lab baseline"))
    failed = [(o.device, o.reason, o.detail) for o in first.outcomes if not o.ok]
    assert not failed, failed
    assert {o.device for o in first.outcomes} == {n.name for n in lab.nodes}
    repo = repo_of(store)
    files = set(repo.files())
    assert {f"{n.name}.cfg" for n in lab.nodes} <= files
    assert "fw1.nft" in files  # the firewall's rule set, read through its SSH login
    r2 = (repo.path / "r2.cfg").read_text()
    assert r2.startswith("!\nfrr version") and "hostname r2" in r2 and r2.rstrip().endswith("end")
    assert "log commands" in r2
    srv1 = (repo.path / "srv1.cfg").read_text()
    assert srv1.splitlines()[0] == "srv1" and str(lab.node("srv1").mgmt_ip) in srv1
    r3 = (repo.path / "r3.cfg").read_text()
    assert "password <masked>" in r3 and "zebra" not in r3  # the planted cleartext password, masked

    fault = lab.fault("config-change", "r2")
    report = asyncio.run(backup(store, OPERATOR, ["r2"], why="after the change"))
    assert report.revision and [o.device for o in report.outcomes if o.changed] == ["r2"]
    added, removed = _changed_lines(repo.diff("r2.cfg"))
    iface = fault.detail["iface"]
    assert removed == []
    expected = [f" description {fault.detail['description']}", "ip prefix-list NWLAB-CHANGE seq 5 permit 192.0.2.1/32"]
    assert sorted(added) == sorted(expected), (iface, added)

    lab.heal()
    healed = asyncio.run(backup(store, OPERATOR, ["r2"], why="after heal"))
    added, removed = _changed_lines(repo.diff("r2.cfg"))
    assert healed.revision and added == [] and len(removed) == 2
    assert repo.show("r2.cfg") == repo.show("r2.cfg", first.revision or "")


def test_a_config_change_in_syslog_triggers_the_backup(lab: Any, store: Context) -> None:
    plan = lab.state.plan
    asyncio.run(backup(store, OPERATOR, why="baseline"))
    events: list[Event] = []

    async def collect(batch: list[Event]) -> None:
        events.extend(batch)

    def checked(device: str) -> bool:
        from netwarden.configs.compliance import latest

        with store.db() as db:
            return any(d.results for d in latest(db, OPERATOR, device))

    async def main() -> Any:
        jobs = ConfigJobs(store, OPERATOR, collect, debounce=1.0, max_wait=20, after_run=compliance_after(store))
        receiver = SyslogReceiver(events_sink(store, jobs.sink(collect)), flush_interval=0.2)
        await receiver.start(str(plan.syslog_collector), plan.syslog_port)
        runner = asyncio.create_task(jobs.triggered())
        try:
            await asyncio.to_thread(lab.fault, "config-change", "r5")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while not (jobs.last and any(o.changed for o in jobs.last.outcomes) and checked("r5")):
                assert loop.time() < deadline, f"no triggered backup and check; events: {events[-5:]}"
                await asyncio.sleep(0.1)
            return jobs.last
        finally:
            runner.cancel()
            await receiver.close(timeout=10)

    report = asyncio.run(main())
    assert [o.device for o in report.outcomes] == ["r5"] and report.outcomes[0].changed
    syslog_changes = [e for e in events if e.kind == "config_change" and e.source == "syslog"]
    assert syslog_changes and {e.device for e in syslog_changes} == {"r5"}
    backup_changes = [e for e in events if e.kind == "config_change" and e.source == "backup"]
    assert [e.device for e in backup_changes] == ["r5"] and "NWLAB-CHANGE" in backup_changes[0].raw


def test_the_firewall_rule_set_from_the_backup_names_its_shadowed_rule(lab: Any, store: Context) -> None:
    from netwarden.configs.acl import registry
    from netwarden.configs.acl.analyze import analyze, query
    from netwarden.configs.acl.model import Packet

    asyncio.run(backup(store, OPERATOR, ["fw1"], why="firewall"))
    text = repo_of(store).show("fw1.nft")
    parsed = registry.parse(text, "nftables", source="fw1.nft")
    assert not parsed.unparsed, parsed.unparsed
    [forward] = [a for a in parsed.acls if a.name.endswith("/forward")]
    findings = {f.rule.index: f for f in analyze(forward)}
    dead = [f for f in findings.values() if f.status == "unreachable"]
    assert [f.rule.text for f in dead] == [
        next(line.strip() for line in text.splitlines() if "tcp dport 80 counter" in line)
    ]
    [shadow] = dead[0].shadowed_by
    assert "tcp dport { 22, 80 } accept" in findings[shadow].rule.text and dead[0].different_action
    srv1 = str(lab.node("srv1").primary)
    telnet = query(forward, Packet(src="10.1.20.3", dst=srv1, proto=6, sport=40000, dport=23))
    assert telnet is not None and telnet.action == "deny" and "dport 23" in telnet.text
    https = query(forward, Packet(src="10.1.20.3", dst=srv1, proto=6, sport=40000, dport=8443))
    assert https is None and forward.default_action == "permit"  # falls through to the chain's policy accept


def test_the_default_pack_flags_the_planted_violations_and_passes_the_rest(lab: Any, store: Context) -> None:
    from netwarden.configs.compliance import run_check

    report = asyncio.run(backup(store, OPERATOR, why="compliance"))
    assert all(o.ok for o in report.outcomes)
    results = run_check(store, OPERATOR)
    failed = sorted((d.device, r.rule) for d in results for r in d.results if r.status == "fail")
    assert failed == [
        ("fw1", "nft-default-drop"),  # the forward chain's policy is accept, and it ends in a port-range drop
        ("r3", "frr-no-cleartext-password"),  # planted: password zebra, no encryption service
        ("r3", "frr-password-encryption"),
    ]
    passed = {d.device for d in results if d.passed}
    assert {n.name for n in lab.nodes if n.kind in ("router", "firewall")} <= passed
