"""Exposure scan engine: netwarden's own async scanner against nmap, same targets, same run.

Targets: 127.78.0.0/26 (62 host addresses), TCP ports 1-1024 (63,488 probes). Sixteen of the
addresses run real services started here: OpenSSH (22), nginx over HTTP (80) and HTTPS (443), and
a greeter speaking telnet (23, with option negotiation), FTP (21) and SMTP (25) first messages:
96 open ports, every other port closed (loopback resets).

Two races, each ``--rounds`` times, interleaved so that load from elsewhere hits every tool alike:

1. port discovery only
     netwarden   netwarden.security.scan.portscan.connect_scan (connect scan, one epoll set,
                 1,024 in flight, 1 s timeout, 1 retry): what ``netwarden scan`` uses
     collect.tcp netwarden.collect.tcp.probe_iter (connect scan, a task per probe, 256 in flight)
     nmap -sT    connect scan, the same method:  nmap -sT -Pn -n -p1-1024 --open 127.78.0.0/26
     nmap -sS    nmap's default as root (raw SYN packets), for reference
2. ports + service identification (banners)
     netwarden   security.scan.scanner.scan_hosts (ports, then one service probe per open port:
                 greeting, SSH KEXINIT, HTTP GET, TLS)
     nmap -sV    nmap -sT -sV -Pn -n -p1-1024 --open 127.78.0.0/26
     nmap -sV --version-light   (intensity 2)

netwarden runs in a child process that times the scan alone (not the interpreter start); for nmap
the whole process is timed. Every tool must report the same open ports, and in race 2 the same
service name on each (nmap's ssl/http counts as https). Loopback only; run as root:
    .venv/bin/python benchmarks/scan.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

CIDR = "127.78.0.0/26"
PORTS = "1-1024"
SERVICE_HOSTS = [f"127.78.0.{i}" for i in range(1, 63, 4)]  # 16 addresses with services
EXPECTED = {22: "ssh", 80: "http", 443: "https", 23: "telnet", 21: "ftp", 25: "smtp"}
PROBES = 62 * 1024

GREETER = r"""
import asyncio, sys
IAC, DO, WILL = 255, 253, 251

async def telnet(reader, writer):
    writer.write(bytes([IAC, WILL, 1, IAC, WILL, 3, IAC, DO, 24, IAC, DO, 31]))
    await writer.drain()
    try:
        await asyncio.wait_for(reader.read(64), 3)
    except TimeoutError:
        pass
    writer.write(b"\r\nUser Access Verification\r\n\r\nUsername: ")
    try:
        await writer.drain()
        await asyncio.wait_for(reader.read(64), 10)
    except (TimeoutError, OSError):
        pass
    writer.close()

def greeter(text):
    async def serve(reader, writer):
        writer.write(text)
        try:
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), 10)
            if line.upper().startswith(b"QUIT"):
                writer.write(b"221 Bye\r\n")
                await writer.drain()
        except (TimeoutError, OSError):
            pass
        writer.close()
    return serve

async def main(hosts):
    servers = []
    for host in hosts:
        servers.append(await asyncio.start_server(telnet, host, 23))
        servers.append(await asyncio.start_server(greeter(b"220 (vsFTPd 3.0.3)\r\n"), host, 21))
        servers.append(await asyncio.start_server(greeter(b"220 mail.example.org ESMTP Postfix\r\n"), host, 25))
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))

