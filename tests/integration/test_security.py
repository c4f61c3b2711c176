"""Detections over the log store, incidents correlated across sources, status changes, breach reports;
through the service, the CLI and the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from netwarden.access.audit import list_entries
from netwarden.alerts import service as alerts
from netwarden.alerts.schemas import MaintenanceIn
from netwarden.context import Context
from netwarden.errors import NotFound, PermissionDenied
from netwarden.inventory import service as inventory
from netwarden.inventory.schemas import DeviceIn, InterfaceIn, IPAddressIn, SiteIn
from netwarden.security import correlate
from netwarden.security.detect import service
from netwarden.security.detect.schemas import IncidentPatch
from netwarden.security.logs.model import LogEvent
from netwarden.security.logs.store import store_events
from tests.conftest import ADMIN, OPERATOR, VIEWER, auth

T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
H1, SRV1, FW1_IN = "10.1.20.2", "10.1.10.2", "10.1.30.1"


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def seed_inventory(ctx: Context) -> None:
    """hq: srv1 (the server), h1 (a workstation), fw1 (the firewall); with their interface addresses."""
    with ctx.db() as db:
        inventory.add_site(db, ADMIN, SiteIn(name="hq"))
        for name, role, platform, addr in (
            ("srv1", "server", "linux", SRV1),
            ("h1", "host", "linux", H1),
            ("fw1", "firewall", "nftables", FW1_IN),
        ):
            inventory.add_device(db, ADMIN, DeviceIn(name=name, site="hq", platform=platform, role=role))
            inventory.add_interface(db, ADMIN, name, InterfaceIn(name="eth1", mac=f"52:54:00:00:00:0{len(role)}"))
            inventory.add_ip_address(db, ADMIN, IPAddressIn(address=f"{addr}/24", device=name, interface="eth1"))


def sshd(seconds: float, user: str, port: int, src: str = H1, ok: bool = False) -> LogEvent:
    text = (
        f"Accepted password for {user} from {src} port {port} ssh2"
        if ok
        else f"Failed password for {user} from {src} port {port} ssh2"
    )
    return LogEvent(
        time=at(seconds),
        host="srv1",
        kind="auth-success" if ok else "auth-failure",
        raw=f"<38>1 {at(seconds).isoformat()} srv1 sshd 77 - - {text}",
        app="sshd",
        message=text,
        source_ip=src,
        source_port=port,
        user=user,
        outcome="success" if ok else "failure",
        parser="test.sshd",
    )


def firewall(seconds: float, dport: int, src: str = H1, kind: str = "firewall-deny") -> LogEvent:
    text = f"IN=eth1 OUT=eth2 SRC={src} DST={SRV1} PROTO=TCP SPT=40000 DPT={dport} SYN"
    return LogEvent(
        time=at(seconds),
        host="fw1",
        kind=kind,
        raw=f"<4>1 {at(seconds).isoformat()} fw1 kernel - - {text}",
        app="kernel",
        message=text,
        source_ip=src,
        source_port=40000,
        dest_ip=SRV1,
        dest_port=dport,
        proto="tcp",
        action="deny" if kind == "firewall-deny" else "accept",
        parser="test.netfilter",
    )


def brute_force(start: float, attempts: int = 8) -> list[LogEvent]:
    users = ["admin", "root", "oracle", "test", "ubuntu", "labuser"]
    out = []
    for i in range(attempts):
        out.append(firewall(start + i * 2, 22, kind="firewall-accept"))  # the firewall logs the new connection
        out.append(sshd(start + i * 2 + 0.5, users[i % len(users)], 50000 + i))
    return out


def store(ctx: Context, events: list[LogEvent]) -> None:
    with ctx.db() as db:
        store_events(db, events)


def test_brute_force_becomes_one_incident_with_two_sources_and_named_assets(ctx: Context) -> None:
    seed_inventory(ctx)
    store(ctx, brute_force(0))
    with ctx.db() as db:
        result = service.detect(db, OPERATOR, ctx.settings)
    rules = sorted(d.rule for d in result.detections)
    assert rules == ["brute-force", "password-spraying"]
    assert result.new == 2 and len(result.incidents) == 1
    with ctx.db() as db:
        [incident] = correlate.list_incidents(db, VIEWER)
        detail = correlate.get_incident(db, VIEWER, incident.id)
    assert (incident.attacker, incident.attacker_device, incident.vector) == (H1, "h1", "brute-force")
    assert [a.device for a in incident.assets] == ["srv1"] and incident.sites == ["hq"]
    assert incident.assets[0].address == SRV1 and incident.assets[0].role == "server"
    assert incident.sources == ["auth", "firewall"]
    assert incident.title == "Brute force from h1 against srv1"
    assert incident.status == "open" and incident.detections == 2 and incident.event_count == 16
    # The timeline interleaves both sources, and marks where each rule fired.
    sources = [t.source for t in detail.timeline]
    assert [s for s in sources if s != "detection"][:4] == ["firewall", "auth", "firewall", "auth"]
    assert sources.count("detection") == 2 and detail.timeline[2].rule in ("brute-force", "password-spraying")
    assert {d.rule for d in detail.detection_list} == {"brute-force", "password-spraying"}
    assert all(d.incident_id == incident.id for d in detail.detection_list)


def test_running_again_updates_instead_of_duplicating_and_extends_the_incident(ctx: Context) -> None:
    seed_inventory(ctx)
    store(ctx, brute_force(0))
    with ctx.db() as db:
        service.detect(db, OPERATOR, ctx.settings)
    with ctx.db() as db:
        again = service.detect(db, OPERATOR, ctx.settings)
    assert (again.new, again.updated) == (0, 2)
    # The attack goes on a minute later: the same detections grow, the same incident gets the lines.
    store(ctx, brute_force(60, attempts=6))
    with ctx.db() as db:
        more = service.detect(db, OPERATOR, ctx.settings)
    assert more.new == 0 and len(more.incidents) == 1
    with ctx.db() as db:
        [incident] = correlate.list_incidents(db, VIEWER)
        detections = correlate.list_detections(db, VIEWER)
    assert incident.event_count == 28 and incident.last_seen == at(60 + 5 * 2 + 0.5)
    [bf] = [d for d in detections if d.rule == "brute-force"]
    assert bf.count == 14 and bf.first == at(0.5) and len(detections) == 2
    with ctx.db() as db:
        newest = correlate.list_detections(db, VIEWER, limit=1, newest_first=True)
    assert newest == [max(detections, key=lambda d: (d.first, d.id))]  # the console's order


def test_a_closed_incident_is_not_reopened_and_status_changes_are_audited(ctx: Context) -> None:
    seed_inventory(ctx)
    store(ctx, brute_force(0))
    with ctx.db() as db:
        [first] = service.detect(db, OPERATOR, ctx.settings).incidents
    with ctx.db() as db, pytest.raises(PermissionDenied):
        correlate.update_incident(db, VIEWER, first, IncidentPatch(status="closed"))
    with ctx.db() as db:
        correlate.update_incident(db, OPERATOR, first, IncidentPatch(status="investigating", note="on it"))
        closed = correlate.update_incident(db, OPERATOR, first, IncidentPatch(status="closed", note="blocked"))
    assert closed.status == "closed" and closed.closed_by == "operator"
    assert [(h.status, h.previous) for h in closed.history] == [
        ("open", None),
        ("investigating", "open"),
        ("closed", "investigating"),
    ]
    with ctx.db() as db:
        entries, _ = list_entries(db, ADMIN, object_type="security-incident")
    assert [e.action for e in entries].count("update") == 2 and "create" in [e.action for e in entries]
    store(ctx, brute_force(600))
    with ctx.db() as db:
        [second] = service.detect(db, OPERATOR, ctx.settings, since=at(590)).incidents
    assert second != first
    with ctx.db() as db, pytest.raises(NotFound):
        correlate.get_incident(db, VIEWER, 999)


def test_port_scan_joins_the_servers_sshd_lines_about_the_scanner(ctx: Context) -> None:
    seed_inventory(ctx)
    scan = [firewall(i * 0.05, port) for i, port in enumerate(range(1, 60)) if port not in (22, 80)]
    probe = LogEvent(
        time=at(1),
        host="srv1",
        kind="other",
        raw=f"srv1 sshd[90]: Connection closed by {H1} port 40022 [preauth]",
        app="sshd",
        message=f"Connection closed by {H1} port 40022 [preauth]",
        source_ip=H1,
        source_port=40022,
    )
    unrelated = sshd(2, "bob", 1234, src="10.1.20.99")
    # The scanner also talks to a host it did not scan: not this incident's story.
    elsewhere = LogEvent(time=at(1.5), host="backup9", kind="other", raw=f"backup9 sshd[5]: Connection from {H1}",
                         app="sshd", source_ip=H1)  # fmt: skip
    store(ctx, [*scan, probe, unrelated, elsewhere])
    with ctx.db() as db:
        result = service.detect(db, OPERATOR, ctx.settings)
        [incident] = correlate.list_incidents(db, VIEWER)
        detail = correlate.get_incident(db, VIEWER, incident.id)
    assert [d.rule for d in result.detections] == ["port-scan"]
    assert incident.sources == ["auth", "firewall"] and incident.vector == "port-scan"
    assert (incident.attacker_device, [a.device for a in incident.assets]) == ("h1", ["srv1"])
    assert probe.raw in [t.raw for t in detail.timeline]
    assert unrelated.raw not in [t.raw for t in detail.timeline]
    assert elsewhere.raw not in [t.raw for t in detail.timeline]


def test_config_change_inside_a_maintenance_window_is_expected(ctx: Context) -> None:
    seed_inventory(ctx)
    text = "%SYS-5-CONFIG_I: Configured from console by admin on vty0"

    def change(seconds: float, host: str) -> LogEvent:
        return LogEvent(
            time=at(seconds), host=host, kind="config-change", raw=f"{host} {text}", message=text, user="admin"
        )

    store(ctx, [change(0, "fw1"), change(5, "srv1")])
    with ctx.db() as db:
        alerts.add_window(db, OPERATOR, MaintenanceIn(pattern="fw*", starts_at=at(-60), ends_at=at(60)))
    with ctx.db() as db:
        result = service.detect(db, OPERATOR, ctx.settings)
    assert [(d.rule, d.host) for d in result.detections] == [("config-change-outside-window", "srv1")]


def test_no_save_writes_nothing_and_a_viewer_may_only_look(ctx: Context) -> None:
    store(ctx, brute_force(0))
    with ctx.db() as db:
        looked = service.detect(db, VIEWER, ctx.settings, save=False)
        assert len(looked.detections) == 2 and looked.incidents == []
        assert correlate.list_incidents(db, VIEWER) == [] and correlate.list_detections(db, VIEWER) == []
        with pytest.raises(PermissionDenied):
            service.detect(db, VIEWER, ctx.settings)


# ---------------------------------------------------------------- CLI and API


def cli(ctx: Context, *args: str) -> Any:
    from netwarden.cli.main import app

    result = CliRunner().invoke(app, [*args, "--data-dir", str(ctx.data_dir)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def sqlite_only(sqlite_ctx: Context) -> Context:
    """The CLI reads its store from the data dir: SQLite (the store functions run on both backends above)."""
    return sqlite_ctx


def test_cli_detections_contract_incidents_and_reports(sqlite_only: Context, tmp_path: Path) -> None:
    ctx = sqlite_only
    seed_inventory(ctx)
    store(ctx, brute_force(0))
    detections = json.loads(cli(ctx, "security", "detections", "--json"))
    assert [d["rule"] for d in detections] == ["brute-force", "password-spraying"]
    for d in detections:
        assert list(d)[:8] == ["rule", "host", "source_ip", "user", "first", "last", "count", "evidence"]
        assert isinstance(d["evidence"], list) and all(isinstance(x, str) for x in d["evidence"])
    bf = detections[0]
    assert (bf["host"], bf["source_ip"], bf["count"]) == ("srv1", H1, 8)
    assert dt.datetime.fromisoformat(bf["first"]) == at(0.5)
    [incident] = json.loads(cli(ctx, "security", "incidents", "--json"))
    shown = json.loads(cli(ctx, "security", "incident", str(incident["id"]), "--json"))
    assert shown["attacker_device"] == "h1" and len(shown["timeline"]) == 18
    updated = json.loads(cli(ctx, "security", "update", str(incident["id"]), "--status", "investigating", "--json"))
    assert updated["status"] == "investigating"
    rules = json.loads(cli(ctx, "security", "rules", "--json"))
    assert {r["rule"] for r in rules["builtin"]} >= {"brute-force", "port-scan", "privilege-escalation"}

    md = cli(ctx, "security", "report", str(incident["id"]))
    for heading in ("## What happened", "## When", "## Scope", "## Vector", "## Evidence", "## Recommended actions"):
        assert heading in md
    assert "h1" in md and "srv1" in md and "Failed password for admin" in md and "Block the source" in md
    out = tmp_path / "r.html"
    cli(ctx, "security", "report", str(incident["id"]), "--format", "html", "-o", str(out))
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "Brute force from h1 against srv1" in page
    assert "&lt;38&gt;1" in page  # raw lines are escaped, never markup


@pytest.mark.web
def test_pdf_report_through_chromium(sqlite_only: Context, tmp_path: Path) -> None:
    from netwarden.security import report

    try:
        report.chromium()
    except report.ReportError as exc:
        pytest.skip(str(exc))
    ctx = sqlite_only
    seed_inventory(ctx)
    store(ctx, brute_force(0))
    cli(ctx, "security", "detections")
    pdf = tmp_path / "r.pdf"
    cli(ctx, "security", "report", "1", "--format", "pdf", "-o", str(pdf))
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]


def test_api_incidents_status_and_report(ctx: Context, api: httpx.Client, tokens: dict[str, str]) -> None:
    seed_inventory(ctx)
    store(ctx, brute_force(0))
    denied = api.post("/api/v1/security/detect", headers=auth(tokens["viewer"]))
    assert denied.status_code == 403
    ran = api.post("/api/v1/security/detect", headers=auth(tokens["operator"]), json={"since": at(-10).isoformat()})
    assert ran.status_code == 200, ran.text
    assert len(ran.json()["incidents"]) == 1
    page = api.get("/api/v1/security/incidents", headers=auth(tokens["viewer"])).json()
    assert page["total"] == 1
    incident_id = page["items"][0]["id"]
    detections = api.get("/api/v1/security/detections", headers=auth(tokens["viewer"]), params={"rule": "brute-force"})
    assert [d["rule"] for d in detections.json()["items"]] == ["brute-force"]
    patched = api.patch(
        f"/api/v1/security/incidents/{incident_id}", headers=auth(tokens["operator"]), json={"status": "closed"}
    )
    assert patched.status_code == 200 and patched.json()["status"] == "closed"
    bad = api.patch(
        f"/api/v1/security/incidents/{incident_id}", headers=auth(tokens["operator"]), json={"status": "gone"}
    )
    assert bad.status_code in (400, 422)
    md = api.get(f"/api/v1/security/incidents/{incident_id}/report", headers=auth(tokens["viewer"]))
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert "## Recommended actions" in md.text
    missing = api.get("/api/v1/security/incidents/999", headers=auth(tokens["viewer"]))
    assert missing.status_code == 404


def test_a_period_too_busy_is_read_from_its_newest_event_and_says_so(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(ctx, brute_force(0) + brute_force(3600))
    monkeypatch.setattr(service, "MAX_EVENTS", 16)
    with ctx.db() as db:
        result = service.detect(db, OPERATOR, ctx.settings, save=False)
    assert result.truncated and result.events == 16
    assert {d.first for d in result.detections} == {at(3600.5)}  # the older burst was not read


def test_serve_detects_and_correlates_by_itself(ctx: Context) -> None:
    """serve's detection loop: stored events of the last half hour become an incident with no one asking."""
    import asyncio

    seed_inventory(ctx)
    store(ctx, brute_force(2 * 3600 - 600))  # ten minutes ago

    def incidents() -> list[Any]:
        with ctx.db() as db:
            return list(correlate.list_incidents(db, VIEWER))

    async def main() -> list[Any]:
        task = asyncio.create_task(service.detection_loop(ctx, OPERATOR, interval=0.05))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        try:
            while not incidents():
                assert loop.time() < deadline, "the loop made no incident"
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # a few more runs: they update, they do not duplicate
            return incidents()
        finally:
            task.cancel()

    found = asyncio.run(main())
    assert [(i.attacker, i.vector) for i in found] == [(H1, "brute-force")]
