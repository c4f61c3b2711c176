"""Async SSH CLI collection: log in, set the CLI up as the platform file says, run commands, parse.

Transport: scrapli 2025.1.30's ``AsyncGenericDriver`` over asyncssh (see
docs/decisions/0010-platform-knowledge.md for why this line and not the 2026
rewrite). netwarden opens the TCP connection itself and reads the SSH
identification line before handing the socket to asyncssh, so that every
failure has an exact reason: refused / no_route (connect), timeout (nothing
said), protocol (something that is not SSH), auth_failed (the server said no).

    result = await collect_ssh("198.18.0.11", SshAuth("lab", password="..."), "frr")
    if result.ok: print(result.value.facts.hostname)
    else: print(result.describe())        # 198.18.0.11: auth_failed (...)
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import logging
import re
import socket
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncssh
from asyncssh.packet import PacketDecodeError
from scrapli.driver.generic import AsyncGenericDriver
from scrapli.exceptions import (
    ScrapliAuthenticationFailed,
    ScrapliConnectionError,
    ScrapliConnectionNotOpened,
    ScrapliTimeout,
)

from netwarden.collect.parsers.snapshot import build_snapshot
from netwarden.collect.platforms import PlatformSpec, SshSpec, get_platform, identify, platforms
from netwarden.collect.records import DeviceSnapshot, FailureReason, TargetResult
from netwarden.errors import InvalidInput
from netwarden.inventory.schemas import CredentialSecret

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 64
_MAX_BANNER_BYTES = 8192
# Prompt used before the platform is known (identify_ssh): any line ending in a prompt character.
TERMINAL_COLUMNS = 511
GENERIC_PROMPT = r"^[^\n]{0,100}[>#$%]\s?$"
# Failures worth another attempt: the device may have been busy or the network lossy.
_session_ids = itertools.count(1)
_RETRYABLE: frozenset[FailureReason] = frozenset({"timeout", "error"})


@dataclass(frozen=True)
class SshAuth:
    """SSH login: a password or a PEM private key (with its passphrase), and an enable secret."""

    username: str
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)
    enable_secret: str | None = field(default=None, repr=False)
    port: int = 22

    @classmethod
    def from_credential(cls, cred: CredentialSecret) -> SshAuth:
        """From a stored ``ssh`` credential: a secret that starts with ``-----BEGIN`` is a private key.

        Raises:
            InvalidInput: when the credential is not of kind ``ssh``.
        """
        if cred.kind != "ssh":
            raise InvalidInput(f"credential {cred.name!r} is {cred.kind}, not ssh")
        secret = cred.secret.get_secret_value()
        is_key = secret.lstrip().startswith("-----BEGIN")
        return cls(
            username=cred.username,
            password=None if is_key else secret,
            private_key=secret if is_key else None,
            enable_secret=None if is_key else secret,
            port=cred.params.port or 22,
        )


def _auth(auth: SshAuth | CredentialSecret) -> SshAuth:
    return auth if isinstance(auth, SshAuth) else SshAuth.from_credential(auth)


def _platform(platform: str | PlatformSpec) -> PlatformSpec:
    return platform if isinstance(platform, PlatformSpec) else get_platform(platform)


class _Failed(Exception):
    """One attempt's failure with the reason an operator acts on."""

    def __init__(self, reason: FailureReason, detail: str) -> None:
        super().__init__(detail)
        self.reason: FailureReason = reason
        self.detail = detail


# ---------------------------------------------------------------- concurrency

_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def default_limiter() -> asyncio.Semaphore:
    """The process-wide cap on concurrent SSH sessions (per event loop)."""
    loop = asyncio.get_running_loop()
    sem = _limiters.get(loop)
    if sem is None:
        sem = _limiters[loop] = asyncio.Semaphore(DEFAULT_CONCURRENCY)
    return sem


# ---------------------------------------------------------------- TCP + SSH identification line


