"""The topology map (/map) in Debian's Chromium: what it draws, clicks, search, SPOF, and grouping by site.

The map draws on a canvas, so the tests read what Cytoscape holds (``window.netwardenMap.cy``) and
click at the rendered positions of its nodes with the real mouse.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from netwarden.context import Context
from tests.web.map_support import Network, add_users, large_network, serve, small_network
from tests.web.support import PASSWORDS

pytestmark = pytest.mark.web

Page = Any  # playwright.sync_api.Page


@dataclass
class MapServer:
    url: str
    network: Network


def _server(tmp_path_factory: pytest.TempPathFactory, build: Any) -> Iterator[MapServer]:
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("NETWARDEN_")}
    ctx = Context.create(data_dir=tmp_path_factory.mktemp("map") / "data")
    add_users(ctx)
    network = build(ctx)
    try:
        with serve(ctx) as url:
            yield MapServer(url, network)
    finally:
        os.environ.update(saved)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MapServer]:
    yield from _server(tmp_path_factory, small_network)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MapServer]:
    yield from _server(tmp_path_factory, large_network)


def _login(page: Page, server: MapServer, path: str = "/map") -> None:
    page.goto(server.url + "/login?next=" + path)
    page.fill("#username", "viewer")
    page.fill("#password", PASSWORDS["viewer"])
    page.click("button[type=submit]")
    _wait_ready(page)


def _wait_ready(page: Page) -> None:
    page.wait_for_function("window.netwardenMap && (window.netwardenMap.ready || window.netwardenMap.error)")
    assert page.evaluate("window.netwardenMap.error") is None
    _settled(page)


def _settled(page: Page) -> None:
    page.wait_for_function("!window.netwardenMap.cy.animated()")


def _js(page: Page, body: str) -> Any:
    """Evaluate ``body`` with ``cy`` and ``map`` bound."""
    return page.evaluate(f"(() => {{ const map = window.netwardenMap; const cy = map.cy; {body} }})()")


def _click_node(page: Page, node_id: str, double: bool = False) -> None:
    _settled(page)
    x, y = _js(page, f"const p = cy.getElementById({node_id!r}).renderedPosition(); return [p.x, p.y];")
    box = page.locator("#map").bounding_box()
    assert 0 < x < box["width"] and 0 < y < box["height"], f"{node_id} is outside the visible map"
    if double:
        page.mouse.dblclick(box["x"] + x, box["y"] + y)
    else:
        page.mouse.click(box["x"] + x, box["y"] + y)


def _legend(page: Page) -> dict[str, str]:
    """Status -> the colour of its legend swatch, as rgb(r,g,b) without spaces."""
    pairs = page.evaluate(
        "Array.from(document.querySelectorAll('#map-legend [data-status]'))"
        ".map(e => [e.dataset.status, getComputedStyle(e.querySelector('.swatch')).backgroundColor])"
    )
    return {status: colour.replace(" ", "") for status, colour in pairs}


def _colours(page: Page, selector: str) -> dict[str, str]:
    pairs = _js(page, f"return cy.nodes({selector!r}).map(n => [n.data('name'), n.style('background-color')]);")
    return {name: colour.replace(" ", "") for name, colour in pairs}


# ---------------------------------------------------------------- access


def test_anonymous_user_is_sent_to_login_and_back_to_the_map(page: Page, small: MapServer) -> None:
    page.goto(small.url + "/map")
    url = urlparse(page.url)
    assert url.path == "/login" and parse_qs(url.query)["next"] == ["/map"]
    page.fill("#username", "viewer")
    page.fill("#password", PASSWORDS["viewer"])
    page.click("button[type=submit]")
    _wait_ready(page)
    assert urlparse(page.url).path == "/map"
    assert page.get_attribute("nav a[href='/map']", "aria-current") == "page"


# ---------------------------------------------------------------- a small network, drawn whole


def test_every_device_and_link_is_drawn_coloured_by_status(page: Page, small: MapServer) -> None:
    _login(page, small)
    net = small.network
    assert _js(page, "return map.grouped;") is False
    assert sorted(_js(page, "return cy.nodes('.device').map(n => n.data('name'));")) == sorted(net.status)
    # Devices sit in their site's box.
    parents = dict(_js(page, "return cy.nodes('.device').map(n => [n.data('name'), n.parent().data('name')]);"))
    assert parents == net.site
    edges = _js(
        page,
        "return cy.edges().map(e => [e.source().data('name'), e.target().data('name'), e.data('kind'),"
        " e.style('line-style')]);",
    )
    physical = sorted(tuple(sorted((a, b))) for a, b, kind, _ in edges if kind == "physical")
    l3 = sorted(tuple(sorted((a, b))) for a, b, kind, _ in edges if kind == "l3")
    assert physical == sorted(tuple(sorted((a, b))) for a, _, b, _ in net.physical)
    assert l3 == sorted(tuple(sorted(pair)) for pair in net.l3)
    styles = {kind: {style for _, _, k, style in edges if k == kind} for kind in ("physical", "l3")}
    assert styles == {"physical": {"solid"}, "l3": {"dashed"}}
    legend = _legend(page)
    colours = _colours(page, ".device")
    assert colours == {name: legend[status] for name, status in net.status.items()}
    assert len({legend[s] for s in set(net.status.values())}) == len(set(net.status.values())) == 5


def test_clicking_a_device_shows_its_facts_and_page(page: Page, small: MapServer) -> None:
    _login(page, small)
    _click_node(page, "d:br-sw")
    page.wait_for_selector("#panel-body:not([hidden])")
    assert page.inner_text("#panel-title .panel-name") == "br-sw"
    assert page.inner_text("#panel-title .pill") == "missing"
    facts = page.inner_text("#panel-facts")
    assert "branch" in facts and "10.9.1.2" in facts and "frr" in facts
    assert page.inner_text("#panel-links").count("br-rtr") == 1
    assert page.get_attribute("#panel-link", "href") == "/devices/br-sw"
    page.click("#panel-link")
    page.wait_for_url("**/devices/br-sw")
    assert page.inner_text("#device-name") == "br-sw"
    # Back on the map, a double-click opens a device's page at once.
    page.goto(small.url + "/map")
    _wait_ready(page)
    _click_node(page, "d:dc-fw", double=True)
    page.wait_for_url("**/devices/dc-fw")
    assert page.inner_text("#device-name") == "dc-fw"


def test_the_spof_toggle_marks_the_articulation_point_and_its_bridge(page: Page, small: MapServer) -> None:
    _login(page, small)
    assert _js(page, "return cy.elements('.spof, .bridge').length;") == 0
    page.check("#spof-toggle")
    page.wait_for_selector("#spof-summary:not([hidden])")
    assert _js(page, "return cy.nodes('.spof').map(n => n.data('name'));") == ["br-rtr"]
    bridges = _js(page, "return cy.edges('.bridge').map(e => [e.source().data('name'), e.target().data('name')]);")
    assert [sorted(b) for b in bridges] == [["br-rtr", "br-sw"]]
    items = page.locator("#spof-list li")
    assert [items.nth(i).get_attribute("data-name") for i in range(items.count())] == [
        "br-rtr",
        "br-rtr:e2--br-sw:e0",
    ]
    # The device's own panel says so too.
    page.click("#spof-list a.find")
    page.wait_for_selector("#panel-body:not([hidden])")
    assert page.inner_text("#panel-title .panel-name") == "br-rtr"
    assert "Single point of failure" in page.inner_text("#panel-extra")
    page.uncheck("#spof-toggle")
    page.wait_for_selector("#spof-summary", state="hidden")
    assert _js(page, "return cy.elements('.spof, .bridge').length;") == 0


def test_search_finds_and_centres_a_device(page: Page, small: MapServer) -> None:
    _login(page, small)
    _js(page, "cy.zoom(0.3); cy.pan({x: -2000, y: -2000}); return null;")
    page.fill("#map-search", "CLOUD")
    page.press("#map-search", "Enter")
    _settled(page)
    assert page.inner_text("#panel-title .panel-name") == "cloud-gw"
    assert _js(page, "return cy.nodes(':selected').map(n => n.data('name'));") == ["cloud-gw"]
    # Centred: the middle of the map falls on the device (with its label).
    box = _js(page, "const b = cy.getElementById('d:cloud-gw').renderedBoundingBox(); return [b.x1, b.x2, b.y1, b.y2];")
    width, height = _js(page, "return [cy.width(), cy.height()];")
    assert box[0] < width / 2 < box[1] and box[2] < height / 2 < box[3]
    # ?focus= does the same on load, for links from other pages.
    page.goto(small.url + "/map?focus=br-sw")
    _wait_ready(page)
    assert page.inner_text("#panel-title .panel-name") == "br-sw"
    page.fill("#map-search", "no-such-box")
    page.press("#map-search", "Enter")
    assert "No device or site matches" in page.inner_text("#map-status")


# ---------------------------------------------------------------- 1,000 devices in 10 sites


def _closed_sites(page: Page) -> list[str]:
    return sorted(_js(page, "return cy.nodes('.site.closed').map(n => n.data('name'));"))


def test_a_large_network_opens_as_site_groups(page: Page, large: MapServer) -> None:
    _login(page, large)
    net = large.network
    sites = sorted(set(net.site.values()))
    assert _js(page, "return map.grouped;") is True
    assert isinstance(_js(page, "return map.timings.interactive_ms;"), int)
    assert _closed_sites(page) == sites
    assert _js(page, "return cy.nodes('.device').length;") == 0
    labels = dict(_js(page, "return cy.nodes('.site').map(n => [n.data('name'), n.data('label')]);"))
    for site in sites:
        count = sum(1 for s in net.site.values() if s == site)
        assert f"{count} devices" in labels[site], labels[site]
    # A site takes the colour of its worst device: offline beats missing beats active.
    legend = _legend(page)
    colours = _colours(page, ".site")
    for site in sites:
        statuses = {net.status[d] for d, s in net.site.items() if s == site}
        worst = next(s for s in ("offline", "missing", "active") if s in statuses)
        assert colours[site] == legend[worst], site
    assert colours["site01"] == legend["offline"] and colours["site02"] == legend["missing"]
    # Links between sites are folded into one edge per pair of sites.
    folded = _js(
        page, "return cy.edges().map(e => [e.source().data('name'), e.target().data('name'), e.data('count')]);"
    )
    inter = sorted(
        (tuple(sorted((net.site[a], net.site[b]))), 1) for a, _, b, _ in net.physical if net.site[a] != net.site[b]
    )
    assert sorted((tuple(sorted((a, b))), n) for a, b, n in folded) == inter


def test_clicking_a_site_shows_its_devices_and_keeps_the_others_closed(page: Page, large: MapServer) -> None:
    _login(page, large)
    net = large.network
    _click_node(page, "s:site03")
    page.wait_for_selector("#panel-body:not([hidden])")
    assert page.inner_text("#panel-title .panel-name") == "Site site03"
    members = sorted(d for d, s in net.site.items() if s == "site03")
    shown = _js(page, "return cy.nodes('.device').map(n => [n.data('name'), n.parent().data('name')]);")
    assert sorted(name for name, _ in shown) == members
    assert {parent for _, parent in shown} == {"site03"}
    assert _closed_sites(page) == sorted(set(net.site.values()) - {"site03"})
    # site03's own links are drawn one by one; its core's links to the closed sites end on those sites.
    links = _js(page, "return cy.edges('.link').length;")
    assert links == sum(1 for a, _, b, _ in net.physical if net.site[a] == net.site[b] == "site03")
    ends = _js(page, "return cy.edges('.folded').map(e => [e.source().data('name'), e.target().data('name')]);")
    assert sorted(sorted(e) for e in ends if "site03-core" in e) == [
        ["site02", "site03-core"],
        ["site03-core", "site04"],
    ]
    # The open site does not cover any closed one.
    overlaps = _js(
        page,
        "const open = cy.getElementById('s:site03').boundingBox();"
        "return cy.nodes('.site.closed').filter(n => { const b = n.boundingBox();"
        " return !(b.x2 < open.x1 || b.x1 > open.x2 || b.y2 < open.y1 || b.y1 > open.y2); })"
        ".map(n => n.data('name'));",
    )
    assert overlaps == []
    # A device inside the open site is clickable like on a small map.
    _js(page, "cy.fit(cy.getElementById('s:site03'), 30); return null;")
    _click_node(page, "d:site03-sw025")
    page.wait_for_function("document.querySelector('#panel-title .panel-name').textContent === 'site03-sw025'")
    assert page.inner_text("#panel-title .pill") == net.status["site03-sw025"] == "missing"
    # Closing it from the site's panel folds it back.
    page.fill("#map-search", "site03")
    page.press("#map-search", "Enter")
    page.click("#panel-site-toggle")
    assert _js(page, "return cy.nodes('.device').length;") == 0
    assert len(_closed_sites(page)) == len(set(net.site.values()))


def test_search_opens_the_site_of_the_device_it_finds(page: Page, large: MapServer) -> None:
    _login(page, large)
    page.fill("#map-search", "site07-sw050")
    page.press("#map-search", "Enter")
    _settled(page)
    assert page.inner_text("#panel-title .panel-name") == "site07-sw050"
    assert _js(page, "return cy.nodes(':selected').map(n => n.data('name'));") == ["site07-sw050"]
    assert "site07" not in _closed_sites(page)
    assert _js(page, "return cy.nodes('.device').length;") == 100
    page.click("#map-collapse")
    assert _js(page, "return cy.nodes('.device').length;") == 0
