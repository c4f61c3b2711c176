"""Config backup end to end against SSH devices that speak the real protocol (tests/support/fake_cli.py).

Real Cisco IOS configurations (Batfish's example network) are served, backed up into the git
repository of a real store (SQLite and PostgreSQL), changed, backed up again, and diffed; devices that
drop the session, truncate or send binary keep their previous backup and nothing half-written lands.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from netwarden.alerts.models import Alert
from netwarden.configs.backup import backup, repo_of, state_of
from netwarden.context import Context
from netwarden.errors import ConfigError, PermissionDenied
from netwarden.inventory.credentials import add_credential
from netwarden.inventory.devices import add_device, add_site
from netwarden.inventory.schemas import CredentialIn, CredentialParams, DeviceIn, SiteIn
from tests.conftest import ADMIN, OPERATOR, VIEWER
from tests.support.fake_cli import FakeFleet, fake_ios
from tests.support.shared_data import shared_data

BATFISH = shared_data() / "batfish" / "networks" / "example" / "live" / "configs"
SECRETS = (
    "enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0\n"
    "username admin privilege 15 secret 5 $1$abcd$0123456789abcdefghij\n"
    "snmp-server community n0t-public RO\n"
    "! Last configuration change at 14:02:11 UTC Mon Nov 23 2026 by admin\n"
)


def _config(name: str) -> str:
    text = (BATFISH / f"{name}.cfg").read_text()
    head, sep, rest = text.partition("hostname ")
    return head + SECRETS + sep + rest


@pytest.fixture
def fleet() -> Iterator[FakeFleet]:
    if not BATFISH.is_dir():
        pytest.fail(f"the Batfish corpus is missing: {BATFISH}")
    with fake_ios({"as1border1": _config("as1border1"), "as2dept1": _config("as2dept1")}) as f:
        yield f


def _inventory(ctx: Context, fleet: FakeFleet, wrong_first: bool = False) -> list[str]:
    creds = []
    with ctx.db() as db:
        add_site(db, ADMIN, SiteIn(name="lab"))
        for address, device in fleet.devices.items():
            add_device(db, ADMIN, DeviceIn(name=device.hostname, site="lab", platform="cisco_ios", mgmt_ip=address))
        if wrong_first:
            add_credential(
                db,
                ADMIN,
                ctx.vault,
                CredentialIn(
                    name="wrong", kind="ssh", username=fleet.user, secret=SecretStr("nope"),
                    params=CredentialParams(port=fleet.port),
                ),
            )  # fmt: skip
            creds.append("wrong")
        add_credential(
            db,
            ADMIN,
            ctx.vault,
            CredentialIn(
                name="netops", kind="ssh", username=fleet.user, secret=SecretStr(fleet.password),
                params=CredentialParams(port=fleet.port),
            ),
        )  # fmt: skip
        creds.append("netops")
        db.commit()
    return creds


def _run(ctx: Context, creds: list[str], devices: list[str] | None = None, who=OPERATOR, why="test"):  # type: ignore[no-untyped-def]
    return asyncio.run(backup(ctx, who, devices, why=why, credentials=creds, timeout=20))


def _git_log(repo: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "log", "--format=%an|%s"], capture_output=True, text=True)
    return out.stdout.splitlines()


def test_backup_masks_commits_and_diffs_exactly(ctx: Context, fleet: FakeFleet) -> None:
    creds = _inventory(ctx, fleet, wrong_first=True)
    first = _run(ctx, creds, why="first look")
    assert [o.ok for o in first.outcomes] == [True, True]
    assert all(o.new and not o.changed for o in first.outcomes)
    repo = repo_of(ctx)
    stored = (repo.path / "as2dept1.cfg").read_text()
    # The configuration is there from its first line to `end`, without the banner before it.
    assert stored.startswith("!\nversion 15.2") and stored.rstrip().endswith("end")
    assert "Building configuration" not in stored and "Current configuration" not in stored
    # Secrets masked, volatile lines dropped.
    assert "enable secret 5 <masked>" in stored
    assert "username admin privilege 15 secret 5 <masked>" in stored
    assert "snmp-server community <masked> RO" in stored
    assert "n0t-public" not in stored and "hx5rVt7r" not in stored
    assert "Last configuration change" not in stored
    # The startup config is optional: this device has none.
    assert first.outcomes[0].skipped.get("startup", "").startswith("startup: ")
    assert _git_log(repo.path)[0] == "operator|Backup: first look"

    # Nothing changed: no new commit, no change.
    again = _run(ctx, creds)
    assert again.revision is None and not any(o.changed for o in again.outcomes)

    # Only a volatile line changes: still nothing.
    dept = next(d for d in fleet.devices.values() if d.hostname == "as2dept1")
    dept.config = dept.config.replace("14:02:11", "15:40:00")
    assert _run(ctx, creds).revision is None

    # A real change: the diff holds exactly the changed lines, and an info alert names the device.
    dept.config = dept.config.replace(
        "ip access-list extended RESTRICT_HOST_TRAFFIC_IN\n",
        "ip access-list extended RESTRICT_HOST_TRAFFIC_IN\n permit tcp any any eq 443\n",
    )
    changed = _run(ctx, creds, why="after change")
    assert changed.revision and [o.device for o in changed.outcomes if o.changed] == ["as2dept1"]
    diff = repo.diff("as2dept1.cfg")
    added = [ln for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    removed = [ln for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    assert added == ["+ permit tcp any any eq 443"] and removed == []
    assert [r.message for r in repo.history("as2dept1.cfg")] == ["Backup: after change", "Backup: first look"]
    assert repo.history("as1border1.cfg")[0].message == "Backup: first look"
    with ctx.db() as db:
        alerts = db.scalars(select(Alert).where(Alert.kind == "config_change")).all()
        assert [(a.device, a.severity) for a in alerts] == [("as2dept1", "info")]
        state = state_of(db, "as2dept1")
        assert state is not None and state.revision == changed.revision and state.failures == 0


@pytest.mark.parametrize("mode,reason", [("drop", None), ("cut", "truncated"), ("binary", "binary")])
def test_bad_transfer_keeps_the_previous_backup(ctx: Context, fleet: FakeFleet, mode: str, reason: str) -> None:
    creds = _inventory(ctx, fleet)
    first = _run(ctx, creds)
    repo = repo_of(ctx)
    before = (repo.path / "as1border1.cfg").read_text()
    commits = len(_git_log(repo.path))
    border = next(d for d in fleet.devices.values() if d.hostname == "as1border1")
    border.config = border.config.replace("hostname as1border1", "hostname as1border1\nbanner motd ^new^")
    border.mode = mode
    report = _run(ctx, creds, ["as1border1"])
    [outcome] = report.outcomes
    assert not outcome.ok and report.revision is None
    if reason:
        assert outcome.reason == reason
    else:  # the connection dropped: whatever the transport says, it is a failure with a reason
        assert outcome.reason in ("error", "timeout", "protocol") and outcome.detail
    assert (repo.path / "as1border1.cfg").read_text() == before
    assert len(_git_log(repo.path)) == commits
    status = subprocess.run(["git", "-C", str(repo.path), "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == ""
    with ctx.db() as db:
        state = state_of(db, "as1border1")
        assert state is not None and state.failures == 1 and state.revision == first.revision


def test_repeated_failures_alert_once_and_success_clears(ctx: Context, fleet: FakeFleet) -> None:
    creds = _inventory(ctx, fleet)
    ctx.settings.config_backup_failures_alert = 2
    border = next(d for d in fleet.devices.values() if d.hostname == "as1border1")
    border.mode = "cut"
    for _ in range(3):
        _run(ctx, creds, ["as1border1"])
    with ctx.db() as db:
        alerts = db.scalars(select(Alert).where(Alert.kind == "backup_failed")).all()
        assert len(alerts) == 1 and alerts[0].state == "open" and "truncated" in alerts[0].summary
    border.mode = "normal"
    assert _run(ctx, creds, ["as1border1"]).outcomes[0].ok
    with ctx.db() as db:
        alert = db.scalars(select(Alert).where(Alert.kind == "backup_failed")).one()
        assert alert.state == "resolved"
        state = state_of(db, "as1border1")
        assert state is not None and state.failures == 0


def test_refusals(ctx: Context, fleet: FakeFleet) -> None:
    creds = _inventory(ctx, fleet)
    with pytest.raises(PermissionDenied):
        _run(ctx, creds, who=VIEWER)
    ctx.settings.config_credentials = []
    with pytest.raises(ConfigError, match="no SSH credential"):
        asyncio.run(backup(ctx, ADMIN, None))
    # Wrong password only: every device fails with auth_failed, nothing is written.
    with ctx.db() as db:
        add_credential(
            db, ADMIN, ctx.vault,
            CredentialIn(name="bad", kind="ssh", username=fleet.user, secret=SecretStr("x"),
                         params=CredentialParams(port=fleet.port)),
        )  # fmt: skip
        db.commit()
    report = _run(ctx, ["bad"])
    assert {o.reason for o in report.outcomes} == {"auth_failed"} and report.revision is None


def test_compliance_runs_on_the_backups_and_keeps_history(ctx: Context, fleet: FakeFleet) -> None:
    from netwarden.configs.compliance import latest, run_check, score_history

    creds = _inventory(ctx, fleet)
    dept = next(d for d in fleet.devices.values() if d.hostname == "as2dept1")
    dept.config = dept.config.replace("snmp-server community n0t-public RO", "snmp-server community public RO")
    _run(ctx, creds)
    first = {d.device: d for d in run_check(ctx, OPERATOR)}
    assert set(first) == {"as1border1", "as2dept1"}
    by_rule = {r.rule: r for r in first["as2dept1"].results}
    # The default community survives masking (it is no secret) and is flagged, with its line as evidence.
    community = by_rule["ios-snmp-community"]
    assert community.status == "fail" and community.evidence
    assert any("snmp-server community public" in e["text"] for e in community.evidence)
    assert by_rule["ios-snmp-community"].remediation
    assert first["as1border1"].results_by("ios-snmp-community").status == "pass"  # masked, not a default
    # No "transport input ssh" on the vty lines of Batfish's configs.
    assert by_rule["ios-vty-ssh-only"].status == "fail"

    # Fix the community, back up, check again: the score goes up and both runs are kept.
    dept.config = dept.config.replace("snmp-server community public RO", "snmp-server community s3cr3t RO")
    _run(ctx, creds, ["as2dept1"])
    second = run_check(ctx, OPERATOR, ["as2dept1"])[0]
    assert second.results_by("ios-snmp-community").status == "pass"
    assert second.score is not None and first["as2dept1"].score is not None
    assert second.score > first["as2dept1"].score
    with ctx.db() as db:
        [stored] = latest(db, VIEWER, "as2dept1")
        assert stored.score == second.score and stored.revision == second.revision
        runs = score_history(db, VIEWER, "as2dept1")
        assert [r["score"] for r in runs] == [second.score, first["as2dept1"].score]
    with pytest.raises(PermissionDenied):
        run_check(ctx, VIEWER)


def test_odd_names_and_platforms_without_backup_do_not_stop_a_run(ctx: Context, fleet: FakeFleet) -> None:
    creds = _inventory(ctx, fleet)
    with ctx.db() as db:
        add_device(db, ADMIN, DeviceIn(name="edge/fw:1", site="lab", platform="nftables", mgmt_ip="127.0.0.9"))
        db.commit()
    report = _run(ctx, creds)  # every device: the nftables one has no SSH backup description and is left out
    assert sorted(o.device for o in report.outcomes) == ["as1border1", "as2dept1"] and report.revision
    named = _run(ctx, creds, ["edge/fw:1"])
    assert [(o.device, o.reason) for o in named.outcomes] == [("edge/fw:1", "unsupported")]
    from netwarden.collect.platforms import get_platform
    from netwarden.configs.backup import file_name

    running = get_platform("cisco_ios").config.sources[0]  # type: ignore[union-attr]
    assert file_name("core/sw:1", running) == "core%2Fsw%3A1.cfg"
    repo = repo_of(ctx)
    assert repo.commit({file_name("core/sw:1", running): "hostname x\n"}, author="t", message="odd name")
    assert repo.show("core%2Fsw%3A1.cfg") == "hostname x\n"


def test_the_config_commands(
    tmp_path: Path, fleet: FakeFleet, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from netwarden.cli.main import main

    data = tmp_path / "cli"
    assert main(["init", "--data-dir", str(data), "--json"]) == 0
    monkeypatch.setenv("NETWARDEN_DATA_DIR", str(data))
    ctx = Context.open()
    _inventory(ctx, fleet)
    capsys.readouterr()

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("config", "backup", "--credential", "netops", "--why", "cli test", "--json")
    body = json.loads(out)
    assert code == 0 and body["backed_up"] == 2 and body["failed"] == [] and len(body["revision"]) == 40
    dept = next(d for d in fleet.devices.values() if d.hostname == "as2dept1")
    dept.config = dept.config.replace("hostname as2dept1", "hostname as2dept1\nip domain-name lab.example")
    code, out, _ = run("config", "backup", "as2dept1", "-c", "netops", "--json")
    assert code == 0 and json.loads(out)["changed"] == ["as2dept1"]
    code, out, _ = run("config", "diff", "as2dept1", "--json")
    diff = json.loads(out)
    assert code == 0 and diff["added"] == ["ip domain-name lab.example"] and diff["removed"] == []
    code, out, _ = run("config", "history", "as2dept1", "--json")
    revs = json.loads(out)
    assert [r["message"] for r in revs] == ["Backup: on demand", "Backup: cli test"]
    code, out, _ = run("config", "show", "as2dept1", revs[1]["rev"])
    assert code == 0 and "ip domain-name" not in out and "hostname as2dept1" in out
    code, out, _ = run("config", "check", "as2dept1", "--json")
    [checked] = json.loads(out)
    assert code == 1 and checked["failed"] > 0 and {"device", "score", "results"} <= set(checked)
    # Bad input: one line, exit 1, nothing changed.
    for args, needle in (
        (("config", "diff", "as2dept1", "nope"), "no revision 'nope'"),
        (("config", "diff", "ghost"), "no device 'ghost'"),
        (("config", "show", "as2dept1", "--part", "bogus"), "no config part 'bogus'"),
        (("config", "check", "--file", str(tmp_path / "missing.cfg"), "--platform", "cisco_ios"), "cannot read"),
        (("config", "backup", "as2dept1"), "no SSH credential"),
    ):
        code, out, err = run(*args)
        assert code == 1 and err.startswith("error: ") and needle in err and err.count("\n") == 1, (args, err)
    # Intended config from a template of the operator's: its diff against the stored running config.
    templates = tmp_path / "templates" / "cisco_ios"
    templates.mkdir(parents=True)
    template = "hostname {{ name }}\nip domain-name {{ vars.domain | default('lab.example') }}\n"
    (templates / "default.j2").write_text(template)
    tdir = str(templates.parent)
    code, out, _ = run("config", "render", "as2dept1", "--template-dir", tdir)
    assert code == 0 and out == "hostname as2dept1\nip domain-name lab.example\n"
    code, out, _ = run("config", "render", "as2dept1", "--template-dir", tdir, "--diff", "--json")
    rendered = json.loads(out)
    assert code == 1 and rendered["same"] is False and "-ip domain-name lab.example" not in rendered["diff"]
    assert "+hostname as2dept1" not in rendered["diff"]  # in both: only what differs is shown
    code, _, err = run("config", "render", "as1border1")
    assert code == 1 and "template" in err and err.count("\n") == 1  # no shipped IOS template
    garbage = tmp_path / "garbage.cfg"
    garbage.write_bytes(b"\x00\x01\x02binary\xff" * 100)
    code, _, err = run("config", "check", "--file", str(garbage), "--platform", "cisco_ios")
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1


def test_the_api(ctx: Context, fleet: FakeFleet, api: Any, tokens: dict[str, str]) -> None:
    from tests.conftest import auth

    creds = _inventory(ctx, fleet)
    ctx.settings.config_credentials = creds
    viewer, operator = auth(tokens["viewer"]), auth(tokens["operator"])
    assert api.post("/api/v1/configs/backup", json={}, headers=viewer).status_code == 403
    done = api.post("/api/v1/configs/backup", json={"why": "api"}, headers=operator)
    assert done.status_code == 200 and done.json()["backed_up"] == 2
    dept = next(d for d in fleet.devices.values() if d.hostname == "as2dept1")
    dept.config = dept.config.replace("hostname as2dept1", "hostname as2dept1\nip domain-name api.example")
    again = api.post("/api/v1/configs/backup", json={"devices": ["as2dept1"]}, headers=operator).json()
    assert again["changed"] == ["as2dept1"]
    listing = api.get("/api/v1/configs", headers=viewer).json()
    assert {i["device"]: len(i["revision"]) for i in listing["items"]} == {"as1border1": 40, "as2dept1": 40}
    history = api.get("/api/v1/configs/as2dept1/history", headers=viewer).json()
    assert [i["message"] for i in history["items"]] == ["Backup: on demand (API)", "Backup: api"]
    diff = api.get("/api/v1/configs/as2dept1/diff", headers=viewer).json()
    assert "+ip domain-name api.example" in diff["diff"].splitlines()
    old = api.get("/api/v1/configs/as2dept1/text", params={"rev": history["items"][1]["rev"]}, headers=viewer)
    assert old.status_code == 200 and "api.example" not in old.json()["text"]
    assert api.get("/api/v1/configs/as2dept1/text", params={"rev": "nope"}, headers=viewer).status_code == 404
    assert api.get("/api/v1/configs/as2dept1/text", params={"rev": "-x"}, headers=viewer).status_code in (400, 422)
    assert api.get("/api/v1/configs/ghost/history", headers=viewer).status_code == 404
    assert api.post("/api/v1/compliance/check", json={}, headers=viewer).status_code == 403
    checked = api.post("/api/v1/compliance/check", json={}, headers=operator).json()
    assert checked["total"] == 2
    scores = api.get("/api/v1/compliance", headers=viewer).json()["items"]
    assert {s["device"] for s in scores} == {"as1border1", "as2dept1"} and all(s["score"] is not None for s in scores)
    one = api.get("/api/v1/compliance/as2dept1", headers=viewer).json()
    assert one["results"] and one["history"][0]["score"] == one["score"]
