"""Application services on servers (nginx, dnsmasq) and the light traffic hosts make.

Traffic is steady, light and bounded: every few seconds a host pings, fetches
a page, resolves a name and opens an SSH connection to each of its targets, all
inside the lab; the loop ends by itself after ``TRAFFIC_SECONDS``.
"""

from __future__ import annotations

import shlex

from netwarden.lab import netns
from netwarden.lab.plan import PlannedNode
from netwarden.lab.state import LabState, Proc

TRAFFIC_SECONDS = 8 * 3600
TRAFFIC_INTERVAL = 5


def _nginx_conf(state: LabState, node: PlannedNode) -> str:
    ndir = state.node_dir(node.name)
    tmp = ndir / "nginx-tmp"
    return f"""worker_processes 1;
pid {ndir / "nginx.pid"};
error_log {ndir / "log" / "nginx-error.log"};
events {{ worker_connections 64; }}
http {{
  access_log {ndir / "log" / "nginx-access.log"};
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 80;
    root {ndir / "www"};
  }}
}}
"""


def start_server(state: LabState, node: PlannedNode) -> list[Proc]:
    """nginx and dnsmasq as the node asks for."""
    procs: list[Proc] = []
    if node.http:
        procs.append(start_nginx(state, node))
    if node.dns:
        procs.append(start_dnsmasq(state, node))
    return procs


def start_nginx(state: LabState, node: PlannedNode) -> Proc:
    ndir = state.node_dir(node.name)
    (ndir / "www").mkdir(exist_ok=True)
    (ndir / "www" / "index.html").write_text(f"<h1>{node.name}</h1><p>netwarden lab {state.prefix}</p>\n")
    (ndir / "nginx-tmp").mkdir(exist_ok=True)
    conf = ndir / "nginx.conf"
    conf.write_text(_nginx_conf(state, node))
    pidfile = ndir / "nginx.pid"
    pidfile.unlink(missing_ok=True)
    argv = ["nginx", "-c", str(conf), "-e", str(ndir / "log" / "nginx-error.log")]
    netns.run(netns.in_node(node.namespace, state.uts(node.name), argv))
    netns.wait_for(lambda: netns.read_pid(pidfile) is not None, 10, f"nginx on {node.name}")
    return Proc(node=node.name, name="nginx", pid=netns.read_pid(pidfile) or 0, pidfile=str(pidfile))


def start_dnsmasq(state: LabState, node: PlannedNode) -> Proc:
    ndir = state.node_dir(node.name)
    hosts = ndir / "hosts"
    hosts.write_text("".join(f"{n.primary} {n.name}.lab {n.name}\n" for n in state.plan.nodes if n.primary is not None))
    pidfile = ndir / "dnsmasq.pid"
    pidfile.unlink(missing_ok=True)
    argv = [
        "dnsmasq", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", f"--addn-hosts={hosts}",
        "--domain=lab", "--local=/lab/", f"--pid-file={pidfile}", "--user=root",
        f"--log-facility={ndir / 'log' / 'dnsmasq.log'}", "--log-queries",
    ]  # fmt: skip
    netns.run(netns.in_node(node.namespace, state.uts(node.name), argv))
    netns.wait_for(lambda: netns.read_pid(pidfile) is not None, 10, f"dnsmasq on {node.name}")
    return Proc(node=node.name, name="dnsmasq", pid=netns.read_pid(pidfile) or 0, pidfile=str(pidfile))


def traffic_script(state: LabState, node: PlannedNode) -> str:
    plan = state.plan
    dns = next((n.primary for n in plan.nodes if n.dns and n.primary is not None), None)
    steps = []
    for name in node.traffic:
        target = plan.node(name)
        addr = target.primary
        steps.append(f"ping -c 1 -W 1 {addr} >/dev/null 2>&1")
        if target.http:
            steps.append(f"curl -s -m 2 -o /dev/null http://{addr}/")
        if dns is not None:
            steps.append(f"dig +time=1 +tries=1 @{dns} {shlex.quote(name)}.lab >/dev/null 2>&1")
        if target.ssh:
            steps.append(f"nc -w 1 {addr} 22 </dev/null >/dev/null 2>&1")
    if steps and dns is not None:
        # Like real clients, each host also looks up a name nobody serves (browsers' proxy auto-discovery):
        # a capture of ordinary lab traffic then shows DNS failures (NXDOMAIN) as well as answers.
        steps.append(f"dig +time=1 +tries=1 @{dns} wpad.lab >/dev/null 2>&1")
    body = "\n  ".join(steps) or ":"
    return (
        f"end=$(( $(date +%s) + {TRAFFIC_SECONDS} ))\n"
        'while [ "$(date +%s)" -lt "$end" ]; do\n'
        f"  {body}\n"
        f"  sleep {TRAFFIC_INTERVAL}\n"
        "done\n"
    )


def start_traffic(state: LabState, node: PlannedNode) -> list[Proc]:
    if not node.traffic:
        return []
    ndir = state.node_dir(node.name)
    script = ndir / "traffic.sh"
    script.write_text(traffic_script(state, node))
    argv = netns.in_node(node.namespace, state.uts(node.name), ["sh", str(script)])
    pid = netns.spawn(argv, ndir / "log" / "traffic.log")
    return [Proc(node=node.name, name="traffic", pid=pid, group=True)]
