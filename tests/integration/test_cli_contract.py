"""The CLI's scripting contract (DESIGN.md) and its one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from netwarden.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    data = tmp_path / "d"
    code, _out, _ = run(capsys, "init", "--data-dir", str(data), "--json")
    assert code == 0
    monkeypatch.setenv("NETWARDEN_DATA_DIR", str(data))
    return data


def test_init_json_shape_and_key_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "init", "--data-dir", str(tmp_path / "x"), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["data_dir"] == str((tmp_path / "x").resolve())
    assert doc["admin_token"].startswith("nw_")
    assert (tmp_path / "x" / "secret.key").stat().st_mode & 0o777 == 0o600
    # a second init keeps the store and prints no new token
    code, out, _ = run(capsys, "init", "--data-dir", str(tmp_path / "x"), "--json")
    assert code == 0 and json.loads(out)["admin_token"] is None


def test_user_add_json_shape(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "user", "add", "alice", "--role", "operator", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["name"] == "alice" and doc["role"] == "operator" and doc["token"].startswith("nw_")


def test_device_list_and_show_shapes(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "site", "add", "hq")[0] == 0
    args = ["device", "add", "r1", "--site", "hq", "--platform", "frr", "--mgmt-ip", "198.18.0.11", "--role", "router"]
    code, _, err = run(capsys, *args)
    assert code == 0, err
    assert run(capsys, "interface", "add", "r1", "eth1", "--speed", "1000000000", "--mtu", "1500")[0] == 0
    code, out, _ = run(capsys, "device", "list", "--json")
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["r1"]
    for key in ("name", "site", "platform", "mgmt_ip", "role", "status", "vendor", "model", "serial", "os_version"):
        assert key in rows[0]
    assert rows[0]["site"] == "hq" and rows[0]["mgmt_ip"] == "198.18.0.11"
    code, out, _ = run(capsys, "device", "show", "r1", "--json")
    doc = json.loads(out)
    iface = doc["interfaces"][0]
    for key in ("name", "description", "admin_status", "oper_status", "speed", "mtu", "mac", "addresses"):
        assert key in iface
    assert iface["speed"] == 1000000000


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["device", "add", "r9", "--site", "nowhere", "--platform", "frr"], "site 'nowhere' does not exist"),
        (["device", "add", "r9", "--site", "hq", "--platform", "cisco-ios"], "unknown platform 'cisco-ios'"),
        (["device", "add", "r9", "--site", "hq", "--platform", "frr", "--mgmt-ip", "10.0.0.300"], "not an IPv4"),
        (["device", "show", "ghost"], "device 'ghost' does not exist"),
        (["site", "add", "hq"], "site 'hq' already exists"),
        (["user", "add", "bob", "--role", "root"], "Invalid value"),
    ],
)
def test_errors_are_one_line_and_change_nothing(
    store: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    run(capsys, "site", "add", "hq")
    before = run(capsys, "audit", "--json")[1]
    code, out, err = run(capsys, *args)
    assert code != 0
    assert fragment in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in err + out
    assert run(capsys, "audit", "--json")[1] == before


def test_uninitialised_data_dir_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "device", "list", "--data-dir", str(tmp_path / "typo"))
    assert code == 1 and "no netwarden store" in err and "netwarden init" in err
    assert not (tmp_path / "typo").exists()


def test_console_script_exit_code(tmp_path: Path) -> None:
    """The installed entry point exits non-zero with one line on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETWARDEN_")}
    proc = subprocess.run(
        [sys.executable, "-m", "netwarden.cli.main", "device", "list", "--data-dir", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")


def test_every_command_takes_json() -> None:
    import typer

    from netwarden.cli.main import app

    def leaves(cmd: object, path: list[str]) -> list[tuple[str, object]]:
        subs = getattr(cmd, "commands", None)
        if subs is None:
            return [(" ".join(path), cmd)]
        return [leaf for name, sub in subs.items() for leaf in leaves(sub, [*path, name])]

    commands = leaves(typer.main.get_command(app), [])
    assert len(commands) > 40
    missing = [name for name, cmd in commands if not any("--json" in getattr(p, "opts", []) for p in cmd.params)]  # type: ignore[attr-defined]
    assert missing == []


def test_ipam_import_export_through_the_cli(store: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "inventory.yml"
    code, out, err = run(capsys, "import", str(example), "--json")
    assert code == 0, err
    assert json.loads(out)["created"]["prefixes"] == 9
    code, out, _ = run(capsys, "ipam", "next-ip", "10.10.10.0/24", "--assign", "--json")
    assert json.loads(out)["address"] == "10.10.10.2/24"
    code, out, _ = run(capsys, "ipam", "next-ip", "10.10.10.0/24", "--json")
    assert json.loads(out)["address"] == "10.10.10.3/24"
    code, out, _ = run(capsys, "prefix", "list", "--json")
    assert [p["depth"] for p in json.loads(out)][:3] == [0, 1, 2]
    code, out, _ = run(capsys, "link", "list", "--device", "hq-fw1", "--json")
    assert {(lk["a"], lk["b"]) for lk in json.loads(out)} == {("hq-core1", "hq-fw1"), ("hq-fw1", "br-rtr1")}
    code, out, _ = run(capsys, "export", "--json")
    assert len(json.loads(out)["devices"]) == 6
    bad = tmp_path / "bad.yml"
    bad.write_text("devices:\n  - name: x\n    site: hq\n    platform: frr\n    colour: red\n")
    code, out, err = run(capsys, "import", str(bad))
    assert code == 1 and err.count("\n") == 1
    assert "devices[0] (x).colour: Extra inputs are not permitted" in err
    code, _, err = run(capsys, "prefix", "add", "10.20.0.0/16", "--site", "hq")
    assert code == 1 and "already exists" in err
    code, _, err = run(capsys, "prefix", "add", "10.30.0.1/16")
    assert code == 1 and err == "error: invalid cidr: '10.30.0.1/16' has host bits set; did you mean 10.30.0.0/16?\n"
