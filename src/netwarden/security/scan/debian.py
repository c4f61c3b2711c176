"""Debian's own word on a CVE: the security tracker's JSON, and dpkg's version order.

A banner such as ``SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10`` names upstream 9.2p1, which NVD's
ranges call vulnerable to CVE-2024-6387; Debian fixed it in ``1:9.2p1-2+deb12u3`` without changing
the upstream version. The tracker (https://security-tracker.debian.org/tracker/data/json, saved
to a local file and named in ``vuln_feeds``) says, per source package, CVE and release, whether
it is resolved and in which package version::

    {"openssh": {"CVE-2024-6387": {"releases": {"bookworm": {"status": "resolved",
        "fixed_version": "1:9.2p1-2+deb12u3", "repositories": {...}, "urgency": "..."}}}}}

:func:`verdict` compares the package version a banner reveals with that fix (dpkg's order:
epoch, upstream, revision; ``~`` sorts before everything).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["DebianFix", "PackageVersion", "dpkg_compare", "package_from_banner", "parse_tracker", "verdict"]

# Debian major version -> release code name (the tracker's keys).
RELEASES = {
    "7": "wheezy", "8": "jessie", "9": "stretch", "10": "buster", "11": "bullseye", "12": "bookworm",
    "13": "trixie", "14": "forky",
}  # fmt: skip
_BANNER = re.compile(r"\bDebian-(?P<revision>[0-9][A-Za-z0-9.+~]*)")
_DEB = re.compile(r"\+deb(?P<major>\d+)u\d+")
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")

Status = Literal["resolved", "open", "undetermined"]


@dataclass(frozen=True)
class DebianFix:
    status: str  # resolved, open, undetermined (as the tracker says)
    fixed_version: str  # "" when not fixed; "0" means the release was never affected


@dataclass(frozen=True)
class PackageVersion:
    """What a banner says about the Debian package behind it."""

    package: str  # source package, e.g. openssh
    version: str  # upstream-revision, without epoch: 9.2p1-2+deb12u10
    release: str  # code name when the revision names it (+deb12uN), else ""


def _order(ch: str) -> int:
    if ch == "":
        return 0
    if ch == "~":
        return -1
    if ch.isdigit():
        return 0
    if ch.isalpha():
        return ord(ch)
    return ord(ch) + 256


def _verrevcmp(a: str, b: str) -> int:
    """dpkg's verrevcmp on one part (upstream or revision)."""
    i = j = 0
    while i < len(a) or j < len(b):  # each pass consumes characters of a or b
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i] if i < len(a) and not a[i].isdigit() else "")
            bc = _order(b[j] if j < len(b) and not b[j].isdigit() else "")
            if ac != bc:
                return -1 if ac < bc else 1
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        first_diff = 0
        while i < len(a) and j < len(b) and a[i].isdigit() and b[j].isdigit():
            if not first_diff:
                first_diff = (a[i] > b[j]) - (a[i] < b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def _split(version: str) -> tuple[int, str, str]:
    epoch = 0
    head, sep, rest = version.partition(":")
    if sep and head.isdigit():
        epoch, version = int(head), rest
    upstream, sep, revision = version.rpartition("-")
    if not sep:
        return epoch, version, ""
    return epoch, upstream, revision


def dpkg_compare(a: str, b: str) -> int:
    """-1, 0 or 1 as Debian package version ``a`` is older than, equal to or newer than ``b``."""
    ea, ua, ra = _split(a.strip())
    eb, ub, rb = _split(b.strip())
    if ea != eb:
        return -1 if ea < eb else 1
    return _verrevcmp(ua, ub) or _verrevcmp(ra, rb)


def package_from_banner(package: str, upstream: str, comments: str) -> PackageVersion | None:
    """The Debian package version an SSH banner's comment reveals (``Debian-2+deb12u10``), or None."""
    found = _BANNER.search(comments)
    if found is None or not package or not upstream:
        return None
    revision = found.group("revision")
    major = _DEB.search(revision)
    release = RELEASES.get(major.group("major"), "") if major else ""
    return PackageVersion(package, f"{upstream}-{revision}", release)


def parse_tracker(doc: Any) -> dict[tuple[str, str], dict[str, DebianFix]] | None:
    """``{(package, CVE): {release: fix}}`` from the tracker's JSON, or None when it is not that."""
    if not isinstance(doc, dict) or not doc or "vulnerabilities" in doc:
        return None
    fixes: dict[tuple[str, str], dict[str, DebianFix]] = {}
    looked_like = False
    for package, issues in doc.items():
        if not isinstance(issues, dict):
            continue
        for cve, entry in issues.items():
            if not isinstance(entry, dict) or not _CVE.match(str(cve)):
                continue
            looked_like = True
            releases = entry.get("releases")
            if not isinstance(releases, dict):
                continue
            per_release = {
                str(name): DebianFix(str(info.get("status", "")), str(info.get("fixed_version") or ""))
                for name, info in releases.items()
                if isinstance(info, dict)
            }
            fixes[(str(package), str(cve))] = per_release
    return fixes if looked_like else None


def verdict(installed: PackageVersion, fixes: dict[str, DebianFix]) -> tuple[bool | None, str]:
    """(vulnerable?, why) for an installed package against the tracker's entry of one CVE.

    None when the tracker cannot tell (no entry for this release): the NVD finding stands.
    """
    candidates = [(installed.release, fixes[installed.release])] if installed.release in fixes else []
    if not candidates:  # no +debNuM marker: the release whose fix has our upstream version, if any
        upstream = _split(installed.version)[1]
        candidates = [(r, f) for r, f in fixes.items() if f.fixed_version and _split(f.fixed_version)[1] == upstream]
    if not candidates:
        return None, "the Debian tracker has no entry for this package version's release"
    release, fix = candidates[0]
    if fix.status == "resolved" and fix.fixed_version == "0":
        return False, f"Debian {release}: never affected (security tracker)"
    if fix.status == "resolved" and fix.fixed_version:
        epoch = _split(fix.fixed_version)[0]
        mine = f"{epoch}:{installed.version}" if epoch else installed.version
        if dpkg_compare(mine, fix.fixed_version) >= 0:
            return False, f"Debian {release}: fixed in {fix.fixed_version}, installed {mine} (security tracker)"
        return True, f"Debian {release}: fixed in {fix.fixed_version}, installed {mine} is older (security tracker)"
    return True, f"Debian {release}: {fix.status or 'no status'} in the security tracker, no fixed package yet"
