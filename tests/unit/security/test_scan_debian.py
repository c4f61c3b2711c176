"""Distribution advisories: dpkg's version order (checked against dpkg itself), banners that name a
Debian package, and the security tracker clearing NVD matches the package already fixes.

tests/data/scan/debian-tracker-sample.json is our own sample in the shape of
https://security-tracker.debian.org/tracker/data/json (openssh's entries for bookworm and bullseye).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netwarden.security.scan import debian, feeds, matching, products
from netwarden.security.scan.schemas import HostOut, ServiceOut, SshDetails

DATA = Path(__file__).resolve().parents[2] / "data" / "scan"


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u10"),
        ("1.0~rc1-1", "1.0-1"),
        ("1:9.9-1", "2:1.0-1"),
        ("1.0a-1", "1.0+b1-1"),  # letters sort before other characters
        ("8.4.4-1.1~deb12u1", "8.4.4-1.1"),
        ("9.2p1-2", "9.2p1-2+deb12u1"),
    ],
)
def test_dpkg_order(older: str, newer: str) -> None:
    assert debian.dpkg_compare(older, newer) == -1 and debian.dpkg_compare(newer, older) == 1
    assert debian.dpkg_compare(newer, newer) == 0
    assert debian.dpkg_compare("1.0", "1.0-0") == 0


_PART = st.text(alphabet="0123456789abz.+~", min_size=1, max_size=6).filter(lambda t: t[0].isdigit())
_VERSION = st.builds(
    lambda e, u, r: (f"{e}:" if e else "") + u + (f"-{r}" if r else ""),
    st.sampled_from([0, 0, 1, 2]),
    _PART,
    st.one_of(st.just(""), _PART),
)


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is not installed")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_VERSION, _VERSION)
def test_dpkg_compare_agrees_with_dpkg(a: str, b: str) -> None:
    def dpkg(op: str) -> bool:
        return subprocess.run(["dpkg", "--compare-versions", a, op, b], check=False).returncode == 0

    expected = -1 if dpkg("lt") else 1 if dpkg("gt") else 0
    assert debian.dpkg_compare(a, b) == expected, (a, b)


def test_banner_names_the_package() -> None:
    found = debian.package_from_banner("openssh", "9.2p1", "Debian-2+deb12u10")
    assert found == debian.PackageVersion("openssh", "9.2p1-2+deb12u10", "bookworm")
    assert debian.package_from_banner("openssh", "9.2p1", "Debian-2") == debian.PackageVersion("openssh", "9.2p1-2", "")
    assert debian.package_from_banner("openssh", "8.9p1", "Ubuntu-3ubuntu0.10") is None


def ssh_host(comments: str, version: str = "9.2p1") -> HostOut:
    details = SshDetails(ident=f"SSH-2.0-OpenSSH_{version} {comments}", protocol="2.0",
                         software=f"OpenSSH_{version}", comments=comments)  # fmt: skip
    service = ServiceOut(port=22, service="ssh", banner=details.ident, ssh=details)
    product = products.identify(service)
    assert product is not None
    return HostOut(address="127.0.0.1", device="r1", services=[service], products=[product])


@pytest.fixture(scope="module")
def both() -> list[feeds.Feed]:
    return feeds.load_feeds([DATA / "nvd-cve-2.0-sample.json", DATA / "debian-tracker-sample.json"])


def test_the_tracker_reads_as_a_feed(both: list[feeds.Feed]) -> None:
    tracker = both[1]
    assert tracker.format == "Debian security tracker" and tracker.advisories == ()
    assert tracker.debian[("openssh", "CVE-2024-6387")]["bookworm"].fixed_version == "1:9.2p1-2+deb12u3"


@pytest.mark.parametrize(
    ("comments", "reported", "cleared"),
    [
        ("Debian-2+deb12u10", set(), {"CVE-2024-6387", "CVE-2023-38408"}),  # both fixed by u3 and u1
        ("Debian-2+deb12u2", {"CVE-2024-6387"}, {"CVE-2023-38408"}),  # regreSSHion fixed only in u3
        ("Debian-2", {"CVE-2024-6387", "CVE-2023-38408"}, set()),  # bookworm's first package: older than both
        ("", {"CVE-2024-6387", "CVE-2023-38408"}, set()),  # upstream build: NVD's word stands
    ],
)
def test_the_tracker_clears_fixed_packages(
    both: list[feeds.Feed], comments: str, reported: set[str], cleared: set[str]
) -> None:
    drafts, gone = matching.vulnerability_drafts(ssh_host(comments), both)
    assert {d.cve for d in drafts} == reported
    assert {c.cve for c in gone} == cleared
    for draft in drafts:
        if comments.startswith("Debian-"):
            assert any("security tracker" in e and "is older" in e for e in draft.evidence), draft.evidence


def test_bullseye_was_never_affected_by_regresshion(both: list[feeds.Feed]) -> None:
    drafts, gone = matching.vulnerability_drafts(ssh_host("Debian-5+deb11u5", "8.4p1"), both)
    assert {c.cve: c.reason for c in gone}["CVE-2023-38408"].startswith("Debian bullseye: fixed in 1:8.4p1-5+deb11u2")
    assert drafts == []  # 8.4p1 is outside CVE-2024-6387's NVD range anyway


def test_verdicts() -> None:
    installed = debian.PackageVersion("openssh", "9.2p1-2+deb12u1", "bookworm")
    fixes = {"bookworm": debian.DebianFix("open", "")}
    assert debian.verdict(installed, fixes)[0] is True
    assert debian.verdict(installed, {"bookworm": debian.DebianFix("resolved", "0")})[0] is False
    assert debian.verdict(installed, {"buster": debian.DebianFix("resolved", "1:7.9p1-10+deb10u3")})[0] is None
