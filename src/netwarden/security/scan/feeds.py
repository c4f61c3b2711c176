"""Vulnerability feeds from local files, read offline: NVD CVE API 2.0 JSON (as
``nvdcve-2.0-*.json[.gz]`` feeds and ``/rest/json/cves/2.0`` answers are shaped), and the Debian
security tracker's JSON (a distribution's advisories: which package version fixed each CVE, see
:mod:`.debian`).

Each CVE becomes an :class:`Advisory`: its CVSS base score (v3.1, else v4.0, v3.0, v2), attack
vector, description, references and its ``configurations``: trees of CPE match criteria with
version ranges, joined by OR/AND (a vulnerable application "running on" a platform is an AND of
a vulnerable node and a platform node). Malformed entries are counted and skipped; a file that
is not a feed at all raises :class:`~netwarden.errors.InvalidInput` naming the file.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from netwarden.errors import InvalidInput
from netwarden.security.scan.debian import DebianFix, parse_tracker

__all__ = ["Advisory", "Configuration", "CpeMatch", "Feed", "Node", "load_feed", "load_feeds", "parse_cpe"]

log = logging.getLogger(__name__)

MAX_FEED_BYTES = 2 << 30  # a whole year of NVD is about 200 MB uncompressed
_METRIC_KEYS = ("cvssMetricV31", "cvssMetricV40", "cvssMetricV30", "cvssMetricV2")
_ANY = ("*", "-", "")


def _unescape_split(text: str) -> list[str]:
    """Split a CPE 2.3 formatted string on ':' honouring backslash escapes."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ":":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


@dataclass(frozen=True)
class CpeMatch:
    """One ``cpeMatch`` criterion: a CPE name (possibly with wildcards) and an optional version range."""

    vulnerable: bool
    part: str  # a (application), o (operating system), h (hardware)
    vendor: str
    product: str
    version: str  # "*" means any, bounded by the range fields
    update: str
    start_including: str | None = None
    start_excluding: str | None = None
    end_including: str | None = None
    end_excluding: str | None = None
    criteria: str = ""

    @property
    def name(self) -> str:
        return f"{self.vendor}:{self.product}"

    def describe(self) -> str:
        """The affected versions in words: ``openssh 8.5p1 to before 9.8p1``."""
        if self.version not in _ANY:
            update = self.update if self.update not in _ANY else ""
            return f"{self.product} {self.version}{update}"
        low = self.start_including or (f"after {self.start_excluding}" if self.start_excluding else "")
        if self.end_including:
            high = f"through {self.end_including}"
        elif self.end_excluding:
            high = f"before {self.end_excluding}"
        else:
            high = ""
        if low and high:
            return f"{self.product} {low} {high if high.startswith('through') else 'to ' + high}"
        if high:
            return f"{self.product} {high}"
        if low:
            return f"{self.product} {low} and later"
        return f"{self.product} (all versions)"


@dataclass(frozen=True)
class Node:
    operator: Literal["OR", "AND"]
    negate: bool
    matches: tuple[CpeMatch, ...]


@dataclass(frozen=True)
class Configuration:
    operator: Literal["OR", "AND"]
    negate: bool
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Advisory:
    id: str
    description: str
    score: float | None
    severity: str  # CRITICAL, HIGH, MEDIUM, LOW, NONE, or "" when no metric
    vector: str
    attack_vector: str  # NETWORK, ADJACENT_NETWORK, LOCAL, PHYSICAL, or ""
    published: str
    configurations: tuple[Configuration, ...]
    references: tuple[str, ...] = ()
    source: str = ""  # the feed file's name

    @property
    def title(self) -> str:
        first = self.description.split(". ")[0].strip().rstrip(".")
        return first if len(first) <= 160 else first[:157] + "..."


@dataclass(frozen=True)
class Feed:
    path: Path
    format: str
    advisories: tuple[Advisory, ...]
    skipped: int = 0
    # Debian security tracker: {(source package, CVE): {release: fix}}
    debian: dict[tuple[str, str], dict[str, DebianFix]] = field(default_factory=dict)


def parse_cpe(criteria: str) -> tuple[str, str, str, str, str] | None:
    """(part, vendor, product, version, update) of a ``cpe:2.3:...`` name, or None."""
    fields = _unescape_split(criteria)
    if len(fields) < 7 or fields[0] != "cpe" or fields[1] != "2.3" or fields[2] not in ("a", "o", "h"):
        return None
    return fields[2], fields[3].lower(), fields[4].lower(), fields[5], fields[6]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _match(raw: Any) -> CpeMatch | None:
    if not isinstance(raw, dict):
        return None
    parsed = parse_cpe(str(raw.get("criteria", "")))
    if parsed is None:
        return None
    part, vendor, product, version, update = parsed
    return CpeMatch(
        vulnerable=bool(raw.get("vulnerable", True)),
        part=part,
        vendor=vendor,
        product=product,
        version=version,
        update=update,
        start_including=_text(raw.get("versionStartIncluding")),
        start_excluding=_text(raw.get("versionStartExcluding")),
        end_including=_text(raw.get("versionEndIncluding")),
        end_excluding=_text(raw.get("versionEndExcluding")),
        criteria=str(raw["criteria"]),
    )


def _operator(value: Any) -> Literal["OR", "AND"]:
    return "AND" if str(value).upper() == "AND" else "OR"


