"""Sustained syslog ingest over TCP and UDP from a loopback sender, with loss counted.

Each run: a sender process writes N messages to the receiver as fast as the kernel takes them (TCP:
LF-framed lines with ``sendall``; UDP: one ``sendto`` per datagram, optionally paced), then stops; the
receiver in this process counts until every message is accounted for (delivered, dropped or lost) or
the deadline passes. The messages are a mix of what networks send: RFC 3164 sshd and kernel lines
(syslogd's shape), RFC 5424 lines with structured data, and Cisco IOS lines without a hostname (the
general parser's path), with stamps that change every 1,000 messages.

What is measured, in the same run:

- **floor** (the peer): a minimal asyncio protocol that only counts LF-terminated lines (TCP) or
  datagrams (UDP): what Python's event loop costs before any parsing, the fastest an asyncio
  receiver can be. rsyslog (imtcp to a file) is used as a second peer when ``rsyslogd`` is installed.
- **netwarden**: :class:`netwarden.security.syslog.SyslogReceiver`, framing + parsing into
  ``SyslogMessage`` batches, the sink counting them (receive + parse).
- **netwarden+store** (when the log store is installed): the same receiver with the log store's
  sink: each batch normalised into ``LogEvent``\\ s (``security.logs.parse``) and inserted into a
  fresh SQLite store (``security.logs.store.store_events``), in a worker thread as ``serve`` does.

For each: messages per second (wall, first byte to last message accounted), the receiving process's
CPU per message, loss (sent minus delivered, by reason), and the ratio against the floor. The
machine's two cores are shared, so the load average is printed with every figure.

    .venv/bin/python benchmarks/syslog.py [--messages 1000000] [--udp-messages 300000]
        [--store-messages 200000] [--udp-rate 0] [--only tcp|udp] [--profile]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file's name would shadow the standard library's ``syslog`` while its folder leads sys.path:
# swap the folder for the repository root.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import multiprocessing as mp  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from netwarden.security.syslog import SyslogMessage, SyslogReceiver  # noqa: E402

BLOCK = 1000  # messages per distinct stamp


def messages(block: int) -> list[bytes]:
    """``BLOCK`` messages of the mix, the ``block``-th second of the day in their stamps."""
    hh, mm, ss = block // 3600 % 24, block // 60 % 60, block % 60
    bsd = b"Nov 23 %02d:%02d:%02d" % (hh, mm, ss)
    iso = b"2026-11-23T%02d:%02d:%02d" % (hh, mm, ss)
    out = []
    for i in range(BLOCK):
        kind = i % 10
        if kind < 4:  # sshd, the auth log's bulk
            out.append(
                b"<38>%s bastion%d sshd[%d]: Failed password for invalid user admin%d from 198.51.100.%d port %d ssh2"
                % (bsd, i % 7, 4000 + i, i % 13, i % 250, 30000 + i)
            )
        elif kind == 4:  # netfilter LOG line from the kernel
            out.append(
                b"<4>%s fw1 kernel: [12345.678901] DROP IN=eth0 OUT= SRC=203.0.113.%d DST=192.0.2.10 LEN=60 "
                b"TOS=0x00 PREC=0x00 TTL=52 ID=%d DF PROTO=TCP SPT=%d DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0"
                % (bsd, i % 250, i, 40000 + i)
            )
        elif kind < 8:  # RFC 5424 from rsyslog or FRR, with structured data
            out.append(
                b'<30>1 %s.%06d+00:00 r%d bgpd %d - [timeQuality tzKnown="1" isSynced="1"] '
                b"%%ADJCHANGE: neighbor 10.0.%d.1 Down BGP Notification sent"
                % (iso, i * 997 % 1000000, i % 9, i, i % 200)
            )
        else:  # Cisco IOS, sequence number and no hostname: the general parser
            out.append(
                b"<189>%d: *%s.%03d: %%LINK-3-UPDOWN: Interface GigabitEthernet0/%d, changed state to down"
                % (i, bsd, i % 1000, i % 48)
            )
    return out


# ---------------------------------------------------------------- senders (child processes)


def send_tcp(address: tuple[str, int], total: int, done: Any) -> None:
    started = time.perf_counter()
    with socket.create_connection(address) as sock:
        sent = 0
        for block in range(total // BLOCK + 1):
            lines = messages(block)[: total - sent]
            if not lines:
                break
            sock.sendall(b"\n".join(lines) + b"\n")
            sent += len(lines)
    done.send((sent, time.perf_counter() - started))


def send_udp(address: tuple[str, int], total: int, rate: float, done: Any) -> None:
    started = time.perf_counter()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    for block in range(total // BLOCK + 1):
        lines = messages(block)[: total - sent]
        for i in range(0, len(lines), 100):
            for line in lines[i : i + 100]:
                sock.sendto(line, address)
            sent += len(lines[i : i + 100])
            if rate > 0:  # paced: 100 datagrams, then sleep until the schedule is due (the sender's CPU stays free)
                ahead = started + sent / rate - time.perf_counter()
                if ahead > 0:
                    time.sleep(ahead)
    sock.close()
    done.send((sent, time.perf_counter() - started))


# ---------------------------------------------------------------- one run


@dataclass
class Run:
    name: str
    transport: str
    sent: int = 0
    delivered: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    sender_cpu: float = 0.0
    loss: dict[str, int] = field(default_factory=dict)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    note: str = ""

    @property
    def rate(self) -> float:
        return self.delivered / self.wall if self.wall else 0.0


def udp_kernel_drops(port: int) -> int:
    """Datagrams the kernel dropped for the UDP socket bound to ``port`` (the ``drops`` column of /proc/net/udp)."""
    drops = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if int(cols[1].rsplit(":", 1)[1], 16) == port:
                    drops += int(cols[-1])
    return drops


async def measure(
    name: str,
    transport: str,
    total: int,
    listen: Callable[[], Any],
    counted: Callable[[], tuple[int, int]],
    port: Callable[[], int],
    stop: Callable[[], Any],
    udp_rate: float = 0.0,
    deadline: float = 600.0,
    loss: Callable[[], dict[str, int]] = dict,
) -> Run:
    """Start the receiver, run a sender process, wait until ``counted()`` (delivered, accounted) plus what the
    kernel dropped on the UDP socket reaches what was sent; ``accounted`` includes what the receiver dropped."""
    await listen()
    run = Run(name, transport, load=os.getloadavg())
    ctx = mp.get_context("fork")
    theirs, ours = ctx.Pipe(duplex=False)
    address = ("127.0.0.1", port())
    if transport == "tcp":
        proc = ctx.Process(target=send_tcp, args=(address, total, ours))
    else:
        proc = ctx.Process(target=send_udp, args=(address, total, udp_rate, ours))
    kernel0 = udp_kernel_drops(address[1]) if transport == "udp" else 0
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    proc.start()
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    sent = None
    last_change, last_seen = loop.time(), (-1, -1)
    while loop.time() < end:
        if sent is None and theirs.poll():
            sent, _took = theirs.recv()
        delivered, accounted = counted()
        kernel = udp_kernel_drops(address[1]) - kernel0 if transport == "udp" else 0
        if sent is not None and accounted + kernel >= sent:
            break
        if (delivered, accounted) != last_seen:
            last_seen, last_change = (delivered, accounted), loop.time()
        elif sent is not None and loop.time() - last_change > 5:
            run.note = "stalled: nothing arrived for 5 s after the sender finished"
            break
        await asyncio.sleep(0.005)  # the receiver works in this loop meanwhile
    run.wall = time.perf_counter() - wall0
    run.cpu = time.process_time() - cpu0
    proc.join(30)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.sender_cpu = (children.ru_utime + children.ru_stime) - (children0.ru_utime + children0.ru_stime)
    run.sent = sent if sent is not None else total
    run.delivered, _ = counted()
    run.loss = {k: v for k, v in loss().items() if v}
    if transport == "udp":
        kernel = udp_kernel_drops(address[1]) - kernel0
        reported = run.loss.get("socket_overflow", 0)
        if kernel > reported:  # not yet reported through SO_RXQ_OVFL (the floor peer never reads it)
            run.loss["socket_overflow"] = kernel
    missing = run.sent - run.delivered - sum(run.loss.values())
    if missing > 0:
        run.loss["unaccounted"] = missing
    await stop()
    return run


# ---------------------------------------------------------------- the contenders


class FloorTcp(asyncio.Protocol):
    lines = 0

    def data_received(self, data: bytes) -> None:
        FloorTcp.lines += data.count(b"\n")


class FloorUdp(asyncio.DatagramProtocol):
    datagrams = 0

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        FloorUdp.datagrams += 1


async def floor(transport: str, total: int, udp_rate: float) -> Run:
    loop = asyncio.get_running_loop()
    holder: dict[str, Any] = {}
    FloorTcp.lines = FloorUdp.datagrams = 0

    async def listen() -> None:
        if transport == "tcp":
            server = await loop.create_server(FloorTcp, "127.0.0.1", 0)
            holder["server"], holder["port"] = server, server.sockets[0].getsockname()[1]
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # as netwarden's
            sock.bind(("127.0.0.1", 0))
            t, _ = await loop.create_datagram_endpoint(FloorUdp, sock=sock)
            holder["server"], holder["port"] = t, sock.getsockname()[1]

    def counted() -> tuple[int, int]:
        n = FloorTcp.lines if transport == "tcp" else FloorUdp.datagrams
        return n, n

    async def stop() -> None:
        holder["server"].close()

    return await measure(
        "floor (asyncio, count only)", transport, total, listen, counted, lambda: holder["port"], stop, udp_rate
    )


async def netwarden(name: str, transport: str, total: int, udp_rate: float, sink: Any = None) -> Run:
    got = [0]

    def count(batch: list[SyslogMessage]) -> None:
        got[0] += len(batch)

    receiver = SyslogReceiver(sink or count, rate=1e12, burst=1e12)

    async def listen() -> None:
        await receiver.start("127.0.0.1", 0, udp=transport == "udp", tcp=transport == "tcp")

    def counted() -> tuple[int, int]:
        s = receiver._stats  # read in place: stats() copies
        # The kernel's drops are counted from /proc by measure(), not again from what SO_RXQ_OVFL reported.
        dropped = sum(s.dropped.values()) - s.dropped.get("socket_overflow", 0)
        return s.delivered, s.delivered + dropped + sum(s.lost.values())

    def port() -> int:
        address = receiver.tcp_address if transport == "tcp" else receiver.udp_address
        assert address is not None
        return int(address[1])

    def loss() -> dict[str, int]:
        s = receiver.stats()
        return {**s.dropped, **{f"lost:{k}": v for k, v in s.lost.items()}}

    return await measure(name, transport, total, listen, counted, port, lambda: receiver.close(), udp_rate, loss=loss)


def store_sink(directory: Path) -> Any:
    """The log store's syslog sink on a fresh SQLite store, or None when the log store is not installed."""
    try:
        from netwarden.context import Context
        from netwarden.security.logs.service import store_sink as make_sink
    except ImportError:
        return None
    ctx = Context.create(data_dir=directory / "data")
    return make_sink(ctx, lookup=lambda address: None)


