"""Shapes that leave the inventory package (sites, devices, interfaces)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from netwarden.inventory.platforms import check_platform

T = TypeVar("T")

Name = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/@+-]*$")]
DeviceStatus = Literal["active", "planned", "offline", "missing", "decommissioning"]
PortStatus = Literal["up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown"]


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None


def _platform(value: str) -> str:
    try:
        return check_platform(value)
    except Exception as exc:
        raise ValueError(str(exc)) from None


IPStr = Annotated[str, AfterValidator(_ip)]
Platform = Annotated[str, AfterValidator(_platform)]
Tags = Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=64)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SiteIn(_In):
    name: Name
    description: str = ""
    address: str = ""
    tags: Tags = []


class SitePatch(_In):
    description: str | None = None
    address: str | None = None
    tags: Tags | None = None


class SiteOut(BaseModel):
    name: str
    description: str
    address: str
    tags: list[str]
    devices: int = 0


class DeviceIn(_In):
    name: Name
    site: Name
    platform: Platform
    mgmt_ip: IPStr | None = None
    role: str = Field(default="", max_length=32)
    status: DeviceStatus = "active"
    vendor: str = Field(default="", max_length=64)
    model: str = Field(default="", max_length=128)
    serial: str = Field(default="", max_length=128)
    os_version: str = Field(default="", max_length=128)
    snmp_port: int | None = Field(default=None, ge=1, le=65535)
    tags: Tags = []


class DevicePatch(_In):
    site: Name | None = None
    platform: Platform | None = None
    mgmt_ip: IPStr | None = None
    role: str | None = Field(default=None, max_length=32)
    status: DeviceStatus | None = None
    vendor: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, max_length=128)
    serial: str | None = Field(default=None, max_length=128)
    os_version: str | None = Field(default=None, max_length=128)
    snmp_port: int | None = Field(default=None, ge=1, le=65535)
    tags: Tags | None = None


class DeviceFilter(_In):
    site: str | None = None
    role: str | None = None
    platform: str | None = None
    status: str | None = None
    tag: str | None = None
    q: str | None = Field(default=None, description="substring of name, mgmt IP, model, serial")


class DeviceOut(BaseModel):
    name: str
    site: str
    platform: str
    mgmt_ip: str | None
    role: str
    status: str
    vendor: str
    model: str
    serial: str
    os_version: str
    snmp_port: int | None
    tags: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    last_seen: dt.datetime | None


class InterfaceIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    description: str = ""
    admin_status: PortStatus = "up"
    oper_status: PortStatus = "unknown"
    speed: int | None = Field(default=None, ge=0)
    mtu: int | None = Field(default=None, ge=0, le=1_000_000)
    mac: str = Field(default="", max_length=32)
    kind: str = Field(default="ethernet", max_length=32)


class InterfacePatch(_In):
    description: str | None = None
    admin_status: PortStatus | None = None
    oper_status: PortStatus | None = None
    speed: int | None = Field(default=None, ge=0)
    mtu: int | None = Field(default=None, ge=0, le=1_000_000)
    mac: str | None = Field(default=None, max_length=32)
    kind: str | None = Field(default=None, max_length=32)


class InterfaceOut(BaseModel):
    device: str
    name: str
    description: str
    admin_status: str
    oper_status: str
    speed: int | None
    mtu: int | None
    mac: str
    kind: str
    addresses: list[str]


class DeviceDetail(DeviceOut):
    interfaces: list[InterfaceOut]
