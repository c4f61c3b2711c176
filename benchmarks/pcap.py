"""pcap flow summary (issue 7, item 5): netwarden against ``tshark -r FILE -q -z conv,tcp``, same file, same run.

The capture is generated here (seeded, in a temporary directory removed at the end): Ethernet/IPv4/TCP, about
200 connections open at any time, each a handshake, 10-80 data segments either way with their ACKs (1 % of
data segments sent twice, a few zero windows), then FIN/FIN/ACK; 3 % of attempts are refused (RST/ACK) and 6 %
end in an RST from the client. Frames are full size (up to 1502 bytes on the wire) unless ``--snaplen`` cuts them.

Measured, each in its own child process (wall time, user+system CPU, peak RSS from ``getrusage`` of the child):
- peer: ``tshark -r FILE -q -z conv,tcp``;
- netwarden engine: ``analyze()`` of the file, the whole report serialised to JSON;
- netwarden CLI: ``netwarden pcap analyze FILE --json`` (adds the CLI's start-up: only the pcap command loads).

Then both flow lists are compared: every tshark conversation must be one netwarden TCP flow with the same
frames each way, the same bytes each way once printed as tshark prints them (SI units, truncated), the same
relative start (1 us) and duration (0.1 ms); and the total frame bytes must equal capinfos' data size.

Goal (issue 7): at least 3x faster than tshark, under 200 MB.

    .venv/bin/python benchmarks/pcap.py [--packets 1000000] [--seed 7] [--snaplen 0] [--pcapng] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOAL_RATIO = 3.0
GOAL_MB = 200.0
_CONV = re.compile(
    r"^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+) (\d+ \S+)\s+(\d+) (\d+ \S+)\s+(\d+) (\d+ \S+)\s+([\d.]+)\s+([\d.]+)\s*$"
)


def generate(path: Path, packets: int, seed: int, snaplen: int) -> int:
    """Write the capture; returns the number of connections opened."""
    rng = random.Random(seed)
    rec = struct.Struct("<IIII")
    eth = bytes.fromhex("0200000000010200000000020800")
    ip = struct.Struct("!BBHHHBBH4s4s")
    tcp = struct.Struct("!HHIIBBHHH")
    payload = bytes(range(256)) * 6
    state = {"n": 0, "now": 1_700_000_000.0}
    with path.open("wb", buffering=1 << 20) as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen or 262144, 1))

        def frame(
            src: bytes, dst: bytes, sp: int, dp: int, seq: int, ack: int, flags: int, win: int, size: int
        ) -> None:
            n = state["n"]
            body = ip.pack(0x45, 0, 40 + size, n & 0xFFFF, 0x4000, 64, 6, 0, src, dst) + tcp.pack(
                sp, dp, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags, win, 0, 0
            )
            data = eth + body + payload[:size]
            cut = data[:snaplen] if snaplen else data
            state["now"] += rng.random() * 0.0002
            sec = int(state["now"])
            out.write(rec.pack(sec, int((state["now"] - sec) * 1e6), len(cut), len(data)))
            out.write(cut)
            state["n"] = n + 1

        active: list[dict[str, Any]] = []
        opened = 0
        while state["n"] < packets:
            while len(active) < 200:
                opened += 1
                active.append({
                    "c": bytes((10, 1, (opened >> 8) & 255, opened & 255)),
                    "s": bytes((10, 2, rng.randrange(4), rng.randrange(1, 255))),
                    "cp": 1024 + opened % 60000, "sp": rng.choice([80, 443, 22, 8080]),
                    "cseq": rng.getrandbits(32), "sseq": rng.getrandbits(32), "phase": 0,
                    "left": rng.randrange(10, 80), "kind": rng.random(),
                })  # fmt: skip
            st = active[rng.randrange(len(active))]
            c, s, cp, sp, phase = st["c"], st["s"], st["cp"], st["sp"], st["phase"]
            if phase == 0:
                frame(c, s, cp, sp, st["cseq"], 0, 0x02, 64240, 0)
                st["cseq"] += 1
                st["phase"] = 1 if st["kind"] > 0.03 else 9
            elif phase == 9:  # refused
                frame(s, c, sp, cp, 0, st["cseq"], 0x14, 0, 0)
                active.remove(st)
            elif phase == 1:
                frame(s, c, sp, cp, st["sseq"], st["cseq"], 0x12, 65160, 0)
                st["sseq"] += 1
                st["phase"] = 2
            elif phase == 2:
                frame(c, s, cp, sp, st["cseq"], st["sseq"], 0x10, 502, 0)
                st["phase"] = 3
            elif phase == 3 and st["left"] > 0:
                st["left"] -= 1
                size = rng.randrange(1, 1448)
                if rng.random() < 0.5:
                    frame(c, s, cp, sp, st["cseq"], st["sseq"], 0x18, 502, size)
                    if rng.random() < 0.01:  # sent twice
                        frame(c, s, cp, sp, st["cseq"], st["sseq"], 0x18, 502, size)
                    st["cseq"] += size
                else:
                    frame(s, c, sp, cp, st["sseq"], st["cseq"], 0x18, 509, size)
                    st["sseq"] += size
                    frame(c, s, cp, sp, st["cseq"], st["sseq"], 0x10, 0 if rng.random() < 0.002 else 502, 0)
            elif phase == 3:
                if st["kind"] < 0.06:  # the client resets
                    frame(c, s, cp, sp, st["cseq"], st["sseq"], 0x14, 0, 0)
                    active.remove(st)
                else:
                    frame(c, s, cp, sp, st["cseq"], st["sseq"], 0x11, 502, 0)
                    st["cseq"] += 1
                    st["phase"] = 4
            elif phase == 4:
                frame(s, c, sp, cp, st["sseq"], st["cseq"], 0x11, 509, 0)
                st["sseq"] += 1
                st["phase"] = 5
            else:
                frame(c, s, cp, sp, st["cseq"], st["sseq"], 0x10, 502, 0)
                active.remove(st)
    return opened


def measure(argv: list[str], stdout: Path) -> dict[str, float]:
    """Run ``argv`` in a child of a fresh interpreter, so getrusage(RUSAGE_CHILDREN) is that command's alone."""
    probe = (
        "import json, resource, subprocess, sys, time\n"
        "argv = json.loads(sys.argv[1])\n"
        "t = time.perf_counter()\n"
        "with open(sys.argv[2], 'wb') as out:\n"
        "    code = subprocess.run(argv, stdout=out).returncode\n"
        "wall = time.perf_counter() - t\n"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "cpu = r.ru_utime + r.ru_stime\n"
        "print(json.dumps({'code': code, 'wall': wall, 'cpu': cpu, 'rss_mb': r.ru_maxrss / 1024}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(argv), str(stdout)], capture_output=True, text=True, check=True
    )
    figures: dict[str, float] = json.loads(done.stdout)
    if figures["code"] != 0:
        raise SystemExit(f"{argv[0]} failed (exit {figures['code']})")
    return figures


