"""/map, /map/data and /map/spof through the in-process TestClient, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient

from netwarden.api.app import create_app
from netwarden.context import Context
from netwarden.discover.schemas import TopoNode
from netwarden.web import topology as web_topology
from tests.web.map_support import Network, add_users, small_network
from tests.web.support import PASSWORDS, login


@pytest.fixture
def network(ctx: Context) -> Network:
    add_users(ctx)
    return small_network(ctx)


@pytest.fixture
def client(ctx: Context, network: Network) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), base_url="http://testserver") as c:
        yield c


def _viewer(client: TestClient) -> None:
    assert login(client, "viewer", PASSWORDS["viewer"]).status_code == 303


def test_the_map_needs_a_session(client: TestClient) -> None:
    for path in ("/map", "/map/data", "/map/spof"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        url = urlparse(r.headers["location"])
        assert url.path == "/login" and parse_qs(url.query)["next"] == [path]


def test_map_data_holds_every_device_link_and_site(client: TestClient, network: Network) -> None:
    _viewer(client)
    r = client.get("/map/data")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = r.json()
    assert {n["name"]: n["status"] for n in data["nodes"]} == network.status
    assert {n["name"]: n["site"] for n in data["nodes"]} == network.site
    ids = [e["id"] for e in data["edges"]]
    assert len(ids) == len(set(ids))
    physical = sorted((e["a"], e["a_port"], e["b"], e["b_port"]) for e in data["edges"] if e["kind"] == "physical")
    assert physical == sorted(network.physical)
    l3 = sorted(tuple(sorted((e["a"], e["b"]))) for e in data["edges"] if e["kind"] == "l3")
    assert l3 == sorted(tuple(sorted(p)) for p in network.l3)
    assert all(e["subnet"] for e in data["edges"] if e["kind"] == "l3")
    sites = {s["name"]: (s["count"], s["worst"]) for s in data["sites"]}
    assert sites == {"hq": (3, "active"), "branch": (2, "missing"), "dc": (3, "offline")}
    assert data["grouped"] is False and data["statuses"][:2] == ["offline", "missing"]


def test_grouping_follows_the_size_or_the_users_choice(
    client: TestClient, network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    _viewer(client)
    assert client.get("/map/data", params={"group": "sites"}).json()["grouped"] is True
    monkeypatch.setattr(web_topology, "GROUP_ABOVE", len(network.status) - 1)
    assert client.get("/map/data").json()["grouped"] is True
    assert client.get("/map/data", params={"group": "devices"}).json()["grouped"] is False
    bad = client.get("/map/data", params={"group": "everything"})
    assert bad.status_code == 400 and "text/html" in bad.headers["content-type"]


def test_spof_names_the_articulation_point_and_the_bridge_by_edge_id(client: TestClient) -> None:
    _viewer(client)
    edges = {e["id"]: e for e in client.get("/map/data").json()["edges"]}
    spof = client.get("/map/spof").json()
    assert [c["name"] for c in spof["devices"]] == ["br-rtr"]
    assert "br-sw" in spof["devices"][0]["cut_off"]
    assert len(spof["links"]) == 1
    (edge_id,) = spof["links"][0]["edges"]
    assert {edges[edge_id]["a"], edges[edge_id]["b"]} == {"br-rtr", "br-sw"}


def test_the_page_loads_the_vendored_script_and_shows_the_legend(client: TestClient) -> None:
    _viewer(client)
    page = client.get("/map", params={"focus": "br-sw"})
    assert page.status_code == 200
    assert '<script src="/static/vendor/cytoscape-3.34.4.min.js"' in page.text
    assert 'data-focus="br-sw"' in page.text
    for status in ("active", "planned", "offline", "missing", "decommissioning"):
        assert f'data-status="{status}"' in page.text
    script = client.get("/static/vendor/cytoscape-3.34.4.min.js")
    assert script.status_code == 200 and "cytoscape" in script.text[:2000].lower()
    assert client.get("/static/map.js").status_code == 200


def _node(site: str, status: str, name: str) -> TopoNode:
    return TopoNode(name=name, site=site, role="", platform="linux", status=status, mgmt_ip=None)


def test_a_sites_colour_is_its_worst_device() -> None:
    nodes = [
        _node("a", "active", "a1"),
        _node("a", "planned", "a2"),
        _node("b", "planned", "b1"),
        _node("c", "active", "c1"),
        _node("c", "missing", "c2"),
        _node("c", "offline", "c3"),
        _node("d", "decommissioning", "d1"),
        _node("d", "weird", "d2"),
    ]
    worst = {s.name: (s.worst, s.count) for s in web_topology.site_summaries(nodes)}
    assert worst == {"a": ("active", 2), "b": ("planned", 1), "c": ("offline", 3), "d": ("decommissioning", 2)}
