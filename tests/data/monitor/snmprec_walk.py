"""Walk SNMP subtrees of one agent and print them in snmpsim's .snmprec format (OID|tag|value).

Run with the snmpsim venv's Python (it has pysnmp and snmpsim), as the fleet recordings were made:

    /opt/netwarden/snmpsim-venv/bin/python tests/data/monitor/snmprec_walk.py HOST COMMUNITY OID [OID...] > out.snmprec
"""

from __future__ import annotations

import asyncio
import sys

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    bulk_walk_cmd,
)
from snmpsim.record.snmprec import SnmprecRecord


async def walk(host: str, community: str, roots: list[str]) -> list[str]:
    engine = SnmpEngine()
    target = await UdpTransportTarget.create((host, 161), timeout=2, retries=2)
    record = SnmprecRecord()
    lines: dict[tuple[int, ...], str] = {}
    for root in roots:
        prefix = tuple(int(a) for a in root.split("."))
        async for error_indication, error_status, _, var_binds in bulk_walk_cmd(
            engine,
            CommunityData(community),
            target,
            ContextData(),
            0,
            25,
            ObjectType(ObjectIdentity(root)),
            lexicographicMode=False,
        ):
            if error_indication or error_status:
                raise SystemExit(f"{host}: {error_indication or error_status.prettyPrint()}")
            for oid, value in var_binds:
                arcs = tuple(oid)
                if arcs[: len(prefix)] != prefix:
                    continue
                lines[arcs] = record.format(oid, value).decode().rstrip("\n")
    return [lines[k] for k in sorted(lines)]


if __name__ == "__main__":
    host, community, *roots = sys.argv[1:]
    print("\n".join(asyncio.run(walk(host, community, roots))))
