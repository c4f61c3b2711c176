"""nftables on firewall nodes.

The rule set is written to ``nodes/<fw>/nftables.conf`` before it is loaded,
so the file the config analyser reads is byte for byte what the node runs.
"""

from __future__ import annotations

from pathlib import Path

from netwarden.lab import netns
from netwarden.lab.plan import PlannedNode
from netwarden.lab.state import LabState, Proc

NFLOG_GROUP = 1  # dropped packets the rule set logs: log/nft.log
NFLOG_ACCEPT_GROUP = 2  # accepted new connections it logs: log/nft-accept.log
LOGS = {NFLOG_GROUP: "nft.log", NFLOG_ACCEPT_GROUP: "nft-accept.log"}


def ruleset_path(state: LabState, node: PlannedNode) -> Path:
    return state.node_dir(node.name) / "nftables.conf"


def start(state: LabState, node: PlannedNode) -> list[Proc]:
    """Load the rule set; read its ``log group 1`` (drops) and ``log group 2`` (accepts) messages into
    ``log/nft.log`` and ``log/nft-accept.log`` (tcpdump on nflog: it prints packets, not verdicts, so the
    verdict is the file's)."""
    if not node.nftables:
        return []
    path = ruleset_path(state, node)
    path.write_text(node.nftables if node.nftables.endswith("\n") else node.nftables + "\n")
    netns.run(["ip", "netns", "exec", node.namespace, "nft", "-f", str(path)])
    # nftables "log" inside a namespace is dropped unless a host-wide sysctl is set; NFLOG is per namespace.
    procs = []
    for group, fname in LOGS.items():
        argv = netns.in_node(node.namespace, state.uts(node.name), ["tcpdump", "-i", f"nflog:{group}", "-n", "-l"])
        pid = netns.spawn(argv, state.node_dir(node.name) / "log" / fname)
        procs.append(Proc(node=node.name, name=f"nflog{group}", pid=pid, group=True))
    return procs
