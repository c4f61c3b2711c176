"""Dependency-aware root cause: which failed device or link explains each active alert.

Pure functions over plain records (no database), so the rule is tested on its own.

The rule (see docs/decisions/0013-alert-engine.md):

1. The graph is the discovered topology without overlay (tunnel) links. Failed elements are the
   devices with an active ``device_down`` alert and the links with an active link alert. A failed
   link with a failed device at one end is a symptom of that device, not a failure of its own.
2. Remove every failed element. The *main* part is what the poller still reaches: the piece holding
   the poller's device (``poller_location``), else the pieces holding an up core device, else in
   each connected part of the network its largest surviving piece (ties: the piece holding the
   alphabetically first name), the same convention as ``topology spof``.
3. A failed device or link touching the main part is a *root*: the network around it is fine, so
   its failure is its own. Any other failed element is unreachable-because-of a root.
4. Put back everything but the roots. The devices still outside the main part are *cut off*; each
   piece of them is attributed to the roots touching it (the earliest one owns its alerts) and is
   listed in those roots' impact.

A later root therefore re-attributes alerts that arrived before it (arrival order does not matter):
the plan is recomputed from all active alerts each time something changes.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

DOWN_KINDS = frozenset({"device_down", "link_down", "interface_down", "neighbor_down"})


@dataclass(frozen=True)
class Edge:
    a: str
    a_port: str
    b: str
    b_port: str


@dataclass(frozen=True)
class Failure:
    """A failed element: ``dev:NAME`` with ``device`` set, or ``link:ID`` with the graph ``edges`` it removes."""

    id: str
    device: str | None = None
    edges: tuple[int, ...] = ()


@dataclass
class Analysis:
    main: set[str]
    roots: list[str]
    owner: dict[str, str]
    impact: dict[str, list[str]]
    cut_owner: dict[str, str]


def _pieces(
    nodes: Iterable[str], adj: dict[str, list[tuple[str, int]]], keep: Callable[[str, int], bool]
) -> list[set[str]]:
    """Connected pieces of ``nodes`` using only the edges ``keep(neighbour, edge)`` accepts."""
    allowed = set(nodes)
    seen: set[str] = set()
    out: list[set[str]] = []
    for start in sorted(allowed):
        if start in seen:
            continue
        piece = {start}
        seen.add(start)
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for nxt, idx in adj[node]:
                if nxt in allowed and nxt not in seen and keep(nxt, idx):
                    seen.add(nxt)
                    piece.add(nxt)
                    queue.append(nxt)
        out.append(piece)
    return out


def analyse(
    nodes: Iterable[str],
    edges: list[Edge],
    failures: list[Failure],
    *,
    poller: str | None = None,
    core: Iterable[str] = (),
) -> Analysis:
    """Roots, owners and impact for ``failures`` (given in priority order: earliest first)."""
    names = set(nodes)
    adj: dict[str, list[tuple[str, int]]] = {n: [] for n in names}
    for i, e in enumerate(edges):
        if e.a in names and e.b in names and e.a != e.b:
            adj[e.a].append((e.b, i))
            adj[e.b].append((e.a, i))
    down = {f.device for f in failures if f.device is not None and f.device in names}
    # A link with a failed device at one end fails with it.
    independent = [f for f in failures if f.device is None and f.edges and not _touches(f, edges, down)]
    cut_edges = {i for f in independent for i in f.edges}

    components = _pieces(names, adj, lambda _n, _i: True)
    component_of = {n: k for k, comp in enumerate(components) for n in comp}
    survivors = _pieces(names - down, adj, lambda _n, i: i not in cut_edges)

    main = _main(survivors, component_of, down, poller, set(core))
    has_main = {component_of[n] for n in main}

    def root_device(dev: str) -> bool:
        return component_of[dev] not in has_main or any(nbr in main for nbr, _ in adj[dev])

    def root_link(f: Failure) -> bool:
        ends = {x for i in f.edges for x in (edges[i].a, edges[i].b)}
        return any(x in main or component_of.get(x) not in has_main for x in ends if x in names)

    roots: list[str] = []
    for f in failures:
        if f.device is not None:
            if f.device not in names or root_device(f.device):
                roots.append(f.id)
        elif f in independent and root_link(f):
            roots.append(f.id)
    root_set = set(roots)
    root_devices = {f.device for f in failures if f.id in root_set and f.device is not None}
    root_edges = {i for f in failures if f.id in root_set for i in f.edges}

    # Put back everything but the roots: what is still outside the main part is cut off.
    outside = {n for n in names - main - root_devices if component_of[n] in has_main}
    cut = _pieces(outside, adj, lambda _n, i: i not in root_edges)
    touching: dict[str, list[int]] = {r: [] for r in roots}
    cut_owner: dict[str, str] = {}
    by_id = {f.id: f for f in failures}
    for k, piece in enumerate(cut):
        near = [r for r in roots if _adjacent(by_id[r], piece, edges, adj)]
        for r in near:
            touching[r].append(k)
        if near:
            for n in piece:
                cut_owner[n] = near[0]
    impact = {r: sorted(n for k in touching[r] for n in cut[k]) for r in roots}

    owner: dict[str, str] = {r: r for r in roots}
    for f in failures:
        if f.id in owner:
            continue
        if f.device is not None:
            owner[f.id] = cut_owner.get(f.device, f.id)
    for f in failures:
        if f.id in owner:
            continue
        ends = [x for i in f.edges for x in (edges[i].a, edges[i].b)]
        dead = [owner[f"dev:{x}"] for x in ends if x in down and f"dev:{x}" in owner]
        if dead:
            owner[f.id] = sorted(dead, key=lambda r: r not in root_set)[0]
        else:
            owner[f.id] = next((cut_owner[x] for x in ends if x in cut_owner), f.id)
    return Analysis(main=main, roots=roots, owner=owner, impact=impact, cut_owner=cut_owner)


def _touches(f: Failure, edges: list[Edge], down: set[str]) -> bool:
    return any(edges[i].a in down or edges[i].b in down for i in f.edges)


def _adjacent(f: Failure, piece: set[str], edges: list[Edge], adj: dict[str, list[tuple[str, int]]]) -> bool:
    if f.device is not None:
        return any(nbr in piece for nbr, _ in adj.get(f.device, []))
    return any(edges[i].a in piece or edges[i].b in piece for i in f.edges)


def _main(
    survivors: list[set[str]],
    component_of: dict[str, int],
    down: set[str],
    poller: str | None,
    core: set[str],
) -> set[str]:
    """The pieces the poller reaches: anchored by the poller's device or core devices, else the largest."""
    anchors = core - down
    if poller is not None and poller in component_of and poller not in down:
        # Where the poller sits, its own device is the only anchor that counts.
        anchors = {poller} | {c for c in anchors if component_of.get(c) != component_of[poller]}
    by_component: dict[int, list[set[str]]] = {}
    for piece in survivors:
        by_component.setdefault(component_of[min(piece)], []).append(piece)
    main: set[str] = set()
    for pieces in by_component.values():
        anchored = [p for p in pieces if p & anchors]
        for piece in anchored or [min(pieces, key=lambda p: (-len(p), min(p)))]:
            main |= piece
    return main


