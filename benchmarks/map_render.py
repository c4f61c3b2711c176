"""Topology map (issue 4): time until /map answers for 1,000 devices, against a plain Cytoscape force layout.

In Debian's Chromium (Playwright) on a real ``uvicorn`` server, for a store of ``--sites`` sites of
``--per-site`` devices (a core per site with the others on it, cores in a ring), loaded through the
inventory import:

* ours, grouped:   /map as it opens (one node per site): navigation start to interactive (two frames
                   after drawing), and the time to open one site of 100 devices;
* ours, whole:     /map?group=devices (every device, two-level layout: sites, then each site);
* peer:            the same 1,000 nodes and links handed to Cytoscape with its cose layout over the
                   whole graph (default 1,000 iterations), in the same page, as a map without
                   layering would do it.

Each figure is the median of ``--runs``. Run: .venv/bin/python benchmarks/map_render.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.map_support import add_users, large_network, serve
from tests.web.support import PASSWORDS

from netwarden.context import Context

PEER_JS = """async () => {
  const r = await fetch('/map/data?group=devices');
  const data = await r.json();
  const box = document.createElement('div');
  box.style.cssText = 'position:absolute;left:0;top:0;width:1000px;height:700px';
  document.body.appendChild(box);
  const t0 = performance.now();
  const els = data.nodes.map(n => ({data: {id: n.name}}))
    .concat(data.edges.map(e => ({data: {id: e.id, source: e.a, target: e.b}})));
  const cy = cytoscape({container: box, elements: els, style: [{selector: 'node', style: {label: 'data(id)'}}]});
  cy.layout({name: 'cose', animate: false}).run();
  await new Promise(ok => requestAnimationFrame(() => requestAnimationFrame(ok)));
  const ms = performance.now() - t0;
  cy.destroy();
  box.remove();
  return ms;
}"""


def _ready(page: Any) -> dict[str, int]:
    page.wait_for_function("window.netwardenMap && (window.netwardenMap.ready || window.netwardenMap.error)")
    if page.evaluate("window.netwardenMap.error"):
        raise RuntimeError(page.evaluate("window.netwardenMap.error"))
    timings: dict[str, int] = page.evaluate("window.netwardenMap.timings")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--per-site", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    for key in [k for k in os.environ if k.startswith("NETWARDEN_")]:
        del os.environ[key]
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Context.create(data_dir=Path(tmp) / "data")
        add_users(ctx)
        large_network(ctx, args.sites, args.per_site)
        devices = args.sites * args.per_site
        with serve(ctx) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url + "/login?next=/map")
            page.fill("#username", "viewer")
            page.fill("#password", PASSWORDS["viewer"])
            page.click("button[type=submit]")
            _ready(page)
            grouped, opened, whole, whole_draw, peer = [], [], [], [], []
            for _ in range(args.runs):
                page.goto(url + "/map")
                grouped.append(_ready(page)["interactive_ms"])
                opened.append(
                    page.evaluate(
                        "(() => { const t = performance.now(); window.netwardenMap.expand('site03');"
                        " return performance.now() - t; })()"
                    )
                )
                page.goto(url + "/map?group=devices")
                t = _ready(page)
                whole.append(t["interactive_ms"])
                whole_draw.append(t["draw_ms"])
                peer.append(page.evaluate(PEER_JS))
            browser.close()
    med = statistics.median
    print(f"map of {devices} devices in {args.sites} sites, median of {args.runs} runs (Chromium {CHROMIUM})")
    print(f"  ours, grouped by site: interactive after {med(grouped):.0f} ms; opening a site: {med(opened):.0f} ms")
    print(
        f"  ours, every device:    interactive after {med(whole):.0f} ms (layout and drawing {med(whole_draw):.0f} ms)"
    )
    print(f"  peer, cose over all:   layout and drawing {med(peer):.0f} ms")
    print(
        f"  ratio peer / ours: grouped {med(peer) / med(grouped):.1f}x, every device {med(peer) / med(whole_draw):.1f}x"
    )


if __name__ == "__main__":
    main()
