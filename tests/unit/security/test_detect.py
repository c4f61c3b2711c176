"""Built-in detections over normalised log events: thresholds, windows, overrides, evidence."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from netwarden.errors import ConfigError
from netwarden.security.detect.bursts import bursts
from netwarden.security.detect.context import ChangeWindow, DetectContext
from netwarden.security.detect.engine import Engine
from netwarden.security.detect.model import Detection
from netwarden.security.logs.model import LogEvent

T0 = dt.datetime(2026, 3, 2, 14, 0, 0, tzinfo=dt.UTC)
ATTACKER = "203.0.113.7"


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def stamp(seconds: float) -> str:
    return at(seconds).strftime("%b %e %H:%M:%S")


def ev(seconds: float, kind: str, raw: str, host: str = "srv1", **kw: Any) -> LogEvent:
    return LogEvent(time=at(seconds), host=host, kind=kind, raw=raw, **kw)


def sshd_failure(seconds: float, user: str, port: int, src: str = ATTACKER, host: str = "srv1") -> list[LogEvent]:
    """What sshd logs for one password attempt with an unknown user: two lines for one attempt."""
    head = f"{stamp(seconds)} {host} sshd[{port}]:"
    common = {"host": host, "app": "sshd", "source_ip": src, "source_port": port, "user": user, "parser": "test"}
    return [
        ev(seconds, "auth-invalid-user", f"{head} Invalid user {user} from {src} port {port}", **common),
        ev(
            seconds + 0.5,
            "auth-failure",
            f"{head} Failed password for invalid user {user} from {src} port {port} ssh2",
            outcome="failure",
            **common,
        ),
    ]


def run(events: list[LogEvent], ctx: DetectContext | None = None, **overrides: dict[str, Any]) -> list[Detection]:
    engine = Engine([{"rule": name, **o} for name, o in overrides.items()])
    return engine.run(events, ctx).detections


def by_rule(found: list[Detection], rule: str) -> list[Detection]:
    return [d for d in found if d.rule == rule]


# ---------------------------------------------------------------- authentication


def test_brute_force_counts_attempts_not_lines_and_keeps_every_line_as_evidence() -> None:
    events = [e for i in range(6) for e in sshd_failure(i * 5, "admin", 40000 + i)]
    [d] = by_rule(run(events), "brute-force")
    assert (d.host, d.source_ip, d.user, d.target) == ("srv1", ATTACKER, "admin", "srv1")
    assert d.count == 6  # six attempts, twelve lines
    assert d.evidence == [e.raw for e in events]
    assert (d.first, d.last) == (events[0].time, events[-1].time)
    assert d.details["service"] == "ssh" and "SSH brute force" in d.summary
    public = d.public()
    assert list(public)[:8] == ["rule", "host", "source_ip", "user", "first", "last", "count", "evidence"]
    assert public["first"] == events[0].time.isoformat()


def test_a_not_allowed_line_without_port_is_the_same_attempt() -> None:
    events = []
    for i in range(5):
        head = f"{stamp(i)} srv1 sshd[{i}]:"
        events.append(ev(i, "auth-failure", f"{head} User root from {ATTACKER} not allowed because not listed in"
                         " AllowUsers", app="sshd", source_ip=ATTACKER, user="root"))  # fmt: skip
        events += sshd_failure(i + 0.1, "root", 43100 + i)
    [d] = by_rule(run(events), "brute-force")
    assert d.count == 5 and len(d.evidence) == 15


def test_brute_force_threshold_and_window() -> None:
    four = [e for i in range(4) for e in sshd_failure(i * 5, "root", 41000 + i)]
    assert by_rule(run(four), "brute-force") == []
    assert len(by_rule(run(four, **{"brute-force": {"threshold": 4}}), "brute-force")) == 1
    # Six attempts, but never five inside ten minutes.
    slow = [e for i in range(6) for e in sshd_failure(i * 200, "root", 42000 + i)]
    assert by_rule(run(slow), "brute-force") == []
    assert len(by_rule(run(slow, **{"brute-force": {"window_seconds": 1000}}), "brute-force")) == 1


def test_brute_force_separates_sources_and_bursts() -> None:
    a = [e for i in range(5) for e in sshd_failure(i, "root", 43000 + i)]
    b = [e for i in range(5) for e in sshd_failure(i, "root", 44000 + i, src="198.51.100.9")]
    later = [e for i in range(5) for e in sshd_failure(7200 + i, "root", 45000 + i)]
    found = by_rule(run(a + b + later), "brute-force")
    assert sorted((d.source_ip or "", d.first) for d in found) == [
        ("198.51.100.9", at(0)),
        (ATTACKER, at(0)),
        (ATTACKER, at(7200)),
    ]


def test_password_spraying_needs_many_users() -> None:
    users = ["alice", "bob", "carol", "dave", "erin"]
    sprayed = [e for i, u in enumerate(users) for e in sshd_failure(i * 10, u, 46000 + i)]
    [d] = by_rule(run(sprayed), "password-spraying")
    assert d.users == sorted(users) and d.user is None and d.count == 5
    one_user = [e for i in range(8) for e in sshd_failure(i * 10, "root", 47000 + i)]
    assert by_rule(run(one_user), "password-spraying") == []


def test_login_after_failures_is_critical_and_names_the_user() -> None:
    events = [e for i in range(3) for e in sshd_failure(i * 3, "deploy", 48000 + i)]
    ok = ev(
        20,
        "auth-success",
        f"{stamp(20)} srv1 sshd[48100]: Accepted password for deploy from {ATTACKER} port 48100 ssh2",
        app="sshd",
        source_ip=ATTACKER,
        source_port=48100,
        user="deploy",
        outcome="success",
    )
    [d] = by_rule(run([*events, ok]), "login-after-failures")
    assert (d.user, d.severity, d.count, d.last) == ("deploy", "critical", 4, ok.time)
    assert d.evidence[-1] == ok.raw
    assert by_rule(run([ok]), "login-after-failures") == []
    late = ev(20 + 3600, ok.kind, ok.raw, app="sshd", source_ip=ATTACKER, user="deploy")
    assert by_rule(run([*events, late]), "login-after-failures") == []


def test_privilege_escalation_by_a_user_not_allowed_and_failures() -> None:
    def sudo(seconds: float, text: str) -> LogEvent:
        return ev(seconds, "sudo", f"{stamp(seconds)} srv1 sudo: {text}", app="sudo", message=text)

    became_root = sudo(0, "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash")
    [d] = by_rule(run([became_root]), "privilege-escalation")
    assert (d.user, d.severity, d.details["successes"]) == ("alice", "major", 1)
    allowed = {"privilege-escalation": {"allow": ["alice"]}}
    assert by_rule(run([became_root], **allowed), "privilege-escalation") == []

    refused = sudo(10, "mallory : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh")
    not_sudoer = sudo(20, "mallory : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh")
    su_failed = ev(30, "other", f"{stamp(30)} srv1 su[77]: FAILED SU (to root) mallory on pts/1", app="su")
    [m] = by_rule(run([refused, not_sudoer, su_failed], **allowed), "privilege-escalation")
    assert (m.user, m.count, m.severity, m.details["failures"]) == ("mallory", 3, "minor", 3)
    # sudo to another user than root is no escalation to root.
    assert (
        by_rule(run([sudo(0, "alice : TTY=pts/0 ; PWD=/ ; USER=www-data ; COMMAND=/bin/ls")]), "privilege-escalation")
        == []
    )


# ---------------------------------------------------------------- firewall


def fw(seconds: float, src: str, dst: str, dport: int, kind: str = "firewall-deny", host: str = "fw1") -> LogEvent:
    raw = (
        f"{stamp(seconds)} {host} kernel: nft-drop IN=eth1 OUT=eth2 SRC={src} DST={dst} LEN=60 PROTO=TCP"
        f" SPT=51000 DPT={dport} SYN"
    )
    return ev(
        seconds, kind, raw, host=host, app="kernel", source_ip=src, dest_ip=dst, dest_port=dport, proto="tcp",
        source_port=51000, action="deny" if kind == "firewall-deny" else "accept",
    )  # fmt: skip


def test_port_scan_one_target_many_ports() -> None:
    scan = [fw(i * 0.1, ATTACKER, "10.1.10.2", port) for i, port in enumerate(range(1, 31))]
    [d] = by_rule(run(scan), "port-scan")
    assert (d.host, d.source_ip, d.target, d.count) == ("fw1", ATTACKER, "10.1.10.2", 30)
    assert d.details["ports"] == 30 and d.details["port_ranges"] == "1-30"
    assert by_rule(run(scan), "port-sweep") == []
    # The same port over and over is no scan; nor are 30 ports over an hour.
    assert by_rule(run([fw(i, ATTACKER, "10.1.10.2", 22) for i in range(100)]), "port-scan") == []
    assert by_rule(run([fw(i * 120, ATTACKER, "10.1.10.2", 1 + i) for i in range(30)]), "port-scan") == []


def test_port_sweep_many_targets() -> None:
    sweep = [fw(i * 0.2, ATTACKER, f"10.1.10.{i}", 445) for i in range(1, 16)]
    [d] = by_rule(run(sweep), "port-sweep")
    assert d.details["distinct_targets"] == 15 and d.source_ip == ATTACKER
    assert by_rule(run(sweep, **{"port-sweep": {"threshold": 20}}), "port-sweep") == []


def test_denied_spike_against_the_baseline() -> None:
    background = [fw(m * 60 + s * 12, f"198.51.100.{s}", "10.1.10.2", 23) for m in range(30) for s in range(5)]
    spike = [fw(30 * 60 + i * 0.2, ATTACKER, "10.1.10.2", 1000 + i) for i in range(200)]
    [d] = by_rule(run(background + spike), "denied-spike")
    assert (d.host, d.source_ip, d.count) == ("fw1", ATTACKER, 200)
    assert d.details["baseline_per_window"] == pytest.approx(5.0)
    # A firewall that always denies this much has no spike.
    steady = [fw(m * 60 + i * 0.25, f"198.51.100.{i % 50}", "10.1.10.2", 23) for m in range(40) for i in range(200)]
    assert by_rule(run(steady), "denied-spike") == []
    # Denies from the first moment of observation have no baseline; an observed quiet hour before is one.
    assert by_rule(run(spike), "denied-spike") == []
    [quiet_before] = by_rule(run(spike, DetectContext(since=at(0))), "denied-spike")
    assert quiet_before.details["baseline_per_window"] == 0 and quiet_before.count == 200


# ---------------------------------------------------------------- devices


def change(seconds: float, host: str = "r1", user: str | None = "admin") -> LogEvent:
    text = f"%SYS-5-CONFIG_I: Configured from console by {user} on vty0 (198.18.0.1)"
    return ev(seconds, "config-change", f"{stamp(seconds)} {host} {text}", host=host, user=user, message=text)


def test_config_change_outside_a_change_window() -> None:
    [d] = by_rule(run([change(0), change(30)]), "config-change-outside-window")
    assert (d.host, d.user, d.count) == ("r1", "admin", 2)
    window = ChangeWindow(1, "device", "r*", at(-60), at(3600), "planned")
    assert by_rule(run([change(0)], DetectContext(windows=[window])), "config-change-outside-window") == []
    # A window on another device or another time does not cover it; a site window over r1's site does.
    other = ChangeWindow(2, "device", "sw*", at(-60), at(3600))
    past = ChangeWindow(3, "device", "r1", at(-7200), at(-3600))
    ctx = DetectContext(windows=[other, past])
    assert len(by_rule(run([change(0)], ctx), "config-change-outside-window")) == 1
    site = ChangeWindow(4, "site", "hq", at(-60), at(60))
    ctx = DetectContext(windows=[site], site_of={"r1": "hq"})
    assert by_rule(run([change(0)], ctx), "config-change-outside-window") == []


def test_new_device_from_dhcp_and_switch_lines() -> None:
    known = "52:54:00:12:34:56"
    lines = [
        ev(0, "other", "dnsmasq-dhcp[99]: DHCPACK(eth1) 10.1.20.50 52:54:00:aa:bb:cc laptop", app="dnsmasq-dhcp",
           message="DHCPACK(eth1) 10.1.20.50 52:54:00:aa:bb:cc laptop"),
        ev(1, "other", f"dhcpd[5]: DHCPACK on 10.1.20.51 to {known} (printer) via eth1", app="dhcpd",
           message=f"DHCPACK on 10.1.20.51 to {known} (printer) via eth1"),
        ev(2, "device", "%PORT_SECURITY-2-PSECURE_VIOLATION: Security violation occurred, caused by MAC address"
           " 0000.0c12.3456 on port GigabitEthernet0/1.", host="sw1"),
    ]  # fmt: skip
    found = by_rule(run(lines, DetectContext(known_macs={known})), "new-device")
    assert sorted((d.target or "", d.source_ip or "") for d in found) == [
        ("00:00:0c:12:34:56", ""),
        ("52:54:00:aa:bb:cc", "10.1.20.50"),
    ]
    no_inventory = by_rule(run(lines), "new-device")
    assert len(no_inventory) == 3 and all("no inventory read" in d.summary for d in no_inventory)


# ---------------------------------------------------------------- overrides


def test_overrides_disable_rules_and_bad_tables_are_refused() -> None:
    events = [e for i in range(6) for e in sshd_failure(i, "admin", 49000 + i)]
    found = run(events, **{"brute-force": {"enabled": False}})
    assert by_rule(found, "brute-force") == [] and by_rule(found, "password-spraying") == []
    with pytest.raises(ConfigError, match=r"detection_overrides\[0\].*threshold"):
        Engine([{"rule": "brute-force", "threshold": 0}])
    with pytest.raises(ConfigError, match="detection_overrides"):
        Engine([{"rule": "brute-force", "treshold": 3}])
    assert Engine([{"rule": "no-such-rule"}]).unknown_overrides == ["no-such-rule"]


def test_a_failing_rule_is_reported_and_the_others_still_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from netwarden.security.detect import engine

    def broken(*_: Any) -> list[Detection]:
        raise RuntimeError("bug")

    rule = engine.BUILTIN["port-scan"]
    monkeypatch.setitem(engine.BUILTIN, "port-scan", engine.BuiltinRule(rule.name, rule.default, broken, ""))
    result = Engine().run([e for i in range(6) for e in sshd_failure(i, "admin", 50000 + i)])
    assert "port-scan" in result.failed and by_rule(result.detections, "brute-force")


# ---------------------------------------------------------------- the window helper


def reference_marked(times: list[int], threshold: int, window: int) -> set[int]:
    """Quadratic reference: event i is marked when some window [t, t+window] holding it has threshold events."""
    marked: set[int] = set()
    for end in range(len(times)):
        inside = [i for i in range(end + 1) if times[end] - times[i] <= window]
        if len(inside) >= threshold:
            marked |= set(inside)
    return marked


@example(gaps=[0, 0, 0, 2, 14, 1, 1, 14, 0], threshold=4, window=15)  # two full windows 15 s apart: one burst
@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=40),
    threshold=st.integers(min_value=1, max_value=6),
    window=st.integers(min_value=1, max_value=60),
)
def test_bursts_mark_exactly_the_windows_that_reach_the_threshold(gaps: list[int], threshold: int, window: int) -> None:
    times: list[int] = []
    for g in gaps:
        times.append((times[-1] if times else 0) + g)
    events = [ev(t, "auth-failure", f"line {i}") for i, t in enumerate(times)]
    runs = bursts(events, threshold, dt.timedelta(seconds=window))
    marked = reference_marked(times, threshold, window)
    # Marked events no more than a window apart are one burst, holding every event between them (an
    # attempt between two full windows is part of the same attack even when no window of its own is full).
    expected: set[int] = set()
    order = sorted(marked)
    start = 0
    for j in range(1, len(order) + 1):
        if j == len(order) or times[order[j]] - times[order[j - 1]] > window:
            expected |= set(range(order[start], order[j - 1] + 1))
            start = j
    got = {int(e.raw.split()[1]) for r in runs for e in r}
    assert got == expected and marked <= got
    for r in runs:  # bursts are ordered, disjoint and no gap inside one exceeds the window
        assert all((b.time - a.time).total_seconds() <= window for a, b in itertools.pairwise(r))
    for a, b in itertools.pairwise(runs):
        assert (b[0].time - a[-1].time).total_seconds() > window
