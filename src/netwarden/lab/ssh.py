"""OpenSSH in each node, and the lab user that logs in to it.

The lab user is a real local account (named after the lab prefix, marked
"netwarden lab" in its GECOS field so ``down`` removes only what it made). On
routers and firewalls a ``ForceCommand`` wrapper turns the session into FRR's
vtysh for that node: an interactive login gets the router CLI, and
``ssh user@node 'show ip ospf neighbor'`` runs that one command.
"""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from netwarden.lab import netns
from netwarden.lab.plan import PlannedNode
from netwarden.lab.state import LabState, Proc

GECOS = "netwarden lab"
SSHD = "/usr/sbin/sshd"


def ensure_user(state: LabState) -> bool:
    """Create (or refresh the password of) the lab user; returns True when this call created it."""
    home = state.dir / "home"
    home.mkdir(parents=True, exist_ok=True)
    created = False
    try:
        entry = pwd.getpwnam(state.ssh_user)
        if GECOS not in entry.pw_gecos:
            raise_user_clash(state.ssh_user)
    except KeyError:
        netns.run(
            ["useradd", "-M", "-d", str(home), "-s", "/bin/bash", "-c", GECOS, "-G", "frrvty,frr", state.ssh_user]
        )
        created = True
    netns.run(["chpasswd"], input=f"{state.ssh_user}:{state.ssh_password}\n")
    shutil.chown(home, state.ssh_user)
    return created


def raise_user_clash(user: str) -> None:
    from netwarden.errors import LabError

    raise LabError(f"a local user '{user}' exists and is not a netwarden lab user; choose another --prefix")


def remove_user(user: str) -> None:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return
    if GECOS in entry.pw_gecos:
        netns.run(["userdel", user], check=False)


NFT = "/usr/sbin/nft"
NFT_LIST = "nft list ruleset"


def _shell_wrapper(node: PlannedNode, nft: Path | None = None) -> str:
    # The command an SSH client asked for arrives in SSH_ORIGINAL_COMMAND; run it in vtysh. A firewall
    # also answers the one command that prints its rule set, as a Linux firewall's login would.
    nft_case = f'  [ "$SSH_ORIGINAL_COMMAND" = "{NFT_LIST}" ] && exec {nft} list ruleset\n' if nft else ""
    return (
        "#!/bin/sh\n"
        'export HOME="${HOME:-/tmp}"\n'
        'if [ -n "$SSH_ORIGINAL_COMMAND" ]; then\n'
        f"{nft_case}"
        f'  exec /usr/bin/vtysh -N {node.namespace} -c "$SSH_ORIGINAL_COMMAND"\n'
        "fi\n"
        f"exec /usr/bin/vtysh -N {node.namespace}\n"
    )


def render(state: LabState, node: PlannedNode) -> str:
    ndir = state.node_dir(node.name)
    lines = [
        "Port 22",
        "ListenAddress 0.0.0.0",
        f"HostKey {ndir / 'ssh_host_ed25519_key'}",
        f"PidFile {ndir / 'sshd.pid'}",
        "UsePAM no",
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "PermitRootLogin no",
        f"AllowUsers {state.ssh_user}",
        "StrictModes no",
        "MaxAuthTries 3",
        "MaxStartups 100:30:200",
        "LoginGraceTime 20",
        "UseDNS no",
        "PrintMotd no",
        "LogLevel INFO",
        "SyslogFacility AUTH",
        "Subsystem sftp internal-sftp",
    ]
    if node.routes:
        lines.append(f"ForceCommand {ndir / 'vtysh-shell'}")
    return "\n".join(lines) + "\n"


def start(state: LabState, node: PlannedNode) -> Proc:
    ndir = state.node_dir(node.name)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    key = ndir / "ssh_host_ed25519_key"
    if not key.exists():
        netns.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", node.name, "-f", str(key)])
    if node.routes:
        wrapper = ndir / "vtysh-shell"
        wrapper.write_text(_shell_wrapper(node, _lister(state, node)))
        wrapper.chmod(0o755)
    conf = ndir / "sshd_config"
    conf.write_text(render(state, node))
    pidfile = ndir / "sshd.pid"
    pidfile.unlink(missing_ok=True)
    # -D -e: with -E only the listener logs to the file; session children would log to a syslog socket
    # that may not exist. In the foreground every message reaches stderr, which is the log file.
    argv = [SSHD, "-D", "-e", "-f", str(conf)]
    netns.spawn(netns.in_node(node.namespace, state.uts(node.name), argv), ndir / "log" / "sshd.log")
    netns.wait_for(lambda: netns.read_pid(pidfile) is not None, 10, f"sshd on {node.name}")
    pid = netns.read_pid(pidfile)
    assert pid is not None
    return Proc(node=node.name, name="sshd", pid=pid, pidfile=str(pidfile))


def _lister(state: LabState, node: PlannedNode) -> Path | None:
    """A copy of nft that may read the namespace's rule set (CAP_NET_ADMIN), runnable by the lab user only."""
    if node.kind != "firewall" or not node.nftables or not Path(NFT).exists() or shutil.which("setcap") is None:
        return None
    copy = state.node_dir(node.name) / "nft"
    shutil.copyfile(NFT, copy)
    gid = pwd.getpwnam(state.ssh_user).pw_gid
    os.chown(copy, 0, gid)
    copy.chmod(0o750)
    netns.run(["setcap", "cap_net_admin+ep", str(copy)])
    return copy


def ssh_argv(state: LabState, target: str, command: str, timeout: int = 5) -> list[str]:
    """sshpass + ssh argv that logs in as the lab user on ``target`` (an address) and runs ``command``."""
    return [
        "sshpass",
        "-e",
        "ssh",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        f"ConnectTimeout={timeout}",
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "PreferredAuthentications=password",
        f"{state.ssh_user}@{target}",
        command,
    ]