async def _wait_readable(sock: socket.socket, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await asyncio.wait_for(ready, timeout)
    finally:
        loop.remove_reader(sock.fileno())


async def open_ssh_socket(target: str, port: int, timeout: float) -> tuple[socket.socket, str]:
    """Connect and peek at the server's identification line without consuming it.

    Returns the connected socket (for asyncssh) and the banner (``SSH-2.0-...``).

    Raises:
        _Failed: refused, no_route, timeout (no answer) or protocol (an answer that is not SSH).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(target, port, type=socket.SOCK_STREAM), timeout)
    except (socket.gaierror, UnicodeError) as exc:
        raise _Failed("error", f"cannot resolve {target!r}: {exc}") from exc
    except TimeoutError as exc:
        raise _Failed("timeout", f"name lookup took over {timeout:g} s") from exc
    family, _, proto, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM, proto)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, addr), max(deadline - loop.time(), 0.001))
        banner = await _read_banner(sock, deadline)
    except TimeoutError as exc:
        sock.close()
        raise _Failed("timeout", f"no answer on port {port} within {timeout:g} s") from exc
    except ConnectionRefusedError as exc:
        sock.close()
        raise _Failed("refused", f"port {port} refused the connection") from exc
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            raise _Failed("no_route", f"no route to {target}") from exc
        if exc.errno == errno.ECONNRESET:
            raise _Failed("protocol", "the server reset the connection before an SSH banner") from exc
        raise _Failed("error", f"connect to {target}:{port}: {exc}") from exc
    except _Failed:
        sock.close()
        raise
    return sock, banner


async def _read_banner(sock: socket.socket, deadline: float) -> str:
    """Peek until a complete ``SSH-`` line; consume the other lines RFC 4253 allows before it."""
    loop = asyncio.get_running_loop()
    received = 0
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            if received:
                raise _Failed("protocol", "the server sent text but no SSH identification line")
            raise TimeoutError
        try:
            data = sock.recv(_MAX_BANNER_BYTES, socket.MSG_PEEK)
        except BlockingIOError:
            try:
                await _wait_readable(sock, remaining)
            except TimeoutError:
                if received:
                    raise _Failed("protocol", "the server sent text but no SSH identification line") from None
                raise
            continue
        if not data:
            raise _Failed("protocol", "the server closed the connection without an SSH banner")
        if data.startswith(b"SSH-"):
            end = data.find(b"\n")
            if end >= 0:
                return data[:end].decode("ascii", "replace").strip()
        elif (b"\n" in data) and all(32 <= b < 127 or b in (9, 13) for b in data[: data.find(b"\n")]):
            # A printable pre-banner line (RFC 4253 4.2 allows them): drop it, keep looking.
            line = data[: data.find(b"\n") + 1]
            sock.recv(len(line))
            received += len(line)
            continue
        elif not all(32 <= b < 127 or b in (9, 10, 13) for b in data[:255]):
            raise _Failed("protocol", f"not an SSH server (banner {data[:40]!r})")
        if len(data) >= _MAX_BANNER_BYTES or received >= _MAX_BANNER_BYTES:
            raise _Failed("protocol", "no SSH identification line in the first 8 KiB")
        received = max(received, 1)
        # Partial line: more bytes are on the way; the socket stays readable, so poll briefly.
        await asyncio.sleep(min(0.01, remaining))


# ---------------------------------------------------------------- one session


@dataclass
class _Session:
    banner: str = ""
    prompt: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    execs: dict[str, ExecResult] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecResult:
    """One command run in an SSH exec channel (``ssh host 'command'``): its exit status and output."""

    status: int | None
    stdout: str
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 0


@dataclass(frozen=True)
class SessionOutput:
    """What one login gave: the CLI session's outputs and the exec channels' results, by command."""

    outputs: dict[str, str]
    execs: dict[str, ExecResult]


def _asyncssh_options(auth: SshAuth, sock: socket.socket) -> dict[str, Any]:
    options: dict[str, Any] = {"sock": sock, "password": auth.password, "known_hosts": None}
    if auth.private_key:
        try:
            key = asyncssh.import_private_key(auth.private_key, auth.passphrase)
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise _Failed("auth_failed", f"the private key cannot be read: {exc}") from exc
        options["client_keys"] = [key]
        options["preferred_auth"] = ("publickey",) if auth.password is None else ("publickey", "password")
    else:
        options["client_keys"] = None
        options["preferred_auth"] = ("password", "keyboard-interactive")
    return options


def _widen_terminal(conn: AsyncGenericDriver) -> None:
    """Make the pty wide before anything is typed.

    scrapli asks for an 80-column pty; a command echoed past column 80 comes back with the line editor's
    wrap artefacts (bash repeats the character at the margin), the echo no longer matches the input, and
    the session stalls. A window-change request widens the pty for the device and its line editor alike.
    """
    writer = getattr(conn.transport, "stdin", None)
    channel = getattr(writer, "channel", None)
    if isinstance(channel, asyncssh.SSHClientChannel):
        channel.change_terminal_size(TERMINAL_COLUMNS, 24)


async def _raise_privilege(conn: AsyncGenericDriver, ssh: SshSpec, auth: SshAuth) -> None:
    priv = ssh.privilege
    if priv is None:
        return
    prompt = await conn.get_prompt()
    if re.search(priv.prompt, prompt):
        return
    reply = await conn.send_and_read(priv.command, expected_outputs=[":"], read_duration=3)
    if re.search(priv.password_prompt, reply.result + "\n" + reply.raw_result.decode(errors="replace"), re.M):
        await conn.send_and_read(auth.enable_secret or "", read_duration=3)
    if not re.search(priv.prompt, await conn.get_prompt()):
        log.warning("privilege level not reached host=%s command=%s", conn.host, priv.command)


async def _run_session(
    target: str,
    port: int,
    auth: SshAuth,
    ssh: SshSpec,
    commands: Sequence[str],
    connect_timeout: float,
    command_timeout: float,
    exec_commands: Sequence[str] = (),
) -> _Session:
    sock, banner = await open_ssh_socket(target, port, connect_timeout)
    session = _Session(banner=banner)
    try:
        options = _asyncssh_options(auth, sock)
    except _Failed:
        sock.close()
        raise

    async def on_open(conn: AsyncGenericDriver) -> None:
        _widen_terminal(conn)
        # Wait for the first prompt: typing before a shell's line editor is up garbles the echo, and scrapli
        # then waits for an echo that never comes.
        await conn.get_prompt()
        for setup in ssh.setup:
            await conn.send_command(setup)
        await _raise_privilege(conn, ssh, auth)

    conn = AsyncGenericDriver(
        host=target,
        port=port,
        auth_username=auth.username,
        auth_password=auth.password or "",
        auth_strict_key=False,
        transport="asyncssh",
        transport_options={"asyncssh": options},
        comms_prompt_pattern=ssh.prompt,
        timeout_socket=connect_timeout,
        timeout_transport=command_timeout,
        timeout_ops=command_timeout,
        on_open=on_open,
        logging_uid=f"s{next(_session_ids)}",  # tells concurrent sessions to one host apart in debug logs
    )
    try:
        await conn.open()
        session.prompt = (await conn.get_prompt()).strip()
        for command in commands:
            response = await conn.send_command(command)
            session.outputs[command] = response.result
        for command in exec_commands:
            session.execs[command] = await _exec(conn, command, command_timeout)
    finally:
        with contextlib.suppress(OSError, ScrapliConnectionNotOpened, asyncssh.Error):
            await conn.close()
        sock.close()
    return session


async def _exec(conn: AsyncGenericDriver, command: str, timeout: float) -> ExecResult:
    """Run ``command`` in a new exec channel of the open connection (the CLI session stays as it is)."""
    ssh_conn = getattr(conn.transport, "session", None)
    if not isinstance(ssh_conn, asyncssh.SSHClientConnection):
        raise _Failed("error", "the SSH connection has no exec channel")
    done = await ssh_conn.run(command, check=False, timeout=timeout)
    out, err = done.stdout, done.stderr
    return ExecResult(
        status=done.exit_status,
        stdout=out.decode(errors="replace") if isinstance(out, bytes) else (out or ""),
        stderr=err.decode(errors="replace") if isinstance(err, bytes) else (err or ""),
    )


def _classify(exc: BaseException, connect_timeout: float) -> _Failed:
    """Map transport exceptions onto the per-target failure reasons."""
    cause = exc.__cause__
    if isinstance(exc, _Failed):
        return exc
    if isinstance(exc, ScrapliAuthenticationFailed):
        if isinstance(cause, asyncssh.PermissionDenied):
            return _Failed("auth_failed", "the server rejected the credentials")
        if isinstance(cause, TimeoutError):
            return _Failed("timeout", f"SSH handshake/login took over {connect_timeout:g} s")
        return _Failed("auth_failed", str(exc))
    if isinstance(exc, asyncssh.PermissionDenied):
        return _Failed("auth_failed", "the server rejected the credentials")
    if isinstance(exc, ScrapliTimeout):
        return _Failed("timeout", f"no prompt within the command timeout ({exc})")
    if isinstance(exc, asyncssh.ProtocolError | asyncssh.KeyExchangeFailed | asyncssh.ProtocolNotSupported):
        return _Failed("protocol", f"SSH protocol error: {exc}")
    if isinstance(exc, asyncssh.DisconnectError | asyncssh.ConnectionLost | ScrapliConnectionError):
        return _Failed("protocol", f"the server closed the session: {exc}")
    if isinstance(exc, PacketDecodeError):
        return _Failed("protocol", f"malformed SSH packet: {exc}")
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return _Failed("protocol", f"the connection was reset: {exc}")
    if isinstance(exc, TimeoutError):
        return _Failed("timeout", "the session took longer than the per-target timeout")
    return _Failed("error", f"{type(exc).__name__}: {exc}")


async def _attempts(
    target: str,
    port: int,
    auth: SshAuth,
    ssh: SshSpec,
    commands: Sequence[str],
    *,
    timeout: float,
    connect_timeout: float,
    retries: int,
    limiter: asyncio.Semaphore | None,
    exec_commands: Sequence[str] = (),
) -> TargetResult[_Session]:
    started = time.perf_counter()
    sem = limiter if limiter is not None else default_limiter()
    failure = _Failed("error", "not attempted")
    attempts = 0
    for attempt in range(max(retries, 0) + 1):
        attempts = attempt + 1
        try:
            async with sem:  # queueing for a slot does not count against the target's timeout
                async with asyncio.timeout(timeout):
                    session = await _run_session(
                        target, port, auth, ssh, commands, connect_timeout, timeout, exec_commands
                    )
            return TargetResult.success(target, session, time.perf_counter() - started, attempts)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure of one target stays with that target
            failure = _classify(exc, connect_timeout)
            log.info("ssh attempt failed target=%s attempt=%d reason=%s", target, attempts, failure.reason)
        if failure.reason not in _RETRYABLE:
            break
        if attempt < retries:
            await asyncio.sleep(0.2 * (attempt + 1))  # back off before knocking again
    return TargetResult.failure(target, failure.reason, failure.detail, time.perf_counter() - started, attempts)


# ---------------------------------------------------------------- public API


async def run_commands(
    target: str,
    auth: SshAuth | CredentialSecret,
    platform: str | PlatformSpec,
    commands: Sequence[str],
    port: int | None = None,
    timeout: float = 30.0,
    *,
    connect_timeout: float = 10.0,
    retries: int = 1,
    limiter: asyncio.Semaphore | None = None,
) -> TargetResult[dict[str, str]]:
    """Log in to ``target`` and run ``commands`` with the platform's prompt, paging and privilege handling.

    Args:
        target: address or name.
        auth: the login (or a stored ssh credential).
        platform: platform name or spec (its ``ssh`` section drives the CLI).
        commands: commands to run, in order.
        port: TCP port; default the credential's port, else 22.
        timeout: per attempt, for the whole session.
        connect_timeout: TCP connect + SSH banner, and separately the SSH handshake + login.
        retries: further attempts after a timeout or unexpected error (never after auth_failed, refused,
            no_route or protocol: knocking again would not help and may lock the account).
        limiter: caps concurrent sessions (default: a process-wide cap of ``DEFAULT_CONCURRENCY``).

    Returns:
        ok with command -> output (prompt and echo stripped), or failed with the reason.
    """
    result = await run_session(
        target,
        auth,
        platform,
        commands,
        port=port,
        timeout=timeout,
        connect_timeout=connect_timeout,
        retries=retries,
        limiter=limiter,
    )
    if not result.ok or result.value is None:
        return TargetResult.failure(target, result.reason or "error", result.detail, result.elapsed, result.attempts)
    return TargetResult.success(target, result.value.outputs, result.elapsed, result.attempts)


async def run_session(
    target: str,
    auth: SshAuth | CredentialSecret,
    platform: str | PlatformSpec,
    commands: Sequence[str],
    exec_commands: Sequence[str] = (),
    *,
    port: int | None = None,
    timeout: float = 60.0,
    connect_timeout: float = 10.0,
    retries: int = 1,
    limiter: asyncio.Semaphore | None = None,
) -> TargetResult[SessionOutput]:
    """Like :func:`run_commands`, and then ``exec_commands`` each in an exec channel of the same login.

    An exec command's exit status is kept: a non-zero status is the device's answer, not a session failure.
    """
    spec = _platform(platform)
    if spec.ssh is None:
        return TargetResult.failure(target, "unsupported", f"platform {spec.name} has no SSH CLI description")
    login = _auth(auth)
    result = await _attempts(
        target,
        port or login.port,
        login,
        spec.ssh,
        commands,
        timeout=timeout,
        connect_timeout=connect_timeout,
        retries=retries,
        limiter=limiter,
        exec_commands=exec_commands,
    )
    if not result.ok or result.value is None:
        return TargetResult.failure(target, result.reason or "error", result.detail, result.elapsed, result.attempts)
    out = SessionOutput(outputs=result.value.outputs, execs=result.value.execs)
    return TargetResult.success(target, out, result.elapsed, result.attempts)


def failed_commands(platform: PlatformSpec, outputs: dict[str, str]) -> dict[str, str]:
    """Commands whose output carries one of the platform's failure markers, with the offending line."""
    markers = platform.ssh.failure if platform.ssh else []
    failed = {}
    for command, output in outputs.items():
        for line in output.splitlines():
            if any(marker in line for marker in markers):
                failed[command] = f"the device said: {line.strip()[:200]}"
                break
    return failed


async def collect_ssh(
    target: str,
    auth: SshAuth | CredentialSecret,
    platform: str | PlatformSpec,
    *,
    port: int | None = None,
    timeout: float = 60.0,
    connect_timeout: float = 10.0,
    retries: int = 1,
    limiter: asyncio.Semaphore | None = None,
) -> TargetResult[DeviceSnapshot]:
    """Collect one device's snapshot over SSH using its platform's command and parser table.

    A command the device rejects or whose output cannot be parsed becomes a warning on the snapshot;
    the result fails only when the session fails, or when not one command gave usable output
    (``unsupported``: probably the wrong platform).
    """
    spec = _platform(platform)
    result = await run_commands(
        target,
        auth,
        spec,
        spec.all_commands(),
        port,
        timeout,
        connect_timeout=connect_timeout,
        retries=retries,
        limiter=limiter,
    )
    if not result.ok or result.value is None:
        return TargetResult.failure(target, result.reason or "error", result.detail, result.elapsed, result.attempts)
    outputs = result.value
    failed = failed_commands(spec, outputs)
    snapshot = build_snapshot(target, spec, outputs, failed=failed, via=("ssh",))
    if len(snapshot.warnings) >= len(spec.all_commands()) and not snapshot.facts.hostname:
        detail = f"no command gave usable output for platform {spec.name}: {snapshot.warnings[0]}"
        return TargetResult.failure(target, "unsupported", detail, result.elapsed, result.attempts)
    return TargetResult.success(target, snapshot, result.elapsed, result.attempts)


@dataclass(frozen=True)
class SshIdentity:
    """What an SSH login tells about a device."""

    platform: str | None
    banner: str
    prompt: str
    probe_output: dict[str, str] = field(default_factory=dict)


async def identify_ssh(
    target: str,
    auth: SshAuth | CredentialSecret,
    *,
    port: int | None = None,
    timeout: float = 30.0,
    connect_timeout: float = 10.0,
    retries: int = 1,
    limiter: asyncio.Semaphore | None = None,
) -> TargetResult[SshIdentity]:
    """Log in with a generic prompt, run every platform's probe command, and name the platform.

    ``platform`` is None when nothing matched (the login itself worked: the result is still ok).
    """
    login = _auth(auth)
    probes = sorted({p.ssh.probe for p in platforms().values() if p.ssh and p.ssh.probe})
    generic = SshSpec(prompt=GENERIC_PROMPT, setup=["terminal length 0"])
    result = await _attempts(
        target,
        port or login.port,
        login,
        generic,
        probes,
        timeout=timeout,
        connect_timeout=connect_timeout,
        retries=retries,
        limiter=limiter,
    )
    if not result.ok or result.value is None:
        return TargetResult.failure(target, result.reason or "error", result.detail, result.elapsed, result.attempts)
    session = result.value
    name = None
    for output in session.outputs.values():
        name = identify(banner=session.banner, prompt=session.prompt, version_output=output)
        if name is not None:
            break
    if name is None:
        name = identify(banner=session.banner, prompt=session.prompt)
    identity = SshIdentity(platform=name, banner=session.banner, prompt=session.prompt, probe_output=session.outputs)
    return TargetResult.success(target, identity, result.elapsed, result.attempts)


async def collect_many(
    targets: Sequence[tuple[str, str | PlatformSpec]],
    auth: SshAuth | CredentialSecret,
    *,
    concurrency: int = 32,
    timeout: float = 60.0,
    connect_timeout: float = 10.0,
    retries: int = 1,
) -> list[TargetResult[DeviceSnapshot]]:
    """``collect_ssh`` on many (target, platform) pairs at once, at most ``concurrency`` sessions in flight.

    One slow or broken device never holds up the others; results come back in input order.
    """
    sem = asyncio.Semaphore(max(concurrency, 1))
    return list(
        await asyncio.gather(
            *(
                collect_ssh(
                    target,
                    auth,
                    platform,
                    timeout=timeout,
                    connect_timeout=connect_timeout,
                    retries=retries,
                    limiter=sem,
                )
                for target, platform in targets
            )
        )
    )
