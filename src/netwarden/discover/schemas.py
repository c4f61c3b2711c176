"""Shapes that leave the discover package: sync results, discovery summaries, topology views."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SyncResult(BaseModel):
    """What writing one device snapshot into the inventory did."""

    device: str
    outcome: Literal["new", "changed", "unchanged"]
    changes: dict[str, list[object]] = Field(default_factory=dict, description="field: [old, new]")
    interfaces_added: int = 0
    interfaces_changed: int = 0
    addresses_added: int = 0
    links_added: int = 0


class Failure(BaseModel):
    target: str
    reason: str


class DiscoverySummary(BaseModel):
    """The scripting contract's shape ({"found","new","changed","failed"}) plus detail."""

    found: int
    new: int
    changed: int
    failed: list[Failure]
    unchanged: int = 0
    missing: list[str] = Field(default_factory=list, description="known devices in the ranges that did not answer")
    devices: list[str] = Field(default_factory=list)
    neighbours_followed: int = 0
    run_id: int | None = None
    elapsed: float = 0.0


class TopoNode(BaseModel):
    name: str
    site: str
    role: str
    platform: str
    status: str
    mgmt_ip: str | None


class TopoLink(BaseModel):
    a: str
    a_port: str
    b: str
    b_port: str
    kind: str = Field(description="physical (LLDP/CDP/manual) or l3 (shared subnet)")
    source: str = ""
    subnet: str | None = None
    tunnel: bool = Field(default=False, description="an overlay (VPN, GRE...) riding over other links")


class Topology(BaseModel):
    nodes: list[TopoNode]
    links: list[TopoLink]


class CutPoint(BaseModel):
    """A device (articulation point) or a link (bridge) whose loss splits the network."""

    kind: Literal["device", "link"]
    name: str = Field(description="the device, or the link as 'A:port--B:port'")
    cut_off: list[str] = Field(description="devices that lose their path to the rest of the network")
    sites: list[str] = Field(description="sites of the devices cut off")


class SpofReport(BaseModel):
    devices: list[CutPoint]
    links: list[CutPoint]


class Hop(BaseModel):
    device: str
    address: str | None = Field(default=None, description="the address the packet enters this device on")
    interface: str | None = Field(default=None, description="the egress interface towards the next hop")
    route: str | None = Field(default=None, description="the route that forwards it (prefix and protocol)")


class PathResult(BaseModel):
    source: str
    destination: str
    destination_ip: str
    hops: list[Hop]
    complete: bool
    reason: str = Field(default="", description="why the computed path stops, when it is not complete")
    traceroute: list[str | None] | None = Field(default=None, description="addresses traceroute saw, * as null")
    matches: bool | None = None
    differences: list[str] = Field(default_factory=list)
