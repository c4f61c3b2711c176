"""The shapes that leave the scan package: services found, findings, the scan report, risk entries."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["critical", "high", "medium", "low", "info"]
RiskStatus = Literal["open", "resolved"]
LEVELS: tuple[Level, ...] = ("critical", "high", "medium", "low", "info")


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class SshDetails(_Out):
    ident: str = Field(description="the identification line, escaped")
    protocol: str = Field(description="2.0; 1.99 means SSH-1 is offered too")
    software: str
    comments: str = ""
    kex: list[str] = []
    host_keys: list[str] = []
    ciphers: list[str] = []
    macs: list[str] = []
    compression: list[str] = []


class HttpDetails(_Out):
    status: int
    server: str = ""
    title: str = ""
    location: str = ""
    authenticate: str = Field(default="", description="WWW-Authenticate header: the page asks for a login")


class SnmpDetails(_Out):
    versions: list[str] = Field(default=[], description="v1, v2c: versions that answered")
    default_communities: list[str] = Field(default=[], description="well-known communities the agent answered")
    credentials: list[str] = Field(default=[], description="stored credentials that answered (names only)")
    sys_descr: str = ""


class Product(_Out):
    """A piece of software (or an OS) the scan could name, with where the name came from."""

    name: str
    vendor: str = Field(description="CPE vendor, e.g. openbsd")
    product: str = Field(description="CPE product, e.g. openssh")
    also: list[str] = Field(default=[], description="other CPE vendor:product names of the same software")
    version: str = ""
    source: str = Field(description="ssh banner, http server header, ftp greeting, inventory ...")
    port: int | None = None
    note: str = ""
    package: str = Field(default="", description="distribution source package, when the banner shows one")
    package_version: str = Field(default="", description="its version: upstream-revision, e.g. 9.2p1-2+deb12u10")
    package_release: str = Field(default="", description="distribution release, e.g. bookworm")


class ServiceOut(_Out):
    port: int
    proto: Literal["tcp", "udp"] = "tcp"
    service: str = Field(description="ssh, http, https, telnet, smtp, ftp, snmp, tls, unknown ...")
    banner: str = Field(default="", description="first line the service sent (escaped)")
    tls: bool = False
    product: str = ""
    version: str = ""
    ssh: SshDetails | None = None
    http: HttpDetails | None = None
    snmp: SnmpDetails | None = None
    detail: str = Field(default="", description="what could not be read, when something could not")


class HostOut(_Out):
    address: str
    device: str | None = Field(default=None, description="inventory device with this management address")
    platform: str = ""
    role: str = ""
    vendor: str = ""
    os_version: str = ""
    services: list[ServiceOut] = []
    products: list[Product] = []


class FindingOut(_Out):
    id: str = Field(description="stable over scans: the same problem on the same target keeps its id")
    kind: str = Field(description="telnet, http-management, snmp-default-community, ssh-weak-mac, vulnerability ...")
    title: str
    target: str = Field(description="the device name, or the address when it is not in the inventory")
    device: str | None = None
    address: str
    port: int | None = None
    proto: Literal["tcp", "udp"] | None = None
    severity: float = Field(description="0-10: CVSS base score, or the rule's rating for a weak setting")
    exposure: float = Field(description="0-1: how reachable the weakness is from where the scan ran")
    score: float = Field(description="severity x exposure, 0-10")
    level: Level
    cve: str | None = None
    evidence: list[str] = []
    remediation: str = ""
    references: list[str] = []
    source: str = Field(default="scan", description="scan, or the feed the vulnerability came from")


class FailedOut(_Out):
    target: str
    reason: str


class FeedOut(_Out):
    path: str
    format: str
    entries: int


class ClearedOut(_Out):
    """A feed match the distribution's own advisories clear: the package has the fix."""

    target: str
    address: str
    cve: str
    reason: str


class ScanReport(_Out):
    ranges: list[str]
    ports: list[int]
    started: dt.datetime
    elapsed: float
    hosts: list[HostOut]
    findings: list[FindingOut]
    failed: list[FailedOut] = []
    feeds: list[FeedOut] = []
    cleared: list[ClearedOut] = Field(default=[], description="vulnerabilities a distribution tracker says are fixed")
    saved: bool = Field(default=False, description="the findings were merged into the risk register")


class RiskOut(FindingOut):
    status: RiskStatus = "open"
    first_seen: dt.datetime
    last_seen: dt.datetime
    resolved_at: dt.datetime | None = None
