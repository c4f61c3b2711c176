"""ICMP without the network: loss and jitter math, target ranges, packets and their parsers, options."""

from __future__ import annotations

import ipaddress
import itertools
import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netwarden.collect._sockets import (
    ICMP6_ECHO,
    ICMP_ECHO,
    checksum,
    echo_request,
    parse_raw_error,
)
from netwarden.collect._targets import HARD_MAX_ADDRESSES, parse_network, parse_targets
from netwarden.collect.icmp import PingOptions, PingStats, fast_success, jitter, summarize
from netwarden.collect.records import TargetResult
from netwarden.errors import InvalidInput

rtt = st.floats(min_value=0.0, max_value=10.0, allow_nan=False, allow_infinity=False)

# ---------------------------------------------------------------- jitter and loss


@given(st.lists(rtt, max_size=1))
def test_jitter_needs_two_samples(samples: list[float]) -> None:
    assert jitter(samples) is None


@given(st.lists(rtt, min_size=2, max_size=50))
def test_jitter_is_the_mean_absolute_difference_of_neighbours(samples: list[float]) -> None:
    value = jitter(samples)
    assert value is not None
    expected = sum(abs(samples[i] - samples[i - 1]) for i in range(1, len(samples))) / (len(samples) - 1)
    assert value == pytest.approx(expected)
    assert 0.0 <= value <= max(samples) - min(samples) + 1e-12


@given(rtt, st.integers(min_value=2, max_value=30))
def test_a_steady_series_has_no_jitter(value: float, n: int) -> None:
    assert jitter([value] * n) == 0.0


@given(st.lists(rtt, min_size=2, max_size=30), st.floats(min_value=0.0, max_value=5.0))
def test_jitter_ignores_a_constant_delay(samples: list[float], shift: float) -> None:
    assert jitter([s + shift for s in samples]) == pytest.approx(jitter(samples), abs=1e-9)


def test_jitter_by_hand() -> None:
    assert jitter([0.010, 0.012, 0.009, 0.009]) == pytest.approx((0.002 + 0.003 + 0.0) / 3)


@given(st.integers(min_value=1, max_value=200).flatmap(lambda n: st.tuples(st.just(n), st.lists(rtt, max_size=n))))
def test_summary_is_consistent(case: tuple[int, list[float]]) -> None:
    sent, samples = case
    stats = summarize(sent, samples)
    assert stats.sent == sent
    assert stats.received == len(samples)
    assert stats.loss == pytest.approx(100.0 * (sent - len(samples)) / sent)
    assert 0.0 <= stats.loss <= 100.0
    assert stats.rtts == tuple(samples)
    if samples:
        assert stats.rtt_min is not None and stats.rtt_avg is not None and stats.rtt_max is not None
        assert stats.rtt_min <= stats.rtt_avg + 1e-12
        assert stats.rtt_avg <= stats.rtt_max + 1e-12
    else:
        assert stats.loss == 100.0
        assert stats.rtt_min is stats.rtt_avg is stats.rtt_max is stats.jitter is None


def test_summary_by_hand() -> None:
    stats = summarize(4, [0.001, 0.003, 0.002])
    assert (stats.sent, stats.received, stats.loss) == (4, 3, 25.0)
    assert (stats.rtt_min, stats.rtt_max) == (0.001, 0.003)
    assert stats.rtt_avg == pytest.approx(0.002)
    assert stats.jitter == pytest.approx(0.0015)


@pytest.mark.parametrize(("sent", "samples"), [(1, [0.1, 0.2]), (-1, []), (2, [-0.5])])
def test_impossible_counts_are_refused(sent: int, samples: list[float]) -> None:
    with pytest.raises(InvalidInput):
        summarize(sent, samples)


@given(st.integers(min_value=1, max_value=20), rtt, st.floats(min_value=0, max_value=100))
def test_the_fast_records_equal_the_ordinary_ones(sent: int, value: float, elapsed: float) -> None:
    result = fast_success("127.0.0.1", sent, value, elapsed, "dgram")
    expected = TargetResult("127.0.0.1", True, summarize(sent, [value], "dgram"), elapsed=elapsed, attempts=sent)
    assert result == expected
    assert isinstance(result, TargetResult) and isinstance(result.value, PingStats)
    assert hash(result.value) == hash(expected.value)
    assert result.describe() == "127.0.0.1: ok"
    with pytest.raises(AttributeError):
        result.ok = False  # type: ignore[misc]
    with pytest.raises(AttributeError):
        result.value.sent = 0  # type: ignore[misc]


