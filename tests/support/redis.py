"""A throwaway Redis server for tests and benchmarks: redis-server on 127.0.0.1:<free port>, a temp dir.

Nothing is persisted (no RDB, no AOF) and the server dies with :meth:`RedisServer.stop`. Uses
Debian's redis-server package (installed by ``make test``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def find_redis_server() -> str | None:
    return shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers_ping(port: int) -> bool:
    """One raw RESP PING (no client library needed to know the server is up)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"*1\r\n$4\r\nPING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.dir = Path(tempfile.mkdtemp(prefix="nw-redis-"))
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> None:
        argv = [
            self.binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
            "--logfile",
            str(self.dir / "log"),
        ]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers_ping(self.port):
                return
            try:
                self.proc.wait(timeout=0.05)  # doubles as the pause between probes
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"redis-server exited: {self.log_tail()}")
        self.stop()
        raise RuntimeError(f"redis-server did not answer within {timeout} s")

    def log_tail(self) -> str:
        log = self.dir / "log"
        return log.read_text(errors="replace")[-500:] if log.exists() else ""

    def stop(self) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    """A started redis-server; RuntimeError when the binary is missing or it does not come up."""
    binary = find_redis_server()
    if binary is None:
        raise RuntimeError("redis-server is not installed (make test installs the Debian package)")
    server = RedisServer(binary)
    try:
        server.start()
        yield server
    finally:
        server.stop()
