"""The simulated SNMP fleet, checked from outside with net-snmp's own tools.

Every device must answer v2c with its kind's recorded sysObjectID and its own name,
v3 authPriv must work (and a wrong key must not), the large kind must have the
interface table the benchmarks walk, and ``down`` must leave no simulator behind,
also after a crash.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwarden.lab import fleet, netns
from tests.lab.conftest import require_root

pytestmark = pytest.mark.lab

DEVICES = 30
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
IF_TABLE = "1.3.6.1.2.1.2.2"
IF_INDEX = "1.3.6.1.2.1.2.2.1.1"


def _snmp(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool, "-On", "-OQ", "-t", "2", "-r", "2", *args], capture_output=True, text=True, timeout=60, check=False
    )


def _values(out: str) -> dict[str, str]:
    """``-On -OQ`` lines (``.OID = value``) as {oid: value}."""
    found = {}
    for line in out.splitlines():
        oid, _, value = line.partition(" = ")
        found[oid.lstrip(".")] = value.strip().strip('"')
    return found


def _v2c(address: str, *oids: str) -> dict[str, str]:
    proc = _snmp("snmpget", "-v2c", "-c", fleet.COMMUNITY, f"{address}:{fleet.PORT}", *oids)
    assert proc.returncode == 0, f"{address}: {proc.stderr.strip()}"
    return _values(proc.stdout)


def _v3(state: fleet.FleetState, address: str, auth_key: str) -> subprocess.CompletedProcess[str]:
    assert state.v3 is not None
    return _snmp(
        "snmpget",
        *("-v3", "-l", "authPriv", "-u", state.v3.user, "-a", "SHA", "-A", auth_key),
        *("-x", "AES", "-X", state.v3.priv_key, "-n", state.v3.context),
        f"{address}:{fleet.PORT}",
        SYS_NAME,
    )


def _recorded_rows(kind: str, prefix: str) -> int:
    with fleet.recording(kind).open() as fh:
        return sum(1 for line in fh if line.startswith(prefix + "."))


def _simulators() -> list[int]:
    """Every live simulator process whose command line names the fleet's directory."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().decode(errors="replace")
            state = (entry / "status").read_text()
        except OSError:
            continue
        zombie = any(line.startswith("State:") and "Z" in line.split()[1] for line in state.splitlines())
        if fleet.PROGRAM in cmd and str(fleet.fleet_dir()) in cmd and not zombie:
            pids.append(int(entry.name))
    return pids


@pytest.fixture(scope="module")
def up() -> Iterator[fleet.FleetState]:
    require_root()
    try:
        fleet.require_venv()
    except fleet.FleetVenvMissing as exc:
        pytest.fail(str(exc))  # make test builds the venv; its absence is a setup bug, not a reason to skip
    if fleet.fleet_status().devices:
        pytest.skip("a simulated fleet is already up on this machine (someone's benchmark?): not touching it")
    state = fleet.fleet_up(DEVICES, store_credentials=False)
    try:
        yield state
    finally:
        fleet.fleet_down()


