"""SSH CLI collection against local servers on 127.0.0.1: fake ones that misbehave, and a real sshd.

Each failure mode ends as a per-target result with its reason: a refused port, a
port that accepts and says nothing, one that answers with garbage, wrong
credentials. The real sshd (started here as root, with a throw-away user) gives a
Linux shell, so the linux platform file is exercised end to end.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
import pytest
from pydantic import SecretStr

from netwarden.collect.ssh import SshAuth, collect_many, collect_ssh, identify_ssh, run_commands
from netwarden.errors import InvalidInput
from netwarden.inventory.schemas import CredentialParams, CredentialSecret

SSHD = "/usr/sbin/sshd"


# ---------------------------------------------------------------- fake servers


@dataclass
class FakeServer:
    """A TCP listener on 127.0.0.1 that greets each connection with ``greeting`` and then holds or closes it."""

    greeting: bytes = b""
    close_after_greeting: bool = False
    port: int = 0
    connections: int = 0
    open_now: int = 0
    max_open: int = 0
    _sock: socket.socket = field(default_factory=socket.socket)
    _conns: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> FakeServer:
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                self._reap()
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._conns.append(conn)
            if self.greeting:
                conn.sendall(self.greeting)
            if self.close_after_greeting:
                conn.close()
            self._reap()

    def _reap(self) -> None:
        # Count connections the client has closed, to know how many are open at once.
        with self._lock:
            alive = []
            for conn in self._conns:
                if conn.fileno() < 0:
                    continue
                try:
                    conn.setblocking(False)
                    gone = conn.recv(1024, socket.MSG_PEEK) == b""
                except BlockingIOError:
                    gone = False
                except OSError:
                    gone = True
                if gone:
                    conn.close()
                else:
                    alive.append(conn)
            self._conns = alive
            self.open_now = len(alive)
            self.max_open = max(self.max_open, self.open_now)

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        with self._lock:
            for conn in self._conns:
                conn.close()


@pytest.fixture
def fake() -> Iterator[list[FakeServer]]:
    servers: list[FakeServer] = []
    yield servers
    for server in servers:
        server.stop()


def _start(fake: list[FakeServer], **kwargs: object) -> FakeServer:
    server = FakeServer(**kwargs).start()  # type: ignore[arg-type]
    fake.append(server)
    return server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


AUTH = SshAuth("nobody", password="x")


def _run(port: int, **kwargs: object) -> object:
    return asyncio.run(
        run_commands("127.0.0.1", AUTH, "linux", ["hostname"], port=port, **kwargs)  # type: ignore[arg-type]
    )


def test_refused_port() -> None:
    result = asyncio.run(run_commands("127.0.0.1", AUTH, "linux", ["hostname"], port=_free_port(), retries=2))
    assert (result.ok, result.reason, result.attempts) == (False, "refused", 1)  # refused is not retried


def test_accepts_then_hangs_is_a_timeout_and_is_retried(fake: list[FakeServer]) -> None:
    server = _start(fake)
    result = asyncio.run(
        run_commands(
            "127.0.0.1", AUTH, "linux", ["hostname"], port=server.port, timeout=2, connect_timeout=0.5, retries=1
        )
    )
    assert (result.ok, result.reason, result.attempts) == (False, "timeout", 2)
    assert "no answer" in result.detail
    assert server.connections == 2


@pytest.mark.parametrize(
    ("greeting", "close", "detail"),
    [
        (b"\x00\xff\xfe\x01binary junk\r\n", False, "not an SSH server"),
        (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", True, "without an SSH banner"),
        (b"", True, "without an SSH banner"),
        (b"220 mail.example ESMTP ready\r\n", False, "no SSH identification line"),
    ],
    ids=["binary", "http-then-close", "close-at-once", "text-then-silence"],
)
def test_garbage_banner_is_a_protocol_failure(
    fake: list[FakeServer], greeting: bytes, close: bool, detail: str
) -> None:
    server = _start(fake, greeting=greeting, close_after_greeting=close)
    result = asyncio.run(
        run_commands(
            "127.0.0.1", AUTH, "linux", ["hostname"], port=server.port, timeout=3, connect_timeout=1, retries=1
        )
    )
    assert (result.ok, result.reason, result.attempts) == (False, "protocol", 1)
    assert detail in result.detail


def test_ssh_banner_then_garbage_is_a_protocol_failure(fake: list[FakeServer]) -> None:
    server = _start(fake, greeting=b"SSH-2.0-Fake\r\n" + b"\x00" * 64 + b"\xff" * 64, close_after_greeting=False)
    result = asyncio.run(
        run_commands(
            "127.0.0.1", AUTH, "linux", ["hostname"], port=server.port, timeout=3, connect_timeout=1, retries=0
        )
    )
    assert not result.ok
    assert result.reason in ("protocol", "timeout")  # asyncssh may wait for the rest of a packet that never comes


def test_concurrency_limit_holds_across_targets(fake: list[FakeServer]) -> None:
    server = _start(fake)
    auth = SshAuth("nobody", password="x", port=server.port)
    targets = [("127.0.0.1", "linux")] * 6
    started = time.perf_counter()
    results = asyncio.run(collect_many(targets, auth, concurrency=2, timeout=1, connect_timeout=0.4, retries=0))
    assert [r.reason for r in results] == ["timeout"] * 6
    assert server.connections == 6
    assert server.max_open <= 2
    assert time.perf_counter() - started < 60  # bounded: every session ends by itself


def test_unknown_platform_and_bad_credentials() -> None:
    from netwarden.collect.platforms import UnknownPlatform

    with pytest.raises(UnknownPlatform):
        asyncio.run(run_commands("127.0.0.1", AUTH, "cisco-ios", ["x"]))
    cred = CredentialSecret(
        name="snmp",
        kind="snmp-v2c",
        username="",
        secret=SecretStr("public"),
        priv_secret=None,
        params=CredentialParams(),
    )
    with pytest.raises(InvalidInput, match="not ssh"):
        SshAuth.from_credential(cred)


def test_auth_from_a_stored_credential() -> None:
    password = CredentialSecret(
        name="lab-ssh",
        kind="ssh",
        username="lab",
        secret=SecretStr("pw"),
        priv_secret=None,
        params=CredentialParams(port=2222),
    )
    auth = SshAuth.from_credential(password)
    assert (auth.username, auth.password, auth.private_key, auth.port) == ("lab", "pw", None, 2222)
    assert "pw" not in repr(auth)
    pem = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    key = CredentialSecret(
        name="k", kind="ssh", username="ops", secret=SecretStr(pem), priv_secret=None, params=CredentialParams()
    )
    auth = SshAuth.from_credential(key)
    assert (auth.password, auth.private_key, auth.port) == (None, pem, 22)


# ---------------------------------------------------------------- a real sshd


@dataclass
class Sshd:
    port: int
    user: str
    password: str
    key_pem: str


def _wait_listening(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("sshd did not listen in time")


@pytest.fixture(scope="module")
def sshd() -> Iterator[Sshd]:
    if os.geteuid() != 0:
        pytest.skip("starting a real sshd with a throw-away user needs root")
    if not Path(SSHD).exists() or shutil.which("useradd") is None:
        pytest.skip("openssh-server (sshd) or useradd is not installed")
    # Not under pytest's tmp dir: that is private to root, and sshd reads authorized_keys as the user.
    home = Path(tempfile.mkdtemp(prefix="netwarden-sshd-"))
    user = f"nwt{os.getpid():x}"[:16]
    password = secrets.token_urlsafe(12)
    key = asyncssh.generate_private_key("ssh-ed25519")
    subprocess.run(["userdel", user], capture_output=True, check=False)
    subprocess.run(["useradd", "-M", "-d", str(home), "-s", "/bin/bash", "-c", "netwarden test", user], check=True)
    try:
        subprocess.run(["chpasswd"], input=f"{user}:{password}\n".encode(), check=True)
        (home / ".ssh").mkdir()
        (home / ".ssh" / "authorized_keys").write_bytes(key.export_public_key())
        entry = pwd.getpwnam(user)
        for path in (home, home / ".ssh", home / ".ssh" / "authorized_keys"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / "host_key")], check=True)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        port = _free_port()
        conf = home / "sshd_config"
        conf.write_text(
            "\n".join(
                [
                    f"HostKey {home / 'host_key'}",
                    f"PidFile {home / 'sshd.pid'}",
                    "ListenAddress 127.0.0.1",
                    "UsePAM no",
                    "PasswordAuthentication yes",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    f"AuthorizedKeysFile {home / '.ssh' / 'authorized_keys'}",
                    "PermitRootLogin no",
                    f"AllowUsers {user}",
                    "StrictModes no",
                    "UseDNS no",
                    "PrintMotd no",
                    "MaxStartups 50:30:100",
                    "",
                ]
            )
        )
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(conf), "-p", str(port)], stderr=subprocess.DEVNULL)
        try:
            _wait_listening(port, proc, time.monotonic() + 10)
            yield Sshd(port=port, user=user, password=password, key_pem=key.export_private_key().decode())
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    finally:
        subprocess.run(["userdel", user], capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


def _auth(sshd: Sshd, **kwargs: object) -> SshAuth:
    values: dict[str, object] = {"username": sshd.user, "password": sshd.password, "port": sshd.port}
    values.update(kwargs)
    return SshAuth(**values)  # type: ignore[arg-type]


def test_linux_snapshot_over_real_ssh(sshd: Sshd) -> None:
    result = asyncio.run(collect_ssh("127.0.0.1", _auth(sshd), "linux", timeout=30))
    assert result.ok, result.describe()
    snap = result.value
    assert snap is not None
    assert snap.facts.hostname == socket.gethostname()
    assert snap.facts.platform == "linux" and snap.facts.os_version and snap.facts.uptime
    lo = {i.name: i for i in snap.interfaces}["lo"]
    assert "127.0.0.1/8" in lo.addresses and lo.kind == "loopback"
    local = {a.split("/")[0] for i in snap.interfaces for a in i.addresses}
    assert {r.prefix for r in snap.routes} and snap.via == ["ssh"]
    kernel = subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True, check=True).stdout
    assert all(addr.split("/")[0] in kernel for addr in local)
    print(f"collect_ssh linux on 127.0.0.1: {result.elapsed:.3f} s")


def test_run_commands_returns_each_output(sshd: Sshd) -> None:
    commands = ["echo netwarden-$((6*7))", "printf 'a\\nb\\n'", "true"]
    result = asyncio.run(run_commands("127.0.0.1", _auth(sshd), "linux", commands))
    assert result.ok, result.describe()
    assert result.value == {commands[0]: "netwarden-42", commands[1]: "a\nb", commands[2]: ""}


def test_key_login(sshd: Sshd) -> None:
    result = asyncio.run(
        run_commands("127.0.0.1", _auth(sshd, password=None, private_key=sshd.key_pem), "linux", ["whoami"])
    )
    assert result.ok, result.describe()
    assert result.value == {"whoami": sshd.user}


def test_wrong_password_is_auth_failed_and_not_retried(sshd: Sshd) -> None:
    result = asyncio.run(run_commands("127.0.0.1", _auth(sshd, password="wrong"), "linux", ["whoami"], retries=3))
    assert (result.ok, result.reason, result.attempts) == (False, "auth_failed", 1)


def test_wrong_key_is_auth_failed(sshd: Sshd) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    result = asyncio.run(run_commands("127.0.0.1", _auth(sshd, password=None, private_key=other), "linux", ["id"]))
    assert (result.ok, result.reason) == (False, "auth_failed")
    bad = asyncio.run(
        run_commands("127.0.0.1", _auth(sshd, password=None, private_key="-----BEGIN junk"), "linux", ["id"])
    )
    assert (bad.ok, bad.reason) == (False, "auth_failed")
    assert "private key" in bad.detail


def test_wrong_platform_finds_no_prompt(sshd: Sshd) -> None:
    # An IOS prompt never appears on a bash shell: the session times out instead of hanging.
    result = asyncio.run(collect_ssh("127.0.0.1", _auth(sshd), "cisco_ios", timeout=3, connect_timeout=2, retries=0))
    assert (result.ok, result.reason) == (False, "timeout")


def test_identify_over_real_ssh(sshd: Sshd) -> None:
    result = asyncio.run(identify_ssh("127.0.0.1", _auth(sshd)))
    assert result.ok, result.describe()
    assert result.value is not None
    assert result.value.platform == "linux"
    assert result.value.banner.startswith("SSH-2.0-OpenSSH")
    assert result.value.prompt.endswith("$")


def test_many_sessions_at_once(sshd: Sshd) -> None:
    targets = [("127.0.0.1", "linux")] * 8
    results = asyncio.run(collect_many(targets, _auth(sshd), concurrency=4, timeout=30))
    assert all(r.ok for r in results), [r.describe() for r in results if not r.ok]
    assert {r.value.facts.hostname for r in results if r.value} == {socket.gethostname()}
