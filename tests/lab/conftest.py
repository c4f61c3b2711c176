"""The lab fixture: the default topology, brought up once per session under its own prefix.

It uses the prefix ``nwtest`` and management subnet 198.18.100.0/24, so it never
collides with a demo lab (``nwlab``, 198.18.0.0/24) running on the same machine.
Faults a test leaves behind are healed before the next test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

TEST_PREFIX = "nwtest"
TEST_MGMT = "198.18.100.0/24"


@pytest.fixture(scope="session")
def lab_session() -> Iterator[object]:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (CAP_NET_ADMIN): run the lab tests as root ('make test' does)")
    from netwarden.lab import runner
    from netwarden.lab.api import Lab

    runner.down(TEST_PREFIX)  # leftovers of an interrupted run
    lab = Lab.start(prefix=TEST_PREFIX, mgmt_cidr=TEST_MGMT, timeout=60)
    try:
        yield lab
    finally:
        runner.down(TEST_PREFIX)


@pytest.fixture
def lab(lab_session: object) -> Iterator[object]:
    """The session lab, healed after the test if the test left a fault."""
    yield lab_session
    from netwarden.lab.api import Lab

    assert isinstance(lab_session, Lab)
    if lab_session.state.faults:
        lab_session.heal()