asyncio.run(main(sys.argv[1:]))
"""


# ---------------------------------------------------------------- the targets


def _accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise SystemExit(f"{what} did not start in {timeout} s")


def start_targets(tmp: Path) -> list[subprocess.Popen[bytes]]:
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(argv: list[str], name: str) -> None:
        log = (tmp / f"{name}.log").open("wb")
        procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

    key = tmp / "hostkey"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    listen = "\n".join(f"ListenAddress {h}:22" for h in SERVICE_HOSTS)
    (tmp / "sshd.conf").write_text(
        f"{listen}\nHostKey {key}\nPidFile {tmp}/sshd.pid\nUsePAM no\nMaxStartups 200:30:400\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    spawn(["/usr/sbin/sshd", "-D", "-e", "-f", str(tmp / "sshd.conf")], "sshd")

    cert, pem = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-subj", "/CN=bench", "-days", "2", "-keyout", str(pem), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    (tmp / "www").mkdir()
    (tmp / "www" / "index.html").write_text("<html><head><title>Switch login</title></head></html>\n")
    (tmp / "ngx").mkdir()
    servers = "\n".join(
        f"  server {{ listen {h}:80; listen {h}:443 ssl; ssl_certificate {cert}; ssl_certificate_key {pem}; "
        f"root {tmp}/www; }}"
        for h in SERVICE_HOSTS
    )
    (tmp / "nginx.conf").write_text(
        f"worker_processes 1;\nuser root;\ndaemon off;\npid {tmp}/nginx.pid;\nerror_log {tmp}/nginx-error.log;\n"
        f"events {{ worker_connections 512; }}\nhttp {{\n  access_log off;\n"
        f"  client_body_temp_path {tmp}/ngx/b; proxy_temp_path {tmp}/ngx/p; fastcgi_temp_path {tmp}/ngx/f;\n"
        f"  uwsgi_temp_path {tmp}/ngx/u; scgi_temp_path {tmp}/ngx/s;\n{servers}\n}}\n"
    )
    spawn(["nginx", "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "nginx-error.log")], "nginx")
    spawn([sys.executable, "-c", GREETER, *SERVICE_HOSTS], "greeter")
    for host in SERVICE_HOSTS:
        for port in EXPECTED:
            _wait(lambda h=host, p=port: _accepts(h, p), f"{host}:{port}")  # type: ignore[misc]
    return procs


def stop_targets(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


# ---------------------------------------------------------------- netwarden (child process)


def child(race: str) -> None:
    from netwarden.collect import tcp
    from netwarden.security.scan import portscan
    from netwarden.security.scan.scanner import ScanOptions, scan_hosts

    async def ports_tasks() -> dict[str, str]:
        found: dict[str, str] = {}
        stream = tcp.probe_iter([CIDR], PORTS, options=tcp.TcpOptions(timeout=1.0, retries=1, concurrency=256))
        async with contextlib.aclosing(stream) as results:
            async for result in results:
                if result.value is not None and result.value.state == "open":
                    found[f"{result.value.address}:{result.value.port}"] = ""
        return found

    async def ports_epoll() -> dict[str, str]:
        found: dict[str, str] = {}
        hosts = [str(h) for h in ipaddress.ip_network(CIDR).hosts()]
        stream = portscan.connect_scan(((h, p) for h in hosts for p in range(1, 1025)), timeout=1.0, retries=1)
        async with contextlib.aclosing(stream) as results:
            async for result in results:
                if result.state == "open":
                    found[f"{result.address}:{result.port}"] = ""
        return found

    async def services() -> dict[str, str]:
        options = ScanOptions(ranges=[CIDR], ports=range(1, 1025), ping=False, snmp=False)
        hosts, _failed = await scan_hosts(options)
        return {f"{h.address}:{s.port}": s.service for h in hosts for s in h.services}

    cpu0 = os.times()
    start = time.perf_counter()
    runs = {"ports-tasks": ports_tasks, "ports": ports_epoll, "services": services}
    found = asyncio.run(runs[race]())
    wall = time.perf_counter() - start
    cpu1 = os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    print(json.dumps({"wall": wall, "cpu": cpu, "found": found}))


def netwarden(race: str) -> tuple[float, float, dict[str, str]]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", race], check=True, capture_output=True, text=True, timeout=600
    )
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    return float(doc["wall"]), float(doc["cpu"]), dict(doc["found"])


# ---------------------------------------------------------------- nmap


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def nmap(flags: list[str]) -> tuple[float, float, dict[str, str]]:
    argv = ["nmap", *flags, "-Pn", "-n", "-p", PORTS, "--open", "-oX", "-", CIDR]
    cpu = _children_cpu()
    start = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=900)
    wall = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    found: dict[str, str] = {}
    for host in ET.fromstring(out.stdout).iter("host"):
        address = next((a.get("addr") for a in host.iter("address") if a.get("addrtype") == "ipv4"), "")
        for port in host.iter("port"):
            state = port.find("state")
            if state is None or state.get("state") != "open":
                continue
            service = port.find("service")
            name = service.get("name", "") if service is not None else ""
            if service is not None and service.get("tunnel") == "ssl" and name == "http":
                name = "https"
            found[f"{address}:{port.get('portid')}"] = name
    return wall, cpu, found


# ---------------------------------------------------------------- the race


def expected() -> dict[str, str]:
    return {f"{h}:{p}": name for h in SERVICE_HOSTS for p, name in EXPECTED.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=["ports", "ports-tasks", "services"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    if os.geteuid() != 0:
        print("run as root: the targets include sshd and nmap -sS needs raw sockets", file=sys.stderr)
        return 2
    for tool in ("nmap", "nginx", "/usr/sbin/sshd", "openssl"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed", file=sys.stderr)
            return 2

    want = expected()
    ok = True
    med = statistics.median
    with tempfile.TemporaryDirectory(prefix="nw-bench-scan-") as tmp:
        procs = start_targets(Path(tmp))
        try:
            races: dict[str, list[tuple[str, Callable[[], tuple[float, float, dict[str, str]]]]]] = {
                "ports": [
                    ("netwarden", lambda: netwarden("ports")),
                    ("collect.tcp", lambda: netwarden("ports-tasks")),
                    ("nmap -sT", lambda: nmap(["-sT"])),
                    ("nmap -sS", lambda: nmap(["-sS"])),
                ],
                "services": [
                    ("netwarden", lambda: netwarden("services")),
                    ("nmap -sV", lambda: nmap(["-sT", "-sV"])),
                    ("nmap -sV light", lambda: nmap(["-sT", "-sV", "--version-light"])),
                ],
            }
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"TCP scan of {CIDR} ports {PORTS} ({PROBES:,} probes, {len(want)} open): median of {args.rounds}")
            print(f"  {os.cpu_count()} CPUs, load average at start {load}")
            for race, tools in races.items():
                runs: dict[str, list[tuple[float, float, dict[str, str]]]] = {name: [] for name, _ in tools}
                for _ in range(args.rounds):
                    for name, run in tools:
                        runs[name].append(run())
                title = "port discovery" if race == "ports" else "ports + service identification"
                print(f"\n  {title}")
                print(f"  {'':16} {'wall':>8} {'CPU':>8}   wall per round")
                walls = {name: med(w for w, _, _ in r) for name, r in runs.items()}
                for name, r in runs.items():
                    cpu = med(c for _, c, _ in r)
                    rounds = ", ".join(f"{w:.2f}" for w, _, _ in r)
                    print(f"  {name:16} {walls[name]:7.2f}s {cpu:7.2f}s   {rounds}")
                for name in walls:
                    if name != "netwarden":
                        print(
                            f"  {name} / netwarden: {walls[name] / walls['netwarden']:.2f}x  (> 1: netwarden is faster)"
                        )
                for name, r in runs.items():
                    for _w, _c, found in r:
                        same = set(found) == set(want) if race == "ports" else found == want
                        if not same:
                            ok = False
                            missing = sorted(set(want) - set(found))[:5]
                            extra = sorted(set(found) - set(want))[:5]
                            wrong = sorted(k for k in set(want) & set(found) if found[k] != want[k])[:5]
                            details = [f"{k}={found[k]}" for k in wrong]
                            print(f"  {name} DISAGREES: missing {missing} extra {extra} names {details}")
                print(f"  every tool found the {len(want)} open ports" + ("" if race == "ports" else " and named each"))
        finally:
            stop_targets(procs)
    print("\nall agree" if ok else "\nDISAGREEMENT: see above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
