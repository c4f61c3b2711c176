"""Weak management settings seen from the network: telnet, cleartext HTTP management, SNMP default
communities, old SSH protocol and algorithms. Pure: a scanned host in, finding drafts out.

The ratings, algorithm lists and remediation texts are data (``data/weak_settings.yml``).
"""

from __future__ import annotations

import fnmatch
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from netwarden.datafiles import load_named
from netwarden.security.scan.risk import Draft
from netwarden.security.scan.schemas import HostOut, ServiceOut, SshDetails

__all__ = ["assess", "settings"]

_DATA = Path(__file__).parent / "data"
# Platforms that are network operating systems: any web page they serve is their management UI.
_LINUX_LIKE = frozenset({"", "linux", "generic"})
_NETWORK_ROLES = frozenset({"router", "switch", "firewall", "wlc", "ap", "load-balancer", "vpn"})
_MANAGEMENT_PAGE = re.compile(
    r"log ?in|sign ?in|admin|management|configur|router|switch|firewall|web ?ui|dashboard|console", re.IGNORECASE
)
_SERVER_VERSION = re.compile(r"[A-Za-z][\w.-]*/\d+(?:\.\d+)+")
_STRICT_KEX = "kex-strict-s-v00@openssh.com"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _rating(value: float) -> float:
    if not 0 <= value <= 10:
        raise ValueError(f"severity must be 0..10, not {value}")
    return value


def _with_default(value: dict[str, str]) -> dict[str, str]:
    if "default" not in value:
        raise ValueError("remediation needs a 'default' text")
    return value


Rating = Annotated[float, AfterValidator(_rating)]
Remediation = Annotated[dict[str, str], AfterValidator(_with_default)]  # by platform, with a "default" text


class ServiceRule(_Strict):
    title: str
    severity: Rating
    remediation: Remediation
    references: list[str] = []
    cve: str | None = None


class AlgorithmRule(_Strict):
    match: str
    severity: Rating
    why: str


class SshRule(_Strict):
    kind: str
    field: Literal["kex", "host_keys", "ciphers", "macs"]
    title: str
    remediation: Remediation
    algorithms: list[AlgorithmRule] = Field(min_length=1)


class WeakSettingsFile(_Strict):
    name: str
    services: dict[str, ServiceRule]
    ssh: list[SshRule]


@cache
def settings() -> WeakSettingsFile:
    return load_named(_DATA / "weak_settings.yml", WeakSettingsFile, "weak settings")


def _remedy(texts: dict[str, str], platform: str) -> str:
    return texts.get(platform) or texts["default"]


def _service_draft(
    kind: str, host: HostOut, service: ServiceOut, evidence: list[str], severity: float | None = None
) -> Draft:
    rule = settings().services[kind]
    return Draft(
        kind=kind,
        title=rule.title,
        severity=rule.severity if severity is None else severity,
        port=service.port,
        proto=service.proto,
        evidence=tuple(evidence),
        remediation=_remedy(rule.remediation, host.platform),
        references=tuple(rule.references),
        cve=rule.cve,
        key=rule.cve or "",
    )


def _where(service: ServiceOut) -> str:
    return f"{service.proto}/{service.port}"


def _is_network_device(host: HostOut) -> bool:
    return host.platform not in _LINUX_LIKE or host.role in _NETWORK_ROLES


def _http(host: HostOut, service: ServiceOut) -> list[Draft]:
    http = service.http
    if http is None:
        return []
    drafts: list[Draft] = []
    if _SERVER_VERSION.search(http.server):
        drafts.append(
            _service_draft("http-server-version", host, service, [f"{_where(service)} Server: {http.server}"])
        )
    if service.tls:
        return drafts
    if 300 <= http.status < 400 and http.location.lower().startswith("https://"):
        return drafts  # HTTP only sends the browser to HTTPS
    said = f"{_where(service)} HTTP {http.status}" + (f', title "{http.title}"' if http.title else "")
    evidence = [said]
    if http.authenticate:
        evidence.append(f"asks for a login: WWW-Authenticate: {http.authenticate}")
    if _is_network_device(host) or http.authenticate or _MANAGEMENT_PAGE.search(http.title):
        drafts.append(_service_draft("http-management", host, service, evidence))
    else:
        drafts.append(_service_draft("http-cleartext", host, service, evidence))
    return drafts


