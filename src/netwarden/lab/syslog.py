"""Syslog from every node to a collector on the host.

Each daemon logs to a file in the node's directory; a per-node forwarder
(``tail -F FILE | logger``) runs inside the node, so each message leaves from
the node's own address with the node's hostname, over UDP in RFC 5424 format.
One forwarder per file keeps the program name (sshd, frr, ...) right, which
is what log parsers key on.
"""

from __future__ import annotations

import shlex

from netwarden.lab import netns
from netwarden.lab.plan import PlannedNode
from netwarden.lab.state import LabState, Proc


def sources(node: PlannedNode) -> dict[str, str]:
    """Program name -> log file name (under the node's log dir) forwarded for this node."""
    out: dict[str, str] = {}
    if node.ssh:
        out["sshd"] = "sshd.log"
    if node.routes:
        out["frr"] = "frr.log"
    if node.kind == "firewall":
        out["nftables"] = "nft.log"  # drops
        out["nftables-accept"] = "nft-accept.log"  # accepted new connections
    if node.http:
        out["nginx"] = "nginx-access.log"
    if node.dns:
        out["dnsmasq"] = "dnsmasq.log"
    return out


def start(state: LabState, node: PlannedNode) -> list[Proc]:
    if not node.syslog:
        return []
    plan = state.plan
    logdir = state.node_dir(node.name) / "log"
    logdir.mkdir(parents=True, exist_ok=True)
    procs = []
    for program, fname in sources(node).items():
        path = logdir / fname
        path.touch(exist_ok=True)
        pipeline = (
            f"exec tail -n0 -q -F {shlex.quote(str(path))} | "
            f"logger -n {plan.syslog_collector} -P {plan.syslog_port} -d --rfc5424 -t {program} -p daemon.info"
        )
        argv = netns.in_node(node.namespace, state.uts(node.name), ["sh", "-c", pipeline])
        pid = netns.spawn(argv, logdir / "forwarder.log")
        procs.append(Proc(node=node.name, name=f"syslog-{program}", pid=pid, group=True))
    return procs
