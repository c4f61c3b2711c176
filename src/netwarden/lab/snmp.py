"""net-snmp ``snmpd`` and ``lldpd`` (as an AgentX sub-agent for LLDP-MIB) in each node.

snmpd answers SNMPv2-MIB, IF-MIB, IP-MIB and HOST-RESOURCES-MIB from the
node's own namespace; lldpd talks LLDP on the data links only (a Linux bridge
does not forward LLDP, so the management bridge would show nothing) with a
1 s transmit interval so neighbours appear within seconds.
"""

from __future__ import annotations

import hashlib
import platform

from netwarden.lab import netns
from netwarden.lab.plan import PlannedNode
from netwarden.lab.state import LabState, Proc

# Enterprise 32473 is reserved for documentation (RFC 5612): safe for made-up sysObjectIDs.
ENTERPRISE = "1.3.6.1.4.1.32473"
KIND_CODE = {"router": 1, "switch": 2, "firewall": 3, "host": 4, "server": 5}
DESCR = {
    "router": "FRRouting 8.4 router",
    "switch": "Linux bridge switch",
    "firewall": "nftables firewall with FRRouting",
    "host": "Linux host",
    "server": "Linux server (OpenSSH, nginx, dnsmasq)",
}


def sys_object_id(node: PlannedNode) -> str:
    return f".{ENTERPRISE}.{KIND_CODE[node.kind]}.{node.index + 1}"


def community(state: LabState, node: PlannedNode) -> str:
    return node.community or state.community


def render(state: LabState, node: PlannedNode) -> str:
    ndir = state.node_dir(node.name)
    descr = f"netwarden lab {DESCR[node.kind]} {node.name} ({platform.system()} {platform.release()})"
    return "\n".join(
        [
            "agentaddress udp:161",
            f"sysName {node.name}",
            f"sysDescr {descr}",
            f"sysObjectID {sys_object_id(node)}",
            f"sysLocation netwarden lab {state.prefix}, site {node.site or 'none'}",
            "sysContact noc@lab.example",
            "sysServices 78",
            f"engineID {node.namespace}",
            f"rocommunity {community(state, node)} default",
            "master agentx",
            f"agentXSocket unix:{ndir / 'agentx.sock'}",
            "agentXPerms 0660 0755 root frr",  # FRR's sub-agents run as frr
            "dontLogTCPWrappersConnects yes",
            *_trap_lines(state, node),
            "",
        ]
    )


# IF-MIB objects by number: the lab's snmpd runs without MIB files (-m '').
_IF_COLUMNS = " ".join(f".1.3.6.1.2.1.2.2.1.{c}" for c in (1, 2, 7, 8))  # ifIndex, ifDescr, ifAdmin/OperStatus
_IF_OPER = ".1.3.6.1.2.1.2.2.1.8"


def _trap_lines(state: LabState, node: PlannedNode) -> list[str]:
    """SNMPv2c linkDown/linkUp traps to the collector, checked every second (snmpd's own default is 60 s).

    The DisMan monitor that raises them reads the agent through an internal SNMPv3 user; -S keeps
    it from sending a trap per interface at start-up.
    """
    plan = state.plan
    if plan.trap_collector is None:
        return []
    secret = hashlib.sha256(f"{community(state, node)}:{node.namespace}".encode()).hexdigest()[:24]
    return [
        f'createUser _nwmonitor SHA "{secret}" AES "{secret}"',
        "rouser _nwmonitor",
        "iquerySecName _nwmonitor",
        f"trap2sink {plan.trap_collector}:{plan.trap_port} {community(state, node)}",
        f"notificationEvent nwLinkUp .1.3.6.1.6.3.1.1.5.4 {_IF_COLUMNS}",
        f"notificationEvent nwLinkDown .1.3.6.1.6.3.1.1.5.3 {_IF_COLUMNS}",
        f'monitor -S -r 1 -e nwLinkUp "link up" {_IF_OPER} != 2',
        f'monitor -S -r 1 -e nwLinkDown "link down" {_IF_OPER} == 2',
    ]


def start_snmpd(state: LabState, node: PlannedNode) -> Proc:
    ndir = state.node_dir(node.name)
    conf = ndir / "snmpd.conf"
    conf.write_text(render(state, node))
    conf.chmod(0o600)
    persist = ndir / "snmp"
    persist.mkdir(exist_ok=True)
    pidfile = ndir / "snmpd.pid"
    pidfile.unlink(missing_ok=True)
    argv = ["snmpd", "-C", "-c", str(conf), "-p", str(pidfile), "-Lf", str(ndir / "log" / "snmpd.log"), "-m", ""]
    netns.run(netns.in_node(node.namespace, state.uts(node.name), argv), env={"SNMP_PERSISTENT_DIR": str(persist)})
    netns.wait_for(lambda: netns.read_pid(pidfile) is not None, 10, f"snmpd on {node.name}")
    pid = netns.read_pid(pidfile)
    assert pid is not None
    return Proc(node=node.name, name="snmpd", pid=pid, pidfile=str(pidfile))


def lldp_ifaces(node: PlannedNode) -> list[str]:
    return [i.name for i in node.ifaces if i.name != "br0"]


def start_lldpd(state: LabState, node: PlannedNode) -> Proc | None:
    ifaces = lldp_ifaces(node)
    if not ifaces:
        return None
    ndir = state.node_dir(node.name)
    sock, pidfile = ndir / "lldpd.sock", ndir / "lldpd.pid"
    pidfile.unlink(missing_ok=True)
    # Read at start-up, before the first frame: name the system (otherwise lldpd resolves the node's
    # hostname through DNS, which the namespace cannot reach, and stalls its sends on the timeout);
    # send every second so neighbours appear at once, but hold them 20 s so a busy machine does not
    # age them out; name ports by interface.
    conf = ndir / "lldpd.conf"
    conf.write_text(
        f"configure system hostname {node.name}\n"
        "configure lldp tx-interval 1\n"
        "configure lldp tx-hold 20\n"
        "configure lldp portidsubtype ifname\n"
    )
    argv = ["lldpd", "-I", ",".join(ifaces), "-u", str(sock), "-p", str(pidfile), "-O", str(conf)]
    argv += ["-m", str(node.mgmt_ip)]  # advertise the address netwarden reaches the node on
    if node.snmp:
        argv += ["-x", "-X", str(ndir / "agentx.sock")]
    netns.run(netns.in_node(node.namespace, state.uts(node.name), argv))
    netns.wait_for(lambda: sock.exists() and netns.read_pid(pidfile) is not None, 10, f"lldpd on {node.name}")
    pid = netns.read_pid(pidfile)
    assert pid is not None
    return Proc(node=node.name, name="lldpd", pid=pid, pidfile=str(pidfile))
