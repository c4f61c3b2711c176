"""Turn a validated :class:`Topology` into a concrete plan: segments, addresses, peers, names.

The plan is pure data (no I/O). ``lab up`` builds exactly what it says and the
state file keeps a copy, so ``status``, ``fault`` and ``down`` never need the
topology file again.

Addressing rules: a *segment* is what one link joins, widened through switches
(a switch's ports are one broadcast domain). A segment of two non-switch
interfaces is point-to-point (/30 by default); any other is a LAN
(/24 by default). Routers and firewalls take the lowest host addresses of a
segment, then switches (one address on their bridge), then hosts and servers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator

from pydantic import BaseModel, ConfigDict

from netwarden.errors import InvalidInput
from netwarden.lab.topology import ROUTING_KINDS, Topology, split_endpoint

KIND_ORDER = {"router": 0, "firewall": 1, "switch": 2, "server": 3, "host": 4}
PLATFORM = {"router": "frr", "firewall": "nftables", "switch": "linux", "host": "linux", "server": "linux"}
PREFIX_PATTERN = r"^[a-z][a-z0-9]{1,7}$"
WG_PORT = 51820


class _Rec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Iface(_Rec):
    name: str
    address: ipaddress.IPv4Interface | None = None
    segment: int
    peers: list[str] = []  # "node:iface" of the other members of the segment
    ospf_active: bool = False
    cost: int | None = None


class BgpNeighbor(_Rec):
    node: str
    address: ipaddress.IPv4Address
    asn: int


class StaticRoute(_Rec):
    prefix: ipaddress.IPv4Network
    via: ipaddress.IPv4Address


class PlannedNode(_Rec):
    name: str
    kind: str
    platform: str
    index: int
    site: str | None
    namespace: str
    mgmt_ip: ipaddress.IPv4Address
    loopback: ipaddress.IPv4Address | None = None
    ifaces: list[Iface] = []
    gateway: ipaddress.IPv4Address | None = None
    ospf_area: int | None = None
    redistribute_bgp: bool = False
    asn: int | None = None
    neighbors: list[BgpNeighbor] = []
    statics: list[StaticRoute] = []
    snmp: bool = True
    ssh: bool = True
    syslog: bool = True
    lldp: bool = True
    community: str | None = None
    nftables: str | None = None
    http: bool = False
    dns: bool = False
    traffic: list[str] = []
    hardening: bool = True
    frr_config: list[str] = []

    @property
    def routes(self) -> bool:
        return self.kind in ROUTING_KINDS

    @property
    def primary(self) -> ipaddress.IPv4Address | None:
        """The address other nodes use for this one on the data plane."""
        if self.loopback is not None:
            return self.loopback
        for iface in self.ifaces:
            if iface.address is not None:
                return iface.address.ip
        return None

    def iface(self, name: str) -> Iface:
        for iface in self.ifaces:
            if iface.name == name:
                return iface
        raise InvalidInput(f"node {self.name} has no interface {name}")


class PlannedLink(_Rec):
    a: str
    a_port: str
    b: str
    b_port: str
    segment: int


class PlannedVpn(_Rec):
    name: str
    a: str
    b: str
    a_ifname: str
    b_ifname: str
    a_tunnel: ipaddress.IPv4Interface
    b_tunnel: ipaddress.IPv4Interface
    a_underlay: ipaddress.IPv4Address
    b_underlay: ipaddress.IPv4Address
    port: int = WG_PORT


class Plan(_Rec):
    name: str
    prefix: str
    mgmt_cidr: ipaddress.IPv4Network
    mgmt_gateway: ipaddress.IPv4Address
    bridge: str
    syslog_collector: ipaddress.IPv4Address
    syslog_port: int
    nodes: list[PlannedNode]
    links: list[PlannedLink]
    vpns: list[PlannedVpn]
    segments: list[ipaddress.IPv4Network]
    # SNMP traps from every node's snmpd (None: no traps); defaults keep older state files readable.
    trap_collector: ipaddress.IPv4Address | None = None
    trap_port: int = 1162

    def node(self, name: str) -> PlannedNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise InvalidInput(f"the lab has no node {name!r} (nodes: {', '.join(n.name for n in self.nodes)})")

    def expected_prefixes(self) -> list[ipaddress.IPv4Network]:
        """Every prefix a converged router has a route to."""
        out = list(self.segments)
        out += [ipaddress.IPv4Network(f"{n.loopback}/32") for n in self.nodes if n.loopback is not None]
        out += [v.a_tunnel.network for v in self.vpns]
        return sorted(set(out))


class _Alloc:
    """First-fit allocation of subnets from a pool, around what is taken explicitly."""

    def __init__(self, pool: ipaddress.IPv4Network, taken: Iterable[ipaddress.IPv4Network]) -> None:
        self.pool = pool
        self.taken = list(taken)

    def take(self, prefixlen: int, what: str) -> ipaddress.IPv4Network:
        for candidate in self.pool.subnets(new_prefix=prefixlen):
            if not any(candidate.overlaps(t) for t in self.taken):
                self.taken.append(candidate)
                return candidate
        raise InvalidInput(f"address pool {self.pool} is exhausted while addressing {what}")


class _Segments:
    """Union-find over ``node:iface`` keys; switch ports fold into one segment."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _hosts(net: ipaddress.IPv4Network) -> Iterator[ipaddress.IPv4Address]:
    return net.hosts() if net.prefixlen < 31 else iter(net)