# ---------------------------------------------------------------- alerts to plan


@dataclass(frozen=True)
class AlertView:
    """What the plan needs of an active alert."""

    id: int
    kind: str
    subject: str
    device: str
    ends: tuple[str, ...]
    raised: bool
    first_seen: dt.datetime


@dataclass
class Plan:
    parent: dict[int, int | None] = field(default_factory=dict)
    root_cause: dict[int, str] = field(default_factory=dict)
    impact: dict[int, list[str]] = field(default_factory=dict)


def split_link(subject: str) -> tuple[str, str] | None:
    a, sep, b = subject.partition("--")
    return (a, b) if sep and a and b else None


def neighbor_peer(subject: str, device: str) -> str | None:
    """The peer in ``r1:bgp:10.0.0.2`` (``10.0.0.2``) or ``r1:ospf:r2`` (``r2``)."""
    rest = subject[len(device) + 1 :] if subject.startswith(device + ":") else subject
    _proto, sep, peer = rest.partition(":")
    return peer if sep and peer else None


def link_edges(pair: tuple[str, str], ends: Iterable[str], edges: list[Edge]) -> tuple[int, ...]:
    """The graph edges a link alert removes: those whose reported ends match, else every edge of the pair."""
    between = [i for i, e in enumerate(edges) if {e.a, e.b} == set(pair)]
    wanted = set(ends)
    ported = tuple(
        i for i in between if f"{edges[i].a}:{edges[i].a_port}" in wanted or f"{edges[i].b}:{edges[i].b_port}" in wanted
    )
    return ported or tuple(between)


