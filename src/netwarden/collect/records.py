"""The typed records every transport and parser produces, and the per-target result that carries them.

These are the only shapes that leave ``collect/``: discovery, monitoring and the
inventory consume them, whatever protocol or vendor they came from. Parsers map
vendor output onto them; transports wrap them in :class:`TargetResult`.

Conventions: interface speeds in bits per second, MACs as ``aa:bb:cc:dd:ee:ff``,
addresses as ``address/length``, times in seconds, names as the device spells them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

# Why a target failed, in words an operator acts on:
#   timeout       no answer in time (host down, filtered, or a hanging service)
#   refused       the port answered with a reset / ICMP port unreachable
#   auth_failed   wrong credentials (SSH login refused, SNMPv3 auth error, SNMP community ignored)
#   no_route      no route to the target from here (EHOSTUNREACH / ENETUNREACH)
#   protocol      it answered, but not in the protocol spoken (garbage banner, malformed SNMP PDU,
#                 endless or looping walk)
#   unsupported   reachable, but nothing netwarden knows how to read (unknown platform)
#   error         anything else, with the detail
FailureReason = Literal["timeout", "refused", "auth_failed", "no_route", "protocol", "unsupported", "error"]
Status = Literal["up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown"]


@dataclass(frozen=True)
class TargetResult(Generic[T]):
    """One target's outcome: ``ok`` with a value, or failed with a reason and a detail."""

    target: str
    ok: bool
    value: T | None = None
    reason: FailureReason | None = None
    detail: str = ""
    elapsed: float = 0.0
    attempts: int = 1

    @classmethod
    def success(cls, target: str, value: T, elapsed: float = 0.0, attempts: int = 1) -> TargetResult[T]:
        return cls(target=target, ok=True, value=value, elapsed=elapsed, attempts=attempts)

    @classmethod
    def failure(
        cls, target: str, reason: FailureReason, detail: str = "", elapsed: float = 0.0, attempts: int = 1
    ) -> TargetResult[T]:
        return cls(target=target, ok=False, reason=reason, detail=detail, elapsed=elapsed, attempts=attempts)

    def describe(self) -> str:
        """One line for people: ``10.0.0.1: timeout (no answer in 2.0 s)``."""
        if self.ok:
            return f"{self.target}: ok"
        return f"{self.target}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class Stopwatch:
    """Elapsed wall time for a result."""

    start: float = field(default_factory=time.perf_counter)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    yield Stopwatch()


# ---------------------------------------------------------------- facts


class _Record(BaseModel):
    model_config = {"frozen": True, "extra": "forbid"}


class DeviceFacts(_Record):
    hostname: str
    vendor: str = ""
    model: str = ""
    serial: str = ""
    os_version: str = ""
    uptime: float | None = Field(default=None, description="seconds since boot")
    platform: str = Field(default="", description="netwarden platform name, e.g. cisco_ios, frr, linux")
    sys_object_id: str = ""
    sys_descr: str = ""
    location: str = Field(default="", description="where the device says it is (SNMP sysLocation)")


class InterfaceFacts(_Record):
    name: str
    description: str = ""
    admin_status: Status = "unknown"
    oper_status: Status = "unknown"
    speed: int | None = Field(default=None, description="bits per second")
    mtu: int | None = None
    mac: str = ""
    addresses: list[str] = Field(default_factory=list, description="address/length, IPv4 and IPv6")
    index: int | None = Field(default=None, description="ifIndex, when known")
    kind: str = "ethernet"


class Neighbour(_Record):
    """A layer-2 neighbour seen by LLDP or CDP on a local port."""

    protocol: Literal["lldp", "cdp"]
    local_port: str
    remote_name: str
    remote_port: str = ""
    remote_mgmt_ip: str | None = None
    remote_description: str = ""
    remote_chassis_id: str = ""


class RoutingNeighbour(_Record):
    protocol: Literal["ospf", "bgp"]
    neighbor_id: str = Field(description="OSPF router ID or BGP peer address")
    address: str | None = None
    state: str = Field(description="as the device says it: Full/DR, Established, Active, ...")
    established: bool = False
    interface: str = ""
    remote_as: int | None = None
    local_as: int | None = None
    uptime: float | None = None
    prefixes_received: int | None = None


class ArpEntry(_Record):
    ip: str
    mac: str
    interface: str = ""


class MacEntry(_Record):
    mac: str
    vlan: int | None = None
    interface: str = ""
    kind: Literal["dynamic", "static", "other"] = "dynamic"


class Route(_Record):
    prefix: str = Field(description="network/length")
    protocol: str = Field(description="connected, static, ospf, bgp, kernel, ...")
    next_hops: list[str] = Field(default_factory=list, description="next-hop addresses; empty when connected")
    interfaces: list[str] = Field(default_factory=list)
    distance: int | None = None
    metric: int | None = None
    selected: bool = True


class DeviceSnapshot(_Record):
    """Everything collected from one device in one pass, and how."""

    target: str = Field(description="the address it was collected from")
    facts: DeviceFacts
    interfaces: list[InterfaceFacts] = Field(default_factory=list)
    neighbours: list[Neighbour] = Field(default_factory=list)
    routing: list[RoutingNeighbour] = Field(default_factory=list)
    arp: list[ArpEntry] = Field(default_factory=list)
    mac_table: list[MacEntry] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    via: list[Literal["snmp", "ssh", "icmp", "tcp"]] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="partial failures (a command that failed, ...)")
