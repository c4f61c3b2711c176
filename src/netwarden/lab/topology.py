"""The lab topology file: pydantic models and the checks that make a file usable.

A topology is small and readable, in the spirit of containerlab::

    name: mini
    nodes:
      r1: {kind: router, ospf: {area: 0}}
      r2: {kind: router, ospf: {area: 0}}
      h1: {kind: host}
    links:
      - endpoints: [r1:eth1, r2:eth1]
      - endpoints: [r2:eth2, h1:eth1]

Everything else (addresses, loopbacks, management IPs, gateways) is filled in
by :mod:`netwarden.lab.plan`. Every model forbids unknown keys so that a typo
is an error, not a silently ignored setting.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from netwarden.errors import InvalidInput

NodeKind = Literal["router", "switch", "firewall", "host", "server"]
ROUTING_KINDS: frozenset[str] = frozenset({"router", "firewall"})
NODE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,14}$")
IFACE_NAME = re.compile(r"^[a-z][a-z0-9]{0,9}$")
RESERVED_IFACES = frozenset({"lo", "mgmt0", "br0"})
DEFAULT_TOPOLOGY = Path(__file__).parent / "topologies" / "default.yml"

Asn = Annotated[int, Field(ge=1, le=4294967295)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ospf(_Model):
    """OSPF on a router: every interface towards another OSPF speaker of the area is active, the rest passive."""

    area: int = Field(default=0, ge=0)
    redistribute_bgp: bool = Field(default=False, description="inject the BGP table (site edge routers)")


class BgpPeer(_Model):
    node: str
    via: Literal["link", "vpn"] = "link"


class Bgp(_Model):
    asn: Asn
    peers: list[BgpPeer] = []

    @field_validator("peers", mode="before")
    @classmethod
    def _short_peers(cls, value: object) -> object:
        # ``peers: [wan, r4]`` is the common case; allow it next to the mapping form.
        if isinstance(value, list):
            return [{"node": v} if isinstance(v, str) else v for v in value]
        return value


class Services(_Model):
    """Per-node management services; every one is on by default."""

    snmp: bool = True
    ssh: bool = True
    syslog: bool = True
    lldp: bool = True
    community: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")


class Node(_Model):
    kind: NodeKind
    site: str | None = None
    mgmt_ip: ipaddress.IPv4Address | None = None
    loopback: ipaddress.IPv4Address | None = None
    addresses: dict[str, ipaddress.IPv4Interface] = Field(default={}, description="explicit interface addresses")
    ospf: Ospf | None = None
    bgp: Bgp | None = None
    services: Services = Services()
    nftables: str | None = Field(default=None, description="nft rule set; $node names resolve to addresses")
    http: bool = Field(default=False, description="serve HTTP (nginx)")
    dns: bool = Field(default=False, description="serve DNS for the lab's names (dnsmasq)")
    traffic: list[str] = Field(default=[], description="nodes this host sends light periodic traffic to")
    hardening: bool = Field(default=True, description="routers: service password-encryption in frr.conf")
    frr_config: list[str] = Field(default=[], description="extra frr.conf lines (e.g. a planted misconfiguration)")

    @model_validator(mode="after")
    def _kind_rules(self) -> Node:
        if (self.ospf or self.bgp) and self.kind not in ROUTING_KINDS:
            raise ValueError(f"a {self.kind} cannot run OSPF or BGP (only routers and firewalls)")
        if self.nftables and self.kind != "firewall":
            raise ValueError("only a firewall node takes an nftables rule set")
        if self.frr_config and self.kind not in ROUTING_KINDS:
            raise ValueError("only routers and firewalls take frr_config lines")
        if any("\n" in line for line in self.frr_config):
            raise ValueError("frr_config: one config line per entry")
        if self.loopback and self.kind not in ROUTING_KINDS:
            raise ValueError("only routers and firewalls have a loopback address")
        for name in self.addresses:
            if not IFACE_NAME.match(name):
                raise ValueError(f"bad interface name {name!r}")
        return self


class Link(_Model):
    endpoints: tuple[str, str]
    subnet: ipaddress.IPv4Network | None = None
    cost: int | None = Field(default=None, ge=1, le=65535, description="OSPF cost on both ends")

    @field_validator("endpoints")
    @classmethod
    def _endpoint_form(cls, value: tuple[str, str]) -> tuple[str, str]:
        for ep in value:
            node, sep, iface = ep.partition(":")
            if not sep or not node or not iface:
                raise ValueError(f"endpoint {ep!r} must look like NODE:IFACE (e.g. r1:eth1)")
            if not IFACE_NAME.match(iface) or iface in RESERVED_IFACES:
                raise ValueError(f"endpoint {ep!r}: interface must be a short name like eth1 (not lo/mgmt0/br0)")
        if value[0] == value[1]:
            raise ValueError(f"link joins {value[0]} to itself")
        return value


class Vpn(_Model):
    """A site-to-site tunnel between two routers, keyed by the underlay interface of each end."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    kind: Literal["wireguard"] = "wireguard"
    endpoints: tuple[str, str] = Field(description="NODE:IFACE of each end; the tunnel runs between these addresses")
    subnet: ipaddress.IPv4Network

    @field_validator("subnet")
    @classmethod
    def _two_hosts(cls, value: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if value.num_addresses < 4:
            raise ValueError("a VPN subnet needs room for two hosts (/30 or larger)")
        return value


class Addressing(_Model):
    links: ipaddress.IPv4Network = ipaddress.IPv4Network("10.0.0.0/16")
    loopbacks: ipaddress.IPv4Network = ipaddress.IPv4Network("10.255.0.0/24")
    lan_prefixlen: int = Field(default=24, ge=16, le=29)
    p2p_prefixlen: int = Field(default=30, ge=30, le=30)


class Syslog(_Model):
    collector: ipaddress.IPv4Address | None = Field(default=None, description="default: the mgmt bridge address")
    port: int = Field(default=5514, ge=1, le=65535)


class Traps(_Model):
    """Where every node's snmpd sends SNMPv2c traps (linkDown/linkUp within a second of the change)."""

    collector: ipaddress.IPv4Address | None = Field(default=None, description="default: the mgmt bridge address")
    port: int = Field(default=1162, ge=1, le=65535)
    enabled: bool = True


class Topology(_Model):
    name: str = Field(default="lab", pattern=r"^[A-Za-z0-9._-]{1,40}$")
    mgmt_cidr: ipaddress.IPv4Network = ipaddress.IPv4Network("198.18.0.0/24")
    addressing: Addressing = Addressing()
    syslog: Syslog = Syslog()
    traps: Traps = Traps()
    nodes: dict[str, Node]
    links: list[Link] = []
    vpns: list[Vpn] = []

    @field_validator("nodes")
    @classmethod
    def _node_names(cls, value: dict[str, Node]) -> dict[str, Node]:
        if not value:
            raise ValueError("a topology needs at least one node")
        for name in value:
            if not NODE_NAME.match(name):
                raise ValueError(f"bad node name {name!r}: lower-case letters, digits, '-', at most 15 characters")
        return value

    @model_validator(mode="after")
    def _references(self) -> Topology:
        check_references(self)
        return self


def split_endpoint(ep: str) -> tuple[str, str]:
    node, _, iface = ep.partition(":")
    return node, iface


def check_references(topo: Topology) -> None:
    """The cross-checks a single field cannot do; raises ValueError with a one-line reason."""
    used: dict[str, int] = {}
    for index, link in enumerate(topo.links, start=1):
        for ep in link.endpoints:
            node_name, _iface = split_endpoint(ep)
            if node_name not in topo.nodes:
                raise ValueError(f"link {index} ({' -- '.join(link.endpoints)}): unknown node {node_name!r}")
            if ep in used:
                raise ValueError(f"interface {ep} is used by two links ({used[ep]} and {index})")
            used[ep] = index
    for name, node in topo.nodes.items():
        for iface in node.addresses:
            if f"{name}:{iface}" not in used:
                raise ValueError(f"node {name}: address given for {iface}, which no link uses")
        if node.bgp:
            for peer in node.bgp.peers:
                if peer.node not in topo.nodes:
                    raise ValueError(f"node {name}: unknown BGP peer {peer.node!r}")
                other = topo.nodes[peer.node].bgp
                if other is None:
                    raise ValueError(f"node {name}: BGP peer {peer.node} runs no BGP")
    for vpn in topo.vpns:
        for ep in vpn.endpoints:
            end, _iface = split_endpoint(ep)
            if end not in topo.nodes:
                raise ValueError(f"vpn {vpn.name}: unknown node {end!r}")
            if topo.nodes[end].kind not in ROUTING_KINDS:
                raise ValueError(f"vpn {vpn.name}: {end} is a {topo.nodes[end].kind}, not a router or firewall")
            if ep not in used:
                raise ValueError(f"vpn {vpn.name}: underlay interface {ep} is on no link")
    if topo.mgmt_cidr.num_addresses < len(topo.nodes) + 4:
        raise ValueError(f"mgmt_cidr {topo.mgmt_cidr} is too small for {len(topo.nodes)} nodes")


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def parse_topology(text: str, source: str = "<topology>") -> Topology:
    """Parse and validate topology YAML; InvalidInput says in one line what is wrong and where."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise InvalidInput(f"{source}:{where} not valid YAML") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: a topology is a mapping with at least 'nodes'")
    try:
        return Topology.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"{source}: {_one_line(exc)}") from exc


def load_topology(path: Path | None = None) -> Topology:
    """Read a topology file (the packaged default when ``path`` is None)."""
    path = path or DEFAULT_TOPOLOGY
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read topology {path}: {exc.strerror}") from exc
    return parse_topology(text, str(path))
