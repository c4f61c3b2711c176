"""Alerts, dashboard, graphs and the map's alert colours in Debian's Chromium against a real uvicorn server.

The live paths are real: an alert ingested into the store while a page is open reaches the page through
the server-sent event stream, and the tests wait on the page's DOM (Playwright's expect, bounded), never
on a fixed delay.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from netwarden.context import Context
from netwarden.monitor.records import Point
from tests.web import alerts_support as lab
from tests.web.map_support import serve
from tests.web.support import browser_login, playwright_expect

pytestmark = pytest.mark.web

Page = Any  # playwright.sync_api.Page
LIVE_TIMEOUT_MS = 15_000


@dataclass
class Server:
    url: str
    ctx: Context


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("NETWARDEN_")}
    ctx = Context.create(data_dir=tmp_path_factory.mktemp("alerts") / "data")
    lab.build(ctx)
    try:
        with serve(ctx) as url:
            yield Server(url, ctx)
    finally:
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def quiet(server: Server) -> None:
    """Each test starts with no active alert."""
    lab.resolve_all(server.ctx)


def _live(page: Page) -> None:
    """Wait until the page's alert stream is connected."""
    playwright_expect()(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=LIVE_TIMEOUT_MS)


# ---------------------------------------------------------------- the alerts page


def test_the_alerts_page_shows_a_new_alert_live(page: Page, server: Server) -> None:
    expect = playwright_expect()
    browser_login(page, server.url, "viewer", "/alerts")
    expect(page.locator("#alert-table tbody")).to_contain_text("Nothing is broken")
    _live(page)
    root = lab.stub_site_down(server.ctx)  # written to the store while the page is open
    row = page.locator(f"#alert-{root.id}")
    expect(row).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(row).to_have_attribute("data-severity", "critical")
    expect(row).to_contain_text("r5 does not answer ping")
    expect(row).to_contain_text("cuts off 2 devices")
    assert page.locator("#alert-table button.ack").count() == 0  # a viewer gets no Ack button
    # It clears by itself when r5 answers again: the row leaves the (active) list.
    lab.ingest(server.ctx, lab.ev("device_up", "r5"))
    expect(row).to_have_count(0, timeout=LIVE_TIMEOUT_MS)


def test_an_operator_filters_and_acknowledges(page: Page, server: Server) -> None:
    expect = playwright_expect()
    root = lab.stub_site_down(server.ctx)
    lab.ingest(server.ctx, lab.ev("device_down", "srv1", severity="minor", summary="srv1 does not answer ping"))
    [srv] = lab.active(server.ctx, device="srv1")
    browser_login(page, server.url, "operator", "/alerts")
    rows = page.locator("#alert-table tbody tr[data-alert-id]")
    expect(rows).to_have_count(2)
    page.select_option("#filter-severity", "critical")
    expect(rows).to_have_count(1)
    expect(page.locator(f"#alert-{root.id}")).to_be_visible()
    assert "severity=critical" in page.url
    page.select_option("#filter-severity", "")
    page.fill("#filter-device", "srv")
    expect(rows).to_have_count(1)
    expect(page.locator(f"#alert-{srv.id}")).to_be_visible()
    page.fill("#filter-device", "")
    expect(rows).to_have_count(2)
    page.click(f'button[data-ack="{root.id}"]')
    expect(page.locator(f"#alert-{root.id}")).to_have_attribute("data-state", "acknowledged")
    expect(page.locator(f"#alert-{root.id} td.act")).to_contain_text("by operator")
    assert lab.alert(server.ctx, root.id).acknowledged_by == "operator"
    # The detail page: acknowledge the other one with a note.
    page.click(f"#alert-{srv.id} a.summary")
    page.fill("#ack-form input[name=note]", "ticket 4711")
    page.click("#ack-form button[type=submit]")
    expect(page.locator("#alert-state")).to_have_text("acknowledged")
    expect(page.locator("#alert-note")).to_have_text("ticket 4711")


# ---------------------------------------------------------------- the dashboard


