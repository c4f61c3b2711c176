"""VPN tunnels from recorded output: the lab's WireGuard tunnel (``wg show all dump`` on r1, healthy, cut,
stale, healed) and strongSwan IPsec SAs (``swanctl --list-sas`` between two charon daemons)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netwarden.errors import NetwardenError
from netwarden.monitor.tunnels import (
    HANDSHAKE_STALE,
    TunnelOutputError,
    TunnelReading,
    TunnelWatch,
    parse_swanctl_sas,
    parse_wg_dump,
    reading_from,
)
from tests.unit.monitor.snmprec import DATA

# When each wg dump was taken (UNIX seconds): the dump's handshake times are absolute (README.md).
CAPTURED = {"healthy": 1795432850, "faulted": 1795432860, "stale": 1795433050, "healed": 1795433055}
R1_PEER = "nwrec-wg0a:iuU2hjYY0LeaHcYZLqIp2+9em8a8Rns8fWG18QIwREU="  # r1's end, its peer is r4


def wg(name: str) -> TunnelReading:
    return TunnelReading(ts=CAPTURED[name], wireguard=parse_wg_dump((DATA / f"wg-r1-{name}.dump").read_text()))


def sas(name: str) -> str:
    return (DATA / f"swanctl-{name}.txt").read_text()


def test_wg_dump_peers() -> None:
    peers = parse_wg_dump((DATA / "wg-r1-healthy.dump").read_text())
    assert [(p.interface, p.endpoint) for p in peers] == [
        ("nwrec-wg0b", "203.0.113.1:51820"),
        ("nwrec-wg0a", "203.0.113.6:51820"),
    ]
    peer = peers[1]
    assert peer.allowed_ips == ("0.0.0.0/0",) and peer.keepalive == 5
    assert peer.handshake_age(CAPTURED["healthy"]) == 12 and peer.up(CAPTURED["healthy"])
    assert not any("redacted" in str(p) for p in peers)  # interface lines (with the private key) are not kept


def test_wg_tunnel_goes_down_when_the_handshake_is_stale_and_up_after_heal() -> None:
    watch = TunnelWatch()
    kinds = []
    for name in ("healthy", "faulted", "stale", "healed"):
        out = watch.observe("r1", wg(name))
        kinds.append(sorted((e.kind, e.subject) for e in out.events))
    subjects = [
        f"r1:wg:{iface}"
        for iface in (
            "nwrec-wg0a:iuU2hjYY0LeaHcYZLqIp2+9em8a8Rns8fWG18QIwREU=",
            "nwrec-wg0b:A/+dPC/d4B+VB8Nj/qQfNB5ElGIErJJIcxPyeHo30W8=",
        )
    ]
    assert kinds == [
        [],
        [],  # 22 s after the last handshake: not yet stale
        [("tunnel_down", s) for s in subjects],  # 212 s
        [("tunnel_up", s) for s in subjects],
    ]
    stale = wg("stale")
    assert stale.wireguard is not None
    assert all(p.handshake_age(stale.ts) > HANDSHAKE_STALE for p in stale.wireguard)


def test_wg_points_and_rates_from_two_readings() -> None:
    watch = TunnelWatch()
    watch.observe("r1", wg("healthy"))
    out = watch.observe("r1", wg("faulted"))
    points = {(p.metric, p.instance): p.value for p in out.points}
    assert points["wg_peer_up", R1_PEER] == 1 and points["wg_handshake_age_seconds", R1_PEER] == 22
    healthy, faulted = wg("healthy").wireguard, wg("faulted").wireguard
    assert healthy is not None and faulted is not None
    tx_before = next(p.tx_bytes for p in healthy if p.interface == "nwrec-wg0a")
    tx_after = next(p.tx_bytes for p in faulted if p.interface == "nwrec-wg0a")
    assert points["wg_tx_bps", R1_PEER] == pytest.approx((tx_after - tx_before) * 8 / 10)


def test_a_vanished_wg_peer_counts_as_down() -> None:
    watch = TunnelWatch()
    watch.observe("r1", wg("healthy"))
    out = watch.observe("r1", TunnelReading(ts=CAPTURED["faulted"], wireguard=[]))
    assert len(out.events) == 2 and {e.kind for e in out.events} == {"tunnel_down"}
    assert all("gone" in e.summary for e in out.events)


def test_a_wg_error_is_no_reading() -> None:
    bad = "Unable to access interface: Operation not permitted\n"
    with pytest.raises(TunnelOutputError):
        parse_wg_dump(bad)
    reading = reading_from({"wg show all dump": bad}, ts=0.0, ipsec_command=None)
    assert reading.wireguard is None and "wg" in reading.errors
    watch = TunnelWatch()
    watch.observe("r1", wg("healthy"))
    out = watch.observe("r1", reading)
    assert out.events == [] and out.failed is not None  # a failed read says nothing about the tunnel


def test_swanctl_established_sa() -> None:
    (ike,) = parse_swanctl_sas(sas("a-traffic"))
    assert (ike.name, ike.unique_id, ike.state, ike.version) == ("site-a", 1, "ESTABLISHED", "IKEv2")
    assert (ike.local, ike.remote) == ("192.0.2.1[4500]", "192.0.2.2[4500]")
    (child,) = ike.children
    assert (child.name, child.state, child.mode, child.protocol) == ("net-a", "INSTALLED", "TUNNEL-in-UDP", "ESP")
    assert (child.spi_in, child.bytes_in, child.packets_in) == ("88687964", 20812, 23)
    assert (child.spi_out, child.bytes_out) == ("4389ff56", 20812)
    assert child.local_ts == ("10.91.1.0/24",) and child.remote_ts == ("10.91.2.0/24",)
    assert ike.up


def test_swanctl_states_that_are_down() -> None:
    (connecting,) = parse_swanctl_sas(sas("a-connecting"))
    assert connecting.state == "CONNECTING" and not connecting.up and connecting.children == ()
    (no_child,) = parse_swanctl_sas(sas("a-child-failed"))
    assert no_child.state == "ESTABLISHED" and no_child.children == () and not no_child.up
    assert parse_swanctl_sas(sas("a-deleted")) == []


def test_responder_side_lists_the_same_spis_crossed() -> None:
    (a,) = parse_swanctl_sas(sas("a-reestablished"))
    (b,) = parse_swanctl_sas(sas("b-reestablished"))
    assert a.children[0].spi_in == b.children[0].spi_out and a.children[0].spi_out == b.children[0].spi_in


def test_ipsec_connection_events_rates_and_rekey() -> None:
    watch = TunnelWatch()
    sequence = ["a-established", "a-traffic", "a-deleted", "a-connecting", "a-reestablished", "a-child-failed"]
    events, outs = [], []
    for ts, name in enumerate(sequence):
        out = watch.observe("gw-a", TunnelReading(ts=ts * 10.0, ipsec=parse_swanctl_sas(sas(name))))
        outs.append(out)
        events.append([(e.kind, e.subject) for e in out.events])
    assert events == [[], [], [("tunnel_down", "gw-a:ipsec:site-a")], [], [("tunnel_up", "gw-a:ipsec:site-a")],
                      [("tunnel_down", "gw-a:ipsec:site-a")]]  # fmt: skip
    rates = {(p.metric, p.instance): p.value for p in outs[1].points if p.metric.endswith("_bps")}
    assert rates == {
        ("ipsec_in_bps", "site-a:net-a"): pytest.approx((20812 - 252) * 8 / 10),
        ("ipsec_out_bps", "site-a:net-a"): pytest.approx((20812 - 252) * 8 / 10),
    }
    # Re-established with new SPIs: counters start again, so no rate from the old ones.
    assert not any(p.metric.endswith("_bps") for p in outs[4].points)
    assert outs[4].skipped["reset"] == 2
    assert "no CHILD SA" in outs[5].events[0].summary


def test_not_swanctl_output_is_refused() -> None:
    with pytest.raises(TunnelOutputError):
        parse_swanctl_sas("bash: swanctl: command not found\n")


def test_swanctl_without_its_daemon_is_a_failure_and_its_plugin_warnings_are_not() -> None:
    text = sas("no-daemon")  # run as an unprivileged user: plugin warnings, then the failure
    with pytest.raises(TunnelOutputError, match="connecting to"):
        parse_swanctl_sas(text)
    warnings = "\n".join(line for line in text.splitlines() if line.startswith(("plugin '", "agent plugin")))
    assert warnings and parse_swanctl_sas(warnings + "\n" + sas("a-traffic"))[0].up


@given(st.text(max_size=400))
def test_parsers_never_crash_on_garbage(text: str) -> None:
    for parse in (parse_wg_dump, parse_swanctl_sas):
        with contextlib.suppress(NetwardenError):
            parse(text)
