"""The normalisers every parser shares: MACs, speeds, statuses, addresses, durations (examples and properties)."""

from __future__ import annotations

import contextlib
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netwarden.collect.parsers.common import (
    ParseError,
    duration,
    ip_or_none,
    mac,
    mac_or_empty,
    network,
    prefix,
    speed,
    status,
)
from netwarden.errors import InvalidInput, NetwardenError


@pytest.mark.parametrize(
    "raw",
    ["aabb.ccdd.eeff", "AA:BB:CC:DD:EE:FF", "aa-bb-cc-dd-ee-ff", "aabbccddeeff", " AABB.CCDD.EEFF "],
)
def test_mac_spellings(raw: str) -> None:
    assert mac(raw) == "aa:bb:cc:dd:ee:ff"


def test_mac_with_dropped_leading_zeros() -> None:
    assert mac("0:1:2:a:b:c") == "00:01:02:0a:0b:0c"


@pytest.mark.parametrize(
    "raw", ["", "Incomplete", "00de.333.111", "aabb.ccdd.eef", "aa:bb:cc:dd:ee:gg", "a.abbccddeeff"]
)
def test_bad_macs(raw: str) -> None:
    with pytest.raises(ParseError):
        mac(raw)
    assert mac_or_empty(raw) == ""


@given(st.binary(min_size=6, max_size=6), st.sampled_from(["colon", "dash", "cisco", "bare"]), st.booleans())
def test_mac_round_trip(octets: bytes, layout: str, upper: bool) -> None:
    hexes = [f"{b:02x}" for b in octets]
    text = {
        "colon": ":".join(hexes),
        "dash": "-".join(hexes),
        "cisco": ".".join("".join(hexes[i : i + 2]) for i in (0, 2, 4)),
        "bare": "".join(hexes),
    }[layout]
    assert mac(text.upper() if upper else text) == ":".join(hexes)


@pytest.mark.parametrize(
    ("raw", "unit", "bps"),
    [
        ("1000Mb/s", "", 10**9),
        ("1000Mbps", "", 10**9),
        ("10Gb/s", "", 10**10),
        ("10 Gb/s", "", 10**10),
        ("100 Mb/s", "", 10**8),
        ("100000 Kbit", "", 10**8),
        ("1000000 kbit", "", 10**9),
        ("BW 100000 Kbit", "", 10**8),
        ("10G", "", 10**10),
        ("2.5Gbps", "", 2_500_000_000),
        ("1000", "m", 10**9),
        (10000, "m", 10**10),
    ],
)
def test_speeds(raw: str | int, unit: str, bps: int) -> None:
    assert speed(raw, default_unit=unit) == bps


@pytest.mark.parametrize("raw", ["", "Auto-speed", "Auto Speed", "auto-speed", "unknown", None])
def test_unknown_speeds(raw: str | None) -> None:
    assert speed(raw) is None


def test_unreadable_speed() -> None:
    with pytest.raises(ParseError):
        speed("10 furlongs")


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from([("K", 10**3), ("M", 10**6), ("G", 10**9)]))
def test_speed_units(n: int, unit: tuple[str, int]) -> None:
    assert speed(f"{n} {unit[0]}b/s") == n * unit[1]
    assert speed(f"{n}{unit[0].lower()}bps") == n * unit[1]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("up", "up"),
        ("Up", "up"),
        ("administratively down", "down"),
        ("down (Link not connected)", "down"),
        ("up (connected)", "up"),
        ("notconnect", "down"),
        ("Enabled", "up"),
        ("lowerlayerdown (notconnect)", "lowerLayerDown"),
        ("notpresent (disabled)", "notPresent"),
        ("up, autostate enabled", "up"),
        ("testing", "testing"),
        ("reset", "unknown"),
        ("", "unknown"),
    ],
)
def test_statuses(raw: str, expected: str) -> None:
    assert status(raw) == expected


@pytest.mark.parametrize(
    ("address", "length", "expected"),
    [
        ("10.0.0.1", "24", "10.0.0.1/24"),
        ("10.0.0.1", "255.255.255.0", "10.0.0.1/24"),
        ("10.0.0.1/30", None, "10.0.0.1/30"),
        ("FE80::0001", "64", "fe80::1/64"),
    ],
)
def test_prefix(address: str, length: str | None, expected: str) -> None:
    assert prefix(address, length) == expected


@pytest.mark.parametrize(
    ("address", "length"), [("unassigned", "24"), ("10.0.0.1", None), ("10.0.0.1", "33"), ("", "")]
)
def test_bad_prefix(address: str, length: str | None) -> None:
    with pytest.raises(ParseError):
        prefix(address, length)


@given(st.ip_addresses(), st.data())
def test_prefix_and_network_agree_with_ipaddress(
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address, data: st.DataObject
) -> None:
    length = data.draw(st.integers(min_value=0, max_value=addr.max_prefixlen))
    iface = ipaddress.ip_interface(f"{addr}/{length}")
    assert prefix(str(addr), str(length)) == f"{iface.ip.compressed}/{length}"
    assert network(str(addr), length) == iface.network.compressed


def test_ip_or_none() -> None:
    assert ip_or_none("10.0.0.1") == "10.0.0.1"
    assert ip_or_none("2cc2.6081.eaf9") is None
    assert ip_or_none("") is None


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("2 years, 31 weeks, 6 days, 9 hours, 55 minutes", 2 * 31536000 + 31 * 604800 + 6 * 86400 + 9 * 3600 + 3300),
        ("123 day(s), 5 hour(s), 15 minute(s), 19 second(s)", 123 * 86400 + 5 * 3600 + 15 * 60 + 19),
        ("134 weeks, 5 days, 23 hours and 44 minutes", 134 * 604800 + 5 * 86400 + 23 * 3600 + 44 * 60),
        ("3w0d", 3 * 604800),
        ("1d02h", 86400 + 7200),
        ("00:01:22", 82),
        ("5 days, 02:03:04", 5 * 86400 + 7384),
        ("1m15s", 75),
        ("38.744s", 38.744),
        ("12 seconds", 12),
    ],
)
def test_durations(raw: str, seconds: float) -> None:
    assert duration(raw) == pytest.approx(seconds)


@pytest.mark.parametrize("raw", ["never", "", "-"])
def test_no_duration(raw: str) -> None:
    assert duration(raw) is None


def test_unreadable_duration() -> None:
    with pytest.raises(ParseError):
        duration("42 parsecs")


@given(
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=0, max_value=6),
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=0, max_value=59),
)
def test_duration_words_add_up(w: int, d: int, h: int, m: int) -> None:
    text = f"{w} weeks, {d} days, {h} hours, {m} minutes"
    assert duration(text) == w * 604800 + d * 86400 + h * 3600 + m * 60
    assert duration(f"{w}w{d}d") == w * 604800 + d * 86400


def test_parse_error_is_a_netwarden_input_error() -> None:
    assert issubclass(ParseError, InvalidInput) and issubclass(ParseError, NetwardenError)


@given(st.text(max_size=80))
def test_normalisers_never_crash(text: str) -> None:
    for fn in (mac, speed, duration, lambda t: prefix(t, "24"), lambda t: network(t)):
        with contextlib.suppress(ParseError):
            fn(text)
    assert status(text) in {"up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown"}