def si_bytes(size: int) -> str:
    """Wireshark's format_size with SI prefixes, as conv tables print bytes."""
    for power, prefix in ((4, "T"), (3, "G"), (2, "M"), (1, "k")):
        if size // 1000**power >= 10:
            return f"{size // 1000**power} {prefix}B"
    return f"{size} bytes"


def compare(conv_text: str, report: dict[str, Any], capinfos_bytes: int | None) -> list[str]:
    """Differences between tshark's conversations and netwarden's TCP flows (empty: equal)."""
    first = report["start"]
    flows = {}
    for f in report["flows"]:
        if f["proto"] == "tcp":
            flows[(f["src"], f["sport"], f["dst"], f["dport"])] = f
    problems: list[str] = []
    seen = 0
    for line in conv_text.splitlines():
        m = _CONV.match(line)
        if not m:
            continue
        seen += 1
        a, ap, b, bp = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
        b_to_a = (int(m.group(5)), m.group(6))
        a_to_b = (int(m.group(7)), m.group(8))
        rel_start, duration = float(m.group(11)), float(m.group(12))
        flow = flows.pop((a, ap, b, bp), None)
        if flow is not None:
            ours_ab = (flow["orig_packets"], si_bytes(flow["orig_bytes"]))
            ours_ba = (flow["resp_packets"], si_bytes(flow["resp_bytes"]))
        else:
            flow = flows.pop((b, bp, a, ap), None)
            if flow is None:
                problems.append(f"tshark conversation {a}:{ap} <-> {b}:{bp} is no netwarden flow")
                continue
            ours_ab = (flow["resp_packets"], si_bytes(flow["resp_bytes"]))
            ours_ba = (flow["orig_packets"], si_bytes(flow["orig_bytes"]))
        if (ours_ab, ours_ba) != (a_to_b, b_to_a):
            problems.append(f"{a}:{ap} <-> {b}:{bp}: tshark {a_to_b} {b_to_a}, netwarden {ours_ab} {ours_ba}")
        if abs(flow["start"] - first - rel_start) > 1e-6 or abs(flow["duration"] - duration) > 1e-4:
            problems.append(f"{a}:{ap} <-> {b}:{bp}: times differ")
    problems += [f"netwarden flow {k} is no tshark conversation" for k in flows]
    if seen == 0:
        problems.append("no conversation in tshark's output")
    total = sum(f["bytes"] for f in report["flows"])
    if capinfos_bytes is not None and total != capinfos_bytes:
        problems.append(f"frame bytes: netwarden {total}, capinfos {capinfos_bytes}")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--snaplen", type=int, default=0, help="cut frames to this many bytes (0: full frames)")
    ap.add_argument("--pcapng", action="store_true", help="convert the capture to pcapng (editcap) before measuring")
    ap.add_argument("--keep", type=Path, help="write the capture and outputs here and keep them")
    args = ap.parse_args()
    if args.packets > 20_000_000:
        raise SystemExit("--packets is bounded at 20,000,000 (the file would not fit a temp dir comfortably)")
    for tool in ("tshark", "capinfos", "editcap"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install tshark)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="nw-pcap-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        pcap = work / "bench.pcap"
        t = time.perf_counter()
        conns = generate(pcap, args.packets, args.seed, args.snaplen)
        if args.pcapng:
            ng = work / "bench.pcapng"
            subprocess.run(["editcap", "-F", "pcapng", str(pcap), str(ng)], check=True)
            pcap.unlink()
            pcap = ng
        print(
            f"capture: {args.packets:,} TCP packets, {conns:,} connections, {pcap.stat().st_size / 1e6:.0f} MB "
            f"{'pcapng' if args.pcapng else 'pcap'} (generated in {time.perf_counter() - t:.1f} s)"
        )
        engine = (
            "import json, sys\nfrom pathlib import Path\nfrom netwarden.security.pcap import analyze\n"
            "sys.stdout.write(analyze(Path(sys.argv[1])).model_dump_json())\n"
        )
        runs = {
            "tshark -z conv,tcp": (["tshark", "-r", str(pcap), "-q", "-z", "conv,tcp"], work / "tshark.txt"),
            "netwarden engine": ([sys.executable, "-c", engine, str(pcap)], work / "engine.json"),
            "netwarden pcap analyze --json": (
                [str(Path(sys.executable).with_name("netwarden")), "pcap", "analyze", str(pcap), "--json"],
                work / "cli.json",
            ),
        }
        figures = {name: measure(argv, out) for name, (argv, out) in runs.items()}
        info = subprocess.run(["capinfos", "-M", "-d", str(pcap)], capture_output=True, text=True).stdout
        m = re.search(r"Data size:\s+(\d+) bytes", info)
        problems = compare(
            (work / "tshark.txt").read_text(),
            json.loads((work / "engine.json").read_text()),
            int(m.group(1)) if m else None,
        )
        cli_problems = compare((work / "tshark.txt").read_text(), json.loads((work / "cli.json").read_text()), None)
        peer = figures["tshark -z conv,tcp"]
        print(f"{'':32} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'x faster (wall)':>16} {'x (cpu)':>8}")
        for name, f in figures.items():
            print(
                f"{name:32} {f['wall']:8.2f} {f['cpu']:8.2f} {f['rss_mb']:8.0f} "
                f"{peer['wall'] / f['wall']:16.2f} {peer['cpu'] / f['cpu']:8.2f}"
            )
        report = json.loads((work / "engine.json").read_text())
        print(
            f"flows: netwarden {len(report['flows']):,}; states {report['tcp']['states']}; "
            f"retransmissions {report['tcp']['retransmissions']}, zero windows {report['tcp']['zero_windows']}"
        )
        for label, found in (("engine", problems), ("CLI", cli_problems)):
            print(f"flows and counts equal to tshark ({label}): {'yes' if not found else 'NO'}")
            for p in found[:10]:
                print(f"  {p}")
        for name in ("netwarden engine", "netwarden pcap analyze --json"):
            f = figures[name]
            ratio = peer["wall"] / f["wall"]
            ok = ratio >= GOAL_RATIO and f["rss_mb"] < GOAL_MB
            print(f"goal (>= {GOAL_RATIO:g}x tshark, < {GOAL_MB:g} MB), {name}: {'met' if ok else 'NOT met'}")
        if problems or cli_problems:
            raise SystemExit(1)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
