"""Match the software a host runs against vulnerability feeds: CPE names and version ranges.

A host's products (from service banners and from the inventory's platform and os_version) are
checked against each advisory's configurations the way NVD defines them: a criterion holds when
vendor:product is the same and the version is the one named (NVD splits ``9.2p1`` into version
``9.2`` and update ``p1``) or lies in the range; a node is the OR (or AND) of its criteria, a
configuration the OR (or AND) of its nodes, each possibly negated. Platform nodes the scan cannot
judge (hardware models, an OS the host does not report) do not block a match: the finding then
says what was not verified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netwarden.security.scan import debian, risk
from netwarden.security.scan.feeds import Advisory, Configuration, CpeMatch, Feed, Node, index
from netwarden.security.scan.schemas import ClearedOut, HostOut, Product
from netwarden.security.scan.versions import compare, in_range

__all__ = ["VulnMatch", "match_host", "vulnerability_drafts"]

_ANY = ("*", "-", "")
DEFAULT_SEVERITY = 5.0  # an advisory without a CVSS score yet (NVD "Awaiting Analysis")


@dataclass(frozen=True)
class VulnMatch:
    advisory: Advisory
    product: Product
    criterion: CpeMatch
    unverified: tuple[str, ...] = ()


def _names(product: Product) -> set[str]:
    return {f"{product.vendor}:{product.product}", *product.also}


def version_matches(criterion: CpeMatch, version: str) -> bool:
    """Whether ``version`` is the one a criterion names, or lies in its range."""
    if criterion.version not in _ANY:
        wanted = criterion.version + (criterion.update if criterion.update not in _ANY else "")
        return bool(version) and compare(version, wanted) == 0
    bounded = any(
        (criterion.start_including, criterion.start_excluding, criterion.end_including, criterion.end_excluding)
    )
    if not version:
        return not bounded  # "every version": holds even when the banner hides it
    return in_range(
        version,
        start_including=criterion.start_including,
        start_excluding=criterion.start_excluding,
        end_including=criterion.end_including,
        end_excluding=criterion.end_excluding,
    )


def _hit(criterion: CpeMatch, products: Sequence[Product]) -> Product | None:
    for product in products:
        if criterion.name in _names(product) and version_matches(criterion, product.version):
            return product
    return None


@dataclass(frozen=True)
class _Verdict:
    holds: bool | None  # None: the scan cannot tell (a platform it knows nothing about)
    product: Product | None = None  # the product that matched a vulnerable criterion
    criterion: CpeMatch | None = None
    unverified: tuple[str, ...] = ()


def _node(node: Node, products: Sequence[Product], known: set[str]) -> _Verdict:
    results = [(m, _hit(m, products)) for m in node.matches]
    vulnerable_hit = next(((m, p) for m, p in results if p is not None and m.vulnerable), None)
    any_hit = any(p is not None for _, p in results)
    if node.operator == "AND":
        holds: bool | None = all(p is not None for _, p in results)
    else:
        holds = any_hit
    if not holds and not any(m.name in known for m in node.matches) and not any(m.vulnerable for m in node.matches):
        names = sorted({f"{m.part}:{m.name}" for m in node.matches})
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        return _Verdict(None, unverified=(f"requires one of {shown} (not verified)",))
    if node.negate:
        return _Verdict(not holds)
    if holds and vulnerable_hit is not None:
        return _Verdict(True, vulnerable_hit[1], vulnerable_hit[0])
    return _Verdict(holds)


def _configuration(config: Configuration, products: Sequence[Product], known: set[str]) -> _Verdict:
    verdicts = [_node(n, products, known) for n in config.nodes]
    vulnerable = next((v for v in verdicts if v.holds and v.product is not None), None)
    if config.operator == "AND":
        holds = all(v.holds is not False for v in verdicts) and vulnerable is not None
    else:
        holds = vulnerable is not None
    if config.negate:
        holds = not holds
    if not holds or vulnerable is None:
        return _Verdict(False)
    unverified = tuple(u for v in verdicts for u in v.unverified) if config.operator == "AND" else ()
    return _Verdict(True, vulnerable.product, vulnerable.criterion, unverified)


def match_host(products: Sequence[Product], by_name: dict[str, list[Advisory]]) -> list[VulnMatch]:
    """Every advisory one of the products falls under, once per advisory."""
    known = {name for p in products for name in _names(p)}
    candidates: dict[str, Advisory] = {}
    for name in sorted(known):
        for advisory in by_name.get(name, []):
            candidates.setdefault(advisory.id, advisory)
    found: list[VulnMatch] = []
    for advisory in candidates.values():
        for config in advisory.configurations:
            verdict = _configuration(config, products, known)
            if verdict.holds and verdict.product is not None and verdict.criterion is not None:
                found.append(VulnMatch(advisory, verdict.product, verdict.criterion, verdict.unverified))
                break
    return found


def _remediation(found: VulnMatch) -> str:
    c, p = found.criterion, found.product
    text = f"Upgrade {p.name} to a release outside the affected range ({c.describe()})"
    if c.end_excluding:
        text += f"; {c.end_excluding} and later are fixed"
    elif c.end_including:
        text += f"; releases after {c.end_including} are fixed"
    text += f". Check the vendor's advisory for {found.advisory.id} for fixed releases and workarounds."
    if p.note:
        text += " The version comes from a distribution package: check its changelog before upgrading."
    return text


def _distribution_word(found: VulnMatch, trackers: Sequence[Feed]) -> tuple[bool | None, str]:
    """What the distribution's tracker says of this match: (vulnerable?, why); None when it is silent."""
    product = found.product
    if not product.package or not product.package_version:
        return None, ""
    installed = debian.PackageVersion(product.package, product.package_version, product.package_release)
    for feed in trackers:
        fixes = feed.debian.get((product.package, found.advisory.id))
        if fixes:
            return debian.verdict(installed, fixes)
    return None, ""


