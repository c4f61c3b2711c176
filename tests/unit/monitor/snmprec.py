"""Read snmpsim ``.snmprec`` recordings (``OID|tag|value``) into the values our SNMP client decodes to.

Tags (snmpsim's, which are the BER tags): 2 INTEGER, 4 OCTET STRING, 5 NULL, 6 OBJECT IDENTIFIER,
64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 68 Opaque, 70 Counter64; an ``x`` suffix means the
value is hex. Decoded as :mod:`netwarden.collect._ber` does: numbers -> int, strings -> bytes,
OIDs and IpAddress -> dotted str.
"""

from __future__ import annotations

import bz2
import ipaddress
from pathlib import Path

from netwarden.collect._ber import Value

DATA = Path(__file__).resolve().parents[2] / "data" / "monitor"
_INTS = {"2", "65", "66", "67", "70"}


def _value(tag: str, text: str) -> Value:
    hexed = tag.endswith("x")
    base = tag.rstrip("x")
    raw = bytes.fromhex(text) if hexed else text.encode()
    if base in _INTS:
        return int(raw.decode())
    if base == "64":
        return str(ipaddress.IPv4Address(raw)) if hexed else text
    if base == "6":
        return raw.decode()
    if base == "5":
        return None
    return raw


def load(path: Path | str) -> dict[str, Value]:
    """OID (no leading dot) -> value, for one recording (``.snmprec`` or ``.snmprec.bz2``)."""
    p = Path(path)
    if not p.is_absolute():
        p = DATA / p
    data = bz2.decompress(p.read_bytes()) if p.suffix == ".bz2" else p.read_bytes()
    out: dict[str, Value] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        oid, tag, text = line.split("|", 2)
        out[oid] = _value(tag, text)
    return out


def columns(record: dict[str, Value], roots: dict[str, str]) -> dict[str, dict[str, Value]]:
    """``{key: {index: value}}`` for each column OID in ``roots`` (as ``Session.walk_columns`` returns)."""
    out: dict[str, dict[str, Value]] = {key: {} for key in roots}
    for oid, value in record.items():
        for key, root in roots.items():
            if oid.startswith(root + "."):
                out[key][oid[len(root) + 1 :]] = value
    return out
