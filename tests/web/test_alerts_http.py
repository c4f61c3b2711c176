"""The alerts page, the dashboard's monitoring panel, graph data and the map's alert marks over HTTP (TestClient).

Runs on SQLite and PostgreSQL (the ``ctx`` fixture); the browser tests repeat the key paths in Chromium.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from netwarden.access.models import AuditEntry
from netwarden.api.app import create_app
from netwarden.context import Context
from netwarden.monitor.records import Point
from tests.support.lab_inventory import SITES
from tests.web import alerts_support as lab
from tests.web.support import PASSWORDS, csrf_of, login


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    lab.build(ctx)
    with TestClient(create_app(ctx), base_url="http://testserver") as c:
        yield c


def _as(client: TestClient, role: str) -> str:
    """Log in as ``role``; returns the session's CSRF token."""
    client.cookies.clear()
    assert login(client, role, PASSWORDS[role]).status_code == 303
    return csrf_of(client.get("/devices").text)


def _row_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr id="alert-(\d+)"', page)]


# ---------------------------------------------------------------- the alerts page


def test_a_viewer_sees_alerts_with_root_cause_and_impact_but_no_ack(ctx: Context, client: TestClient) -> None:
    root = lab.stub_site_down(ctx)
    _as(client, "viewer")
    page = client.get("/alerts")
    assert page.status_code == 200
    assert _row_ids(page.text) == [root.id]  # folded alerts are not listed by default
    text = html.unescape(page.text)
    assert "r5 does not answer ping" in text and "cuts off 2 devices" in text and "branch, depot" in text
    assert 'data-ack="' not in page.text
    assert 'href="/alerts"' in client.get("/").text  # the navigation entry is a real page now
    detail = client.get(f"/alerts/{root.id}")
    assert detail.status_code == 200
    body = html.unescape(detail.text)
    for name in ("h2", "r6"):
        assert f'href="/devices/{name}"' in body
    folded = {a.device for a in lab.active(ctx, include_folded=True) if a.parent_id == root.id}
    assert folded and all(device in body for device in folded)
    assert 'id="ack-form"' not in detail.text
    assert client.get("/alerts/999999").status_code == 404


