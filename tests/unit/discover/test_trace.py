"""Reading traceroute output (Linux traceroute, which FRR's vtysh also runs, and Cisco's)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from netwarden.discover.trace import parse_traceroute

LINUX = """traceroute to 10.0.0.22 (10.0.0.22), 16 hops max, 60 byte packets
 1  10.1.20.1  0.070 ms
 2  *
 3  10.254.0.2  1.760 ms
 4  10.0.0.18  2.324 ms
 5  10.0.0.22  2.339 ms
"""

LINUX_MULTI = """traceroute to 2001:db8::9 (2001:db8::9), 30 hops max, 80 byte packets
 1  2001:db8:1::1  0.101 ms  0.080 ms  0.077 ms
 2  * 2001:db8:2::1  0.5 ms *
 3  2001:db8::9  0.9 ms
"""

CISCO = """Type escape sequence to abort.
Tracing the route to 192.0.2.9
VRF info: (vrf in name/id, vrf out name/id)
  1 10.1.1.1 1 msec
  2 10.1.2.1 [AS 65002] 2 msec
  3 *
  4 192.0.2.9 4 msec
"""


def test_linux_and_frr() -> None:
    assert parse_traceroute(LINUX) == ["10.1.20.1", None, "10.254.0.2", "10.0.0.18", "10.0.0.22"]


def test_ipv6_and_partial_hops() -> None:
    assert parse_traceroute(LINUX_MULTI) == ["2001:db8:1::1", "2001:db8:2::1", "2001:db8::9"]


def test_cisco() -> None:
    assert parse_traceroute(CISCO) == ["10.1.1.1", "10.1.2.1", None, "192.0.2.9"]


@given(st.text(max_size=400))
def test_garbage_never_crashes(text: str) -> None:
    hops = parse_traceroute(text)
    assert isinstance(hops, list)