def rsyslog_run(total: int) -> Run | None:
    """rsyslogd with imtcp writing to a file, when installed; None otherwise."""
    binary = shutil.which("rsyslogd")
    if binary is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.log"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        conf = Path(tmp) / "rsyslog.conf"
        conf.write_text(
            f'global(workDirectory="{tmp}")\nmodule(load="imtcp")\n'
            f'input(type="imtcp" address="127.0.0.1" port="{port}")\n'
            f'action(type="omfile" file="{out}" asyncWriting="on" ioBufferSize="1m")\n'
        )
        proc = subprocess.Popen([binary, "-n", "-f", str(conf), "-i", str(Path(tmp) / "pid")])
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.05)
            run = Run("rsyslog imtcp -> file", "tcp", load=os.getloadavg())
            ctx = mp.get_context("fork")
            theirs, ours = ctx.Pipe(duplex=False)
            wall0 = time.perf_counter()
            sender = ctx.Process(target=send_tcp, args=(("127.0.0.1", port), total, ours))
            sender.start()
            sent, _took = theirs.recv()
            deadline = time.monotonic() + 600
            lines = 0
            while time.monotonic() < deadline:
                lines = sum(1 for _ in out.open("rb")) if out.exists() else 0
                if lines >= sent:
                    break
                time.sleep(0.05)
            run.wall, run.sent, run.delivered = time.perf_counter() - wall0, sent, lines
            sender.join(30)
            if sent > lines:
                run.loss["unaccounted"] = sent - lines
            return run
        finally:
            proc.terminate()
            proc.wait(10)