def test_a_viewer_may_not_acknowledge(ctx: Context, client: TestClient) -> None:
    root = lab.stub_site_down(ctx)
    csrf = _as(client, "viewer")
    r = client.post(f"/alerts/{root.id}/ack", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 403 and "text/html" in r.headers["content-type"]
    assert "needs role operator" in r.text
    assert lab.alert(ctx, root.id).state == "open"


def test_an_operator_acknowledges_from_the_page(ctx: Context, client: TestClient) -> None:
    root = lab.stub_site_down(ctx)
    csrf = _as(client, "operator")
    page = client.get("/alerts")
    assert f'data-ack="{root.id}"' in page.text
    # Without the form's token nothing happens.
    refused = client.post(f"/alerts/{root.id}/ack", data={"note": "x"}, follow_redirects=False)
    assert refused.status_code == 403 and lab.alert(ctx, root.id).state == "open"
    done = client.post(
        f"/alerts/{root.id}/ack",
        data={"csrf_token": csrf, "note": "on site at 14:00", "back": "/alerts?severity=major"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/alerts?severity=major"
    after = lab.alert(ctx, root.id)
    assert (after.state, after.acknowledged_by, after.note) == ("acknowledged", "operator", "on site at 14:00")
    with ctx.db() as db:
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "acknowledge"))
        assert entry is not None and entry.actor == "operator" and entry.object == str(root.id)
    # An off-site 'back' never leaves the console.
    off_site = {"csrf_token": csrf, "note": "2", "back": "//evil.example/"}
    again = client.post(f"/alerts/{root.id}/ack", data=off_site, follow_redirects=False)
    assert again.headers["location"] == "/"


def test_ack_through_htmx_returns_the_refreshed_table_with_its_filters(ctx: Context, client: TestClient) -> None:
    root = lab.stub_site_down(ctx)
    lab.ingest(ctx, lab.ev("device_down", "srv1", severity="major"))
    [srv] = lab.active(ctx, device="srv1")
    csrf = _as(client, "operator")
    r = client.post(
        f"/alerts/{srv.id}/ack",
        data={"csrf_token": csrf, "state": "open", "severity": "", "device": "", "folded": ""},
        headers={"HX-Request": "true", "HX-Target": "alert-results"},
    )
    assert r.status_code == 200 and r.text.lstrip().startswith('<div id="alert-results"')
    assert _row_ids(r.text) == [root.id]  # the filter (open only) no longer matches the acknowledged one
    assert lab.alert(ctx, srv.id).state == "acknowledged"


def test_filters_select_by_state_severity_device_and_folded(ctx: Context, client: TestClient) -> None:
    root = lab.stub_site_down(ctx)
    lab.ingest(ctx, lab.ev("device_down", "srv1", severity="minor"), lab.ev("device_down", "h1", severity="warning"))
    by_device = {a.device: a.id for a in lab.active(ctx)}
    _as(client, "viewer")

    def ids(**params: str) -> set[int]:
        r = client.get("/alerts", params=params, headers={"HX-Request": "true", "HX-Target": "alert-results"})
        assert r.status_code == 200 and r.text.lstrip().startswith('<div id="alert-results"')
        return set(_row_ids(r.text))

    assert ids() == {root.id, by_device["srv1"], by_device["h1"]}
    assert ids(severity="critical") == {root.id}
    assert ids(severity="minor") == {root.id, by_device["srv1"]}  # minor and worse
    assert ids(device="srv") == {by_device["srv1"]}  # plain text matches anywhere
    assert ids(device="r?") == {root.id}  # a glob is taken as it is
    folded = {a.id for a in lab.active(ctx, include_folded=True) if a.parent_id == root.id}
    assert ids(folded="1") == {root.id, by_device["srv1"], by_device["h1"], *folded}
    lab.resolve_all(ctx)
    assert ids() == set()
    assert root.id in ids(state="resolved") and ids(state="open") == set()
    assert "Nothing is broken" in client.get("/alerts").text
    bad = client.get("/alerts", params={"severity": "disaster"})
    assert bad.status_code == 400 and "text/html" in bad.headers["content-type"]


def test_the_alert_stream_accepts_the_console_session(ctx: Context, client: TestClient) -> None:
    assert client.get("/api/v1/alerts/stream", params={"max_seconds": 0.2}).status_code == 401
    _as(client, "viewer")
    with client.stream("GET", "/api/v1/alerts/stream", params={"max_seconds": 0.2}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    assert "event: end" in body


# ---------------------------------------------------------------- the device page, graphs


def test_graph_data_returns_the_stored_series_aligned_on_the_step(ctx: Context, client: TestClient) -> None:
    now = time.time()
    points = lab.seed_metrics(ctx, "r1", "eth1", minutes=90, now=now)
    _as(client, "viewer")
    r = client.get("/graphs/data", params={"device": "r1", "panel": "traffic", "interface": "eth1", "range": "1h"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = r.json()
    labels = [line["label"] for line in data["lines"]]
    assert (data["unit"], data["resolution"], labels) == ("bps", "raw", ["in", "out"])
    step = data["step"]
    assert all(b - a == step for a, b in zip(data["x"], data["x"][1:], strict=False))
    assert data["x"][0] <= data["start"] < data["x"][0] + step and data["x"][-1] <= data["end"]
    # Every stored sample inside the hour is in its bucket, averaged with the others of that bucket.
    wanted: dict[int, list[float]] = {}
    for p in points:
        if p.metric == "if_in_bps" and data["start"] <= int(p.ts) <= data["end"]:
            wanted.setdefault(int(p.ts) // step * step, []).append(p.value)
    got = {ts: v for ts, v in zip(data["x"], data["lines"][0]["values"], strict=True) if v is not None}
    assert got.keys() == wanted.keys() and len(got) >= 55
    assert all(got[ts] == pytest.approx(sum(vs) / len(vs)) for ts, vs in wanted.items())
    assert data["samples"] == 2 * len(got)
    # Device panels read the device-wide series.
    rtt = client.get("/graphs/data", params={"device": "r1", "panel": "rtt", "range": "6h"}).json()
    stored = [p.value for p in points if p.metric == "rtt_ms"]
    worst = [v for v in rtt["lines"][1]["values"] if v is not None]
    assert max(worst) == pytest.approx(max(stored)) and rtt["lines"][1]["stat"] == "max"
    # A device with nothing polled yet: empty lines, not an error.
    quiet = client.get("/graphs/data", params={"device": "r2", "panel": "health"}).json()
    assert quiet["samples"] == 0 and all(v is None for line in quiet["lines"] for v in line["values"])


def test_graph_data_refuses_bad_requests(client: TestClient) -> None:
    _as(client, "viewer")
    for params, status in (
        ({"device": "r1", "panel": "nope"}, 400),
        ({"device": "r1", "panel": "traffic"}, 400),  # an interface graph needs the interface
        ({"device": "r1", "panel": "rtt", "interface": "eth1"}, 400),
        ({"device": "r1", "panel": "rtt", "range": "2y"}, 400),
        ({"device": "no-such", "panel": "rtt"}, 404),
    ):
        r = client.get("/graphs/data", params=params)
        assert r.status_code == status, params
    client.cookies.clear()
    anonymous = client.get("/graphs/data", params={"device": "r1", "panel": "rtt"}, follow_redirects=False)
    assert anonymous.status_code == 303


def test_device_and_interface_pages_show_graphs_alerts_and_latest_traffic(ctx: Context, client: TestClient) -> None:
    now = time.time()
    points = lab.seed_metrics(ctx, "r1", "eth1", minutes=10, now=now)
    lab.ingest(ctx, lab.ev("threshold", "r1", severity="minor", metric="cpu_pct", summary="r1 CPU above 90 %"))
    _as(client, "viewer")
    page = client.get("/devices/r1")
    assert page.status_code == 200
    for key in ("rtt", "loss", "up", "health"):
        assert f'data-panel="{key}"' in page.text
    assert "uplot-1.6.32.min.js" in page.text and "r1 CPU above 90 %" in html.unescape(page.text)
    assert 'href="/interface?device=r1&amp;name=eth1"' in page.text
    newest = max((p for p in points if p.metric == "if_in_bps"), key=lambda p: p.ts)
    assert _rate(newest.value) in page.text
    iface = client.get("/interface", params={"device": "r1", "name": "eth1"})
    assert iface.status_code == 200
    for key in ("traffic", "util", "errors", "oper"):
        assert f'data-panel="{key}"' in iface.text
    assert 'data-interface="eth1"' in iface.text and _rate(newest.value) in iface.text
    assert client.get("/interface", params={"device": "r1", "name": "eth99"}).status_code == 404
    # An interface the poller reports but the inventory lacks still has its page.
    lab.write(ctx, [Point("r1", "if_in_bps", "lo9", now - 30, 5.0)], now)
    assert client.get("/interface", params={"device": "r1", "name": "lo9"}).status_code == 200


def _rate(bps: float) -> str:
    from netwarden.web.common import TEMPLATES

    return str(TEMPLATES.env.filters["rate"](bps))


# ---------------------------------------------------------------- the dashboard


def test_dashboard_counts_up_down_alerts_and_ranks_interfaces(ctx: Context, client: TestClient) -> None:
    now = time.time()
    up = ["r1", "r2", "r3", "sw1"]
    down = ["srv1", "h1"]
    points = [Point(d, "up", "", now - 20, 1.0) for d in up] + [Point(d, "up", "", now - 20, 0.0) for d in down]
    points.append(Point("r4", "up", "", now - 3 * 3600, 1.0))  # too old to count
    util = {("r1", "eth1"): 93.0, ("r2", "eth2"): 40.0, ("r3", "eth3"): 71.5}
    for (device, name), pct in util.items():
        points += [
            Point(device, "if_util_pct", name, now - 30, pct),
            Point(device, "if_in_bps", name, now - 30, pct / 100 * lab.SPEED),
        ]
    points.append(Point("wan", "if_in_errors_ps", "eth2", now - 30, 4.5))  # not busy, but erroring
    lab.write(ctx, points, now)
    lab.stub_site_down(ctx)
    lab.ingest(ctx, lab.ev("device_down", "srv1", severity="major"), lab.ev("device_down", "h1", severity="major"))
    [h1] = lab.active(ctx, device="h1")
    with ctx.db() as db:
        from netwarden.alerts import service

        service.acknowledge(db, lab.OPERATOR, h1.id)
    _as(client, "viewer")
    page = client.get("/").text
    assert _tile(page, "count-up") == len(up) and _tile(page, "count-down") == len(down)
    assert _tile(page, "count-not-polled") == len(SITES) - len(up) - len(down)
    roots = lab.active(ctx)
    assert _tile(page, "count-alerts") == len(roots) and "1 acknowledged" in page
    for severity in ("critical", "major", "minor", "warning", "info"):
        shown = re.search(rf'<tr data-severity="{severity}">.*?class="num sev-count">(\d+)<', page, re.S)
        assert shown is not None and int(shown.group(1)) == sum(a.severity == severity for a in roots), severity
    worst = re.findall(r'<tr data-device="([^"]+)" data-interface="([^"]+)"', page)
    assert worst == [*sorted(util, key=lambda k: -util[k]), ("wan", "eth2")]
    assert all(f'href="/devices/{d}"' in page for d in down)
    # The panel alone, for its live refresh.
    panel = client.get("/status/panel")
    assert panel.status_code == 200 and panel.text.lstrip().startswith('<div id="status-panel"')


def _tile(page: str, tile_id: str) -> int:
    found = re.search(rf'id="{tile_id}"[^>]*><span class="num">(\d+)</span>', page)
    assert found, tile_id
    return int(found.group(1))


# ---------------------------------------------------------------- the map's marks


def test_map_alerts_mark_roots_by_severity_and_cut_off_devices_by_cause(ctx: Context, client: TestClient) -> None:
    root = lab.stub_site_down(ctx)
    lab.ingest(ctx, lab.ev("interface_down", "r1:eth1"), lab.ev("interface_down", "r2:eth1"))
    [link] = lab.active(ctx, device="r1--r2")
    _as(client, "viewer")
    marks = client.get("/map/alerts").json()
    assert marks["devices"]["r5"]["severity"] == "critical" and marks["devices"]["r5"]["alert_id"] == root.id
    for name in root.impact:
        assert marks["devices"][name]["severity"] == "" and marks["devices"][name]["folded_under"] == "r5"
    assert marks["links"]["r1--r2"]["severity"] == link.severity and marks["links"]["r1--r2"]["alert_id"] == link.id
    assert "r4--r5" not in marks["links"]  # folded under r5's alert: r5 is the cause, not the link
    assert set(marks["devices"]) == {"r5", *root.impact}
    lab.resolve_all(ctx)
    assert client.get("/map/alerts").json()["devices"] == {}