# ---------------------------------------------------------------- options


@pytest.mark.parametrize(
    "bad",
    [
        {"count": 0},
        {"retries": -1},
        {"retries": 11},
        {"timeout": 0},
        {"timeout": 61},
        {"interval": -1},
        {"concurrency": 0},
        {"rate": 0},
        {"mode": "icmp"},
        {"batch": 0},
    ],
)
def test_bad_options_are_invalid_input(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as err:
        PingOptions(**bad)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- target ranges


@pytest.mark.parametrize(
    "spec", ["", "   ", "10.0.0.0/33", "256.1.1.1", "10.0.0.0/8/8", "hello", "fe80::1%eth0", "10.0.0.0/-1", "::/129"]
)
def test_invalid_cidrs_are_one_line_invalid_input(spec: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_targets([spec])
    message = str(err.value)
    assert "\n" not in message
    assert "invalid CIDR" in message


@given(st.text(max_size=80))
@settings(max_examples=300)
def test_any_text_is_a_network_or_invalid_input(text: str) -> None:
    try:
        net = parse_network(text)
    except InvalidInput as exc:
        assert "\n" not in str(exc)
    else:
        assert net.version in (4, 6)


def test_non_strings_are_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        parse_targets([None])  # type: ignore[list-item]
    with pytest.raises(InvalidInput):
        parse_targets([])


@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=20, max_value=32), st.booleans())
def test_ipv4_ranges_expand_like_ipaddress(value: int, prefix: int, hosts_only: bool) -> None:
    net = ipaddress.IPv4Network((value, prefix), strict=False)
    targets = parse_targets([str(net)], hosts_only=hosts_only)
    got = list(targets)
    expected = [str(a) for a in (net.hosts() if hosts_only else net)]
    assert got == expected
    assert targets.total == len(expected)


@given(st.integers(min_value=0, max_value=2**128 - 1), st.integers(min_value=118, max_value=128), st.booleans())
def test_ipv6_ranges_expand_like_ipaddress(value: int, prefix: int, hosts_only: bool) -> None:
    net = ipaddress.IPv6Network((value, prefix), strict=False)
    targets = parse_targets([str(net)], hosts_only=hosts_only)
    got = list(targets)
    expected = [str(a) for a in (net.hosts() if hosts_only else net)]
    # the kernel's text form (what recvfrom reports) is what the sweep uses to match replies
    assert got == [socket.inet_ntop(socket.AF_INET6, ipaddress.IPv6Address(a).packed) for a in expected]
    assert targets.total == len(expected)


def test_host_bits_are_ignored_and_overlaps_merged() -> None:
    targets = parse_targets(["10.0.0.5/30", "10.0.0.4/31", "10.0.0.6", "10.0.1.0/31"], hosts_only=False)
    assert list(targets) == ["10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.1.0", "10.0.1.1"]


def test_a_single_string_is_one_target() -> None:
    assert list(parse_targets("127.0.0.1")) == ["127.0.0.1"]


def test_oversize_ranges_need_force() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_targets(["10.0.0.0/15"])
    assert "--force" in str(err.value)
    assert "131,070" in str(err.value)
    with pytest.raises(InvalidInput):
        parse_targets(["10.0.0.0/25", "10.1.0.0/25"], max_addresses=200)  # the total counts
    assert parse_targets(["10.0.0.0/15"], force=True).total == 2**17 - 2
    assert parse_targets(["10.0.0.0/24"], max_addresses=254).total == 254


def test_even_force_has_a_ceiling() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_targets(["2001:db8::/64"], force=True)
    assert "split" in str(err.value)
    assert parse_targets(["10.0.0.0/8"], force=True, hosts_only=False).total == HARD_MAX_ADDRESSES


def test_expansion_is_lazy() -> None:
    """A forced /8 yields its first addresses at once: nothing is built up front."""
    targets = parse_targets(["10.0.0.0/8"], force=True, hosts_only=False)
    assert list(itertools.islice(targets, 3)) == ["10.0.0.0", "10.0.0.1", "10.0.0.2"]


# ---------------------------------------------------------------- packets