def _snmp(host: HostOut, service: ServiceOut) -> list[Draft]:
    snmp = service.snmp
    if snmp is None or not snmp.default_communities:
        return []
    versions = ", ".join(snmp.versions) or "v1/v2c"
    evidence = [f"udp/{service.port} SNMP {versions} answered community '{c}'" for c in snmp.default_communities]
    if snmp.sys_descr:
        evidence.append(f"sysDescr: {snmp.sys_descr[:120]}")
    drafts = [_service_draft("snmp-default-community", host, service, evidence)]
    if "private" in snmp.default_communities:
        drafts.append(_service_draft("snmp-write-community", host, service, evidence[:1] + evidence[-1:]))
    return drafts


def weak_algorithms(ssh: SshDetails, rule: SshRule) -> list[tuple[str, AlgorithmRule]]:
    """The offered algorithms a rule flags, each with the first pattern that matched it."""
    found: list[tuple[str, AlgorithmRule]] = []
    for name in getattr(ssh, rule.field):
        for pattern in rule.algorithms:
            if fnmatch.fnmatchcase(name, pattern.match):
                found.append((name, pattern))
                break
    return found


def terrapin_exposed(ssh: SshDetails) -> str | None:
    """Why the server is open to Terrapin (CVE-2023-48795), or None.

    Vulnerable modes are ChaCha20-Poly1305 and any encrypt-then-MAC MAC with a CBC cipher; the
    fix is strict key exchange, which a server announces with a pseudo-method in its KEX list.
    """
    if not ssh.kex or _STRICT_KEX in ssh.kex:
        return None
    if "chacha20-poly1305@openssh.com" in ssh.ciphers:
        return "offers chacha20-poly1305@openssh.com without strict key exchange"
    etm = [m for m in ssh.macs if m.endswith("-etm@openssh.com")]
    cbc = [c for c in ssh.ciphers if c.endswith("-cbc")]
    if etm and cbc:
        return f"offers {cbc[0]} with {etm[0]} without strict key exchange"
    return None


def _ssh(host: HostOut, service: ServiceOut) -> list[Draft]:
    ssh = service.ssh
    if ssh is None:
        return []
    drafts: list[Draft] = []
    if ssh.protocol.startswith("1"):
        drafts.append(_service_draft("ssh-v1", host, service, [f"{_where(service)} identification: {ssh.ident}"]))
    for rule in settings().ssh:
        weak = weak_algorithms(ssh, rule)
        if not weak:
            continue
        evidence = [f"{_where(service)} {rule.field}: {name} ({pattern.why})" for name, pattern in weak]
        drafts.append(
            Draft(
                kind=rule.kind,
                title=rule.title,
                severity=max(pattern.severity for _, pattern in weak),
                port=service.port,
                proto=service.proto,
                evidence=tuple(evidence),
                remediation=_remedy(rule.remediation, host.platform),
            )
        )
    why = terrapin_exposed(ssh)
    if why is not None:
        drafts.append(_service_draft("ssh-terrapin", host, service, [f"{_where(service)} {why}"]))
    return drafts


def assess(host: HostOut) -> list[Draft]:
    """Every weak setting the host's services show."""
    drafts: list[Draft] = []
    for service in host.services:
        if service.service == "telnet":
            drafts.append(
                _service_draft(
                    "telnet", host, service, [f"{_where(service)} telnet answered: {service.banner or '(no prompt)'}"]
                )
            )
        elif service.service == "ftp":
            drafts.append(_service_draft("ftp", host, service, [f"{_where(service)} {service.banner}"]))
        elif service.service in ("http", "https"):
            drafts.extend(_http(host, service))
        elif service.service == "ssh":
            drafts.extend(_ssh(host, service))
        elif service.service == "snmp":
            drafts.extend(_snmp(host, service))
    return drafts
