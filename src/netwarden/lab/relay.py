"""A user-space delay line for one interface's egress, where the kernel has no netem.

nftables in the node forwards every frame leaving ``--dev`` to a TAP device
this process owns (``fwd to``); the process holds each frame for the delay
(plus jitter, keeping order, as a real link does), then sends it out of
``--dev`` through a packet socket. Frames it sends carry a firewall mark
that the nftables chain lets through, so they are not delayed twice.

Run inside the node: ``python -m netwarden.lab.relay --dev eth1 --tap nwdeth1 --delay 50``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import fcntl
import os
import random
import select
import signal
import socket
import struct
import subprocess
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
RELAY_MARK = 0x4E57
MAX_QUEUE = 10000


def open_tap(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    subprocess.run(["ip", "link", "set", name, "up"], check=True)
    return fd


def relay(dev: str, tap: str, delay_ms: float, jitter_ms: float) -> None:
    fd = open_tap(tap)
    out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    out.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, RELAY_MARK)
    out.bind((dev, 0))
    queue: collections.deque[tuple[float, bytes]] = collections.deque()
    last_due = 0.0
    running = True

    def stop(*_: object) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while running:
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 1.0
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
        except InterruptedError:
            continue
        if ready:
            frame = os.read(fd, 65536)
            if len(queue) < MAX_QUEUE:  # a full queue drops, like a full qdisc
                jitter = random.uniform(-jitter_ms, jitter_ms) if jitter_ms else 0.0
                due = max(time.monotonic() + max(0.0, delay_ms + jitter) / 1000, last_due)
                last_due = due
                queue.append((due, frame))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            # An interface that is down loses the frame, as a real link would.
            with contextlib.suppress(OSError):
                out.send(queue.popleft()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dev", required=True)
    parser.add_argument("--tap", required=True)
    parser.add_argument("--delay", type=float, required=True, help="milliseconds")
    parser.add_argument("--jitter", type=float, default=0.0, help="milliseconds, uniform +/-")
    args = parser.parse_args()
    relay(args.dev, args.tap, args.delay, args.jitter)


if __name__ == "__main__":
    main()
