"""The lab fixture: the default topology, brought up once per session under its own prefix.

Each pytest process gets its own prefix (``nwt`` + its pid in base 36) and a free
management /24 in 198.18.100.0-198.18.199.0, so a demo lab (``nwlab``,
198.18.0.0/24) and test runs started by other people on the same machine never
collide. Labs left by test processes that died are swept at session start.
Faults a test leaves behind are healed before the next test.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from collections.abc import Iterator

import pytest

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
TEST_STEMS = ("nwt", "nwl")  # session lab, lifecycle labs


def _base36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = DIGITS[r] + out
        if not n:
            return out


def unique_prefix(stem: str) -> str:
    """A lab prefix unique to this pytest process."""
    return f"{stem}{_base36(os.getpid())}"


def free_mgmt_cidr(skip: int = 0) -> str:
    """The first 198.18.N.0/24 (N = 100..199) that the host does not route yet."""
    routes = json.loads(subprocess.run(["ip", "-j", "route"], capture_output=True, text=True).stdout or "[]")
    used = []
    for route in routes:
        dst = route.get("dst", "")
        if dst and dst != "default":
            used.append(ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False))
    free = [n for n in range(100, 200) if not any(ipaddress.IPv4Network(f"198.18.{n}.0/24").overlaps(u) for u in used)]
    return f"198.18.{free[skip]}.0/24"


def sweep_dead_test_labs() -> None:
    """Remove labs whose prefix names a test process that is gone."""
    from netwarden.lab import runner
    from netwarden.lab.state import known_prefixes

    listed = json.loads(subprocess.run(["ip", "-j", "netns"], capture_output=True, text=True).stdout or "[]")
    prefixes = set(known_prefixes()) | {str(e.get("name", "")).split("-")[0] for e in listed}
    for prefix in prefixes:
        stem, tail = prefix[:3], prefix[3:]
        if stem not in TEST_STEMS or not tail or any(c not in DIGITS for c in tail):
            continue
        if not os.path.exists(f"/proc/{int(tail, 36)}"):
            runner.down(prefix)


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (CAP_NET_ADMIN): run the lab tests as root ('make test' does)")


@pytest.fixture(scope="session")
def lab_session() -> Iterator[object]:
    require_root()
    from netwarden.lab import runner
    from netwarden.lab.api import Lab

    sweep_dead_test_labs()
    prefix = unique_prefix("nwt")
    runner.down(prefix)
    lab = Lab.start(prefix=prefix, mgmt_cidr=free_mgmt_cidr(), timeout=90)
    try:
        yield lab
    finally:
        runner.down(prefix)


@pytest.fixture
def lab(lab_session: object) -> Iterator[object]:
    """The session lab, healed after the test if the test left a fault."""
    yield lab_session
    from netwarden.lab.api import Lab

    assert isinstance(lab_session, Lab)
    if lab_session.state.faults:
        lab_session.heal()
