"""The network as a graph: devices and links from the store, single points of failure, L3 paths.

Edges come from two places:

* physical links (manual, imported, or learnt from LLDP/CDP), kept in the ``links`` table with
  first/last seen;
* L3 adjacencies: two devices with addresses in the same subnet that no chain of physical links
  joins (where LLDP/CDP saw nothing, or across a WAN/tunnel).
  The management subnet (any subnet holding a device's management address) is left out: it joins
  everything to the monitoring host and would hide every real single point of failure. Tunnel
  interfaces make overlay edges, drawn on the map but left out of the failure analysis, because a
  tunnel fails with the path it rides on.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.discover.schemas import CutPoint, Hop, PathResult, SpofReport, TopoLink, Topology, TopoNode
from netwarden.discover.sync import observations
from netwarden.errors import InvalidInput, NotFound
from netwarden.inventory.models import Device, Interface, IPAddress, Link

# Interface kinds and name prefixes that are overlays (see the module docstring).
TUNNEL_KINDS = frozenset({"tunnel", "vpn", "wireguard", "gre", "ipsec"})
# wg0, tun1, gre2, ipsec0, vti3, Tunnel10, and the same after a prefix (the lab's "nwlab-wg0a")
TUNNEL_NAME = re.compile(r"(^|[-_.])(wg|tun|gre|ipsec|vti)\d|^Tunnel\d", re.IGNORECASE)
MAX_HOPS = 32


def is_tunnel(name: str, kind: str | None = None) -> bool:
    """Whether an interface of this name and kind is an overlay (VPN, GRE...)."""
    return kind in TUNNEL_KINDS or TUNNEL_NAME.search(name) is not None


def _is_tunnel(iface: Interface) -> bool:
    return is_tunnel(iface.name, iface.kind)


@dataclass
class _Data:
    devices: dict[int, Device]
    links: list[TopoLink]
    overlay: set[tuple[str, str]]


def _load(db: Session) -> _Data:
    devices = {d.id: d for d in db.scalars(select(Device).options(selectinload(Device.site)))}
    links: list[TopoLink] = []
    physical_pairs: set[tuple[int, int]] = set()
    for link in db.scalars(select(Link).options(selectinload(Link.a_interface), selectinload(Link.b_interface))):
        a, b = link.a_interface, link.b_interface
        physical_pairs.add((a.device_id, b.device_id))
        links.append(
            TopoLink(
                a=devices[a.device_id].name,
                a_port=a.name,
                b=devices[b.device_id].name,
                b_port=b.name,
                kind="physical",
                source=link.source,
            )
        )
    # L3 adjacencies only bridge what the physical links leave apart: inside a physical component a
    # shared subnet is carried by the switches in between, and an L3 edge would hide them as SPOFs.
    physical: nx.Graph[int] = nx.Graph()
    physical.add_nodes_from(devices)
    physical.add_edges_from(physical_pairs)
    component = {dev: i for i, comp in enumerate(nx.connected_components(physical)) for dev in comp}
    overlay: set[tuple[str, str]] = set()
    for subnet, members in sorted(_shared_subnets(db, devices).items()):
        if len(members) < 2:
            continue
        for i, (dev_a, iface_a) in enumerate(members):
            for dev_b, iface_b in members[i + 1 :]:
                tunnel = _is_tunnel(iface_a) or _is_tunnel(iface_b)
                if dev_a == dev_b or (component[dev_a] == component[dev_b] and not tunnel):
                    continue
                a_name, b_name = devices[dev_a].name, devices[dev_b].name
                links.append(
                    TopoLink(
                        a=a_name,
                        a_port=iface_a.name,
                        b=b_name,
                        b_port=iface_b.name,
                        kind="l3",
                        source="l3",
                        subnet=subnet,
                        tunnel=tunnel,
                    )
                )
                if tunnel:
                    overlay.add((a_name, b_name))
    return _Data(devices, links, overlay)


def _shared_subnets(db: Session, devices: dict[int, Device]) -> dict[str, list[tuple[int, Interface]]]:
    mgmt = {d.mgmt_ip for d in devices.values() if d.mgmt_ip}
    by_subnet: dict[str, list[tuple[int, Interface]]] = defaultdict(list)
    mgmt_subnets: set[str] = set()
    rows = db.execute(
        select(IPAddress.address, IPAddress.prefix_length, Interface).join(
            Interface, IPAddress.interface_id == Interface.id
        )
    ).all()
    for address, plen, iface in rows:
        net = str(ipaddress.ip_interface(f"{address}/{plen}").network)
        if address in mgmt:
            mgmt_subnets.add(net)
        # A /32 or /128 (a loopback) joins nobody.
        if ipaddress.ip_network(net).num_addresses > 1:
            by_subnet[net].append((iface.device_id, iface))
    return {k: v for k, v in by_subnet.items() if k not in mgmt_subnets}


def topology(db: Session, actor: Actor) -> Topology:
    """Nodes and links (physical and L3), in a stable order; the ``topology export --format json`` shape."""
    require(actor, Role.viewer, "read the topology")
    data = _load(db)
    nodes = [
        TopoNode(name=d.name, site=d.site.name, role=d.role, platform=d.platform, status=d.status, mgmt_ip=d.mgmt_ip)
        for d in sorted(data.devices.values(), key=lambda d: d.name)
    ]
    links = sorted(data.links, key=lambda lk: (lk.kind != "physical", lk.a, lk.a_port, lk.b, lk.b_port))
    return Topology(nodes=nodes, links=links)


def graph(
    topo: Topology, *, include_overlay: bool = True, overlay: Iterable[tuple[str, str]] = ()
) -> nx.MultiGraph[str]:
    g: nx.MultiGraph[str] = nx.MultiGraph()
    for n in topo.nodes:
        g.add_node(n.name, **n.model_dump())
    skip = {frozenset(p) for p in overlay} if not include_overlay else set()
    for lk in topo.links:
        if frozenset((lk.a, lk.b)) in skip:
            continue
        g.add_edge(lk.a, lk.b, **lk.model_dump())
    return g


# ---------------------------------------------------------------- single points of failure


def spof(db: Session, actor: Actor) -> SpofReport:
    """Devices and links whose loss cuts devices off from the rest, with what they cut off.

    "Cut off" counts only devices that were connected to the failed device or link: within its
    connected part of the network, everything outside the largest piece left standing (ties: the
    piece holding the alphabetically first name). One depth-first pass per part finds them all.
    """
    require(actor, Role.viewer, "read the topology")
    data = _load(db)
    topo = Topology(nodes=topology(db, actor).nodes, links=[lk for lk in data.links])
    g = graph(topo, include_overlay=False, overlay=data.overlay)
    site_of = {n.name: n.site for n in topo.nodes}
    simple: nx.Graph[str] = nx.Graph(g)
    device_cuts = []
    link_cuts = []
    for part in sorted((sorted(c) for c in nx.connected_components(simple)), key=lambda c: c[0]):
        if len(part) < 2:
            continue
        nodes, edges = _cuts(simple, part)
        for node, cut in nodes.items():
            device_cuts.append(CutPoint(kind="device", name=node, cut_off=cut, sites=sorted({site_of[c] for c in cut})))
        for (u, v), cut in edges.items():
            if g.number_of_edges(u, v) > 1:
                continue  # parallel links: redundant
            edge = next(iter(g.get_edge_data(u, v).values()))
            label = f"{edge['a']}:{edge['a_port']}--{edge['b']}:{edge['b_port']}"
            link_cuts.append(CutPoint(kind="link", name=label, cut_off=cut, sites=sorted({site_of[c] for c in cut})))
    device_cuts.sort(key=lambda c: (-len(c.cut_off), c.name))
    link_cuts.sort(key=lambda c: (-len(c.cut_off), c.name))
    return SpofReport(devices=device_cuts, links=link_cuts)


def _cuts(g: nx.Graph[str], part: list[str]) -> tuple[dict[str, list[str]], dict[tuple[str, str], list[str]]]:
    """Articulation points and bridges of one connected part, each with the devices it cuts off.

    Tarjan's low-link over an iterative DFS; a subtree is a slice of the preorder, so each piece
    a failure leaves is read off without copying the graph.
    """
    root = part[0]
    tin: dict[str, int] = {root: 0}
    low: dict[str, int] = {root: 0}
    order = [root]
    size: dict[str, int] = {}
    children: dict[str, list[str]] = {root: []}
    parent: dict[str, str | None] = {root: None}
    stack = [(root, iter(sorted(g[root])))]
    while stack:
        node, neighbours = stack[-1]
        advanced = False
        for nxt in neighbours:
            if nxt not in tin:
                tin[nxt] = low[nxt] = len(order)
                order.append(nxt)
                parent[nxt] = node
                children[nxt] = []
                children[node].append(nxt)
                stack.append((nxt, iter(sorted(g[nxt]))))
                advanced = True
                break
            if nxt != parent[node]:
                low[node] = min(low[node], tin[nxt])
        if advanced:
            continue
        stack.pop()
        size[node] = 1 + sum(size[c] for c in children[node])
        up = parent[node]
        if up is not None:
            low[up] = min(low[up], low[node])

    def subtree(c: str) -> list[str]:
        return order[tin[c] : tin[c] + size[c]]

    def cut_off(pieces: list[list[str]]) -> list[str]:
        ranked = sorted(pieces, key=lambda p: (-len(p), min(p)))
        return sorted(n for p in ranked[1:] for n in p)

    nodes: dict[str, list[str]] = {}
    edges: dict[tuple[str, str], list[str]] = {}
    total = len(order)
    for node in order:
        split = [c for c in children[node] if low[c] >= tin[node]]
        if node == root:
            split = children[node] if len(children[node]) > 1 else []
        if split:
            pieces = [subtree(c) for c in split]
            rest = total - 1 - sum(len(p) for p in pieces)
            if rest:
                inside = set().union(*pieces) | {node}
                pieces.append([n for n in order if n not in inside])
            nodes[node] = cut_off(pieces)
        for c in children[node]:
            if low[c] > tin[node]:
                below = subtree(c)
                inside = set(below)
                edges[(min(node, c), max(node, c))] = cut_off([below, [n for n in order if n not in inside]])
    return nodes, dict(sorted(edges.items()))


# ---------------------------------------------------------------- export


def to_graphml(topo: Topology) -> str:
    g = graph(topo)
    clean: nx.MultiGraph[str] = nx.MultiGraph()
    for n, attrs in g.nodes(data=True):
        clean.add_node(n, **{k: ("" if v is None else v) for k, v in attrs.items()})
    for u, v, attrs in g.edges(data=True):
        clean.add_edge(u, v, **{k: ("" if v2 is None else v2) for k, v2 in attrs.items()})
    return "\n".join(nx.generate_graphml(clean)) + "\n"


def to_dot(topo: Topology) -> str:
    colour = {"active": "#2e7d32", "missing": "#c62828", "offline": "#9e9e9e", "planned": "#1565c0"}
    lines = [
        "graph netwarden {",
        '  graph [overlap=false, splines=true, fontname="DejaVu Sans"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="DejaVu Sans"];',
    ]
    by_site: dict[str, list[TopoNode]] = defaultdict(list)
    for n in topo.nodes:
        by_site[n.site].append(n)
    for i, (site, nodes) in enumerate(sorted(by_site.items())):
        lines.append(f'  subgraph cluster_{i} {{ label="{_esc(site)}"; style=dashed;')
        for n in nodes:
            label = f"{_esc(n.name)}\\n{_esc(n.mgmt_ip or '')}"
            lines.append(f'    "{_esc(n.name)}" [label="{label}", color="{colour.get(n.status, "#555555")}"];')
        lines.append("  }")
    for lk in topo.links:
        style = "solid" if lk.kind == "physical" else "dashed"
        lines.append(
            f'  "{_esc(lk.a)}" -- "{_esc(lk.b)}" [taillabel="{_esc(lk.a_port)}", headlabel="{_esc(lk.b_port)}", '
            f"style={style}, fontsize=8];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_svg(topo: Topology, timeout: float = 60.0) -> str:
    """Render with Graphviz (``dot``); a clear error when it is not installed."""
    dot = shutil.which("dot")
    if dot is None:
        raise InvalidInput("SVG export needs Graphviz's 'dot' (Debian package graphviz); use --format json or graphml")
    done = subprocess.run(
        [dot, "-Tsvg", "-Kfdp" if len(topo.nodes) > 60 else "-Kdot"],
        input=to_dot(topo),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise InvalidInput(
            f"graphviz failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
        )
    return done.stdout


# ---------------------------------------------------------------- paths


def _owner(db: Session, ip: str) -> tuple[Device, Interface] | None:
    row = db.scalar(
        select(IPAddress)
        .where(IPAddress.address == ip)
        .options(selectinload(IPAddress.interface).selectinload(Interface.device))
    )
    if row is None or row.interface is None:
        dev = db.scalar(select(Device).where(Device.mgmt_ip == ip))
        return None if dev is None else (dev, None)  # type: ignore[return-value]
    return row.interface.device, row.interface


def _primary_ip(db: Session, dev: Device) -> str | None:
    """A device's first non-management, non-loopback address (what a host is reached by)."""
    rows = db.execute(
        select(IPAddress.address, Interface.name)
        .join(Interface, IPAddress.interface_id == Interface.id)
        .where(Interface.device_id == dev.id)
        .order_by(Interface.id, IPAddress.id)
    ).all()
    for address, _ in rows:
        if address != dev.mgmt_ip and ipaddress.ip_address(address).version == 4:
            return str(address)
    return None