# ---------------------------------------------------------------- report


def show(runs: list[Run], floor_run: Run | None) -> None:
    print(
        f"{'receiver':36} {'proto':5} {'sent':>9} {'delivered':>9} {'msg/s':>9} {'vs floor':>8} "
        f"{'cpu us/msg':>10} {'sender cpu':>10}  {'load 1/5/15':15} loss"
    )
    for r in runs:
        ratio = f"{r.rate / floor_run.rate:.2f}x" if floor_run and floor_run.rate else "-"
        load = "/".join(f"{x:.1f}" for x in r.load)
        lost = ", ".join(f"{k}={v}" for k, v in sorted(r.loss.items())) or "0"
        cpu = r.cpu / r.delivered * 1e6 if r.delivered else 0.0
        print(
            f"{r.name:36} {r.transport:5} {r.sent:9} {r.delivered:9} {r.rate:9.0f} {ratio:>8} "
            f"{cpu:10.2f} {r.sender_cpu:9.1f}s  {load:15} {lost}{'  ' + r.note if r.note else ''}"
        )


async def main(args: argparse.Namespace) -> None:
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        for transport in ("tcp", "udp"):
            if args.only and args.only != transport:
                continue
            total = args.messages if transport == "tcp" else args.udp_messages
            rate = args.udp_rate if transport == "udp" else 0.0
            runs = [await floor(transport, total, rate)]
            runs.append(await netwarden("netwarden (receive + parse)", transport, total, rate))
            sink = store_sink(Path(tmp) / transport)
            if sink is None:
                print("log store not installed (netwarden.security.logs.service): store run skipped")
            else:
                runs.append(
                    await netwarden("netwarden + log parse + SQLite store", transport, args.store_messages, rate, sink)
                )
            if transport == "tcp":
                peer = await asyncio.to_thread(rsyslog_run, total)
                if peer is None:
                    print("rsyslogd is not installed: no rsyslog peer in this run (the asyncio floor is the peer)")
                else:
                    runs.append(peer)
            what = f"UDP, paced at {rate:.0f}/s" if rate else transport.upper()
            print(f"\n{what}:")
            show(runs, runs[0])
            if transport == "tcp":
                # The goal is ingest + parse + store: judged on the store run when there is one. The cores are
                # shared: also say what one core does at the CPU each message took here.
                for mine in runs[1:3]:
                    if mine.name.startswith("rsyslog"):
                        continue
                    per_core = mine.delivered / mine.cpu if mine.cpu else 0.0
                    verdict = "met" if mine.rate >= 100_000 and not mine.loss else "NOT met"
                    print(
                        f"goal 100,000 msg/s over TCP with zero loss, {mine.name}: {verdict} ({mine.rate:,.0f} msg/s,"
                        f" loss {mine.loss or 0}); one core at this CPU per message: {per_core:,.0f} msg/s"
                    )


def profile(args: argparse.Namespace) -> None:
    import cProfile
    import pstats

    transport = args.only or "tcp"
    total = (args.messages if transport == "tcp" else args.udp_messages) // 4
    profiler = cProfile.Profile()
    profiler.enable()
    run = asyncio.run(netwarden("netwarden (profiled)", transport, total, args.udp_rate))
    profiler.disable()
    show([run], None)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages per TCP run")
    parser.add_argument("--udp-messages", type=int, default=300_000, help="datagrams per UDP run")
    parser.add_argument("--store-messages", type=int, default=100_000, help="messages for the runs with the store")
    parser.add_argument("--udp-rate", type=float, default=0.0, help="pace the UDP sender (messages/s; 0: flat out)")
    parser.add_argument("--only", choices=["tcp", "udp"])
    parser.add_argument("--profile", action="store_true", help="profile a receive + parse run (--only) instead")
    options = parser.parse_args()
    if options.profile:
        profile(options)
    else:
        asyncio.run(main(options))