def make_plan(topo: Topology, prefix: str = "nwlab", mgmt_cidr: ipaddress.IPv4Network | None = None) -> Plan:
    """Resolve every address, peer and name of ``topo`` for a lab named ``prefix``."""
    import re

    if not re.match(PREFIX_PATTERN, prefix):
        raise InvalidInput(f"lab prefix {prefix!r} must be 2-8 lower-case letters/digits, starting with a letter")
    mgmt = mgmt_cidr or topo.mgmt_cidr
    nodes = {
        name: PlannedNode(
            name=name,
            kind=n.kind,
            platform=PLATFORM[n.kind],
            index=i,
            site=n.site,
            namespace=f"{prefix}-{name}",
            mgmt_ip=ipaddress.IPv4Address(0),
            ospf_area=n.ospf.area if n.ospf else None,
            redistribute_bgp=bool(n.ospf and n.ospf.redistribute_bgp),
            asn=n.bgp.asn if n.bgp else None,
            snmp=n.services.snmp,
            ssh=n.services.ssh,
            syslog=n.services.syslog,
            lldp=n.services.lldp,
            community=n.services.community,
            http=n.http,
            dns=n.dns,
            hardening=n.hardening,
            frr_config=list(n.frr_config),
        )
        for i, (name, n) in enumerate(topo.nodes.items())
    }
    segments, links = _build_segments(topo, nodes)
    _address_segments(topo, nodes, segments)
    _loopbacks(topo, nodes)
    _mgmt(topo, nodes, mgmt)
    _gateways(nodes)
    vpns = _vpns(topo, nodes, prefix)
    _bgp(topo, nodes, vpns)
    _names(topo, nodes)
    seg_nets = [s for s in segments]
    return Plan(
        name=topo.name,
        prefix=prefix,
        mgmt_cidr=mgmt,
        mgmt_gateway=next(mgmt.hosts()),
        bridge=f"{prefix}-mgmt",
        syslog_collector=topo.syslog.collector or next(mgmt.hosts()),
        syslog_port=topo.syslog.port,
        trap_collector=(topo.traps.collector or next(mgmt.hosts())) if topo.traps.enabled else None,
        trap_port=topo.traps.port,
        nodes=list(nodes.values()),
        links=links,
        vpns=vpns,
        segments=seg_nets,
    )