def vulnerability_drafts(host: HostOut, feeds: Sequence[Feed]) -> tuple[list[risk.Draft], list[ClearedOut]]:
    """One finding draft per advisory matching the host's products, and the matches a distribution
    tracker clears (the installed package carries the fix)."""
    drafts = []
    cleared: list[ClearedOut] = []
    trackers = [f for f in feeds if f.debian]
    for found in match_host(host.products, index(feeds)):
        advisory, product = found.advisory, found.product
        vulnerable, why = _distribution_word(found, trackers)
        if vulnerable is False:
            cleared.append(
                ClearedOut(target=host.device or host.address, address=host.address, cve=advisory.id, reason=why)
            )
            continue
        vector_factor = risk.ATTACK_VECTOR_FACTOR.get(advisory.attack_vector, 1.0)
        reach = 1.0 if product.port is not None else risk.INVENTORY_ONLY
        where = f"tcp/{product.port} " if product.port is not None else ""
        evidence = [
            f"{where}{product.source}: {product.name} {product.version}".strip(),
            f"{advisory.id} affects {found.criterion.describe()} ({advisory.source})",
        ]
        if advisory.vector:
            evidence.append(f"CVSS {advisory.score} {advisory.vector}")
        else:
            evidence.append(f"no CVSS score in the feed yet: rated {DEFAULT_SEVERITY} until it has one")
        if why:
            evidence.append(why)
        elif product.note:
            evidence.append(product.note)
        evidence.extend(found.unverified)
        drafts.append(
            risk.Draft(
                kind="vulnerability",
                title=f"{product.name} {product.version}: {advisory.title}",
                severity=advisory.score if advisory.score is not None else DEFAULT_SEVERITY,
                exposure=vector_factor * reach,
                port=product.port,
                proto="tcp" if product.port is not None else None,
                evidence=tuple(evidence),
                remediation=_remediation(found),
                references=advisory.references[:5],
                cve=advisory.id if advisory.id.startswith("CVE-") else None,
                source=advisory.source,
                key=advisory.id,
            )
        )
    return drafts, cleared
