"""``netwarden pcap capture``: record packets with dumpcap (tcpdump when dumpcap is missing), always bounded.

A capture stops at the first of: ``count`` packets, ``seconds`` (default 60), ``max_mb`` megabytes in total
(default 100). With ``ring`` files it keeps the newest ``ring`` files of ``max_mb / ring`` each (a ring
buffer), still within ``seconds``. dumpcap enforces these limits itself (``-c``, ``-a duration``,
``-a filesize``, ``-b files/filesize``); tcpdump has no duration or total-size stop, so the supervisor here
stops it (SIGINT, which makes tcpdump flush its file) when the time or size is reached. The supervisor also
stops dumpcap if it overruns its own limits by more than a grace period, so a capture never runs unbounded.

``netns`` runs the tool inside a network namespace (``ip netns exec``), e.g. a lab node's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from netwarden.errors import InvalidInput, NetwardenError
from netwarden.security.pcap.reader import CaptureReader, PcapFormatError

__all__ = ["CaptureError", "CaptureResult", "capture"]

log = logging.getLogger(__name__)

DEFAULT_SECONDS: Final = 60.0
DEFAULT_MAX_MB: Final = 100.0
MAX_SECONDS: Final = 24 * 3600.0
GRACE: Final = 10.0  # seconds past its own limit before the supervisor stops the tool
_IFACE: Final = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")
_NETNS: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_CAPTURED: Final = re.compile(r"Packets captured: (\d+)|^(\d+) packets captured", re.MULTILINE)


class CaptureError(NetwardenError):
    """The capture tool could not run or failed."""

    status = 500
    code = "capture-failed"


@dataclass
class CaptureResult:
    """What a capture produced."""

    tool: str
    interface: str
    netns: str | None
    files: list[str]
    packets: int  # in the files kept
    captured: int | None  # by the tool, as it reports (more than packets when a ring buffer dropped files)
    bytes: int
    seconds: float
    stopped_by: str  # count | time | size | tool (it exited by itself) | interrupted
    command: list[str] = field(default_factory=list)


def _tool() -> tuple[str, str]:
    for name in ("dumpcap", "tcpdump"):
        found = shutil.which(name)
        if found:
            return name, found
    raise CaptureError("neither dumpcap nor tcpdump is installed: install wireshark-common or tcpdump")


def capture(
    interface: str,
    directory: Path,
    *,
    netns: str | None = None,
    bpf: str | None = None,
    count: int | None = None,
    seconds: float = DEFAULT_SECONDS,
    max_mb: float = DEFAULT_MAX_MB,
    ring: int | None = None,
    output: Path | None = None,
    tool: str | None = None,
) -> CaptureResult:
    """Capture on ``interface`` into ``output`` (default: a timestamped file in ``directory``).

    Raises:
        InvalidInput: a bad interface name, namespace or limit.
        CaptureError: the tool is missing, cannot open the interface, or fails.
    """
    if not _IFACE.match(interface):
        raise InvalidInput(f"not an interface name: {interface!r}")
    if netns is not None and not _NETNS.match(netns):
        raise InvalidInput(f"not a network namespace name: {netns!r}")
    if not 0 < seconds <= MAX_SECONDS:
        raise InvalidInput(f"--seconds must be above 0 and at most {MAX_SECONDS:.0f}")
    if not 0 < max_mb <= 100_000:
        raise InvalidInput("--max-mb must be above 0 and at most 100000")
    if count is not None and count <= 0:
        raise InvalidInput("--count must be a positive number of packets")
    if ring is not None and not 2 <= ring <= 1000:
        raise InvalidInput("--ring takes 2 to 1000 files")
    name, path = (tool, shutil.which(tool) or tool) if tool else _tool()
    if output is None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        suffix = "pcapng" if name == "dumpcap" else "pcap"
        output = directory / f"{netns + '-' if netns else ''}{interface}-{stamp}.{suffix}"
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
    kb_total = max(1, int(max_mb * 1000))
    kb_file = max(1, kb_total // ring) if ring else kb_total
    if name == "dumpcap":
        argv = [path, "-i", interface, "-w", str(output), "-a", f"duration:{max(1, round(seconds))}"]
        if ring:
            argv += ["-b", f"files:{ring}", "-b", f"filesize:{kb_file}"]
        else:
            argv += ["-a", f"filesize:{kb_total}"]
        if count:
            argv += ["-c", str(count)]
        if bpf:
            argv += ["-f", bpf]
    else:
        argv = [path, "-i", interface, "-n", "-U", "-w", str(output)]
        if ring:
            argv += ["-C", str(max(1, kb_file // 1000)), "-W", str(ring)]
        if count:
            argv += ["-c", str(count)]
        if bpf:
            argv += [bpf]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    return _supervise(name, argv, output, interface, netns, count, seconds, kb_total * 1000, ring)


def _files(output: Path, ring: int | None) -> list[Path]:
    if not ring:
        return [output] if output.exists() else []
    # dumpcap: NAME_00001_YYYYmmddHHMMSS.EXT; tcpdump: NAME0, NAME1 ...
    found = sorted(output.parent.glob(f"{output.stem}_*{output.suffix}")) + sorted(
        output.parent.glob(f"{output.name}[0-9]*")
    )
    return found


def _supervise(
    name: str,
    argv: list[str],
    output: Path,
    interface: str,
    netns: str | None,
    count: int | None,
    seconds: float,
    max_bytes: int,
    ring: int | None,
) -> CaptureResult:
    log.info("capture starting", extra={"kv": {"tool": name, "interface": interface, "netns": netns or ""}})
    started = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    except OSError as exc:
        raise CaptureError(f"cannot run {name}: {exc.strerror or exc}") from None
    own_limits = name == "dumpcap"
    deadline = started + seconds + (GRACE if own_limits else 0)
    stopped_by = "tool"
    try:
        while True:
            try:
                proc.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            size = sum(f.stat().st_size for f in _files(output, ring) if f.exists())
            if now >= deadline:
                stopped_by = "time"
            elif not own_limits and not ring and size >= max_bytes:
                stopped_by = "size"
            else:
                continue
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            break
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        stopped_by = "interrupted"
    elapsed = time.monotonic() - started
    stderr = (proc.stderr.read() if proc.stderr else "").strip()
    files = _files(output, ring)
    if proc.returncode not in (0, -signal.SIGINT, 130) and stopped_by == "tool" and not files:
        lines = [line for line in stderr.splitlines() if line.strip() and "Capturing on" not in line]
        raise CaptureError(f"{name} failed on {interface}: {lines[-1] if lines else f'exit {proc.returncode}'}")
    packets = size = 0
    for f in files:
        size += f.stat().st_size
        try:
            with CaptureReader(f) as reader:
                for _record in reader.records():
                    packets += 1
        except PcapFormatError:
            continue
    said = _CAPTURED.search(stderr)
    captured = int(next(g for g in said.groups() if g is not None)) if said else None
    if stopped_by == "tool":
        if count and max(packets, captured or 0) >= count:
            stopped_by = "count"
        elif own_limits and elapsed >= seconds - 1:
            stopped_by = "time"
        elif own_limits:
            stopped_by = "size"
    for f in files:
        with contextlib.suppress(OSError):
            f.chmod(0o600)  # packets can hold anything the network carried
    log.info("capture done", extra={"kv": {"tool": name, "packets": packets, "stopped_by": stopped_by}})
    return CaptureResult(
        tool=name,
        interface=interface,
        netns=netns,
        files=[str(f) for f in files],
        packets=packets,
        captured=captured,
        bytes=size,
        seconds=round(elapsed, 3),
        stopped_by=stopped_by,
        command=argv,
    )
