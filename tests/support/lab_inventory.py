"""An inventory shaped like the default lab (same devices, sites and links), for tests without the lab.

    h1 - sw1 - r2 ---- r1 ---- wan ---- r4 - r5 - h2
                \\     /                       \\
                  r3                            r6   (depot: a stub site behind r5)
                  |
                 fw1 - srv1
"""

from __future__ import annotations

LINKS = [
    ("r1:eth1", "r2:eth1"),
    ("r2:eth2", "r3:eth1"),
    ("r3:eth2", "r1:eth2"),
    ("r2:eth3", "sw1:eth1"),
    ("h1:eth1", "sw1:eth2"),
    ("r3:eth3", "fw1:eth1"),
    ("fw1:eth2", "srv1:eth1"),
    ("r1:eth3", "wan:eth1"),
    ("wan:eth2", "r4:eth1"),
    ("r4:eth2", "r5:eth1"),
    ("r5:eth2", "r6:eth1"),
    ("r5:eth3", "h2:eth1"),
]
SITES = {
    "r1": "hq", "r2": "hq", "r3": "hq", "sw1": "hq", "h1": "hq", "fw1": "hq", "srv1": "hq",
    "wan": "wan", "r4": "branch", "r5": "branch", "h2": "branch", "r6": "depot",
}  # fmt: skip


def inventory_yaml(speed: int | None = None) -> str:
    """The import document: every device with its linked ports (of ``speed`` b/s when given), and the links."""
    ports: dict[str, list[str]] = {d: [] for d in SITES}
    for a, b in LINKS:
        for end in (a, b):
            dev, port = end.split(":")
            ports[dev].append(port)
    extra = f", speed: {speed}" if speed else ""
    lines = ["version: 1", "sites:"] + [f"  - name: {s}" for s in sorted(set(SITES.values()))] + ["devices:"]
    for i, (dev, site) in enumerate(sorted(SITES.items()), start=1):
        lines += [f"  - name: {dev}", f"    site: {site}", "    platform: frr", f"    mgmt_ip: 198.18.0.{i}"]
        lines += ["    interfaces:"] + [f"      - {{name: {p}{extra}}}" for p in sorted(ports[dev])]
    lines.append("links:")
    for a, b in LINKS:
        (da, pa), (db_, pb) = a.split(":"), b.split(":")
        lines.append(f"  - {{a: {da}, a_port: {pa}, b: {db_}, b_port: {pb}}}")
    return "\n".join(lines) + "\n"
