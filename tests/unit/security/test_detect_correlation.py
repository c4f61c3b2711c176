"""Correlation without a store: which detections join, which events come along, what is named."""

from __future__ import annotations

import datetime as dt
from typing import Any

from netwarden.security.detect import correlation
from netwarden.security.detect.correlation import Assets, correlate, source_of
from netwarden.security.detect.engine import Engine
from netwarden.security.detect.model import Detection
from netwarden.security.logs.model import LogEvent

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ATTACKER, SERVER, OTHER = "10.1.20.3", "10.1.10.2", "10.1.10.9"


def ev(seconds: float, kind: str, raw: str, host: str, **kw: Any) -> LogEvent:
    return LogEvent(time=T0 + dt.timedelta(seconds=seconds), kind=kind, raw=raw, host=host, **kw)


def ssh_fail(seconds: float, user: str, src: str = ATTACKER, host: str = "srv1") -> LogEvent:
    port = 40000 + int(seconds * 10)
    text = f"Failed password for {user} from {src} port {port} ssh2"
    return ev(seconds, "auth-failure", f"{host} sshd: {text}", host, app="sshd", source_ip=src, source_port=port,
              user=user, message=text)  # fmt: skip


def deny(seconds: float, dport: int, src: str = ATTACKER, dst: str = SERVER) -> LogEvent:
    text = f"IN=eth1 SRC={src} DST={dst} PROTO=TCP SPT=5000 DPT={dport}"
    return ev(seconds, "firewall-deny", f"fw1 kernel: {text}", "fw1", source_ip=src, dest_ip=dst, dest_port=dport,
              proto="tcp", message=text, parser="netfilter")  # fmt: skip


def assets() -> Assets:
    a = Assets()
    a.add("srv1", "hq", "server", [f"{SERVER}/24", "198.18.0.9"])
    a.add("h1", "hq", "host", [f"{ATTACKER}/24"])
    a.add("db1", "hq", "server", [f"{OTHER}/24"])
    a.add("sw1", "hq", "switch", ["10.1.20.2/24"])
    return a


def detections(events: list[LogEvent]) -> list[Detection]:
    return Engine().run(events).detections


def test_one_attacker_one_incident_across_sources_with_named_assets() -> None:
    events = [*(ssh_fail(i, u) for i, u in enumerate(["root", "admin", "oracle", "test", "pi", "ubuntu"]))]
    events += [deny(10 + i * 0.1, p) for i, p in enumerate(range(1000, 1030))]
    events.append(ev(12, "other", f"db1 sshd: Connection from {ATTACKER}", "db1", app="sshd", source_ip=ATTACKER))
    [draft] = correlate(detections(events), events, assets())
    assert draft.rules == ["brute-force", "password-spraying", "port-scan"]
    assert (draft.attacker, draft.attacker_device, draft.vector) == (ATTACKER, "h1", "brute-force")
    assert [(a.device, a.address) for a in draft.assets] == [("srv1", SERVER)]  # not db1: it was not attacked
    assert draft.sources == ["auth", "firewall"] and draft.sites == ["hq"]
    assert draft.title() == "Brute force from h1 against srv1"
    assert all("db1" not in t.raw for t in draft.timeline)
    # Without an inventory, nothing says db1 is not the scanned address: every line of the attacker comes.
    [blind] = correlate(detections(events), events, Assets())
    assert any("db1" in t.raw for t in blind.timeline) and blind.attacker_device is None and blind.assets == []
    assert [t.time for t in draft.timeline] == sorted(t.time for t in draft.timeline)


def test_different_attackers_or_a_long_pause_make_separate_incidents() -> None:
    a = [ssh_fail(i, f"u{i}") for i in range(6)]
    b = [ssh_fail(i, f"u{i}", src="203.0.113.9") for i in range(6)]
    later = [ssh_fail(7200 + i, f"u{i}") for i in range(6)]
    drafts = correlate(detections(a + b + later), a + b + later, assets(), window=1800)
    assert sorted((d.attacker or "", d.first) for d in drafts) == [
        ("10.1.20.3", T0),
        ("10.1.20.3", T0 + dt.timedelta(seconds=7200)),
        ("203.0.113.9", T0),
    ]
    # A window long enough joins the two bursts of the first attacker.
    assert len(correlate(detections(a + later), a + later, assets(), window=8000)) == 1


def test_local_escalation_is_keyed_by_the_user_and_joins_their_other_lines() -> None:
    sudo = "mallory : user NOT in sudoers ; TTY=pts/0 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh"
    events = [
        ev(0, "session-open", "srv1 sshd: session opened for user mallory", "srv1", app="sshd", user="mallory"),
        ev(5, "sudo", f"srv1 sudo: {sudo}", "srv1", app="sudo", user="mallory", message=sudo),
    ]
    [draft] = correlate(detections(events), events, assets())
    assert (draft.attacker, draft.actor, draft.vector) == (None, "mallory", "privilege-escalation")
    assert [a.device for a in draft.assets] == ["srv1"] and len(draft.events) == 2


def test_sources_and_the_timeline_cap(monkeypatch: Any) -> None:
    a = assets()
    assert source_of(deny(0, 22), a) == "firewall"
    assert source_of(ssh_fail(0, "x"), a) == "auth"
    assert source_of(ev(0, "interface-down", "sw1 %LINK-3-UPDOWN", "sw1"), a) == "switch"
    assert source_of(ev(0, "other", "srv1 nginx: GET /", "srv1", app="nginx"), a) == "web"
    assert source_of(ev(0, "config-change", "r1 %SYS-5-CONFIG_I", "r1"), a) == "device"
    monkeypatch.setattr(correlation, "MAX_TIMELINE", 10)
    scan = [deny(i * 0.1, p) for i, p in enumerate(range(1, 41))]
    [draft] = correlate(detections(scan), scan, a)
    assert len(draft.timeline) == 11 and draft.timeline[5].kind == "omitted"
    assert draft.timeline[5].summary == "31 more lines omitted" and len(draft.events) == 40