def test_every_device_answers_v2c_as_its_kind_with_its_own_name(up: fleet.FleetState) -> None:
    assert up.devices == DEVICES == len(up.targets)
    assert set(up.kinds) == set(fleet.KINDS)
    assert len(up.processes) == -(-DEVICES // fleet.PER_PROCESS)
    info = {kind: fleet.kind_info(kind) for kind in fleet.KINDS}
    assert len({i.sys_object_id for i in info.values()}) == len(fleet.KINDS)
    assert len({i.sys_descr for i in info.values()}) == len(fleet.KINDS)
    for target in up.targets:
        got = _v2c(target.address, SYS_OBJECT_ID, SYS_NAME)
        assert got[SYS_OBJECT_ID].lstrip(".") == info[target.kind].sys_object_id, target
        assert got[SYS_NAME] == target.name
    assert len({t.name for t in up.targets}) == DEVICES


def test_other_addresses_and_communities_get_no_answer(up: fleet.FleetState) -> None:
    beyond = fleet.address(DEVICES)
    assert _snmp("snmpget", "-v2c", "-c", "public", f"{beyond}:{fleet.PORT}", SYS_NAME).returncode != 0
    first = up.targets[0].address
    wrong = _snmp("snmpget", "-v2c", "-c", "private", "-t", "1", "-r", "0", f"{first}:{fleet.PORT}", SYS_NAME)
    assert wrong.returncode != 0


def test_v3_auth_priv_works_and_a_wrong_key_is_refused(up: fleet.FleetState) -> None:
    assert up.v3 is not None
    target = up.targets[-1]
    ok = _v3(up, target.address, up.v3.auth_key)
    assert ok.returncode == 0, ok.stderr
    assert _values(ok.stdout)[SYS_NAME] == target.name
    bad = _v3(up, target.address, "not-the-key-" + up.v3.auth_key[:4])
    assert bad.returncode != 0
    assert "authentication" in (bad.stderr + bad.stdout).lower() or "digest" in (bad.stderr + bad.stdout).lower()


def test_netwarden_client_reads_the_fleet_over_v3(up: fleet.FleetState) -> None:
    from netwarden.collect.snmp import V3, Session

    assert up.v3 is not None
    v3 = up.v3
    target = up.targets[1]
    auth = V3(v3.user, "sha", v3.auth_key, "aes", v3.priv_key, context=v3.context)

    async def read() -> list[tuple[str, object]]:
        async with Session(target.address, auth, port=up.port, timeout=2, retries=2) as s:
            return list(await s.get([SYS_NAME]))

    [(oid, value)] = asyncio.run(read())
    assert oid == SYS_NAME
    assert value == target.name.encode()


def test_large_kind_has_the_recorded_interface_table(up: fleet.FleetState) -> None:
    info = fleet.kind_info("arista_eos")
    target = next(t for t in up.targets if t.kind == "arista_eos")
    rows = _snmp("snmpbulkwalk", "-v2c", "-c", fleet.COMMUNITY, f"{target.address}:{fleet.PORT}", IF_INDEX)
    assert rows.returncode == 0, rows.stderr
    assert len(_values(rows.stdout)) == info.interfaces == 27
    table = _snmp("snmpbulkwalk", "-v2c", "-c", fleet.COMMUNITY, f"{target.address}:{fleet.PORT}", IF_TABLE)
    varbinds = len(_values(table.stdout))
    assert varbinds == _recorded_rows("arista_eos", IF_TABLE)
    assert 500 <= varbinds <= 700  # the benchmark's ~600-varbind walk


def test_up_twice_same_size_keeps_the_fleet_other_size_is_refused(up: fleet.FleetState) -> None:
    again = fleet.fleet_up(DEVICES, store_credentials=False)
    assert [p.pid for p in again.processes] == [p.pid for p in up.processes]
    with pytest.raises(fleet.FleetAlreadyUp):
        fleet.fleet_up(DEVICES + 1, store_credentials=False)


def test_cli_status_json_has_the_documented_shape(up: fleet.FleetState) -> None:
    netwarden = Path(sys.executable).parent / "netwarden"
    proc = subprocess.run(
        [str(netwarden), "lab", "fleet", "status", "--json"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["devices"] == DEVICES and data["port"] == 1161 and data["community"] == "public"
    assert set(data["v3"]) >= {"user", "auth_protocol", "priv_protocol"}
    assert up.v3 is not None and up.v3.auth_key not in proc.stdout and up.v3.priv_key not in proc.stdout
    assert [p["pid"] for p in data["processes"]] == [p.pid for p in up.processes]
    assert sum(p["endpoints"] for p in data["processes"]) == DEVICES
    assert data["kinds"] == up.kinds
    assert [(t["address"], t["kind"]) for t in data["targets"]] == [(t.address, t.kind) for t in up.targets]


def test_down_leaves_nothing_and_is_idempotent(up: fleet.FleetState) -> None:
    assert _simulators()
    result = fleet.fleet_down()
    assert result.devices == DEVICES and result.stopped == len(up.processes)
    assert _simulators() == []
    assert fleet.fleet_status().devices == 0
    assert not fleet.fleet_dir().exists()
    assert _snmp(
        "snmpget", "-v2c", "-c", "public", "-t", "1", "-r", "0", f"{up.targets[0].address}:1161", SYS_NAME
    ).returncode
    assert fleet.fleet_down().stopped == 0


def test_down_after_the_state_file_is_lost_and_up_after_a_crash() -> None:
    require_root()
    if fleet.fleet_status().devices:
        pytest.skip("a simulated fleet is already up on this machine: not touching it")
    state = fleet.fleet_up(4, store_credentials=False)
    try:
        fleet.state_file().unlink()  # state lost: down must still find the process
        assert fleet.fleet_down().stopped == 1
        assert _simulators() == []

        crashed = fleet.fleet_up(4, store_credentials=False)
        os.kill(crashed.processes[0].pid, signal.SIGKILL)  # the simulator died; its state file remains
        netns.wait_for(lambda: not netns.alive(crashed.processes[0].pid), 10, "the killed simulator to exit")
        fresh = fleet.fleet_up(4, store_credentials=False)
        assert fresh.processes[0].pid != crashed.processes[0].pid
        assert _v2c(fresh.targets[0].address, SYS_NAME)[SYS_NAME] == fresh.targets[0].name
    finally:
        fleet.fleet_down()
    assert _simulators() == []
    assert state.devices == 4
