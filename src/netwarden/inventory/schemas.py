"""Shapes that leave the inventory package: sites, devices, interfaces, IPAM, VLANs, links, credentials."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

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
    speed: int | None = Field(default=None, ge=0, le=10**15, description="bits per second")
    mtu: int | None = Field(default=None, ge=0, le=1_000_000)
    mac: str = Field(default="", max_length=32)
    kind: str = Field(default="ethernet", max_length=32)


class InterfacePatch(_In):
    description: str | None = None
    admin_status: PortStatus | None = None
    oper_status: PortStatus | None = None
    speed: int | None = Field(default=None, ge=0, le=10**15, description="bits per second")
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


# ---------------------------------------------------------------- IPAM

PrefixStatus = Literal["active", "reserved", "deprecated", "container"]
AddressStatus = Literal["active", "reserved", "deprecated", "dhcp"]
VlanId = Annotated[int, Field(ge=1, le=4094)]


def _cidr(value: str) -> str:
    """A network in canonical form; host bits set is an error that names the network meant."""
    if "/" not in value:
        raise ValueError(f"{value!r} has no prefix length (expected e.g. 10.0.0.0/24)")
    try:
        return str(ipaddress.ip_network(value))
    except ValueError:
        pass
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 prefix (expected e.g. 10.0.0.0/24)") from None
    raise ValueError(f"{value!r} has host bits set; did you mean {net}?")


def _iface_addr(value: str) -> str:
    """``address/length`` in canonical form."""
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an address with prefix length (expected e.g. 10.0.0.5/24)") from None
    if "/" not in value:
        raise ValueError(f"{value!r} has no prefix length (expected e.g. {iface.ip}/24)")
    return str(iface)


Cidr = Annotated[str, AfterValidator(_cidr)]
IfaceAddr = Annotated[str, AfterValidator(_iface_addr)]


class VlanIn(_In):
    vid: VlanId
    name: Name
    site: Name | None = None
    description: str = ""


class VlanPatch(_In):
    name: Name | None = None
    description: str | None = None


class VlanOut(BaseModel):
    vid: int
    name: str
    site: str | None
    description: str
    prefixes: list[str] = []


class PrefixIn(_In):
    cidr: Cidr
    site: Name | None = None
    vlan: VlanId | None = Field(default=None, description="VLAN ID, in the prefix's site (or global)")
    status: PrefixStatus = "active"
    description: str = ""


class PrefixPatch(_In):
    site: Name | None = None
    vlan: VlanId | None = None
    status: PrefixStatus | None = None
    description: str | None = None


class PrefixOut(BaseModel):
    cidr: str
    family: int
    site: str | None
    vlan: str | None
    status: str
    description: str
    parent: str | None
    depth: int
    size: int = Field(description="usable addresses (IPv4 network and broadcast excluded below /31)")
    used: int = Field(description="addresses in child prefixes plus addresses assigned directly")
    utilisation: float = Field(description="used / size, in percent")


class IPAddressIn(_In):
    address: IfaceAddr
    device: Name | None = None
    interface: str | None = Field(default=None, max_length=64)
    prefix: Cidr | None = Field(default=None, description="if given, the address must lie inside it")
    status: AddressStatus = "active"
    dns_name: str = Field(default="", max_length=255)
    description: str = ""


class IPAddressOut(BaseModel):
    address: str
    family: int
    device: str | None
    interface: str | None
    prefix: str | None
    status: str
    dns_name: str
    description: str


class NextIP(BaseModel):
    prefix: str
    address: str
    free: int = Field(description="free addresses left in the prefix, counting this one")


# ---------------------------------------------------------------- links

LinkKind = Literal["physical", "logical", "wan", "vpn", "l3"]


class LinkIn(_In):
    a: Name
    a_port: Annotated[str, Field(min_length=1, max_length=64)]
    b: Name
    b_port: Annotated[str, Field(min_length=1, max_length=64)]
    kind: LinkKind = "physical"
    description: str = ""


class LinkOut(BaseModel):
    a: str
    a_port: str
    b: str
    b_port: str
    kind: str
    description: str
    source: str
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None


# ---------------------------------------------------------------- credentials

CredentialKind = Literal["ssh", "snmp-v2c", "snmp-v3"]
AuthProtocol = Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivProtocol = Literal["des", "aes", "aes192", "aes256"]


class CredentialParams(_In):
    """What is not secret about a credential."""

    port: int | None = Field(default=None, ge=1, le=65535)
    auth_protocol: AuthProtocol | None = None
    priv_protocol: PrivProtocol | None = None
    context: str | None = Field(default=None, max_length=64)


class CredentialIn(_In):
    name: Name
    kind: CredentialKind
    username: str = Field(default="", max_length=128)
    secret: SecretStr = Field(description="password, private key (PEM), community or SNMPv3 auth key")
    priv_secret: SecretStr | None = Field(default=None, description="SNMPv3 privacy key")
    params: CredentialParams = CredentialParams()

    @model_validator(mode="after")
    def _check_kind(self) -> CredentialIn:
        secret = self.secret.get_secret_value()
        if not secret:
            raise ValueError("the secret is empty")
        if self.kind in ("ssh", "snmp-v3") and not self.username:
            raise ValueError(f"a {self.kind} credential needs a username")
        if self.kind == "snmp-v3":
            if len(secret) < 8:
                raise ValueError("an SNMPv3 auth key needs at least 8 characters")
            if self.params.auth_protocol is None:
                self.params.auth_protocol = "sha"
            if self.priv_secret is not None and len(self.priv_secret.get_secret_value()) < 8:
                raise ValueError("an SNMPv3 privacy key needs at least 8 characters")
            if self.priv_secret is not None and self.params.priv_protocol is None:
                self.params.priv_protocol = "aes"
            if self.priv_secret is None and self.params.priv_protocol is not None:
                raise ValueError("a privacy protocol needs a privacy key")
        elif self.params.auth_protocol or self.params.priv_protocol or self.priv_secret is not None:
            raise ValueError(f"auth/priv protocols and keys belong to snmp-v3 credentials, not {self.kind}")
        return self


class CredentialOut(BaseModel):
    """A credential as shown to people and scripts: never its secret."""

    name: str
    kind: str
    username: str
    params: dict[str, Any]
    has_priv: bool = False
    security_level: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


class CredentialSecret(BaseModel):
    """The decrypted credential, for transports only; never returned by the API or CLI."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str
    username: str
    secret: SecretStr
    priv_secret: SecretStr | None
    params: CredentialParams


M = TypeVar("M", bound=BaseModel)


def construct(cls: type[M], **values: Any) -> M:
    """Build a model from values that already passed validation once (stored rows), without re-checking."""
    return cls.model_construct(**values)