def _build_segments(
    topo: Topology, nodes: dict[str, PlannedNode]
) -> tuple[list[ipaddress.IPv4Network], list[PlannedLink]]:
    uf = _Segments()
    for link in topo.links:
        a, b = link.endpoints
        uf.join(a, b)
        for ep in link.endpoints:
            node, _ = split_endpoint(ep)
            if topo.nodes[node].kind == "switch":
                uf.join(ep, f"{node}:br0")
    roots: list[str] = []
    members: dict[str, list[str]] = {}
    for link in topo.links:
        for ep in link.endpoints:
            root = uf.find(ep)
            if root not in members:
                roots.append(root)
                members[root] = []
            node, iface = split_endpoint(ep)
            key = f"{node}:br0" if topo.nodes[node].kind == "switch" else ep
            if key not in members[root]:
                members[root].append(key)
    seg_index = {root: i for i, root in enumerate(roots)}
    for root in roots:
        for key in members[root]:
            node, iface = split_endpoint(key)
            nodes[node].ifaces.append(Iface(name=iface, segment=seg_index[root]))
            nodes[node].ifaces[-1].peers = [m for m in members[root] if m != key]
    # Switch ports carry no address; remember them so the bridge can enslave them.
    for link in topo.links:
        for ep in link.endpoints:
            node, iface = split_endpoint(ep)
            if topo.nodes[node].kind == "switch":
                nodes[node].ifaces.append(Iface(name=iface, segment=seg_index[uf.find(ep)]))
    for link in topo.links:
        if link.cost is None:
            continue
        for ep in link.endpoints:
            node, iface = split_endpoint(ep)
            if topo.nodes[node].kind != "switch":
                nodes[node].iface(iface).cost = link.cost
    planned_links = [
        PlannedLink(
            a=split_endpoint(link.endpoints[0])[0],
            a_port=split_endpoint(link.endpoints[0])[1],
            b=split_endpoint(link.endpoints[1])[0],
            b_port=split_endpoint(link.endpoints[1])[1],
            segment=seg_index[uf.find(link.endpoints[0])],
        )
        for link in topo.links
    ]
    subnets = _segment_subnets(topo, roots, members, uf)
    return subnets, planned_links


def _segment_subnets(
    topo: Topology, roots: list[str], members: dict[str, list[str]], uf: _Segments
) -> list[ipaddress.IPv4Network]:
    explicit: dict[str, ipaddress.IPv4Network] = {}
    for link in topo.links:
        if link.subnet is None:
            continue
        root = uf.find(link.endpoints[0])
        if root in explicit and explicit[root] != link.subnet:
            raise InvalidInput(f"links of one segment give two subnets: {explicit[root]} and {link.subnet}")
        explicit[root] = link.subnet
    for name, node in topo.nodes.items():
        for iface, addr in node.addresses.items():
            root = uf.find(f"{name}:{iface}")
            if root in explicit and addr not in explicit[root]:
                raise InvalidInput(f"address {addr} of {name}:{iface} is outside its segment's subnet {explicit[root]}")
            explicit.setdefault(root, addr.network)
    taken = [*list(explicit.values()), topo.addressing.loopbacks]
    for i, a in enumerate(taken):
        for b in taken[i + 1 :]:
            if a.overlaps(b) and a != topo.addressing.loopbacks and b != topo.addressing.loopbacks:
                raise InvalidInput(f"segment subnets {a} and {b} overlap")
    alloc = _Alloc(topo.addressing.links, taken)
    out: list[ipaddress.IPv4Network] = []
    for root in roots:
        if root in explicit:
            out.append(explicit[root])
            continue
        p2p = len(members[root]) == 2 and not any(m.endswith(":br0") for m in members[root])
        plen = topo.addressing.p2p_prefixlen if p2p else topo.addressing.lan_prefixlen
        out.append(alloc.take(plen, f"the segment of {members[root][0]}"))
    return out