def _configurations(raw: Any) -> tuple[Configuration, ...]:
    configs: list[Configuration] = []
    for config in raw if isinstance(raw, list) else []:
        if not isinstance(config, dict):
            continue
        nodes = []
        for node in config.get("nodes", []) or []:
            if not isinstance(node, dict):
                continue
            matches = tuple(m for m in (_match(x) for x in node.get("cpeMatch", []) or []) if m is not None)
            if matches:
                nodes.append(Node(_operator(node.get("operator")), bool(node.get("negate", False)), matches))
        if nodes:
            configs.append(
                Configuration(_operator(config.get("operator")), bool(config.get("negate", False)), tuple(nodes))
            )
    return tuple(configs)


def _metric(metrics: Any) -> tuple[float | None, str, str, str]:
    """(base score, severity, vector, attack vector) from the best metric present, Primary first."""
    if not isinstance(metrics, dict):
        return None, "", "", ""
    for key in _METRIC_KEYS:
        entries = metrics.get(key)
        if not isinstance(entries, list) or not entries:
            continue
        ordered = sorted(entries, key=lambda e: 0 if isinstance(e, dict) and e.get("type") == "Primary" else 1)
        entry = ordered[0]
        data = entry.get("cvssData", {}) if isinstance(entry, dict) else {}
        score = data.get("baseScore")
        if not isinstance(score, int | float) or not 0 <= score <= 10:
            continue
        severity = str(data.get("baseSeverity") or entry.get("baseSeverity") or "")
        vector = str(data.get("vectorString", ""))
        access = str(data.get("attackVector") or data.get("accessVector") or "")
        return float(score), severity.upper(), vector, access.upper()
    return None, "", "", ""


def _advisory(item: Any, source: str) -> Advisory | None:
    cve = item.get("cve") if isinstance(item, dict) else None
    if not isinstance(cve, dict) or not isinstance(cve.get("id"), str):
        return None
    descriptions = cve.get("descriptions") or []
    text = next(
        (d.get("value", "") for d in descriptions if isinstance(d, dict) and d.get("lang") == "en"),
        "",
    )
    score, severity, vector, attack = _metric(cve.get("metrics"))
    refs = tuple(
        str(r["url"]) for r in (cve.get("references") or []) if isinstance(r, dict) and isinstance(r.get("url"), str)
    )
    return Advisory(
        id=cve["id"],
        description=" ".join(str(text).split()),
        score=score,
        severity=severity,
        vector=vector,
        attack_vector=attack,
        published=str(cve.get("published", "")),
        configurations=_configurations(cve.get("configurations")),
        references=refs[:10],
        source=source,
    )


def _read(path: Path) -> Any:
    try:
        with path.open("rb") as handle:
            head = handle.read(2)
        opener = gzip.open if head == b"\x1f\x8b" else open
        with opener(path, "rb") as handle:
            raw = handle.read(MAX_FEED_BYTES + 1)
    except FileNotFoundError:
        raise InvalidInput(f"vulnerability feed {path}: no such file; check the vuln_feeds setting") from None
    except (OSError, EOFError) as exc:
        raise InvalidInput(f"vulnerability feed {path}: cannot read it ({exc})") from exc
    if len(raw) > MAX_FEED_BYTES:
        raise InvalidInput(f"vulnerability feed {path}: larger than {MAX_FEED_BYTES >> 20} MiB; split it by year")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"vulnerability feed {path}: not JSON ({str(exc).splitlines()[0]})") from exc


def load_feed(path: Path) -> Feed:
    """One feed file (``.json`` or gzip-compressed).

    Raises:
        InvalidInput: the file is missing, unreadable, not JSON, or not an NVD CVE 2.0 document.
    """
    doc = _read(path)
    tracker = parse_tracker(doc)
    if tracker is not None:
        return Feed(path=path, format="Debian security tracker", advisories=(), debian=tracker)
    if not isinstance(doc, dict) or not isinstance(doc.get("vulnerabilities"), list):
        raise InvalidInput(
            f"vulnerability feed {path}: neither an NVD CVE 2.0 document (no 'vulnerabilities' list) nor the "
            "Debian security tracker's JSON; use an nvdcve-2.0-*.json feed, an API 2.0 answer or tracker/data/json"
        )
    fmt = str(doc.get("format") or "NVD_CVE") + " " + str(doc.get("version") or "2.0")
    advisories: list[Advisory] = []
    skipped = 0
    for item in doc["vulnerabilities"]:
        advisory = _advisory(item, path.name)
        if advisory is None:
            skipped += 1
            continue
        advisories.append(advisory)
    if skipped:
        log.warning("feed entries skipped", extra={"kv": {"feed": path.name, "skipped": skipped}})
    return Feed(path=path, format=fmt, advisories=tuple(advisories), skipped=skipped)


def load_feeds(paths: Iterable[Path]) -> list[Feed]:
    """Every feed named, in order; duplicates (the same path twice) read once."""
    seen: set[Path] = set()
    feeds: list[Feed] = []
    for path in paths:
        resolved = Path(path).expanduser().resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        feeds.append(load_feed(resolved))
    return feeds


def index(feeds: Sequence[Feed]) -> dict[str, list[Advisory]]:
    """Advisories by the ``vendor:product`` names their vulnerable criteria mention."""
    by_name: dict[str, list[Advisory]] = {}
    for feed in feeds:
        for advisory in feed.advisories:
            names = {m.name for c in advisory.configurations for n in c.nodes for m in n.matches if m.vulnerable}
            for name in names:
                by_name.setdefault(name, []).append(advisory)
    return by_name
