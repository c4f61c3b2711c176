"""nftables on firewall nodes.

The rule set is written to ``nodes/<fw>/nftables.conf`` before it is loaded,
so the file the config analyser reads is byte for byte what the node runs.
"""

from __future__ import annotations

from pathlib import Path

from netwarden.lab import netns
from netwarden.lab.plan import PlannedNode
from netwarden.lab.state import LabState, Proc

NFLOG_GROUP = 1


def ruleset_path(state: LabState, node: PlannedNode) -> Path:
    return state.node_dir(node.name) / "nftables.conf"


def start(state: LabState, node: PlannedNode) -> list[Proc]:
    """Load the rule set; read its ``log group 1`` messages into ``log/nft.log`` (tcpdump on nflog)."""
    if not node.nftables:
        return []
    path = ruleset_path(state, node)
    path.write_text(node.nftables if node.nftables.endswith("\n") else node.nftables + "\n")
    netns.run(["ip", "netns", "exec", node.namespace, "nft", "-f", str(path)])
    # nftables "log" inside a namespace is dropped unless a host-wide sysctl is set; NFLOG is per namespace.
    argv = netns.in_node(node.namespace, state.uts(node.name), ["tcpdump", "-i", f"nflog:{NFLOG_GROUP}", "-n", "-l"])
    pid = netns.spawn(argv, state.node_dir(node.name) / "log" / "nft.log")
    return [Proc(node=node.name, name="nflog", pid=pid, group=True)]