def _address_segments(topo: Topology, nodes: dict[str, PlannedNode], subnets: list[ipaddress.IPv4Network]) -> None:
    seen: dict[ipaddress.IPv4Address, str] = {}
    by_segment: dict[int, list[tuple[PlannedNode, Iface]]] = {}
    for node in nodes.values():
        for iface in node.ifaces:
            if node.kind == "switch" and iface.name != "br0":
                continue
            by_segment.setdefault(iface.segment, []).append((node, iface))
    for seg, entries in by_segment.items():
        net = subnets[seg]
        explicit = {
            (n.name, i.name): topo.nodes[n.name].addresses[i.name]
            for n, i in entries
            if i.name in topo.nodes[n.name].addresses
        }
        used = {a.ip for a in explicit.values()}
        free = (h for h in _hosts(net) if h not in used)
        for node, iface in sorted(entries, key=lambda e: KIND_ORDER[e[0].kind]):
            addr = explicit.get((node.name, iface.name))
            if addr is None:
                host = next(free, None)
                if host is None:
                    raise InvalidInput(f"subnet {net} has too few addresses for its {len(entries)} members")
                addr = ipaddress.IPv4Interface(f"{host}/{net.prefixlen}")
            where = f"{node.name}:{iface.name}"
            if addr.ip in seen:
                raise InvalidInput(f"address {addr.ip} is assigned twice ({seen[addr.ip]} and {where})")
            seen[addr.ip] = where
            iface.address = addr
        ospf_members = [n for n, _ in entries if n.ospf_area is not None]
        for node, iface in entries:
            if node.ospf_area is None:
                continue
            iface.ospf_active = any(o is not node and o.ospf_area == node.ospf_area for o in ospf_members)


def _loopbacks(topo: Topology, nodes: dict[str, PlannedNode]) -> None:
    explicit = {name: n.loopback for name, n in topo.nodes.items() if n.loopback is not None}
    used = set(explicit.values())
    if len(used) != len(explicit):
        raise InvalidInput("two nodes have the same loopback address")
    pool = (h for h in _hosts(topo.addressing.loopbacks) if h not in used)
    for node in nodes.values():
        if not node.routes:
            continue
        node.loopback = explicit.get(node.name) or next(pool, None)
        if node.loopback is None:
            raise InvalidInput(f"loopback pool {topo.addressing.loopbacks} is exhausted")
        for other in nodes.values():
            for iface in other.ifaces:
                if iface.address is not None and iface.address.ip == node.loopback:
                    raise InvalidInput(f"address {node.loopback} is assigned twice ({node.name}:lo and {other.name})")


def _mgmt(topo: Topology, nodes: dict[str, PlannedNode], mgmt: ipaddress.IPv4Network) -> None:
    hosts = list(_hosts(mgmt))
    bridge = hosts[0]
    explicit = {name: n.mgmt_ip for name, n in topo.nodes.items() if n.mgmt_ip is not None}
    for name, ip in explicit.items():
        if ip not in mgmt or ip == bridge:
            raise InvalidInput(f"node {name}: mgmt_ip {ip} must be inside {mgmt} and not {bridge}")
    if len(set(explicit.values())) != len(explicit):
        raise InvalidInput("two nodes have the same mgmt_ip")
    start = 10 if len(hosts) >= len(nodes) + 16 else 1
    pool = (h for h in hosts[start:] if h not in explicit.values())
    for node in nodes.values():
        chosen = explicit.get(node.name) or next(pool, None)
        if chosen is None:
            raise InvalidInput(f"mgmt_cidr {mgmt} is too small for {len(nodes)} nodes")
        node.mgmt_ip = chosen


def _gateways(nodes: dict[str, PlannedNode]) -> None:
    for node in nodes.values():
        if node.routes:
            continue
        for iface in node.ifaces:
            for peer in iface.peers:
                pnode, piface = split_endpoint(peer)
                other = nodes[pnode]
                if other.routes:
                    node.gateway = other.iface(piface).address.ip  # type: ignore[union-attr]
                    break
            if node.gateway is not None:
                break