def test_the_dashboard_counts_and_follows_new_alerts(page: Page, server: Server) -> None:
    expect = playwright_expect()
    now = time.time()
    up, down = ["r1", "r2", "r3"], ["fw1"]
    lab.write(
        server.ctx,
        [Point(d, "up", "", now - 10, 1.0) for d in up]
        + [Point(d, "up", "", now - 10, 0.0) for d in down]
        + [Point("r2", "if_util_pct", "eth2", now - 10, 88.0), Point("r3", "if_util_pct", "eth1", now - 10, 12.0)],
        now,
    )
    browser_login(page, server.url, "viewer", "/")
    expect(page.locator("#count-up .num")).to_have_text(str(len(up)))
    expect(page.locator("#count-down .num")).to_have_text(str(len(down)))
    expect(page.locator("#down-devices")).to_contain_text("fw1")
    worst = page.locator("#worst-interfaces tr[data-device]")
    assert [worst.nth(i).get_attribute("data-device") for i in range(worst.count())][:2] == ["r2", "r3"]
    expect(page.locator("#count-alerts .num")).to_have_text("0")
    _live(page)
    lab.stub_site_down(server.ctx)
    lab.ingest(server.ctx, lab.ev("device_down", "srv1", severity="major"))
    expect(page.locator("#count-alerts .num")).to_have_text("2", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator('#severity-table tr[data-severity="critical"] .sev-count')).to_have_text("1")
    expect(page.locator('#severity-table tr[data-severity="major"] .sev-count')).to_have_text("1")
    expect(page.locator("#recent-alerts")).to_contain_text("r5 does not answer ping")


# ---------------------------------------------------------------- graphs


def _painted(page: Page, selector: str) -> int:
    """Pixels of the figure's uPlot canvas that are neither blank nor white."""
    count: int = page.evaluate(
        """(sel) => {
            const c = document.querySelector(sel + " canvas");
            const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) {
                if (d[i + 3] > 0 && (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235)) n++;
            }
            return n;
        }""",
        selector,
    )
    return count


def test_the_device_page_draws_its_graphs_from_the_store(page: Page, server: Server) -> None:
    expect = playwright_expect()
    lab.seed_metrics(server.ctx, "r4", "eth2", minutes=120)
    browser_login(page, server.url, "viewer", "/devices/r4")
    rtt = page.locator("#graph-rtt")
    expect(rtt).to_have_attribute("data-ready", "true")
    assert int(rtt.get_attribute("data-samples") or 0) > 100
    box = page.locator("#graph-rtt canvas").bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
    assert _painted(page, "#graph-rtt") > 500
    chart = page.evaluate("(() => { const d = window.netwardenGraphs.data.rtt; return [d.lines.length, d.range]; })()")
    assert chart == [2, "6h"]
    expect(page.locator("#graph-up")).to_have_attribute("data-ready", "true")
    # Another range re-reads the store.
    page.click('#graphs button[data-range="24h"]')
    expect(rtt).to_have_attribute("data-ready", "true")
    assert page.evaluate("window.netwardenGraphs.data.rtt.range") == "24h"
    # The interface page from the interface table.
    page.click('#interfaces a[href="/interface?device=r4&name=eth2"]')
    traffic = page.locator("#graph-traffic")
    expect(traffic).to_have_attribute("data-ready", "true")
    assert _painted(page, "#graph-traffic") > 500
    expect(page.locator("#graph-util")).to_have_attribute("data-ready", "true")
    # The numbers on the axes and in the legend carry their unit and magnitude.
    shown = page.evaluate(
        "(() => { const f = window.netwardenGraphs.format; return [f('bps', 6.67e8), f('bps', 6e8), "
        "f('bps', 1.25e9), f('bps', 0), f('pct', 66.66), f('ms', 2.345), f('state', 0), f('bps', null)]; })()"
    )
    assert shown == ["667 Mb/s", "600 Mb/s", "1.25 Gb/s", "0 b/s", "67 %", "2.35 ms", "down", "—"]
    hover = page.locator("#graph-traffic canvas").bounding_box()
    page.mouse.move(hover["x"] + hover["width"] - 40, hover["y"] + hover["height"] / 2)
    legend = page.locator("#graph-traffic .u-legend .u-series").nth(1).locator(".u-value")
    expect(legend).to_have_text(re.compile(r"^\d+(\.\d+)? Mb/s$"))