def plan(
    alerts: list[AlertView],
    nodes: dict[str, str],
    edges: list[Edge],
    *,
    poller: str | None = None,
    core: Iterable[str] = (),
    peer_device: Callable[[str], str | None] = lambda _p: None,
) -> Plan:
    """For each active alert: its root alert (None if it is one), its root cause, and roots' impact.

    ``nodes`` maps device names to sites; ``peer_device`` names the device owning a neighbour's address.
    """
    ordered = sorted(alerts, key=lambda a: (a.first_seen, a.id))
    failures: list[Failure] = []
    alert_of: dict[str, int] = {}
    pair_failure: dict[frozenset[str], str] = {}
    for a in ordered:
        if not a.raised or a.kind not in DOWN_KINDS:
            continue
        if a.kind == "device_down" and a.subject in nodes:
            fid = f"dev:{a.subject}"
            failures.append(Failure(id=fid, device=a.subject))
            alert_of[fid] = a.id
        elif a.kind == "link_down" and (pair := split_link(a.subject)) is not None:
            idx = link_edges(pair, a.ends, edges)
            if idx:
                fid = f"link:{a.id}"
                failures.append(Failure(id=fid, edges=idx))
                alert_of[fid] = a.id
                pair_failure.setdefault(frozenset(pair), fid)
    result = analyse(nodes, edges, failures, poller=poller if poller in nodes else None, core=core)
    down = {f.device for f in failures if f.device is not None}

    def via_device(dev: str) -> str | None:
        if dev in down:
            return result.owner[f"dev:{dev}"]
        return result.cut_owner.get(dev)

    out = Plan()
    for a in ordered:
        root: str | None = None
        if a.raised and a.kind in DOWN_KINDS:
            if a.kind == "device_down" and a.subject in nodes:
                root = result.owner[f"dev:{a.subject}"]
            elif a.kind == "link_down" and (pair := split_link(a.subject)) is not None:
                fid = f"link:{a.id}"
                root = result.owner.get(fid)
                if root is None:  # a link the topology does not know: judge by its ends
                    root = via_device(pair[0]) or via_device(pair[1])
            elif a.kind == "neighbor_down" and (pair := split_link(a.subject)) is not None:
                # An adjacency lost between two linked devices: explained by either end, or by the link.
                link = pair_failure.get(frozenset(pair))
                root = via_device(pair[0]) or via_device(pair[1]) or (result.owner[link] if link else None)
            else:
                root = via_device(a.device)
                if root is None and a.kind == "neighbor_down":
                    peer = neighbor_peer(a.subject, a.device)
                    peer_dev = (peer if peer in nodes else peer_device(peer)) if peer else None
                    if peer_dev is not None:
                        link = pair_failure.get(frozenset((a.device, peer_dev)))
                        root = via_device(peer_dev) or (result.owner[link] if link else None)
        root_alert = alert_of.get(root) if root is not None else None
        if root_alert is None or root_alert == a.id:
            out.parent[a.id] = None
            out.root_cause[a.id] = a.device
            impact = result.impact.get(root, []) if root_alert == a.id and root is not None else []
            out.impact[a.id] = impact
        else:
            out.parent[a.id] = root_alert
            out.root_cause[a.id] = _name(root, alerts)
            out.impact[a.id] = []
    return out


def _name(root: str | None, alerts: list[AlertView]) -> str:
    if root is None:
        return ""
    if root.startswith("dev:"):
        return root[4:]
    wanted = int(root[5:])
    return next((a.subject for a in alerts if a.id == wanted), root)
