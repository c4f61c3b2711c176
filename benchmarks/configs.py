"""Config parsing and compliance (issue 6), against ciscoconfparse2 measured in the same run.

1. Generate N Cisco IOS-style configurations of L lines each (interfaces with addresses, switchports and
   unused shut ports, named and numbered ACLs, OSPF and BGP blocks with address families, route-maps,
   VLANs, console and VTY lines, banners, SNMP/NTP/logging/AAA) into a temporary directory.
2. netwarden: read each file, ``parse`` it and ``check`` it against the default policy pack.
3. ciscoconfparse2: read each file and build ``CiscoConfParse(lines, syntax="ios")`` (parsing only: the peer
   does less work than netwarden). Print lines/s for both and the ratio; the goal is >= 10x.
4. When ``benchmarks/acl.py`` exposes ``run(rules) -> dict``, run it for a 5,000-rule ACL and print its figures.

The temporary directory is removed at the end. Run:

    .venv/bin/python benchmarks/configs.py [--configs 1000] [--lines 2000] [--acl-rules 5000]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from netwarden.configs.policy import check, default_policies
from netwarden.configs.render import DeviceFacts
from netwarden.configs.tree import parse

HERE = Path(__file__).resolve().parent


def generate(seed: int, lines: int) -> str:
    """One IOS-style configuration of exactly ``lines`` lines; the seed varies its content and violations."""
    rnd = random.Random(seed)
    name = f"sw{seed:05d}"
    out = [
        "Building configuration...",
        "",
        f"Current configuration : {lines * 28} bytes",
        "!",
        "! Last configuration change at 10:00:00 UTC Mon Jan 1 2024 by admin",
        "version 15.2",
        "service timestamps debug datetime msec",
        "service timestamps log datetime msec",
    ]
    if rnd.random() < 0.7:
        out.append("service password-encryption")
    out += [
        f"hostname {name}",
        "!",
        "boot-start-marker",
        "boot-end-marker",
        "!",
        "enable secret 5 $1$abcd$0123456789abcdefghij",
    ]
    out.append("aaa new-model" if rnd.random() < 0.8 else "no aaa new-model")
    if rnd.random() < 0.8:
        out += ["aaa authentication login default group tacacs+ local", "aaa authorization exec default group tacacs+"]
    out += [
        "!",
        "ip domain name example.net",
        "no ip domain lookup",
        "ip ssh version 2" if rnd.random() < 0.8 else "ip ssh time-out 60",
        f"username admin privilege 15 secret 5 $1$x{seed}$abcdefghijklmnop",
    ]
    if rnd.random() < 0.1:
        out.append("username backup password 7 094F471A1A0A")
    if rnd.random() < 0.85:
        out += ["ntp server 10.0.0.1", "ntp server 10.0.0.2"]
    if rnd.random() < 0.85:
        out += ["logging buffered 64000", "logging host 10.0.0.10"]
    community = "public" if rnd.random() < 0.1 else f"s3cr3t{seed}"
    out += [f"snmp-server community {community} RO 10", "snmp-server location rack 1", "!"]
    if rnd.random() < 0.9:
        out += ["banner motd ^C", "Authorised access only.", f"This is {name}.", "^C"]
    out += ["vlan 10", " name users", "vlan 20", " name voice", "!"]

    tail = _tail(rnd)
    body: list[str] = []
    port = 0
    budget = lines - len(out) - len(tail)
    acl = 0
    while len(body) < budget:
        kind = rnd.random()
        if kind < 0.55:
            port += 1
            body += _interface(rnd, port)
        elif kind < 0.75:
            acl += 1
            body += [f"ip access-list extended ACL-{acl}"]
            for seq in range(rnd.randint(5, 25)):
                body.append(
                    f" {10 * (seq + 1)} {rnd.choice(['permit', 'deny'])} tcp 10.{acl % 250}.{seq}.0 0.0.0.255 "
                    f"any eq {rnd.choice([22, 80, 443, 8080, 3389])}"
                )
            body.append("!")
        elif kind < 0.85:
            body.append(f"access-list {100 + acl % 99} permit ip host 10.{seq_ip(rnd)} any")
        elif kind < 0.93:
            rm = f"RM-{rnd.randint(1, 10**6)}"
            body += [f"route-map {rm} permit 10", f" match ip address {100 + acl % 99}", " set local-preference 200"]
            body.append("!")
        else:
            body += [f"ip route 10.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.0 255.255.255.0 192.0.2.1"]
    body = body[:budget]
    text = out + body + tail
    return "\n".join(text) + "\n"


def seq_ip(rnd: random.Random) -> str:
    return f"{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}"


def _interface(rnd: random.Random, port: int) -> list[str]:
    name = f"GigabitEthernet1/0/{port}"
    roll = rnd.random()
    if roll < 0.35:
        block = [
            f"interface {name}",
            f" description user port {port}",
            " switchport access vlan 10",
            " switchport voice vlan 20",
            " switchport mode access",
            " spanning-tree portfast",
            " ip access-group ACL-1 in",
        ]
    elif roll < 0.65:
        block = [
            f"interface {name}",
            f" description uplink {port}",
            " no switchport",
            f" ip address 10.{port // 250}.{port % 250}.1 255.255.255.252",
            " ip ospf network point-to-point",
            " ip ospf cost 10",
        ]
    elif roll < 0.97:
        block = [f"interface {name}", " no ip address", " shutdown"]
    else:
        block = [f"interface {name}", " no ip address"]  # unused and up: a violation
    return [*block, "!"]


def _tail(rnd: random.Random) -> list[str]:
    out = [
        "router ospf 1",
        " router-id 10.255.0.1",
        " passive-interface default",
        " network 10.0.0.0 0.255.255.255 area 0",
        "!",
        "router bgp 65001",
        " bgp router-id 10.255.0.1",
        " bgp log-neighbor-changes",
        " neighbor 192.0.2.2 remote-as 65000",
        " neighbor 192.0.2.2 description upstream",
        " !",
        " address-family ipv4",
        "  network 10.0.0.0 mask 255.0.0.0",
        "  neighbor 192.0.2.2 activate",
        " exit-address-family",
        "!",
        "line con 0",
        " exec-timeout 5 0",
        " logging synchronous",
        "line vty 0 4",
        " exec-timeout 10 0",
        " transport input ssh" if rnd.random() < 0.8 else " transport input telnet ssh",
        "line vty 5 15",
        " transport input ssh",
        "!",
        "end",
    ]
    return out


def write_corpus(directory: Path, configs: int, lines: int) -> list[Path]:
    paths = []
    for i in range(configs):
        path = directory / f"sw{i:05d}.cfg"
        path.write_text(generate(i, lines))
        paths.append(path)
    return paths


def measure(paths: list[Path], peer: bool) -> dict[str, float]:
    """Time netwarden (parse + default-pack check) and ciscoconfparse2 (parse) file by file, interleaved.

    Interleaving gives both the same share of whatever else the machine is doing; garbage is collected
    between files, outside the timed sections.
    """
    from ciscoconfparse2 import CiscoConfParse

    policies = default_policies()
    out = {"lines": 0.0, "netwarden_s": 0.0, "peer_s": 0.0, "failed": 0.0, "unclassified": 0.0, "peer_objects": 0.0}
    for path in paths:
        text = path.read_text()
        out["lines"] += len(text.splitlines())
        gc.collect()
        start = time.perf_counter()
        tree = parse(text, "cisco_ios")
        facts = DeviceFacts(name=path.stem, platform="cisco_ios", role="access", site="bench")
        results = check(tree, facts, policies)
        out["netwarden_s"] += time.perf_counter() - start
        out["unclassified"] += tree.unclassified_total
        out["failed"] += sum(1 for r in results if r.status == "fail")
        if peer:
            del tree, results
            gc.collect()
            start = time.perf_counter()
            parsed = CiscoConfParse(text.splitlines(), syntax="ios", loguru=False)
            out["peer_s"] += time.perf_counter() - start
            out["peer_objects"] += len(parsed.objs)
            del parsed
    return out


def run_acl(rules: int) -> None:
    path = HERE / "acl.py"
    if not path.exists():
        print("ACL analysis: benchmarks/acl.py is not there yet; skipped")
        return
    spec = importlib.util.spec_from_file_location("benchmarks_acl", path)
    if spec is None or spec.loader is None:
        print("ACL analysis: benchmarks/acl.py cannot be loaded; skipped")
        return
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the other script is written in parallel: report, never crash this one
        print(f"ACL analysis: benchmarks/acl.py failed to import ({type(exc).__name__}: {exc}); skipped")
        return
    runner = getattr(module, "run", None)
    if not callable(runner):
        print("ACL analysis: benchmarks/acl.py has no run(rules); skipped")
        return
    try:
        figures = runner(rules)
    except Exception as exc:  # written in parallel by another engineer: report it, keep this script's figures
        print(f"ACL analysis: benchmarks/acl.py run({rules}) failed ({type(exc).__name__}: {exc})")
        return
    print(f"ACL analysis of {rules} rules (benchmarks/acl.py):")
    for key, value in dict(figures).items():
        print(f"  {key}: {value}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", type=int, default=1000)
    ap.add_argument("--lines", type=int, default=2000)
    ap.add_argument("--acl-rules", type=int, default=5000, help="0 skips the ACL figure")
    ap.add_argument("--skip-peer", action="store_true", help="netwarden only (no ratio)")
    args = ap.parse_args()
    if args.configs < 1 or args.lines < 100:
        ap.error("--configs must be >= 1 and --lines >= 100")
    tmp = Path(tempfile.mkdtemp(prefix="netwarden-bench-configs-"))
    try:
        t0 = time.perf_counter()
        paths = write_corpus(tmp, args.configs, args.lines)
        total = sum(len(p.read_text().splitlines()) for p in paths)
        print(f"generated {len(paths)} configs, {total} lines, in {time.perf_counter() - t0:.1f} s ({tmp})")
        figures = measure(paths, peer=not args.skip_peer)
        nw_rate = figures["lines"] / figures["netwarden_s"]
        print(
            f"netwarden parse + default-pack check: {figures['netwarden_s']:.2f} s, {nw_rate:,.0f} lines/s "
            f"({figures['failed']:.0f} failed rule results, {figures['unclassified']:.0f} unclassified lines)"
        )
        if not args.skip_peer:
            peer_rate = figures["lines"] / figures["peer_s"]
            print(
                f"ciscoconfparse2 parse only:           {figures['peer_s']:.2f} s, {peer_rate:,.0f} lines/s "
                f"({figures['peer_objects']:.0f} objects)"
            )
            print(f"ratio: netwarden is {nw_rate / peer_rate:.1f}x ciscoconfparse2 (goal >= 10x)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.acl_rules:
        run_acl(args.acl_rules)
    return 0


if __name__ == "__main__":
    sys.exit(main())
