"""Inventory figures (issue 2), each against a plain peer measured in the same run on the same store.

1. Import of N devices x 48 interfaces from YAML through the CLI (``netwarden import``), against a
   plain script that parses the same file with the same (fastest available) YAML parser, ryaml, and
   bulk-inserts the rows with ``sqlite3.executemany`` into an identical, freshly initialised store:
   no validation, no checks, no audit. The PyYAML (libyaml) parse time is printed for reference.
2. API list of 1,000 interfaces (``GET /api/v1/interfaces?limit=1000`` on a running ``netwarden
   serve``), against a plain ``SELECT`` of the same 1,000 rows serialised with ``json.dumps``.
   Goal: under 200 ms on SQLite.

Run: .venv/bin/python benchmarks/inventory.py [--devices 10000] [--interfaces 48]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import ryaml
import yaml

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
NW = str(BIN / "netwarden")


def write_inventory(path: Path, devices: int, interfaces: int) -> None:
    """A realistic file: sites, devices with every field, interfaces with speed/MTU/MAC/description."""
    sites = [f"site{i:02d}" for i in range(max(1, devices // 500))]
    with path.open("w") as fh:
        fh.write("version: 1\nsites:\n")
        for s in sites:
            fh.write(f"  - {{name: {s}, description: branch {s}}}\n")
        fh.write("devices:\n")
        for d in range(devices):
            ip = f"10.{d // 65536}.{(d // 256) % 256}.{d % 256}"
            fh.write(
                f"  - name: sw{d:05d}\n    site: {sites[d % len(sites)]}\n    platform: cisco_ios\n"
                f"    mgmt_ip: {ip}\n    role: access\n    vendor: Cisco\n    model: C9300-48P\n"
                f"    serial: FOC{d:08d}\n    os_version: 17.9.4\n    interfaces:\n"
            )
            for i in range(interfaces):
                mac = f"00:1b:{d >> 8 & 255:02x}:{d & 255:02x}:00:{i:02x}"
                fh.write(
                    f"      - {{name: GigabitEthernet1/0/{i + 1}, description: port {i + 1}, speed: 1000000000, "
                    f"mtu: 1500, mac: '{mac}'}}\n"
                )


def init_store(data: Path) -> dict[str, str]:
    env = {**os.environ, "NETWARDEN_DATA_DIR": str(data)}
    out = subprocess.run([NW, "init", "--json"], env=env, check=True, capture_output=True, text=True).stdout
    env["TOKEN"] = json.loads(out)["admin_token"]
    return env


def plain_import(db_path: Path, path: Path) -> None:
    """The peer: same parser, then executemany straight into the tables (no checks, no audit)."""
    doc = ryaml.loads(path.read_text())
    con = sqlite3.connect(db_path)
    now = "2026-01-01 00:00:00.000000"
    with con:
        con.executemany(
            "INSERT INTO sites (name, description, address, tags, created_at) VALUES (?, ?, '', '[]', ?)",
            [(s["name"], s.get("description", ""), now) for s in doc["sites"]],
        )
        site_ids = dict(con.execute("SELECT name, id FROM sites"))
        con.executemany(
            "INSERT INTO devices (name, site_id, role, platform, mgmt_ip, status, vendor, model, serial, os_version,"
            " tags, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, '[]', ?, ?)",
            [
                (
                    d["name"],
                    site_ids[d["site"]],
                    d["role"],
                    d["platform"],
                    d["mgmt_ip"],
                    d["vendor"],
                    d["model"],
                    d["serial"],
                    d["os_version"],
                    now,
                    now,
                )
                for d in doc["devices"]
            ],
        )
        dev_ids = dict(con.execute("SELECT name, id FROM devices"))
        con.executemany(
            "INSERT INTO interfaces (device_id, name, description, admin_status, oper_status, speed, mtu, mac, kind)"
            " VALUES (?, ?, ?, 'up', 'unknown', ?, ?, ?, 'ethernet')",
            [
                (dev_ids[d["name"]], i["name"], i["description"], i["speed"], i["mtu"], i["mac"])
                for d in doc["devices"]
                for i in d["interfaces"]
            ],
        )
    con.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api_latency(env: dict[str, str], rounds: int) -> tuple[float, int]:
    port = free_port()
    server = subprocess.Popen(
        [NW, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {env['TOKEN']}"}, timeout=30) as c:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if c.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("netwarden serve did not come up in 30 s")
                time.sleep(0.1)
            times = []
            count = 0
            for _ in range(rounds):
                t = time.perf_counter()
                r = c.get("/api/v1/interfaces", params={"limit": 1000, "offset": 5000})
                times.append(time.perf_counter() - t)
                r.raise_for_status()
                count = len(r.json()["items"])
            return statistics.median(times), count
    finally:
        server.terminate()
        server.wait(timeout=10)


def plain_select(db_path: Path, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        con = sqlite3.connect(db_path)
        rows = con.execute(
            "SELECT d.name, i.name, i.description, i.admin_status, i.oper_status, i.speed, i.mtu, i.mac, i.kind "
            "FROM interfaces i JOIN devices d ON d.id = i.device_id ORDER BY i.device_id, i.id LIMIT 1000 OFFSET 5000"
        ).fetchall()
        json.dumps(
            {
                "items": [
                    dict(zip(("device", "name", "description", "a", "o", "s", "m", "mac", "k"), r, strict=True))
                    for r in rows
                ]
            }
        )
        con.close()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--interfaces", type=int, default=48)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nw-bench-") as tmp:
        work = Path(tmp)
        inv = work / "inventory.yml"
        write_inventory(inv, args.devices, args.interfaces)
        size_mb = inv.stat().st_size / 2**20
        n_if = args.devices * args.interfaces
        print(
            f"inventory: {args.devices} devices x {args.interfaces} interfaces = {n_if} interfaces, "
            f"{size_mb:.0f} MiB YAML"
        )

        env = init_store(work / "nw")
        t = time.perf_counter()
        subprocess.run([NW, "import", str(inv), "--json"], env=env, check=True, stdout=subprocess.DEVNULL)
        nw_import = time.perf_counter() - t

        init_store(work / "plain")
        t = time.perf_counter()
        plain_import(work / "plain" / "netwarden.db", inv)
        peer_import = time.perf_counter() - t
        print(
            f"import   netwarden {nw_import:7.2f} s   plain parse+executemany {peer_import:7.2f} s   "
            f"ratio {nw_import / peer_import:.2f}x   ({n_if / nw_import:,.0f} interfaces/s)"
        )

        t = time.perf_counter()
        yaml.load(inv.read_text(), Loader=yaml.CSafeLoader)
        print(f"         (for reference: PyYAML/libyaml alone parses the file in {time.perf_counter() - t:.2f} s)")

        api, count = api_latency(env, args.rounds)
        peer = plain_select(work / "nw" / "netwarden.db", args.rounds)
        goal = "meets" if api < 0.200 else "misses"
        print(
            f"api list {count} interfaces: netwarden {api * 1000:6.1f} ms "
            f"(median of {args.rounds}, {goal} the 200 ms goal)"
            f"   plain select+json {peer * 1000:6.1f} ms   ratio {api / peer:.2f}x"
        )


if __name__ == "__main__":
    main()
