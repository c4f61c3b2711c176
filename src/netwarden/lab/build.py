"""The plumbing of ``lab up``: management bridge, namespaces, veth links, addresses, routes."""

from __future__ import annotations

import ipaddress
import json

from netwarden.errors import LabError
from netwarden.lab import netns
from netwarden.lab.plan import Plan, PlannedNode
from netwarden.lab.state import LabState


def mgmt_host_iface(plan: Plan, node: PlannedNode) -> str:
    return f"{plan.prefix}m{node.index}"


def check_mgmt_free(plan: Plan) -> None:
    """Refuse a management subnet that the host already routes (another lab, or a real network)."""
    routes = json.loads(netns.run(["ip", "-j", "route", "show"], check=False).stdout or "[]")
    for route in routes:
        dst = route.get("dst", "")
        if dst in ("", "default"):
            continue
        try:
            net = ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False)
        except ValueError:
            continue
        if net.overlaps(plan.mgmt_cidr) and route.get("dev") != plan.bridge:
            raise LabError(
                f"the management subnet {plan.mgmt_cidr} overlaps {net} on {route.get('dev')}; "
                "pass another --mgmt-cidr (e.g. 198.18.1.0/24)"
            )


def bridge(plan: Plan) -> None:
    netns.batch(
        None,
        [
            f"link add name {plan.bridge} type bridge",
            f"addr add {plan.mgmt_gateway}/{plan.mgmt_cidr.prefixlen} dev {plan.bridge}",
            f"link set {plan.bridge} up",
        ],
    )


def node_ns(state: LabState, node: PlannedNode) -> None:
    """The node's namespaces, its management veth and its sysctls."""
    plan = state.plan
    state.node_dir(node.name).mkdir(parents=True, exist_ok=True)
    (state.node_dir(node.name) / "log").mkdir(exist_ok=True)
    netns.create_node(node.namespace, state.uts(node.name), node.name)
    host_end = mgmt_host_iface(plan, node)
    netns.batch(
        None,
        [
            f"link add name {host_end} type veth peer name mgmt0 netns {node.namespace}",
            f"link set {host_end} master {plan.bridge} up",
        ],
    )
    netns.batch(
        node.namespace,
        [f"addr add {node.mgmt_ip}/{plan.mgmt_cidr.prefixlen} dev mgmt0", "link set mgmt0 up"],
    )
    settings = {
        "net.ipv4.ip_forward": "1" if node.routes else "0",
        "net.ipv4.conf.all.rp_filter": "0",
        "net.ipv4.conf.default.rp_filter": "0",
        "net.ipv4.icmp_ratelimit": "0",
    }
    netns.sysctl(node.namespace, settings)


def links(state: LabState) -> None:
    """One veth pair per link, created straight into the two namespaces (no host-side names)."""
    plan = state.plan
    for link in plan.links:
        a, b = plan.node(link.a), plan.node(link.b)
        netns.run(
            [
                "ip", "-n", a.namespace, "link", "add", "name", link.a_port, "type", "veth",
                "peer", "name", link.b_port, "netns", b.namespace,
            ]
        )  # fmt: skip


def node_addresses(state: LabState, node: PlannedNode) -> None:
    """Addresses, the switch bridge, interfaces up, and a default route for non-routers."""
    cmds: list[str] = []
    if node.kind == "switch":
        cmds.append("link add name br0 type bridge")
        cmds += [f"link set {i.name} master br0" for i in node.ifaces if i.name != "br0"]
    if node.loopback is not None:
        cmds.append(f"addr add {node.loopback}/32 dev lo")
    for iface in node.ifaces:
        if iface.address is not None:
            cmds.append(f"addr add {iface.address} dev {iface.name}")
        cmds.append(f"link set {iface.name} up")
    if node.gateway is not None:
        cmds.append(f"route add default via {node.gateway}")
    netns.batch(node.namespace, cmds)


def iface_up(state: LabState, node: str, iface: str, up: bool) -> None:
    netns.run(["ip", "-n", state.plan.node(node).namespace, "link", "set", iface, "up" if up else "down"])