def _best_route(
    routes: list[dict[str, Any]], ip: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> dict[str, Any] | None:
    best: tuple[int, int, dict[str, Any]] | None = None
    for r in routes:
        if not r.get("selected", True):
            continue
        try:
            net = ipaddress.ip_network(str(r["prefix"]), strict=False)
        except (KeyError, ValueError):
            continue
        if net.version != ip.version or ip not in net:
            continue
        key = (net.prefixlen, -(r.get("distance") or 0))
        if best is None or key > best[:2]:
            best = (key[0], key[1], r)
    return best[2] if best else None


def destination_ip(db: Session, destination: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(destination)
    except ValueError:
        pass
    dst_dev = db.scalar(select(Device).where(Device.name == destination))
    if dst_dev is None:
        raise NotFound(f"{destination!r} is neither an IP address nor a known device")
    primary = _primary_ip(db, dst_dev)
    if primary is None:
        raise NotFound(f"device {destination!r} has no recorded address to route to")
    return ipaddress.ip_address(primary)


def compute_path(db: Session, actor: Actor, source: str, destination: str) -> PathResult:
    """Hop-by-hop L3 path from the routing tables discovery collected.

    ``destination`` is a device name (its first non-management address is used) or an IP address.
    """
    require(actor, Role.viewer, "read the topology")
    src = db.scalar(select(Device).where(Device.name == source))
    if src is None:
        raise NotFound(f"device {source!r} does not exist")
    dst_ip = destination_ip(db, destination)
    hops: list[Hop] = []
    current, entered_on = src, None
    seen: set[int] = set()
    while len(hops) < MAX_HOPS:
        hop = Hop(device=current.name, address=entered_on)
        hops.append(hop)
        owner = _owner(db, str(dst_ip))
        if owner is not None and owner[0].id == current.id:
            return PathResult(
                source=source, destination=destination, destination_ip=str(dst_ip), hops=hops, complete=True
            )
        if current.id in seen:
            return _incomplete(source, destination, dst_ip, hops, f"routing loop at {current.name}")
        seen.add(current.id)
        route = _best_route(observations(db, current.id, "routes"), dst_ip)
        if route is None:
            return _incomplete(source, destination, dst_ip, hops, f"{current.name} has no route to {dst_ip}")
        hop.route = f"{route['prefix']} ({route.get('protocol', '?')})"
        hop.interface = (route.get("interfaces") or [None])[0]
        next_hops = sorted(str(n) for n in route.get("next_hops") or [])
        target_ip = next_hops[0] if next_hops else str(dst_ip)
        nxt = _owner(db, target_ip)
        if nxt is None:
            reason = f"{current.name} forwards to {target_ip}, which is not a known device address"
            return _incomplete(source, destination, dst_ip, hops, reason)
        current, entered_on = nxt[0], target_ip
    return _incomplete(source, destination, dst_ip, hops, f"more than {MAX_HOPS} hops")


def _incomplete(source: str, destination: str, ip: Any, hops: list[Hop], reason: str) -> PathResult:
    return PathResult(
        source=source, destination=destination, destination_ip=str(ip), hops=hops, complete=False, reason=reason
    )


def compare_with_traceroute(db: Session, result: PathResult, trace: list[str | None]) -> PathResult:
    """Set ``traceroute``, ``matches`` and ``differences``: devices in the computed path vs those traceroute saw."""
    seen_devices: list[str | None] = []
    for ip in trace:
        owner = _owner(db, ip) if ip else None
        seen_devices.append(owner[0].name if owner else None)
    expected = [h.device for h in result.hops[1:]]
    differences = []
    for i in range(max(len(expected), len(seen_devices))):
        want = expected[i] if i < len(expected) else None
        got = seen_devices[i] if i < len(seen_devices) else None
        if want != got:
            shown = trace[i] if i < len(trace) and trace[i] else "*"
            differences.append(f"hop {i + 1}: computed {want or '-'}, traceroute saw {got or shown}")
    return result.model_copy(update={"traceroute": trace, "matches": not differences, "differences": differences})
