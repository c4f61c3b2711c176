"""Network events in syslog: interface, routing-neighbour and configuration changes as alert events.

:data:`RULES` is the vendor knowledge, as data: one regular expression per message format with
named groups (``ifname``, ``peer``, ``state`` or ``old``/``new``, ``user``), what it is about, and how
its state words read. :func:`events_for` runs them over a :class:`~netwarden.security.syslog.SyslogMessage`
and returns :class:`~netwarden.alerts.events.Event` records (``source="syslog"``, ``raw`` the line),
named after the device the inventory knows at the sender's address, else the message's HOSTNAME.

Where each format comes from is recorded beside it (and in tests/unit/security/test_network_events.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from netwarden.alerts.events import Event, EventKind, Severity
from netwarden.security.syslog import MessageSink, SyslogMessage

if TYPE_CHECKING:
    from netwarden.access.schemas import Actor
    from netwarden.context import Context

__all__ = ["RULES", "Lookup", "Rule", "alert_sink", "events_for"]

log = logging.getLogger(__name__)
Lookup = Callable[[str], str | None]  # sender address -> device name
About = Literal["interface", "bgp", "ospf", "config"]
_UP, _DOWN = "up", "down"


@dataclass(frozen=True)
class Rule:
    """One message format.

    ``needle`` is a literal the text must contain before the regex runs (a storm of unrelated lines
    costs a substring test each). The direction comes from the ``state`` group read through
    ``states`` (lower-cased word -> up/down; a word not listed means no event), or, for state
    machines, from ``old``/``new`` groups: reaching one of ``up_states`` is up, leaving one is down,
    and any other move (2-Way -> Deleted between two DROthers) is no event.
    """

    name: str
    about: About
    needle: str
    pattern: re.Pattern[str]
    origin: str
    states: dict[str, str] = field(default_factory=dict)
    up_states: frozenset[str] = frozenset()


def _rule(name: str, about: About, needle: str, pattern: str, origin: str, **kw: object) -> Rule:
    return Rule(name, about, needle, re.compile(pattern), origin, **kw)  # type: ignore[arg-type]


_UPDOWN = {"up": _UP, "down": _DOWN, "administratively down": _DOWN}
RULES: tuple[Rule, ...] = (
    # ---- interfaces
    _rule(
        "cisco_link_updown",
        "interface",
        "changed state to ",
        r"%(?:LINK-\d-(?:UPDOWN|CHANGED)|LINEPROTO-\d-UPDOWN): (?:Line protocol on )?Interface"
        r" (?P<ifname>[^\s,]+)(?: \([^)]*\))?,"
        r" changed state to (?P<state>up|down|administratively down)",
        "Cisco IOS/IOS-XE System Message Guide (LINK-3-UPDOWN, LINEPROTO-5-UPDOWN, LINK-5-CHANGED); Arista EOS "
        "logs the same mnemonics, with the interface description in parentheses",
        states=_UPDOWN,
    ),
    _rule(
        "nxos_ethport",
        "interface",
        "%ETHPORT-5-IF_",
        r"%ETHPORT-5-IF_(?:DOWN_\w+|UP): Interface (?P<ifname>[^\s,]+)(?: \[[^\]]*\])? is (?P<state>up|down)",
        "Cisco NX-OS System Messages Reference (ETHPORT-5-IF_UP, ETHPORT-5-IF_DOWN_*)",
        states=_UPDOWN,
    ),
    _rule(
        "junos_snmp_trap_link",
        "interface",
        "SNMP_TRAP_LINK_",
        r"SNMP_TRAP_LINK_(?P<state>DOWN|UP): ifIndex \d+, ifAdminStatus \w+\(\d\), ifOperStatus \w+\(\d\),"
        r" ifName (?P<ifname>\S+)",
        "Junos System Log Explorer, mib2d SNMP_TRAP_LINK_DOWN / SNMP_TRAP_LINK_UP",
        states={"down": _DOWN, "up": _UP},
    ),
    _rule(
        "linux_kernel_link",
        "interface",
        "Link is ",
        r"\b(?P<ifname>[A-Za-z][\w.@-]{0,30}\d[\w.@-]{0,30})(?:: | NIC )Link is (?P<state>Up|Down)\b",
        "Linux kernel drivers: e1000e/igb 'eth1 NIC Link is Down' (netdev_info), r8169/virtio/phylib "
        "'eth1: Link is Down' (phy_print_status)",
        states={"down": _DOWN, "up": _UP},
    ),
    # ---- routing neighbours
    _rule(
        "frr_ospf_adjchg",
        "ospf",
        "AdjChg: Nbr ",
        r"AdjChg: Nbr (?P<peer>\d{1,3}(?:\.\d{1,3}){3})(?:, NbrIP \S+)?(?: ?\([^)]*\))?"
        r" on (?P<ifname>[^:\s]+)(?::\S+)?: (?P<old>[\w-]+) -> (?P<new>[\w-]+)",
        "FRR ospfd nsm_notice_state_change(): 'AdjChg: Nbr %pI4, NbrIP %pI4 (%s) on %s: %s -> %s (%s)' as the "
        "lab's FRR 8.4 logs it, 'AdjChg: Nbr %pI4(%s) on %s: ...' (later FRR, the VRF in parentheses) and "
        "'AdjChg: Nbr %pI4 on %s: ...' (FRR 7, Quagga)",
        up_states=frozenset({"full"}),
    ),
    _rule(
        "frr_bgp_adjchange",
        "bgp",
        "%ADJCHANGE: neighbor ",
        r"%ADJCHANGE: neighbor (?P<peer>[0-9A-Fa-f.:]+|\S+?)(?:\([^)]*\))?(?: in vrf \S+)? (?P<state>Up|Down)\b",
        "FRR bgpd bgp_fsm.c: '%ADJCHANGE: neighbor %pBP in vrf %s Up' / '... Down %s' (FRR 8/9; %pBP "
        "prints host(hostname)), FRR 7 'neighbor %s(%s) in vrf %s', Quagga 'neighbor %s Up'",
        states={"up": _UP, "down": _DOWN},
    ),
    _rule(
        "cisco_bgp_adjchange",
        "bgp",
        "%BGP-5-ADJCHANGE: ",
        r"%BGP-5-ADJCHANGE: (?:bgp-\S+ \[\d+\] (?:\(\S+\) )?)?neighbor (?P<peer>\S+)(?: vpn vrf \S+)?"
        r" (?P<state>Up|Down)\b",
        "Cisco IOS System Message Guide BGP-5-ADJCHANGE ('neighbor 10.1.1.2 Down Interface flap'); NX-OS "
        "prefixes 'bgp-AS [pid] (vrf)'",
        states={"up": _UP, "down": _DOWN},
    ),
    _rule(
        "arista_bgp_adjchange",
        "bgp",
        "%BGP-5-ADJCHANGE: peer ",
        r"%BGP-5-ADJCHANGE: peer (?P<peer>\S+) \([^)]*\) old state (?P<old>\w+) event \w+ new state (?P<new>\w+)",
        "Arista EOS BGP-5-ADJCHANGE: 'peer X (VRF default AS N) old state S event E new state S'",
        up_states=frozenset({"established"}),
    ),
    _rule(
        "cisco_ospf_adjchg",
        "ospf",
        "%OSPF-5-",
        r"%OSPF-5-(?:ADJCHG|NBRSTATE): (?:ospf-\S+ \[\d+\] )?Process \S+, Nbr (?P<peer>\S+) on (?P<ifname>\S+)"
        r" from (?P<old>[\w-]+) to (?P<new>[\w-]+)",
        "Cisco IOS System Message Guide OSPF-5-ADJCHG ('Process 1, Nbr 10.0.0.2 on Gi0/1 from FULL to DOWN, "
        "Neighbor Down: ...'); NX-OS OSPF-5-NBRSTATE",
        up_states=frozenset({"full"}),
    ),
    _rule(
        "junos_ospf_nbr",
        "ospf",
        "RPD_OSPF_NBR",
        r"RPD_OSPF_NBR(?:UP|DOWN): OSPF neighbor (?P<peer>\S+) \(realm \S+ (?P<ifname>\S+) area \S+\)"
        r" state changed from (?P<old>[\w-]+) to (?P<new>[\w-]+)",
        "Junos System Log Explorer, rpd RPD_OSPF_NBRDOWN / RPD_OSPF_NBRUP",
        up_states=frozenset({"full"}),
    ),
    _rule(
        "junos_bgp_state",
        "bgp",
        "BGP_NEIGHBOR_STATE_CHANGED: ",
        r"BGP_NEIGHBOR_STATE_CHANGED: BGP peer (?P<peer>[^\s+]+)(?:\+\d+)? \([^)]*\) changed state from"
        r" (?P<old>\w+) to (?P<new>\w+)",
        "Junos System Log Explorer, rpd BGP_NEIGHBOR_STATE_CHANGED",
        up_states=frozenset({"established"}),
    ),
    # ---- configuration changes
    _rule(
        "cisco_config_i",
        "config",
        "CONFIG_I: ",
        r"%(?:SYS-5-CONFIG_I|VSHD-5-VSHD_SYSLOG_CONFIG_I): Configured from (?P<via>.+?) by (?P<user>\S+)",
        "Cisco IOS SYS-5-CONFIG_I ('Configured from console by admin on vty0 (10.0.0.5)'), also Arista EOS; "
        "NX-OS VSHD-5-VSHD_SYSLOG_CONFIG_I",
    ),
    _rule(
        "junos_ui_commit",
        "config",
        "UI_COMMIT",
        r"UI_COMMIT(?:_COMPLETED)?: User '(?P<user>[^']*)' requested '(?P<via>[^']*)' operation",
        "Junos System Log Explorer, mgd UI_COMMIT",
    ),
    _rule(
        "frr_log_commands",
        "config",
        ")# ",
        r"\bvty\[\d+\]@\((?P<via>config[^)]*)\)# (?P<cmd>\S.*)",
        "FRR with 'log commands': every daemon logs each vtysh command with its mode "
        "('vty[10]@(config-if)# description uplink')",
    ),
)


def events_for(message: SyslogMessage, lookup: Lookup | None = None) -> list[Event]:
    """The events one message stands for (none for most messages).

    Args:
        message: the parsed message.
        lookup: sender address -> device name (see :func:`netwarden.monitor.traps.inventory_lookup`);
            the message's HOSTNAME, then the sender's address, name the device otherwise.
    """
    text = message.text
    for rule in RULES:
        if rule.needle not in text:
            continue
        m = rule.pattern.search(text)
        if m is None:
            continue
        return _events(rule, m, message, _device(message, lookup))
    return []


def _direction(rule: Rule, m: re.Match[str]) -> str | None:
    groups = m.groupdict()
    if "state" in groups:
        return rule.states.get(groups["state"].lower())
    old, new = groups["old"].lower(), groups["new"].lower()
    if new in rule.up_states and old not in rule.up_states:
        return _UP
    if old in rule.up_states and new not in rule.up_states:
        return _DOWN
    return None


def _events(rule: Rule, m: re.Match[str], message: SyslogMessage, device: str) -> list[Event]:
    raw = message.raw
    if rule.about == "config":
        who = m.groupdict().get("user") or ""
        summary = f"configuration of {device} changed{f' by {who}' if who else ''} (syslog)"
        return [_event("config_change", device, device, "info", summary, raw)]
    direction = _direction(rule, m)
    if direction is None:
        return []
    up = direction == _UP
    kind: EventKind
    if rule.about == "interface":
        subject = f"{device}:{m.group('ifname')}"
        kind = "interface_up" if up else "interface_down"
        summary = f"{subject} is {'up again' if up else 'down'} (syslog)"
        return [_event(kind, subject, device, "info" if up else "major", summary, raw)]
    peer = m.group("peer")
    subject = f"{device}:{rule.about}:{peer}"
    kind = "neighbor_up" if up else "neighbor_down"
    what = "BGP peer" if rule.about == "bgp" else "OSPF neighbour"
    summary = f"{what} {peer} of {device} is {'up' if up else 'down'} (syslog)"
    return [_event(kind, subject, device, "info" if up else "major", summary, raw)]


def _event(kind: EventKind, subject: str, device: str, severity: Severity, summary: str, raw: str) -> Event:
    return Event(
        source="syslog", kind=kind, subject=subject, device=device, severity=severity, summary=summary, raw=raw
    )


def _device(message: SyslogMessage, lookup: Lookup | None) -> str:
    if lookup is not None and message.source:
        try:
            name = lookup(message.source)
        except Exception as exc:  # the inventory being unreachable must not lose the event
            log.warning("syslog device lookup failed error=%r", str(exc))
            name = None
        if name:
            return name
    return message.host or message.source


def alert_sink(ctx: Context, actor: Actor | None = None, lookup: Lookup | None = None) -> MessageSink:
    """A syslog sink that maps each batch to events and ingests them into the alert engine.

    The store work runs in a worker thread, one transaction per batch (as the trap receiver's sink),
    so the event loop keeps reading syslog meanwhile. Device names come from
    :func:`netwarden.monitor.traps.inventory_lookup` unless ``lookup`` is given.
    """
    from netwarden.access.schemas import SYSTEM
    from netwarden.alerts.schemas import AlertPolicy
    from netwarden.alerts.service import ingest
    from netwarden.monitor.traps import inventory_lookup

    who = actor or SYSTEM
    names = lookup or inventory_lookup(ctx)
    policy = AlertPolicy.from_settings(ctx.settings)

    def write(messages: list[SyslogMessage]) -> None:
        events = [e for msg in messages for e in events_for(msg, names)]
        if events:
            with ctx.db() as db:
                ingest(db, who, events, policy=policy)

    async def sink(messages: list[SyslogMessage]) -> None:
        if messages:
            await asyncio.to_thread(write, messages)

    return sink


def events_sink(
    ctx: Context, events_to: Callable[[list[Event]], Awaitable[object]], lookup: Lookup | None = None
) -> MessageSink:
    """A syslog sink handing each batch's network events to ``events_to`` (``serve``'s alert pipeline)."""
    from netwarden.monitor.traps import inventory_lookup

    names = lookup or inventory_lookup(ctx)

    async def sink(messages: list[SyslogMessage]) -> None:
        events = [e for msg in messages for e in events_for(msg, names)]
        if events:
            await events_to(events)

    return sink
