"""Vulnerability feeds: reading NVD CVE 2.0 JSON and matching products against its configurations.

tests/data/scan/nvd-cve-2.0-sample.json is our own sample in the NVD 2.0 feed shape, with real CVEs
and the configurations NVD publishes for them (trimmed): OpenSSH (CVE-2024-6387 regreSSHion with its
two ranges, CVE-2023-38408), FRR (CVE-2023-38802 from 7.5.1 through 9.0, CVE-2023-41358 through 9.0),
nginx (CVE-2022-41741 fixed in 1.22.1 and 1.23.2, CVE-2024-7347 local attack vector), Cisco IOS XE
(CVE-2023-20198, exact versions), Junos on given hardware (CVE-2023-36845, an AND of an OS node and a
hardware node) and one entry still awaiting analysis (no score, no configuration).
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from netwarden.errors import InvalidInput
from netwarden.security.scan import feeds, matching, products
from netwarden.security.scan.schemas import HostOut, Product

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "scan" / "nvd-cve-2.0-sample.json"


@pytest.fixture(scope="module")
def sample() -> feeds.Feed:
    return feeds.load_feed(SAMPLE)


def test_the_sample_feed_reads_whole(sample: feeds.Feed) -> None:
    raw = json.loads(SAMPLE.read_text())
    assert len(sample.advisories) == len(raw["vulnerabilities"]) and sample.skipped == 0
    by_id = {a.id: a for a in sample.advisories}
    assert (by_id["CVE-2024-6387"].score, by_id["CVE-2024-6387"].attack_vector) == (8.1, "NETWORK")
    assert (by_id["CVE-2024-7347"].score, by_id["CVE-2024-7347"].attack_vector) == (4.7, "LOCAL")
    assert by_id["CVE-2026-0001"].score is None and by_id["CVE-2026-0001"].configurations == ()
    junos = by_id["CVE-2023-36845"].configurations[0]
    assert junos.operator == "AND" and [n.matches[0].part for n in junos.nodes] == ["o", "h"]
    assert by_id["CVE-2024-6387"].configurations[0].nodes[0].matches[1].describe() == "openssh 8.5p1 to before 9.8p1"
    assert by_id["CVE-2023-38802"].title.startswith("FRRouting FRR 7.5.1 through 9.0")


def banner(name: str, version: str, port: int = 22) -> Product:
    rule = next(r for r in products.rules().banners if r.name == name)
    vendor, product = rule.cpe[0].split(":")
    return Product(
        name=name, vendor=vendor, product=product, also=rule.cpe[1:], version=version, source="banner", port=port
    )


def inventory(platform: str, version: str) -> Product:
    found = products.inventory_product(platform, version)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("product", "expected"),
    [
        (banner("OpenSSH", "9.2p1"), {"CVE-2024-6387", "CVE-2023-38408"}),
        (banner("OpenSSH", "9.3p2"), {"CVE-2024-6387"}),
        (banner("OpenSSH", "8.4p1"), {"CVE-2023-38408"}),  # before regreSSHion's 8.5p1
        (banner("OpenSSH", "4.3p2"), {"CVE-2024-6387", "CVE-2023-38408"}),  # the original CVE-2006-5051 range
        (banner("OpenSSH", "9.8p1"), set()),
        (inventory("frr", "8.4.4"), {"CVE-2023-38802", "CVE-2023-41358"}),
        (inventory("frr", "9.0"), {"CVE-2023-38802", "CVE-2023-41358"}),  # "through 9.0" includes it
        (inventory("frr", "9.0.1"), set()),
        (inventory("frr", "7.5"), {"CVE-2023-41358"}),  # 38802 starts at 7.5.1
        (banner("nginx", "1.22.1", 80), {"CVE-2024-7347"}),  # 41741 is fixed in 1.22.1
        (banner("nginx", "1.22.0", 80), {"CVE-2022-41741", "CVE-2024-7347"}),
        (banner("nginx", "1.23.1", 80), {"CVE-2022-41741", "CVE-2024-7347"}),
        (banner("nginx", "1.26.2", 80), set()),
        (banner("nginx", "1.27.0", 80), {"CVE-2024-7347"}),
        (banner("nginx", "", 80), set()),  # no version in the banner: bounded ranges cannot hold
        (inventory("cisco_xe", "17.9.1"), {"CVE-2023-20198"}),
        (inventory("cisco_xe", "17.9.2"), set()),
        (inventory("cisco_ios", "17.9.1"), set()),  # IOS is not IOS XE
        (inventory("juniper_junos", "21.4R3-S4"), {"CVE-2023-36845"}),
        (inventory("juniper_junos", "21.4R3-S5"), set()),
        (inventory("juniper_junos", "19.4R3-S9"), {"CVE-2023-36845"}),
    ],
)
def test_products_match_the_advisories_that_name_them(sample: feeds.Feed, product: Product, expected: set[str]) -> None:
    found = matching.match_host([product], feeds.index([sample]))
    assert {m.advisory.id for m in found} == expected


def test_hardware_it_cannot_see_is_reported_as_unverified(sample: feeds.Feed) -> None:
    host = HostOut(address="127.0.0.1", device="edge", products=[inventory("juniper_junos", "21.4R3-S4")])
    (draft,), cleared = matching.vulnerability_drafts(host, [sample])
    assert cleared == []
    assert draft.cve == "CVE-2023-36845"
    assert any("h:juniper:ex2300" in e and "not verified" in e for e in draft.evidence)


def test_exposure_follows_reach_and_attack_vector(sample: feeds.Feed) -> None:
    host = HostOut(
        address="127.0.0.1",
        products=[inventory("frr", "8.4.4"), banner("nginx", "1.22.1", 80), banner("OpenSSH", "9.2p1", 22)],
    )
    drafts = {d.cve: d for d in matching.vulnerability_drafts(host, [sample])[0]}
    assert drafts["CVE-2023-38802"].exposure == pytest.approx(0.6)  # inventory version, BGP not seen from here
    assert drafts["CVE-2023-38802"].port is None
    assert drafts["CVE-2024-7347"].exposure == pytest.approx(0.4)  # local attack vector
    assert (drafts["CVE-2024-6387"].exposure, drafts["CVE-2024-6387"].port) == (1.0, 22)
    assert "9.8p1 and later are fixed" in drafts["CVE-2024-6387"].remediation
    assert "releases after 9.0 are fixed" in drafts["CVE-2023-41358"].remediation


def test_gzip_feeds_read_the_same(sample: feeds.Feed, tmp_path: Path) -> None:
    packed = tmp_path / "nvdcve-2.0-2024.json.gz"
    with SAMPLE.open("rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    again = feeds.load_feeds([packed, packed])  # the same file twice is read once
    assert len(again) == 1 and [a.id for a in again[0].advisories] == [a.id for a in sample.advisories]


def test_malformed_entries_are_skipped_and_counted(tmp_path: Path) -> None:
    doc = json.loads(SAMPLE.read_text())
    doc["vulnerabilities"] += [{"cve": {"descriptions": []}}, "junk", {"nocve": 1}]
    doc["vulnerabilities"][0]["cve"]["configurations"][0]["nodes"][0]["cpeMatch"].append({"criteria": "cpe:2.2:bad"})
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(doc))
    feed = feeds.load_feed(path)
    assert feed.skipped == 3 and len(feed.advisories) == len(doc["vulnerabilities"]) - 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not JSON"),
        (b'{"CVE_Items": []}', "neither an NVD CVE 2.0 document"),
        (b"\x1f\x8bxx", "cannot read"),
    ],
)
def test_bad_feeds_name_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message) as raised:
        feeds.load_feed(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)
    with pytest.raises(InvalidInput, match="no such file"):
        feeds.load_feed(tmp_path / "missing.json")


def test_cpe_names_with_escaped_colons() -> None:
    assert feeds.parse_cpe(r"cpe:2.3:a:foo\:bar:web_ui:1.0:*:*:*:*:*:*:*") == ("a", "foo:bar", "web_ui", "1.0", "*")
    assert feeds.parse_cpe("cpe:/a:openbsd:openssh:9.2") is None
