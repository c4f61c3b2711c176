"""A real net-snmp agent on a loopback port, for tests of the SNMP client and the poller."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from netwarden.collect import snmp


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_snmpd(root: Path, extra: list[str], community: str = "public") -> Iterator[int]:
    """Start snmpd on 127.0.0.1 with ``community`` and the ``extra`` config lines; yields its port."""
    if shutil.which("snmpd") is None:
        pytest.skip("snmpd is not installed (make test installs it)")
    port = free_udp_port()
    lines = [f"agentAddress udp:127.0.0.1:{port}", f"rocommunity {community} 127.0.0.1", *extra]
    (root / "snmpd.conf").write_text("\n".join(lines) + "\n")
    (root / "persist").mkdir(exist_ok=True)
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(root / "persist")}
    argv = ["snmpd", "-f", "-C", "-c", str(root / "snmpd.conf"), "-Lf", str(root / "log"), "-m", ""]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_answering(proc, port, community, root / "log")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_answering(proc: subprocess.Popen[bytes], port: int, community: str, log: Path) -> None:
    """Poll until the agent answers (bounded: 20 s); fail at once if it exits."""

    async def probe() -> bool:
        got = await snmp.collect(
            "127.0.0.1", snmp.V2c(community), lambda s: s.get(["1.3.6.1.2.1.1.5.0"]), port=port, timeout=0.5
        )
        return got.ok

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if asyncio.run(probe()):
            return
        try:
            proc.wait(timeout=0.05)  # doubles as the pause between polls
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"snmpd exited: {log.read_text(errors='replace')[-500:] if log.exists() else ''}")
    raise RuntimeError("snmpd did not answer within 20 s")