def test_a_device_without_data_shows_an_empty_graph_message(page: Page, server: Server) -> None:
    expect = playwright_expect()
    browser_login(page, server.url, "viewer", "/devices/h1")
    for key in ("rtt", "loss", "up", "health"):
        expect(page.locator(f"#graph-{key}")).to_have_attribute("data-ready", "empty")
    expect(page.locator("#graph-rtt .graph-empty")).to_contain_text("No data")


# ---------------------------------------------------------------- the map


def _map_ready(page: Page) -> None:
    page.wait_for_function("window.netwardenMap && (window.netwardenMap.ready || window.netwardenMap.error)")
    assert page.evaluate("window.netwardenMap.error") is None
    page.wait_for_function("!window.netwardenMap.cy.animated()")


def _node(page: Page, name: str) -> dict[str, Any]:
    info: dict[str, Any] = page.evaluate(
        """(name) => {
            const map = window.netwardenMap;
            const n = map.cy.getElementById("d:" + name);
            const colour = n.style("background-color").replace(/ /g, "");
            return { colour: colour, classes: n.classes(), alert: n.data("alert") };
        }""",
        name,
    )
    return info


def _swatch(page: Page, selector: str) -> str:
    """A legend swatch's colour, written the way Cytoscape writes colours (no spaces)."""
    colour: str = page.evaluate(f"getComputedStyle(document.querySelector({selector!r})).backgroundColor")
    return colour.replace(" ", "")


def test_the_map_colours_alerted_and_cut_off_devices_and_follows_changes(page: Page, server: Server) -> None:
    expect = playwright_expect()
    lab.stub_site_down(server.ctx)
    lab.ingest(server.ctx, lab.ev("interface_down", "r1:eth1"), lab.ev("interface_down", "r2:eth1"))
    browser_login(page, server.url, "viewer", "/map")
    _map_ready(page)
    critical = _swatch(page, '#map-legend [data-severity="critical"] .swatch')
    folded = _swatch(page, "#map-legend [data-folded] .swatch")
    active_colour = _swatch(page, '#map-legend [data-status="active"] .swatch')
    r5 = _node(page, "r5")
    assert r5["colour"] == critical and "alerted" in r5["classes"] and r5["alert"] == "critical"
    for name in ("r6", "h2"):
        assert _node(page, name)["colour"] == folded, name
    assert _node(page, "r3")["colour"] == active_colour
    link = page.evaluate(
        """(() => {
            const e = window.netwardenMap.cy.edges().filter((x) => x.data("link") &&
                x.data("link").includes("r1:eth1--r2:eth1"));
            return [e.length, e.hasClass("alerted"), e.style("line-color").replace(/ /g, "")];
        })()"""
    )
    major = _swatch(page, '#map-legend [data-severity="major"] .swatch')
    assert link == [1, True, major]
    # The tooltip of a cut-off device names the cause.
    x, y = page.evaluate(
        "(() => { const p = window.netwardenMap.cy.getElementById('d:r6').renderedPosition(); return [p.x, p.y]; })()"
    )
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    expect(page.locator("#map-tip")).to_be_visible()
    expect(page.locator("#map-tip")).to_contain_text("unreachable because of r5")
    # Live: a new alert recolours its device; healing r5 gives r6 its status colour back.
    _live(page)
    lab.ingest(server.ctx, lab.ev("device_down", "r3", severity="critical"))
    page.wait_for_function(
        "(c) => window.netwardenMap.cy.getElementById('d:r3').style('background-color').replace(/ /g, '') === c",
        arg=critical,
        timeout=LIVE_TIMEOUT_MS,
    )
    lab.ingest(
        server.ctx,
        lab.ev("device_up", "r5"),
        *(lab.ev("interface_up", s) for s in ("r4:eth2", "r6:eth1", "h2:eth1")),
    )
    page.wait_for_function(
        "(c) => window.netwardenMap.cy.getElementById('d:r6').style('background-color').replace(/ /g, '') === c",
        arg=active_colour,
        timeout=LIVE_TIMEOUT_MS,
    )
    assert re.search(r"with alerts", page.inner_text("#map-status"))
