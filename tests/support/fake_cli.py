"""A vendor CLI that cannot run here (Cisco IOS), served over real SSH by asyncssh on 127.0.0.x.

It answers the commands netwarden sends for a config backup (``terminal length 0``, ``show
running-config``...) from a text it holds, which a test changes between runs, and it misbehaves on
request: ``mode="drop"`` closes the connection half-way through the configuration, ``"cut"`` prints
half of it and then the prompt (a truncated copy), ``"binary"`` prints bytes that are not text.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import asyncssh

BUILDING = "Building configuration...\n\nCurrent configuration : {size} bytes\n"


@dataclass
class FakeDevice:
    hostname: str
    config: str
    startup: str | None = None
    mode: str = "normal"
    logins: int = 0
    commands: list[str] = field(default_factory=list)

    def answer(self, command: str) -> str | None:
        """The output of ``command`` (None: the device rejects it)."""
        command = command.strip()
        self.commands.append(command)
        if command.startswith("terminal "):
            return ""
        if command in ("show running-config", "show running-config all"):
            return BUILDING.format(size=len(self.config)) + self.config
        if command == "show startup-config":
            if self.startup is None:
                return "startup-config is not present\n"
            return f"Using {len(self.startup)} out of 262144 bytes\n" + self.startup
        if command == "show version":
            return f"Cisco IOS Software, Version 15.2(4)M7\n{self.hostname} uptime is 1 day\n"
        return None


class _Server(asyncssh.SSHServer):
    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self.user and password == self.password


async def _session(device: FakeDevice, process: asyncssh.SSHServerProcess[str]) -> None:
    device.logins += 1
    prompt = f"{device.hostname}#"
    if process.command:  # exec channel: not a shell on IOS
        process.stdout.write("% Invalid input detected at '^' marker.\n")
        process.exit(1)
        return
    process.stdout.write(f"\n{prompt}")
    try:
        while True:
            try:
                line = await process.stdin.readline()
            except asyncssh.TerminalSizeChanged:  # the client widens its terminal: not a command
                continue
            if not line:
                break
            command = line.rstrip("\r\n")
            if not command.strip():
                process.stdout.write(prompt)
                continue
            if command.strip() in ("exit", "logout"):
                break
            out = device.answer(command)
            if out is None:
                process.stdout.write("                ^\n% Invalid input detected at '^' marker.\n\n" + prompt)
                continue
            if command.startswith("show running") and device.mode in ("drop", "cut", "binary"):
                half = out[: len(out) // 2]
                if device.mode == "drop":
                    process.stdout.write(half)
                    await process.stdout.drain()
                    process.channel.get_connection().abort()  # the session drops mid-transfer
                    return
                binary = "\x00\x01\x02\x7fELF" * 200 + "\n"
                out = binary if device.mode == "binary" else half.rsplit("\n", 1)[0] + "\n"
            process.stdout.write(out.replace("\n", "\r\n") + prompt)
    except (asyncssh.BreakReceived, asyncssh.ConnectionLost):
        pass
    process.exit(0)


@dataclass
class FakeFleet:
    """Fake devices on 127.0.0.2, 127.0.0.3... all on one port, with one login."""

    user: str
    password: str
    port: int
    devices: dict[str, FakeDevice]  # address -> device


@contextmanager
def fake_ios(configs: dict[str, str], user: str = "netops", password: str = "s3cret-pw") -> Iterator[FakeFleet]:
    """Serve one fake IOS device per entry (hostname -> running config), on its own loopback address."""
    loop = asyncio.new_event_loop()
    key = asyncssh.generate_private_key("ssh-ed25519")
    devices: dict[str, FakeDevice] = {}
    servers: list[asyncssh.SSHAcceptor] = []
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    async def start() -> int:
        port = 0
        for i, (hostname, config) in enumerate(configs.items()):
            address = f"127.0.0.{i + 2}"
            device = FakeDevice(hostname, config)
            devices[address] = device

            def factory(process: asyncssh.SSHServerProcess[str], device: FakeDevice = device) -> asyncio.Task[None]:
                return asyncio.ensure_future(_session(device, process))

            server = await asyncssh.create_server(
                lambda: _Server(user, password),
                address,
                port,
                server_host_keys=[key],
                process_factory=factory,
                encoding="utf-8",
                line_editor=True,
            )
            servers.append(server)
            if port == 0:
                port = server.sockets[0].getsockname()[1]
        ready.set()
        return port

    port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    try:
        yield FakeFleet(user, password, port, devices)
    finally:

        async def stop() -> None:
            for server in servers:
                server.close()
                await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