@given(st.integers(min_value=0, max_value=0xFFFF), st.integers(min_value=0, max_value=0xFFFF), st.binary(max_size=64))
def test_echo_requests_carry_a_valid_checksum(ident: int, seq: int, token: bytes) -> None:
    packet = echo_request(socket.AF_INET, ident, seq, token)
    assert packet[0] == ICMP_ECHO
    assert struct.unpack("!HH", packet[4:8]) == (ident, seq)
    assert checksum(packet) == 0
    assert packet.endswith(token)
    assert echo_request(socket.AF_INET6, ident, seq, token)[0] == ICMP6_ECHO


def _ipv4_header(src: str, dst: str, proto: int, payload_len: int) -> bytes:
    head = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + payload_len,
        0,
        0,
        64,
        proto,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    return head


def _v4_error(kind: int, code: int, target: str, ident: int, seq: int) -> bytes:
    quoted = echo_request(socket.AF_INET, ident, seq, b"12345678")
    inner = _ipv4_header("127.0.0.1", target, 1, len(quoted)) + quoted
    icmp = struct.pack("!BBHI", kind, code, 0, 0) + inner
    return _ipv4_header("192.0.2.1", "127.0.0.1", 1, len(icmp)) + icmp


def _v6_error(kind: int, code: int, target: str, ident: int, seq: int) -> bytes:
    quoted = echo_request(socket.AF_INET6, ident, seq, b"12345678")
    inner = struct.pack(
        "!IHBB16s16s",
        6 << 28,
        len(quoted),
        58,
        64,
        socket.inet_pton(socket.AF_INET6, "::1"),
        socket.inet_pton(socket.AF_INET6, target),
    )
    return struct.pack("!BBHI", kind, code, 0, 0) + inner + quoted


@pytest.mark.parametrize(
    ("kind", "code", "reason"),
    [(3, 1, "no_route"), (3, 0, "no_route"), (3, 13, "refused"), (11, 0, "no_route"), (3, 4, "error")],
)
def test_ipv4_errors_name_the_target_and_the_request(kind: int, code: int, reason: str) -> None:
    error = parse_raw_error(_v4_error(kind, code, "10.1.2.3", 0x4242, 7), socket.AF_INET, 0x4242, "192.0.2.1")
    assert error is not None
    assert (error.target, error.seq, error.reason) == ("10.1.2.3", 7, reason)
    assert "192.0.2.1" in error.detail


@pytest.mark.parametrize(("kind", "code", "reason"), [(1, 0, "no_route"), (1, 1, "refused"), (1, 3, "no_route")])
def test_ipv6_errors_name_the_target_and_the_request(kind: int, code: int, reason: str) -> None:
    error = parse_raw_error(_v6_error(kind, code, "2001:db8::7", 0x4242, 9), socket.AF_INET6, 0x4242, "2001:db8::1")
    assert error is not None
    assert (error.target, error.seq, error.reason) == ("2001:db8::7", 9, reason)


def test_errors_about_other_programs_requests_are_ignored() -> None:
    assert parse_raw_error(_v4_error(3, 1, "10.1.2.3", 0x1111, 7), socket.AF_INET, 0x4242, "x") is None
    assert parse_raw_error(_v6_error(1, 0, "2001:db8::7", 0x1111, 7), socket.AF_INET6, 0x4242, "x") is None


@given(st.binary(max_size=120), st.sampled_from([socket.AF_INET, socket.AF_INET6]))
@settings(max_examples=500)
def test_garbage_never_raises(data: bytes, family: int) -> None:
    parse_raw_error(data, family, 0x4242, "192.0.2.1")


@given(st.binary(max_size=40))
def test_truncated_errors_never_raise(cut: bytes) -> None:
    whole = _v4_error(3, 1, "10.1.2.3", 0x4242, 7)
    for end in range(len(whole)):
        parse_raw_error(whole[:end] + cut, socket.AF_INET, 0x4242, "x")


@given(st.sets(st.integers(0, 63), min_size=1, max_size=64))
def test_addresses_named_one_by_one_are_all_swept(offsets: set[int]) -> None:
    """Neighbouring single addresses merge into blocks, but hosts_only never trims one that was named."""
    named = [f"10.9.0.{o}" for o in sorted(offsets)]
    assert sorted(parse_targets(named), key=lambda a: int(a.rsplit(".", 1)[1])) == named


def test_a_named_broadcast_is_swept_beside_its_range() -> None:
    targets = parse_targets(["10.0.0.0/30", "10.0.0.3", "10.0.0.1"])
    assert list(targets) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert targets.total == 3
