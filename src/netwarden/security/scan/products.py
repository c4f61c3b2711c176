"""Name the software a host runs, from what its services said and from the inventory.

The knowledge is data (``data/products.yml``): regular expressions on the SSH software version,
the HTTP ``Server`` header and text greetings, and the OS of each inventory platform, mapped to
the CPE vendor:product names vulnerability feeds use.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from netwarden.datafiles import load_named
from netwarden.security.scan import debian
from netwarden.security.scan.schemas import Product, ServiceOut

__all__ = ["identify", "inventory_product", "rules"]

_DATA = Path(__file__).parent / "data"
# A distribution's package suffix in an SSH banner: the distribution may have patched the version it names.
_DISTRO = re.compile(r"\b(Debian|Ubuntu|Raspbian|FreeBSD|el\d|RHEL|Red Hat|SUSE)\b", re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BannerRule(_Strict):
    service: list[str]
    field: Literal["software", "server", "banner"]
    match: str
    name: str
    cpe: list[str]
    debian: str = ""

    @field_validator("match")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad regular expression {value!r}: {exc}") from exc
        return value

    @field_validator("cpe")
    @classmethod
    def _cpe(cls, value: list[str]) -> list[str]:
        if not value or any(v.count(":") != 1 for v in value):
            raise ValueError("cpe names are vendor:product")
        return value


class PlatformRule(_Strict):
    name: str
    cpe: list[str]


class ProductsFile(_Strict):
    name: str
    banners: list[BannerRule]
    platforms: dict[str, PlatformRule]


@cache
def rules() -> ProductsFile:
    return load_named(_DATA / "products.yml", ProductsFile, "product rules")


def _product(name: str, cpes: list[str], version: str, source: str, port: int | None, note: str = "") -> Product:
    vendor, product = cpes[0].split(":")
    return Product(
        name=name,
        vendor=vendor,
        product=product,
        also=cpes[1:],
        version=version,
        source=source,
        port=port,
        note=note,
    )


def identify(service: ServiceOut) -> Product | None:
    """The software behind one service, when a rule recognises what it said."""
    texts: dict[str, str] = {"banner": service.banner}
    if service.ssh is not None:
        texts["software"] = service.ssh.software
    if service.http is not None:
        texts["server"] = service.http.server
    for rule in rules().banners:
        if service.service not in rule.service:
            continue
        text = texts.get(rule.field, "")
        found = re.search(rule.match, text) if text else None
        if found is None:
            continue
        version = found.groupdict().get("version") or ""
        note = ""
        comments = service.ssh.comments if service.ssh is not None else ""
        if _DISTRO.search(comments):
            note = f"distribution package ({comments}): fixes may be backported to this version"
        source = {"software": "ssh banner", "server": "http server header"}.get(
            rule.field, f"{service.service} greeting"
        )
        product = _product(rule.name, rule.cpe, version, source, service.port, note)
        package = debian.package_from_banner(rule.debian, version, comments) if rule.debian else None
        if package is not None:
            update = {
                "package": package.package,
                "package_version": package.version,
                "package_release": package.release,
            }
            product = product.model_copy(update=update)
        return product
    return None


def inventory_product(platform: str, os_version: str) -> Product | None:
    """The OS an inventory device runs, by its platform and os_version."""
    rule = rules().platforms.get(platform)
    if rule is None or not os_version:
        return None
    return _product(rule.name, rule.cpe, os_version.strip(), "inventory", None)