def _vpns(topo: Topology, nodes: dict[str, PlannedNode], prefix: str) -> list[PlannedVpn]:
    out: list[PlannedVpn] = []
    for i, vpn in enumerate(topo.vpns):
        (an, ai), (bn, bi) = (split_endpoint(e) for e in vpn.endpoints)
        a_addr, b_addr = nodes[an].iface(ai).address, nodes[bn].iface(bi).address
        assert a_addr is not None and b_addr is not None
        hosts = list(_hosts(vpn.subnet))
        planned = PlannedVpn(
            name=vpn.name,
            a=an,
            b=bn,
            a_ifname=f"{prefix}-wg{i}a",
            b_ifname=f"{prefix}-wg{i}b",
            a_tunnel=ipaddress.IPv4Interface(f"{hosts[0]}/{vpn.subnet.prefixlen}"),
            b_tunnel=ipaddress.IPv4Interface(f"{hosts[1]}/{vpn.subnet.prefixlen}"),
            a_underlay=a_addr.ip,
            b_underlay=b_addr.ip,
        )
        out.append(planned)
        # Pin each end's route to the other's underlay address to the underlay next hop, so that
        # the same prefix learned over the tunnel (shorter AS path) cannot pull the tunnel into itself.
        for me, my_if, peer_ip in ((an, ai, b_addr.ip), (bn, bi, a_addr.ip)):
            iface = nodes[me].iface(my_if)
            if iface.address is not None and peer_ip in iface.address.network:
                continue
            hop = _router_peer(nodes, iface)
            if hop is None:
                raise InvalidInput(f"vpn {vpn.name}: {me}:{my_if} has no router beyond it to reach the far end")
            nodes[me].statics.append(StaticRoute(prefix=ipaddress.IPv4Network(f"{peer_ip}/32"), via=hop))
    return out


def _router_peer(nodes: dict[str, PlannedNode], iface: Iface) -> ipaddress.IPv4Address | None:
    for peer in iface.peers:
        pnode, piface = split_endpoint(peer)
        if nodes[pnode].routes:
            addr = nodes[pnode].iface(piface).address
            return addr.ip if addr else None
    return None


def _bgp(topo: Topology, nodes: dict[str, PlannedNode], vpns: list[PlannedVpn]) -> None:
    for name, spec in topo.nodes.items():
        if spec.bgp is None:
            continue
        me = nodes[name]
        for peer in spec.bgp.peers:
            other = nodes[peer.node]
            addr = _peer_address(me, other, vpns, peer.via)
            if addr is None:
                raise InvalidInput(f"node {name}: BGP peer {peer.node} shares no {peer.via} with it")
            assert other.asn is not None
            me.neighbors.append(BgpNeighbor(node=other.name, address=addr, asn=other.asn))


def _peer_address(
    me: PlannedNode, other: PlannedNode, vpns: list[PlannedVpn], via: str
) -> ipaddress.IPv4Address | None:
    if via == "vpn":
        for v in vpns:
            if (v.a, v.b) == (me.name, other.name):
                return v.b_tunnel.ip
            if (v.b, v.a) == (me.name, other.name):
                return v.a_tunnel.ip
        return None
    mine = {i.segment for i in me.ifaces}
    for iface in other.ifaces:
        if iface.segment in mine and iface.address is not None:
            return iface.address.ip
    return None


def _names(topo: Topology, nodes: dict[str, PlannedNode]) -> None:
    for name, spec in topo.nodes.items():
        node = nodes[name]
        for target in spec.traffic:
            if target not in nodes:
                raise InvalidInput(f"node {name}: traffic target {target!r} is not a node")
        node.traffic = list(spec.traffic)
        if spec.nftables:
            defines = "".join(
                f"define {n.name.replace('-', '_')} = {n.primary}\n" for n in nodes.values() if n.primary is not None
            )
            node.nftables = defines + spec.nftables
