"""The IPAM, VLAN, link and import/export endpoints over HTTP (paths with slashes, paging, problem+json)."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from tests.conftest import auth

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory.yml"


def test_import_then_browse_ipam_vlans_links(api: httpx.Client, tokens: dict[str, str]) -> None:
    h = auth(tokens["admin"])
    r = api.post("/api/v1/import", content=EXAMPLE.read_bytes(), headers={**h, "content-type": "application/yaml"})
    assert r.status_code == 200, r.text
    assert r.json()["created"]["devices"] == 6

    v = auth(tokens["viewer"])
    page = api.get("/api/v1/prefixes", params={"limit": 3, "offset": 1}, headers=v).json()
    assert page["total"] == 9 and [p["cidr"] for p in page["items"]] == [
        "10.10.0.0/16",
        "10.10.10.0/24",
        "10.10.20.0/24",
    ]
    assert api.get("/api/v1/prefixes", params={"family": 6}, headers=v).json()["total"] == 2
    one = api.get("/api/v1/prefixes/10.10.10.0/24", headers=v).json()
    assert one["parent"] == "10.10.0.0/16" and one["used"] == 2 and one["vlan"] == "10"
    assert api.get("/api/v1/prefixes/10.10.10.0/24/next-ip", headers=v).json()["address"] == "10.10.10.2/24"
    assert api.get("/api/v1/prefixes/2001:db8:10::/48/next-ip", headers=v).json()["address"] == "2001:db8:10::2/48"
    r = api.get("/api/v1/prefixes/10.99.0.0/16", headers=v)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"

    r = api.post("/api/v1/prefixes", json={"cidr": "10.20.5.0/24", "site": "hq"}, headers=h)
    assert r.status_code == 409 and "overlaps 10.20.0.0/16 of site 'branch'" in r.json()["detail"]
    r = api.post("/api/v1/ip-addresses", json={"address": "10.10.10.2/24", "dns_name": "pc2"}, headers=h)
    assert r.status_code == 201 and r.json()["prefix"] == "10.10.10.0/24"
    assert api.get("/api/v1/prefixes/10.10.10.0/24/next-ip", headers=v).json()["address"] == "10.10.10.3/24"
    assert api.delete("/api/v1/ip-addresses/10.10.10.2", headers=h).status_code == 204

    vlans = api.get("/api/v1/vlans", params={"site": "hq"}, headers=v).json()
    assert [x["vid"] for x in vlans["items"]] == [10, 20]
    assert api.get("/api/v1/vlans/99", headers=v).json()["prefixes"] == ["192.0.2.0/24"]
    assert api.get("/api/v1/vlans/10", headers=v).status_code == 404  # a site VLAN needs ?site=

    links = api.get("/api/v1/links", params={"device": "hq-fw1"}, headers=v).json()
    assert links["total"] == 2
    wan = api.get("/api/v1/links/br-rtr1/ge-0/0/0", headers=v).json()
    assert (wan["a"], wan["kind"], wan["source"]) == ("hq-fw1", "wan", "import")
    assert api.delete("/api/v1/links/br-rtr1/ge-0/0/0", headers=h).status_code == 204
    assert api.get("/api/v1/links", headers=v).json()["total"] == 4


def test_export_formats(api: httpx.Client, tokens: dict[str, str]) -> None:
    h = auth(tokens["admin"])
    api.post("/api/v1/import", content=EXAMPLE.read_bytes(), headers={**h, "content-type": "application/yaml"})
    doc = api.get("/api/v1/export", headers=auth(tokens["viewer"])).json()
    as_yaml = yaml.safe_load(api.get("/api/v1/export", params={"format": "yaml"}, headers=h).text)
    assert [d["name"] for d in doc["devices"]] == [d["name"] for d in as_yaml["devices"]]
    ansible = yaml.safe_load(api.get("/api/v1/export", params={"format": "ansible"}, headers=h).text)
    assert "site_hq" in ansible["all"]["children"]
    assert api.get("/api/v1/export", params={"format": "xml"}, headers=h).status_code == 422
