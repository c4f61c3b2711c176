"""Namespaces, links and processes: the thin layer over ``ip``, ``nsenter`` and /proc.

Every node is a network namespace (``<prefix>-<node>``) plus a UTS namespace
kept in a file, so that daemons see the node's own hostname. Commands run in a
node through ``ip netns exec`` (which also remounts /sys, needed by snmpd and
lldpd to see the node's interfaces) and then ``nsenter --uts``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from netwarden.errors import LabError, NeedsRoot

log = logging.getLogger(__name__)

TOOLS = ("ip", "nsenter", "unshare", "nft", "vtysh", "snmpd", "lldpd", "lldpcli", "ssh-keygen", "useradd")


def require_root() -> None:
    """Lab operations need CAP_NET_ADMIN; say so in one line instead of failing half-way."""
    if os.geteuid() != 0:
        raise NeedsRoot("the lab needs root (CAP_NET_ADMIN): run 'sudo netwarden lab ...'")


def require_tools(extra: Sequence[str] = ()) -> None:
    missing = [t for t in (*TOOLS, *extra) if shutil.which(t) is None and not Path(t).exists()]
    if missing:
        raise LabError(f"missing programs for the lab: {', '.join(missing)}; run 'make deps' to install them")


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    input: str | None = None,
    timeout: float = 30,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command; LabError with its stderr when it fails and ``check`` is set."""
    try:
        proc = subprocess.run(
            list(argv),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **env} if env else None,
        )
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"'{' '.join(argv[:6])}' did not finish within {timeout:.0f} s") from exc
    except FileNotFoundError as exc:
        raise LabError(f"program not found: {argv[0]}") from exc
    if check and proc.returncode != 0:
        reason = " ".join((proc.stderr or proc.stdout).split())[:300]
        raise LabError(f"'{' '.join(argv[:8])}' failed: {reason or f'exit {proc.returncode}'}")
    return proc


def in_node(ns: str, uts: Path, argv: Sequence[str]) -> list[str]:
    """The argv that runs ``argv`` inside a node's network and UTS namespaces."""
    return ["ip", "netns", "exec", ns, "nsenter", f"--uts={uts}", "--", *argv]


def spawn(argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None) -> int:
    """Start a long-running process in its own session; returns its pid (also its process group)."""
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **env} if env else None,
        )
    return proc.pid


def namespaces(prefix: str) -> list[str]:
    """Network namespaces that belong to the lab ``prefix``."""
    proc = run(["ip", "-j", "netns", "list"], check=False)
    try:
        entries = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        entries = []
    return sorted(e["name"] for e in entries if str(e.get("name", "")).startswith(f"{prefix}-"))


def host_links(prefix: str) -> list[str]:
    """Host interfaces made for the lab ``prefix`` (management veths and the bridge)."""
    proc = run(["ip", "-j", "link", "show"], check=False)
    try:
        entries = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        entries = []
    names = [str(e.get("ifname", "")) for e in entries]
    return [
        n for n in names if n == f"{prefix}-mgmt" or (n.startswith(f"{prefix}m") and n[len(prefix) + 1 :].isdigit())
    ]


def create_node(ns: str, uts: Path, hostname: str) -> None:
    """A network namespace and a persistent UTS namespace carrying ``hostname``."""
    run(["ip", "netns", "add", ns])
    uts.touch()
    run(["unshare", f"--uts={uts}", "hostname", hostname])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])


def batch(ns: str | None, commands: Sequence[str]) -> None:
    """Run many ``ip`` commands in one process (``ip -batch``), in a namespace or on the host."""
    if not commands:
        return
    argv = ["ip", "-n", ns, "-batch", "-"] if ns else ["ip", "-batch", "-"]
    run(argv, input="\n".join(commands) + "\n")


def sysctl(ns: str, settings: Mapping[str, str]) -> None:
    run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", *(f"{k}={v}" for k, v in settings.items())])


def alive(pid: int) -> bool:
    """True when the process exists and is not a zombie (PID 1 here reaps late)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("State:"):
            return "Z" not in line.split()[1]
    return False


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def wait_for(predicate: object, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``predicate()`` until true; LabError naming ``what`` after ``timeout`` seconds."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise LabError(f"timed out after {timeout:.0f} s waiting for {what}")


def stop_pids(pids: Sequence[int], grace: float = 2.0, group: bool = False) -> None:
    """SIGTERM, then SIGKILL whatever is still alive after ``grace`` seconds."""
    live = [p for p in pids if alive(p)]
    for pid in live:
        _signal(pid, signal.SIGTERM, group)
    deadline = time.monotonic() + grace
    while live and time.monotonic() < deadline:
        live = [p for p in live if alive(p)]
        if live:
            time.sleep(0.05)
    for pid in live:
        _signal(pid, signal.SIGKILL, group)


def _signal(pid: int, sig: signal.Signals, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def ns_pids(ns: str) -> list[int]:
    proc = run(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


def delete_node(ns: str) -> None:
    """Stop every process in the namespace, then delete it."""
    stop_pids(ns_pids(ns), grace=1.5)
    run(["ip", "netns", "del", ns], check=False)


def delete_link(name: str) -> None:
    run(["ip", "link", "del", name], check=False)


def unmount(path: Path) -> None:
    if path.exists():
        run(["umount", str(path)], check=False)
        path.unlink(missing_ok=True)
