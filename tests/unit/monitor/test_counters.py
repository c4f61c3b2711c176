"""Counter rates and the poller's turning of readings into points and events."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from netwarden.collect.icmp import PingStats
from netwarden.monitor.counters import WRAP32, rate, utilisation
from netwarden.monitor.poller import IfReading, Poller, SnmpReading, Target


@given(st.integers(0, WRAP32 - 1), st.integers(0, 10**9), st.floats(1, 600))
def test_32_bit_wrap_gives_the_true_rate(old: int, delta: int, dt: float) -> None:
    new = (old + delta) % WRAP32
    got = rate(old, 0.0, new, dt, bits=32)
    assert got.reason is None and got.value is not None
    assert abs(got.value - delta / dt) < 1e-6 * max(1.0, delta / dt)


def test_64_bit_counter_going_back_is_a_reset() -> None:
    assert rate(10**12, 0, 5, 60, bits=64).reason == "reset"


def test_reboot_clock_and_absurd_values_give_no_rate() -> None:
    assert rate(100, 0, 200, 60, rebooted=True).reason == "reset"
    assert rate(100, 60, 200, 60).reason == "clock"
    assert rate(100, 60, 200, 30).reason == "clock"
    assert rate(0, 0, 10**12, 1, ceiling=1.25e8).reason == "absurd"
    assert rate(0, 0, 600, 60).value == 10.0


def test_utilisation() -> None:
    assert utilisation(5e8, 10**9) == 50.0
    assert utilisation(5e8, None) is None
    assert utilisation(2e9, 10**9) == 100.0


def _reading(ts: float, uptime: float, octets: int, oper: bool = True, errors: int = 0) -> SnmpReading:
    eth = IfReading("eth1", True, oper, 10**9, octets, octets // 2, 64, {"in_errors": errors}, oper_down=not oper)
    return SnmpReading(ts=ts, uptime=uptime, interfaces={"eth1": eth}, cpu_pct=12.0, mem_used_pct=40.0, response_ms=3)


T = Target("r1", "127.0.0.1")


def test_rates_points_and_no_event_on_a_healthy_first_round() -> None:
    p = Poller()
    first = p.interfaces(T, _reading(0, 100, 1000))
    assert not first.events
    assert {pt.metric for pt in first.points} == {"snmp_ms", "uptime_seconds", "cpu_pct", "mem_used_pct", "if_oper_up"}
    second = p.interfaces(T, _reading(60, 160, 1000 + 60 * 1000, errors=120))
    got = {(pt.metric, pt.instance): pt.value for pt in second.points}
    assert got[("if_in_bps", "eth1")] == 8000.0
    assert got[("if_out_bps", "eth1")] == 4000.0
    assert got[("if_in_errors_ps", "eth1")] == 2.0
    assert got[("if_util_pct", "eth1")] == 100 * 8000 / 10**9


def test_interface_down_then_up_are_two_events_and_nothing_in_between() -> None:
    p = Poller()
    p.interfaces(T, _reading(0, 100, 0))
    down = p.interfaces(T, _reading(60, 160, 0, oper=False))
    assert [(e.kind, e.subject) for e in down.events] == [("interface_down", "r1:eth1")]
    assert p.interfaces(T, _reading(120, 220, 0, oper=False)).events == []
    up = p.interfaces(T, _reading(180, 280, 0))
    assert [e.kind for e in up.events] == ["interface_up"]


def test_a_reboot_is_an_event_and_gives_no_spike() -> None:
    p = Poller()
    p.interfaces(T, _reading(0, 10_000, 10**12))
    after = p.interfaces(T, _reading(60, 30, 5_000))
    assert [e.kind for e in after.events] == ["reboot"]
    assert not any(pt.metric.endswith("_bps") for pt in after.points)
    assert after.skipped["reset"] >= 1


def _ping(received: int) -> PingStats:
    rtts = (0.001,) * received
    return PingStats(3, received, 100 * (3 - received) / 3, None, 0.001 if received else None, None, None, rtts)


def test_device_down_and_up_events_follow_ping() -> None:
    p = Poller()
    assert p.availability(T, _ping(3), 0).events == []
    assert [e.kind for e in p.availability(T, _ping(0), 60).events] == ["device_down"]
    assert p.availability(T, _ping(0), 120).events == []
    assert [e.kind for e in p.availability(T, _ping(2), 180).events] == ["device_up"]
    # A device seen down at first sight is reported at once.
    fresh = Poller()
    assert [e.kind for e in fresh.availability(T, _ping(0), 0).events] == ["device_down"]


def test_a_port_in_service_that_is_shut_alerts_but_one_shut_from_the_start_never_does() -> None:
    from netwarden.monitor.poller import Poller, PollOutcome, Target

    def reading(admin: bool, oper: bool) -> IfReading:
        return IfReading("eth1", admin, oper, None, None, None, 64, {}, oper_down=not oper)

    target = Target("r1", "127.0.0.1")
    kinds: list[list[str]] = []
    for _name, states in (
        ("shut", [(False, False), (False, False), (True, True)]),
        ("cut", [(True, True), (False, False), (False, False), (True, True)]),
    ):
        poller = Poller()
        seen = []
        for admin, oper in states:
            out = PollOutcome("r1")
            poller._interface_event(out, target, reading(admin, oper))
            seen.append(",".join(e.kind for e in out.events))
        kinds.append(seen)
    assert kinds[0] == ["", "", ""]
    assert kinds[1] == ["", "interface_down", "", "interface_up"]
