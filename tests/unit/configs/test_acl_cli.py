"""``netwarden acl analyze | query | compare``: the scripting contract's JSON shapes, exit codes and
one-line errors, on the shared corpora and small files written by the tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from netwarden.cli.main import main
from tests.support.shared_data import shared_data

DEPT = shared_data() / "batfish" / "networks" / "example" / "live" / "configs" / "as2dept1.cfg"
CAPIRCA = shared_data() / "capirca" / "tests" / "characterization_data" / "filters_expected"
needs_corpora = pytest.mark.skipif(not DEPT.is_file() or not CAPIRCA.is_dir(), reason="shared corpora not present")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@needs_corpora
def test_analyze_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "acl", "analyze", str(DEPT), "--platform", "cisco_ios", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["unparsed"] == []
    lines = DEPT.read_text().splitlines()
    for row in doc["rules"]:
        assert {"acl", "index", "line", "text", "status", "shadowed_by"} <= set(row)
        assert row["status"] in ("ok", "unreachable", "redundant", "conflict")
        assert lines[row["line"] - 1].strip() == row["text"]
    unreachable = {(r["acl"], r["index"]): r for r in doc["rules"] if r["status"] == "unreachable"}
    assert set(unreachable) == {("RESTRICT_HOST_TRAFFIC_IN", 3), ("RESTRICT_HOST_TRAFFIC_OUT", 2)}
    assert unreachable[("RESTRICT_HOST_TRAFFIC_IN", 3)]["shadowed_by"] == [2]
    assert unreachable[("RESTRICT_HOST_TRAFFIC_OUT", 2)]["different_action"] is True
    final = {(r["acl"], r["index"]): r for r in doc["rules"]}[("RESTRICT_HOST_TRAFFIC_OUT", 3)]
    assert final["text"] == "deny   ip any any" and final["status"] == "ok" and final["removable"] is True


@needs_corpora
def test_analyze_human_table_and_unparsed_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "acl", "analyze", str(DEPT), "-p", "cisco_ios")
    assert code == 0 and "unreachable" in out and "shadowed by 2" in out
    f = tmp_path / "x.cfg"
    f.write_text("ip access-list extended X\n permit ip any any dscp ef\n permit tcp any any\n")
    code, out, _ = run(capsys, "acl", "analyze", str(f), "-p", "cisco_ios", "--json")
    doc = json.loads(out)
    assert code == 0 and [r["index"] for r in doc["rules"]] == [1]
    assert doc["unparsed"] == [{"line": 2, "text": "permit ip any any dscp ef", "reason": "'dscp' is not modelled"}]


@needs_corpora
def test_query_json_shape_rule_and_default(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["acl", "query", str(DEPT), "--platform", "cisco_ios", "--acl", "RESTRICT_HOST_TRAFFIC_IN", "--json"]
    code, out, err = run(capsys, *base, "--src", "2.128.0.9", "--dst", "8.8.8.8", "--proto", "tcp", "--dport", "443")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["action"] == "permit"
    assert doc["rule"] == {
        "acl": "RESTRICT_HOST_TRAFFIC_IN",
        "index": 1,
        "line": 111,
        "text": "permit ip 2.128.0.0 0.0.255.255 any",
    }
    code, out, _ = run(capsys, *base, "--src", "9.9.9.9", "--dst", "2.128.0.9", "--proto", "icmp")
    assert json.loads(out) == {
        "action": "deny",
        "rule": {"acl": "RESTRICT_HOST_TRAFFIC_IN", "index": 2, "line": 112, "text": "deny   ip any any"},
    }
    f = DEPT.parent.parent / "configs" / "as2core1.cfg"
    code, out, _ = run(
        capsys, "acl", "query", str(f), "-p", "cisco_ios", "--acl", "blocktelnet", "--json",
        "--src", "2001:db8::1", "--dst", "2001:db8::2", "--proto", "6", "--dport", "23",
    )  # fmt: skip
    assert code == 0 and json.loads(out) == {"action": "deny", "rule": None}  # IPv6 misses an IPv4 ACL


@needs_corpora
def test_compare_exit_codes_and_witness(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ios, eos = CAPIRCA / "sample_multitarget.acl", CAPIRCA / "sample_multitarget.eacl"
    code, out, err = run(
        capsys, "acl", "compare", str(ios), str(eos), "-p", "cisco_ios", "--platform-b", "arista_eos",
        "--acl", "edge-inbound", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["equivalent"] is True and json.loads(out)["witness"] is None
    altered = tmp_path / "altered.eacl"
    altered.write_text(eos.read_text().replace("permit udp any range 1024 65535 host 200.1.1.1", "remark gone"))
    code, out, _ = run(
        capsys, "acl", "compare", str(ios), str(altered), "-p", "cisco_ios", "--platform-b", "arista_eos",
        "--acl", "edge-inbound", "--json",
    )  # fmt: skip
    assert code == 1
    doc = json.loads(out)
    assert doc["equivalent"] is False
    witness = doc["witness"]
    packet = witness["packet"]
    assert packet["dst"] == "200.1.1.1" and packet["proto"] == 17 and packet["sport"] >= 1024
    assert witness["a"]["action"] == "permit" and witness["a"]["rule"]["text"].startswith("permit udp any range")
    assert witness["b"]["action"] == "deny"
    code, out, _ = run(
        capsys, "acl", "compare", str(ios), str(altered), "-p", "cisco_ios", "--platform-b", "arista_eos",
        "--acl", "edge-inbound",
    )  # fmt: skip
    assert code == 1 and "not equivalent" in out and "200.1.1.1" in out


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (b"\x7fELF\x00\x01\x02", ["analyze", "-p", "cisco_ios"], "binary"),
        (b"ip access-list extended X\n permit ip any any\n", ["analyze", "-p", "nosuch"], "unknown ACL platform"),
        (b"ip access-list extended X\n permit ip 10.0.0.999 0.0.0.255 any\n", ["analyze", "-p", "cisco_ios"],
         "line 2: invalid address"),
        (b"ip access-list extended X\n permit tcp any any eq 99999\n", ["analyze", "-p", "cisco_ios"], "line 2"),
        (b"ip access-list extended X\n permit ip any any\nip access-list extended Y\n deny ip any any\n",
         ["query", "-p", "cisco_ios", "--src", "1.1.1.1", "--dst", "2.2.2.2", "--proto", "tcp"], "name the ACL"),
        (b"ip access-list extended X\n permit ip any any\n",
         ["query", "-p", "cisco_ios", "--acl", "NOPE", "--src", "1.1.1.1", "--dst", "2.2.2.2", "--proto", "tcp"],
         "no ACL named 'NOPE'"),
        (b"ip access-list extended X\n permit ip any any\n",
         ["query", "-p", "cisco_ios", "--src", "1.1.1", "--dst", "2.2.2.2", "--proto", "tcp"], "invalid IP address"),
        (b"ip access-list extended X\n permit ip any any\n",
         ["query", "-p", "cisco_ios", "--src", "1.1.1.1", "--dst", "2.2.2.2", "--proto", "tcp", "--dport", "70000"],
         "--dport 70000"),
    ],
)  # fmt: skip
def test_bad_input_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, args: list[str], message: str
) -> None:
    f = tmp_path / "in.cfg"
    f.write_bytes(content)
    code, out, err = run(capsys, "acl", args[0], str(f), *args[1:])
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_missing_file_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "acl", "analyze", str(tmp_path / "absent.cfg"), "-p", "cisco_ios")
    assert code == 1 and err.startswith("error: cannot read") and err.count("\n") == 1


@needs_corpora
def test_console_script_exit_status(tmp_path: Path) -> None:
    """The installed `netwarden` entry point itself: compare exits 1 on a difference, 0 on equivalence."""
    # The script beside this interpreter (the venv's), whether or not the venv is on PATH.
    exe = str(Path(sys.executable).parent / "netwarden")
    assert Path(exe).exists() or shutil.which("netwarden"), "the netwarden console script is not installed"
    exe = exe if Path(exe).exists() else str(shutil.which("netwarden"))
    ios = CAPIRCA / "sample_multitarget.acl"
    xr = CAPIRCA / "sample_multitarget.xacl"
    same = subprocess.run(
        [exe, "acl", "compare", str(ios), str(xr), "-p", "cisco_ios", "--platform-b", "cisco_xr",
         "--acl", "edge-inbound"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert same.returncode == 0, same.stderr
    other = subprocess.run(
        [exe, "acl", "compare", str(ios), str(ios), "-p", "cisco_ios", "--acl", "edge-inbound",
         "--acl-b", "edge-outbound"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert other.returncode == 1 and "not equivalent" in other.stdout
    helptext = subprocess.run(
        [exe, "acl", "compare", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert "Exit status 0" in helptext.stdout
