"""Normalisers shared by every parser: MACs, speeds, statuses, addresses, durations.

Vendors spell the same fact many ways (``aabb.ccdd.eeff``, ``1000Mb/s``,
``administratively down``, ``10.0.0.1 255.255.255.0``); records carry one
spelling each (see :mod:`netwarden.collect.records`). Every function here is
pure and raises :class:`ParseError` on values it cannot read.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from netwarden.collect.records import Status
from netwarden.errors import InvalidInput


class ParseError(InvalidInput):
    """CLI output that a parser cannot read (garbage, a truncated answer, the wrong command's output)."""

    code = "parse-error"


# ---------------------------------------------------------------- MAC addresses


def mac(value: str) -> str:
    """``aabb.ccdd.eeff`` / ``AA-BB-CC-DD-EE-FF`` / ``aabbccddeeff`` / ``0:1:2:a:b:c`` -> ``aa:bb:cc:dd:ee:ff``.

    Raises:
        ParseError: when the value does not hold six octets in a known layout.
    """
    text = value.strip()
    if re.fullmatch(r"([0-9a-fA-F]{1,2}[:\-]){5}[0-9a-fA-F]{1,2}", text):
        # Colon/dash octets; some Unix tools drop leading zeros (``0:1:2:a:b:c``).
        digits = "".join(p.rjust(2, "0") for p in re.split(r"[:\-]", text))
    elif re.fullmatch(r"([0-9a-fA-F]{4}\.){2}[0-9a-fA-F]{4}|[0-9a-fA-F]{12}", text):
        digits = text.replace(".", "")
    else:
        raise ParseError(f"not a MAC address: {value!r}")
    low = digits.lower()
    return ":".join(low[i : i + 2] for i in range(0, 12, 2))


def mac_or_empty(value: str) -> str:
    """Like :func:`mac` but ``""`` for placeholders such as ``Incomplete`` or ``N/A``."""
    try:
        return mac(value) if value.strip() else ""
    except ParseError:
        return ""


# ---------------------------------------------------------------- speeds

_SPEED = re.compile(
    r"^\s*(?:BW\s+)?(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[kmgt]?)(?:b(?:it)?(?:ps|/s|/sec|s)?|bps)?\s*$", re.I
)
_UNIT = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def speed(value: str | int | None, default_unit: str = "") -> int | None:
    """A speed in bits per second, or None for ``auto``, ``unknown`` and the like.

    ``1000Mb/s``, ``1Gb/s``, ``10 Gbps``, ``100000 Kbit``, ``10G`` and ``1000`` (with
    ``default_unit="m"``, as FRR and ``/sys/class/net/*/speed`` report Mbit/s) all read.

    Raises:
        ParseError: when the value has digits but no readable unit.
    """
    if value is None:
        return None
    if isinstance(value, int):
        return value * _UNIT[default_unit.lower()] if value >= 0 else None
    text = value.strip()
    if not text or not any(c.isdigit() for c in text):
        return None
    low = text.lower().replace("-speed", "").replace("auto", "").strip(" ,()")
    if not low:
        return None
    m = _SPEED.match(low)
    if m is None:
        raise ParseError(f"not a speed: {value!r}")
    unit = m.group("unit").lower() or default_unit.lower()
    return int(float(m.group("num")) * _UNIT[unit])


# ---------------------------------------------------------------- statuses

_STATUS: dict[str, Status] = {
    "up": "up",
    "connected": "up",
    "enabled": "up",
    "enable": "up",
    "active": "up",
    "ok": "up",
    "true": "up",
    "down": "down",
    "administratively down": "down",
    "admin down": "down",
    "disabled": "down",
    "disable": "down",
    "notconnect": "down",
    "notconnected": "down",
    "not connected": "down",
    "err-disabled": "down",
    "errdisabled": "down",
    "inactive": "down",
    "suspended": "down",
    "sfpabsent": "down",
    "xcvrabsent": "down",
    "false": "down",
    "deleted": "down",
    "monitoring": "up",
    "testing": "testing",
    "dormant": "dormant",
    "notpresent": "notPresent",
    "not present": "notPresent",
    "lowerlayerdown": "lowerLayerDown",
    "lower layer down": "lowerLayerDown",
    "unknown": "unknown",
}


def status(value: str) -> Status:
    """``up``, ``administratively down``, ``notconnect``, ``Enabled``, ... -> one of the record statuses.

    Trailing qualifiers such as ``down (Link not connected)`` or ``up (connected)`` are ignored;
    anything unrecognised is ``unknown`` (never an error: a new word from a vendor is not garbage).
    """
    text = value.strip().lower()
    if text in _STATUS:
        return _STATUS[text]
    head = re.split(r"[\s(,]", text, maxsplit=1)[0]
    if text.startswith("administratively down"):
        return "down"
    return _STATUS.get(head, "unknown")


# ---------------------------------------------------------------- addresses


def prefix(address: str, length: str | int | None = None) -> str:
    """``("10.0.0.1", "24")``, ``("10.0.0.1", "255.255.255.0")`` or ``"10.0.0.1/24"`` -> ``10.0.0.1/24``.

    The host part is kept (an interface address, not a network). IPv6 is lower-cased and compressed.

    Raises:
        ParseError: on anything that is not an address with a valid length or mask.
    """
    text = address.strip()
    if length is not None and str(length).strip():
        text = f"{text}/{str(length).strip()}"
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError as exc:
        raise ParseError(f"not an address/length: {text!r}") from exc
    if "/" not in text:
        raise ParseError(f"no prefix length in {text!r}")
    return f"{iface.ip.compressed}/{iface.network.prefixlen}"


def network(address: str, length: str | int | None = None) -> str:
    """Like :func:`prefix` but as the network: ``10.0.0.1/24`` -> ``10.0.0.0/24``; a bare address is /32 or /128."""
    text = address.strip()
    if length is not None and str(length).strip():
        text = f"{text}/{str(length).strip()}"
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise ParseError(f"not a network: {text!r}") from exc
    return net.compressed


def ip(value: str) -> str:
    """A bare IPv4/IPv6 address, normalised.

    Raises:
        ParseError: when it is not one.
    """
    try:
        return ipaddress.ip_address(value.strip()).compressed
    except ValueError as exc:
        raise ParseError(f"not an IP address: {value!r}") from exc


def ip_or_none(value: str | None) -> str | None:
    """A bare address, or None for empty values and placeholders."""
    if not value:
        return None
    try:
        return ip(value)
    except ParseError:
        return None


# ---------------------------------------------------------------- durations

_UNITS = {
    "y": 365 * 86400,
    "year": 365 * 86400,
    "w": 7 * 86400,
    "week": 7 * 86400,
    "d": 86400,
    "day": 86400,
    "h": 3600,
    "hour": 3600,
    "m": 60,
    "minute": 60,
    "min": 60,
    "s": 1,
    "second": 1,
    "sec": 1,
    "ms": 0.001,
}
_WORD = re.compile(
    r"(\d+(?:\.\d+)?)\s*(years?|weeks?|days?|hours?|minutes?|mins?|seconds?|secs?|ms|[ywdhms])(?![a-z])", re.I
)
_CLOCK = re.compile(r"(?:(\d+)\s*days?,?\s*)?(\d+):(\d{2}):(\d{2})(?:\.\d+)?")


def duration(value: str) -> float | None:
    """``1 year, 2 weeks, 3 days, 4 hours, 5 minutes``, ``1w2d``, ``3d04h``, ``00:01:23``, ``1m15s`` -> seconds.

    Returns None for ``never`` or empty values.

    Raises:
        ParseError: when the text has digits but reads as no duration.
    """
    text = value.strip().lower()
    if not text or text in ("never", "-", "n/a"):
        return None
    clock = _CLOCK.fullmatch(text.replace("up ", "").strip())
    if clock:
        days, h, m, s = clock.groups()
        return int(days or 0) * 86400 + int(h) * 3600 + int(m) * 60 + int(s)
    total = 0.0
    found = False
    rest = text
    for m in _WORD.finditer(text):
        unit = m.group(2).lower().rstrip("s") if len(m.group(2)) > 2 else m.group(2).lower()
        total += float(m.group(1)) * _UNITS[unit]
        found = True
        rest = rest.replace(m.group(0), " ", 1)
    clock_tail = _CLOCK.search(rest)
    if clock_tail:
        _, h, mnt, s = clock_tail.groups()
        total += int(h) * 3600 + int(mnt) * 60 + int(s)
        found = True
    if not found:
        if any(c.isdigit() for c in text):
            raise ParseError(f"not a duration: {value!r}")
        return None
    return total


def to_int(value: Any) -> int | None:
    """An int from ``"1500"``, ``1500`` or ``""`` (None); never raises."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
    return None


def first(row: dict[str, Any], *keys: str) -> str:
    """The first non-empty string value among ``keys`` (TextFSM lists give their first item)."""
    for key in keys:
        value = row.get(key)
        if isinstance(value, list):
            value = next((v for v in value if v), "")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def as_list(value: Any) -> list[str]:
    """A TextFSM value as a list of non-empty strings."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str) and value.strip():
        return [value.strip()]
    return []
