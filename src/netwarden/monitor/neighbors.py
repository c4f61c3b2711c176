"""Routing neighbours over SNMP: BGP peers (BGP4-MIB) and OSPF neighbours (OSPF-MIB), as points and events.

One SNMP walk per device reads the peer and neighbour tables (the same columns discovery reads,
:data:`netwarden.collect.snmp_facts.TABLES`, plus the BGP admin status). A :class:`NeighborWatch`
remembers each neighbour's last state, so that a round yields:

- points: ``bgp_peer_state`` (1 idle .. 6 established), ``bgp_peer_up`` (1/0) and
  ``bgp_peer_uptime_seconds`` per peer address; ``ospf_nbr_state`` (1 down .. 8 full) and
  ``ospf_nbr_up`` per neighbour router ID;
- events on a change only: ``neighbor_down`` / ``neighbor_up``, subject ``r1:bgp:10.0.0.2`` or
  ``r1:ospf:10.255.0.2``.

What counts as up: a BGP peer in Established; an OSPF neighbour in Full or 2-Way (2-Way is the
steady state between two DROTHER routers). OSPF's exchange states (ExStart, Exchange, Loading) last
a moment; one seen there keeps its previous state, and only a second poll in a row there counts as
down (stuck adjacency, e.g. an MTU mismatch). A BGP peer an operator shut down (bgpPeerAdminStatus
stop) is not a failure. A neighbour that was up and has vanished from the table (OSPF deletes a dead
neighbour) counts as down. A failed read says nothing about neighbours: no events then (the
device's own availability check covers it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from netwarden.alerts.events import Event
from netwarden.collect import snmp
from netwarden.collect._ber import Value
from netwarden.collect.records import TargetResult
from netwarden.collect.snmp_facts import TABLES
from netwarden.monitor.poller import PollOutcome, Target, observe_each
from netwarden.monitor.records import Point

log = logging.getLogger(__name__)

Protocol = Literal["bgp", "ospf"]

COLUMNS: Final = {
    "bgp_state": TABLES["bgp_state"],
    "bgp_admin": "1.3.6.1.2.1.15.3.1.3",
    "bgp_remote_as": TABLES["bgp_remote_as"],
    "bgp_established_time": TABLES["bgp_established_time"],
    "ospf_nbr_rtr": TABLES["ospf_nbr_rtr"],
    "ospf_nbr_state": TABLES["ospf_nbr_state"],
}
BGP_STATES: Final = {1: "Idle", 2: "Connect", 3: "Active", 4: "OpenSent", 5: "OpenConfirm", 6: "Established"}
OSPF_STATES: Final = {
    1: "Down",
    2: "Attempt",
    3: "Init",
    4: "2-Way",
    5: "ExStart",
    6: "Exchange",
    7: "Loading",
    8: "Full",
}
BGP_ESTABLISHED: Final = 6
BGP_ADMIN_STOP: Final = 1
OSPF_UP: Final = frozenset({4, 8})
OSPF_TRANSIENT: Final = frozenset({5, 6, 7})


@dataclass(frozen=True)
class NeighborState:
    """One row of the BGP peer table or the OSPF neighbour table."""

    protocol: Protocol
    neighbor: str  # BGP: the peer address; OSPF: the neighbour's router ID
    address: str
    state: int
    remote_as: int | None = None
    uptime: float | None = None  # BGP: seconds in Established
    admin_down: bool = False  # BGP: the operator stopped the peer

    @property
    def state_name(self) -> str:
        names = BGP_STATES if self.protocol == "bgp" else OSPF_STATES
        return names.get(self.state, str(self.state))

    @property
    def up(self) -> bool | None:
        """True/False; None for an OSPF exchange state (decided by the next poll)."""
        if self.protocol == "bgp":
            return self.state == BGP_ESTABLISHED
        if self.state in OSPF_TRANSIENT:
            return None
        return self.state in OSPF_UP


def _int(value: Value | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ipv4_from_index(index: str) -> str | None:
    arcs = index.split(".")
    if len(arcs) < 4 or not all(a.isdigit() and int(a) < 256 for a in arcs[:4]):
        return None
    return ".".join(arcs[:4])


def neighbors_from(columns: dict[str, dict[str, Value]]) -> list[NeighborState]:
    """Map walked columns (``{key of COLUMNS: {index: value}}``; missing keys are empty tables)."""

    def col(key: str) -> dict[str, Value]:
        return columns.get(key, {})

    out: list[NeighborState] = []
    for index, raw in col("bgp_state").items():
        state = _int(raw)
        address = _ipv4_from_index(index)
        if state is None or address is None:
            continue
        established = _int(col("bgp_established_time").get(index))
        out.append(
            NeighborState(
                protocol="bgp",
                neighbor=address,
                address=address,
                state=state,
                remote_as=_int(col("bgp_remote_as").get(index)),
                uptime=float(established) if established is not None and state == BGP_ESTABLISHED else None,
                admin_down=_int(col("bgp_admin").get(index)) == BGP_ADMIN_STOP,
            )
        )
    for index, raw in col("ospf_nbr_state").items():
        state = _int(raw)
        address = _ipv4_from_index(index)
        if state is None or address is None:
            continue
        router_id = col("ospf_nbr_rtr").get(index)
        out.append(
            NeighborState(
                protocol="ospf",
                neighbor=router_id if isinstance(router_id, str) and router_id else address,
                address=address,
                state=state,
            )
        )
    return out


async def read_neighbors(
    target: Target, *, timeout: float = 2.0, retries: int = 1
) -> TargetResult[list[NeighborState]]:
    """One walk of the BGP peer and OSPF neighbour tables of ``target`` (which needs SNMP credentials)."""
    if target.snmp is None:
        return TargetResult.failure(target.address, "unsupported", f"{target.name} has no SNMP credential")

    async def read(session: snmp.Session) -> list[NeighborState]:
        walked = await session.walk_columns(list(COLUMNS.values()))
        return neighbors_from({key: walked[oid] for key, oid in COLUMNS.items()})

    return await snmp.collect(
        target.address, target.snmp, read, port=target.snmp_port, timeout=timeout, retries=retries
    )


class NeighborWatch:
    """Turns neighbour readings into points and change events; remembers each neighbour's last state."""

    def __init__(self) -> None:
        self.up: dict[tuple[str, Protocol, str], bool] = {}  # (device, protocol, neighbour) -> last decided state
        self.transient: dict[tuple[str, Protocol, str], int] = {}  # polls in a row in an OSPF exchange state

    def observe(self, device: str, neighbors: Sequence[NeighborState], ts: float | None = None) -> PollOutcome:
        """Points and ``neighbor_down``/``neighbor_up`` events from one successful reading of ``device``."""
        now = time.time() if ts is None else ts
        out = PollOutcome(device)
        seen: set[tuple[str, Protocol, str]] = set()
        for n in neighbors:
            key = (device, n.protocol, n.neighbor)
            if key in seen:  # the same router ID on two links: the first row speaks for it
                continue
            seen.add(key)
            self._points(out, device, n, now)
            up = n.up
            if up is None:
                count = self.transient.get(key, 0) + 1
                self.transient[key] = count
                if count < 2:
                    continue
                up = False
            else:
                self.transient.pop(key, None)
            if n.admin_down and not up:
                self.up.pop(key, None)  # shut down on purpose: neither down nor remembered as up
                continue
            self._decide(out, key, up, f"{n.state_name}" + (f" (AS {n.remote_as})" if n.remote_as else ""))
        for key in [k for k in self.up if k[0] == device and k not in seen]:
            self.transient.pop(key, None)
            if self.up[key]:
                self._decide(out, key, False, "gone from the neighbour table")
        return out

    def _points(self, out: PollOutcome, device: str, n: NeighborState, ts: float) -> None:
        points = out.points
        up = 1.0 if n.up else 0.0
        if n.protocol == "bgp":
            points.append(Point(device, "bgp_peer_state", n.neighbor, ts, float(n.state)))
            points.append(Point(device, "bgp_peer_up", n.neighbor, ts, up))
            if n.uptime is not None:
                points.append(Point(device, "bgp_peer_uptime_seconds", n.neighbor, ts, n.uptime))
        else:
            points.append(Point(device, "ospf_nbr_state", n.neighbor, ts, float(n.state)))
            points.append(Point(device, "ospf_nbr_up", n.neighbor, ts, up))

    def _decide(self, out: PollOutcome, key: tuple[str, Protocol, str], up: bool, why: str) -> None:
        before = self.up.get(key)
        self.up[key] = up
        if before == up or (before is None and up):
            return
        device, protocol, neighbor = key
        subject = f"{device}:{protocol}:{neighbor}"
        what = "BGP peer" if protocol == "bgp" else "OSPF neighbour"
        summary = f"{what} {neighbor} on {device} is {'up' if up else 'down'}: {why}"
        log.info("neighbour changed subject=%s up=%s state=%s", subject, up, why)
        out.events.append(
            Event(
                source="poll",
                kind="neighbor_up" if up else "neighbor_down",
                subject=subject,
                device=device,
                severity="major",
                summary=summary,
            )
        )

    def forget(self, devices: Iterable[str]) -> None:
        """Drop what is remembered of devices removed from monitoring."""
        gone = set(devices)
        for table in (self.up, self.transient):
            for key in [k for k in table if k[0] in gone]:
                del table[key]


async def neighbor_round(
    watch: NeighborWatch,
    targets: Sequence[Target],
    *,
    timeout: float = 2.0,
    retries: int = 1,
    concurrency: int = 256,
) -> list[PollOutcome]:
    """Read every target's neighbour tables and turn them into points and events; a failed read is recorded."""

    async def read(target: Target) -> TargetResult[list[NeighborState]]:
        got = await read_neighbors(target, timeout=timeout, retries=retries)
        if got.reason == "protocol":
            # FRR's bgpd answers genErr while a peer it is walking is being torn down: ask once more.
            got = await read_neighbors(target, timeout=timeout, retries=retries)
        return got

    return await observe_each([t for t in targets if t.snmp is not None], read, watch.observe, concurrency)
