"""Bring-up and tear-down of a separate small lab: nothing is left behind, even after a crash."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from netwarden.lab import netns, runner
from netwarden.lab.api import Lab
from netwarden.lab.state import lab_dir
from netwarden.lab.topology import parse_topology
from tests.lab.conftest import free_mgmt_cidr, require_root, unique_prefix

pytestmark = pytest.mark.lab

PREFIX = unique_prefix("nwl")
MINI = parse_topology(
    """
name: mini
nodes:
  r1: {kind: router, ospf: {area: 0, redistribute_bgp: true}, bgp: {asn: 65001, peers: [r3]}}
  r2: {kind: router, ospf: {area: 0}}
  r3: {kind: router, bgp: {asn: 65003, peers: [r1]}}
  h1: {kind: host, traffic: [r2]}
links:
  - endpoints: [r1:eth1, r2:eth1]
  - endpoints: [r2:eth2, h1:eth1]
  - endpoints: [r1:eth2, r3:eth1]
""",
    "mini",
)


def _leftovers(prefix: str) -> dict[str, object]:
    procs = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if (f"{prefix}-" in cmd or f"/{prefix}/" in cmd) and netns.alive(int(entry.name)):
            procs.append(cmd)
    try:
        pwd.getpwnam(prefix)
        user = True
    except KeyError:
        user = False
    return {
        "namespaces": netns.namespaces(prefix),
        "links": netns.host_links(prefix),
        "processes": procs,
        "run_dir": lab_dir(prefix).exists(),
        "frr_dirs": [str(p) for p in Path("/var/run/frr").glob(f"{prefix}-*")]
        + [str(p) for p in Path("/etc/frr").glob(f"{prefix}-*")],
        "user": user,
    }


NOTHING = {"namespaces": [], "links": [], "processes": [], "run_dir": False, "frr_dirs": [], "user": False}


def test_small_lab_converges_and_down_leaves_nothing() -> None:
    require_root()
    runner.down(PREFIX)
    lab = Lab.start(MINI, prefix=PREFIX, mgmt_cidr=free_mgmt_cidr(), timeout=60)
    try:
        assert lab.ping("h1", "r3").ok
        assert lab.state.converged
    finally:
        lab.down()
    runner.wait_gone(PREFIX)
    assert _leftovers(PREFIX) == NOTHING
    runner.down(PREFIX)  # idempotent
    assert _leftovers(PREFIX) == NOTHING


def test_down_sweeps_a_crashed_lab_without_its_state_file() -> None:
    require_root()
    runner.down(PREFIX)
    Lab.start(MINI, prefix=PREFIX, mgmt_cidr=free_mgmt_cidr(), traffic=False, timeout=60)
    (lab_dir(PREFIX) / "state.json").unlink()  # as if up had died before saving
    runner.down(PREFIX)
    runner.wait_gone(PREFIX)
    assert _leftovers(PREFIX) == NOTHING


def test_every_lab_command_says_it_needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to an unprivileged user")
    netwarden = Path(sys.executable).parent / "netwarden"
    unreadable = next((d for d in netwarden.parents if not os.stat(d).st_mode & 0o001), None)
    if unreadable is not None:  # e.g. a checkout inside `mktemp -d` (mode 0700): nobody cannot start netwarden
        pytest.skip(f"{unreadable} is closed to other users, so netwarden cannot run as nobody from this checkout")
    for args in (["up"], ["status"], ["down"], ["heal"], ["fault", "link-down", "r1", "r2"]):
        proc = subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", str(netwarden), "lab", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 1
        assert proc.stderr.count("\n") == 1 and "needs root" in proc.stderr, (args, proc.stderr)
