"""The console's rules through the in-process TestClient (fast; the browser tests repeat the key ones)."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from netwarden.access import service as access
from netwarden.access.models import AuditEntry, WebSession
from netwarden.access.schemas import SYSTEM
from netwarden.api.app import create_app
from netwarden.context import Context
from netwarden.inventory import service
from netwarden.inventory.models import Device
from netwarden.inventory.schemas import DeviceIn
from tests.web.support import PASSWORDS, Seeded, contract_list_prefixes, csrf_of, login, seed


@pytest.fixture
def seeded(ctx: Context) -> Seeded:
    return seed(ctx)


@pytest.fixture
def client(ctx: Context, seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), base_url="http://testserver") as c:
        yield c


def _logged_in(client: TestClient, role: str) -> str:
    """Log in as ``role`` with its password; returns the page's CSRF token."""
    r = login(client, role, PASSWORDS[role])
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/devices").text)


def _devices(ctx: Context) -> set[str]:
    with ctx.db() as db:
        return set(db.scalars(select(Device.name)))


# ---------------------------------------------------------------- login, sessions, logout


def test_pages_redirect_to_login_with_next(client: TestClient) -> None:
    r = client.get("/devices?q=core", follow_redirects=False)
    assert r.status_code == 303
    url = urlparse(r.headers["location"])
    assert url.path == "/login" and parse_qs(url.query)["next"] == ["/devices?q=core"]
    form = client.get(r.headers["location"])
    assert 'value="/devices?q=core"' in form.text
    assert "token printed by" in form.text and "netwarden user passwd" in form.text
    htmx = client.get("/devices", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers.get("hx-redirect", "").startswith("/login")


def test_wrong_password_is_refused_with_401(ctx: Context, client: TestClient) -> None:
    r = login(client, "admin", "not-the-password")
    assert r.status_code == 401
    assert "wrong user name or password" in r.text
    assert "nw_session" not in r.headers.get("set-cookie", "")
    unknown = login(client, "nobody", "whatever-pass")
    assert unknown.status_code == 401 and "wrong user name or password" in unknown.text
    with ctx.db() as db:
        assert db.scalar(select(func.count()).select_from(WebSession)) == 0
    assert client.get("/", follow_redirects=False).status_code == 303


def test_password_login_sets_a_hardened_cookie_and_stores_only_its_hash(ctx: Context, client: TestClient) -> None:
    r = login(client, "admin", PASSWORDS["admin"], next_url="/ipam")
    assert r.status_code == 303 and r.headers["location"] == "/ipam"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("nw_session="))
    key = cookie.split(";")[0].split("=", 1)[1]
    attrs = cookie.lower()
    assert "httponly" in attrs and "samesite=lax" in attrs and "secure" not in attrs
    assert f"max-age={ctx.settings.session_ttl_hours * 3600}" in attrs
    with ctx.db() as db:
        row = db.scalar(select(WebSession))
        assert row is not None
        assert row.key_hash == hashlib.sha256(key.encode()).hexdigest() and key not in (row.key_hash, row.csrf)
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "session.login"))
        assert entry is not None and entry.actor == "admin"
    page = client.get("/")
    assert page.status_code == 200 and "admin" in page.text and "Log out" in page.text


def test_token_login_needs_the_matching_user_name(client: TestClient, seeded: Seeded) -> None:
    assert login(client, "viewer", seeded.tokens["admin"]).status_code == 401
    r = login(client, "admin", seeded.tokens["admin"])
    assert r.status_code == 303
    assert client.get("/audit").status_code == 200


def test_secure_cookies_setting_marks_the_cookie_secure(ctx: Context, seeded: Seeded) -> None:
    ctx.settings.secure_cookies = True
    with TestClient(create_app(ctx), base_url="https://testserver") as c:
        r = login(c, "viewer", PASSWORDS["viewer"])
        cookie = next(x for x in r.headers.get_list("set-cookie") if x.startswith("nw_session="))
        assert "secure" in cookie.lower()


def test_login_form_without_its_token_is_refused(client: TestClient) -> None:
    r = client.post("/login", data={"username": "admin", "password": PASSWORDS["admin"]}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_next_never_leaves_the_site(client: TestClient) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)", "/\\evil.example"):
        client.cookies.clear()
        r = login(client, "viewer", PASSWORDS["viewer"], next_url=target)
        assert r.status_code == 303 and r.headers["location"] == "/", target


def test_expired_session_and_disabled_user_go_back_to_login(ctx: Context, client: TestClient) -> None:
    _logged_in(client, "viewer")
    with ctx.db() as db:
        row = db.scalar(select(WebSession))
        assert row is not None
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert client.get("/devices", follow_redirects=False).status_code == 303
    _logged_in(client, "viewer")
    with ctx.db() as db:
        access.set_disabled(db, SYSTEM, "viewer", True)
    assert client.get("/devices", follow_redirects=False).status_code == 303


def test_logout_needs_csrf_and_ends_the_session(ctx: Context, client: TestClient) -> None:
    csrf = _logged_in(client, "operator")
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200
    assert "Log out" in client.get("/logout").text
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    with ctx.db() as db:
        assert db.scalar(select(func.count()).select_from(WebSession)) == 0
    assert client.get("/", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------- pages


def test_dashboard_counts_and_recent_changes(client: TestClient) -> None:
    _logged_in(client, "admin")
    page = client.get("/").text
    assert '<a class="tile" href="/devices" id="count-devices"><span class="num">4</span>' in page
    assert 'id="count-sites"><span class="num">2</span>' in page
    assert 'id="count-interfaces"><span class="num">2</span>' in page
    assert 'id="recent-audit"' in page and "device.create" in page
    client.cookies.clear()
    _logged_in(client, "viewer")
    viewer_page = client.get("/").text
    assert 'id="recent-audit"' not in viewer_page and 'href="/audit"' not in viewer_page


def test_device_search_filters_and_fragment(client: TestClient) -> None:
    _logged_in(client, "viewer")
    full = client.get("/devices").text
    assert all(n in full for n in ("core-rtr1", "core-sw1", "fw1", "br-rtr1"))
    frag = client.get("/devices", params={"q": "rtr"}, headers={"HX-Request": "true", "HX-Target": "device-results"})
    assert frag.status_code == 200 and "<html" not in frag.text and 'id="device-results"' in frag.text
    assert "core-rtr1" in frag.text and "br-rtr1" in frag.text and "core-sw1" not in frag.text
    by_site = client.get("/devices", params={"site": "branch"}).text
    assert "br-rtr1" in by_site and "core-rtr1</a>" not in by_site
    by_status = client.get("/devices", params={"status": "offline"}).text
    assert "fw1</a>" in by_status and "core-sw1</a>" not in by_status
    by_platform = client.get("/devices", params={"platform": "arista_eos", "role": "switch"}).text
    assert "core-sw1</a>" in by_platform and "fw1</a>" not in by_platform
    none = client.get("/devices", params={"q": "no-such-thing"}).text
    assert "No device matches these filters." in none


def test_device_list_pages(ctx: Context, client: TestClient) -> None:
    with ctx.db() as db:
        for i in range(55):
            service.add_device(db, SYSTEM, DeviceIn(name=f"acc-{i:03d}", site="hq", platform="linux"))
    _logged_in(client, "viewer")
    first = client.get("/devices", params={"q": "acc-"}).text
    assert "acc-000" in first and "acc-049" in first and "acc-050" not in first and "page 1 / 2" in first
    second = client.get("/devices", params={"q": "acc-", "page": 2}).text
    assert "acc-050" in second and "acc-054" in second and "acc-049" not in second
    assert 'href="/devices?q=acc-&amp;page=1"' in second


def test_device_page_shows_facts_interfaces_and_addresses(client: TestClient) -> None:
    _logged_in(client, "viewer")
    page = client.get("/devices/core-rtr1")
    assert page.status_code == 200
    for text in ("cisco_ios", "10.0.0.1", "Gi0/0", "uplink to core-sw1", "10.0.0.1/24", "Gi0/1", "1G", "lab"):
        assert text in page.text, text
    assert 'id="graphs"' in page.text
    missing = client.get("/devices/no-such-device")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "does not exist" in missing.text


def test_admin_adds_a_device_through_the_form(ctx: Context, client: TestClient) -> None:
    csrf = _logged_in(client, "admin")
    assert 'id="add-device-form"' in client.get("/devices").text
    form = {
        "csrf_token": csrf,
        "name": "edge-1",
        "site": "branch",
        "platform": "juniper_junos",
        "mgmt_ip": "10.1.0.9",
        "role": "edge",
        "status": "active",
        "tags": "wan, edge",
    }
    r = client.post("/devices", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/devices/edge-1"
    assert "edge-1" in client.get("/devices", params={"q": "edge"}).text
    with ctx.db() as db:
        d = service.show_device(db, SYSTEM, "edge-1")
        assert (d.site, d.platform, d.mgmt_ip, d.tags) == ("branch", "juniper_junos", "10.1.0.9", ["wan", "edge"])
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "device.create", AuditEntry.object == "edge-1"))
        assert entry is not None and entry.actor == "admin" and entry.address == "testclient"


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"name": "core-rtr1"}, 409, "already exists"),
        ({"site": "nowhere"}, 404, "site &#39;nowhere&#39; does not exist"),
        ({"mgmt_ip": "10.0.0.300"}, 400, "is not an IPv4 or IPv6 address"),
        ({"platform": "cisco-ios"}, 400, "unknown platform"),
        ({"mgmt_ip": "10.0.0.2"}, 409, "already used by device"),
        ({"name": "bad name!"}, 400, "name:"),
        ({"status": "exploded"}, 400, "status:"),
    ],
)
def test_bad_device_form_shows_the_error_inline_and_writes_nothing(
    ctx: Context, client: TestClient, change: dict[str, str], status: int, message: str
) -> None:
    csrf = _logged_in(client, "admin")
    before = _devices(ctx)
    form = {"csrf_token": csrf, "name": "new-dev", "site": "hq", "platform": "linux", "mgmt_ip": "", **change}
    r = client.post("/devices", data=form, follow_redirects=False)
    assert r.status_code == status
    assert 'id="form-error"' in r.text and message in r.text
    assert f'name="name" value="{html.escape(form["name"])}"' in r.text  # the form keeps what was typed
    assert _devices(ctx) == before


def test_viewer_sees_no_add_form_and_a_forged_post_is_refused(ctx: Context, client: TestClient) -> None:
    csrf = _logged_in(client, "viewer")
    assert 'id="add-device-form"' not in client.get("/devices").text
    form = {"csrf_token": csrf, "name": "sneaky", "site": "hq", "platform": "linux"}
    r = client.post("/devices", data=form, follow_redirects=False)
    assert r.status_code == 403 and "needs role admin" in r.text
    assert "sneaky" not in _devices(ctx)


def test_post_without_or_with_a_wrong_csrf_token_is_refused(ctx: Context, client: TestClient) -> None:
    _logged_in(client, "admin")
    for extra in ({}, {"csrf_token": "forged"}):
        form = {"name": "nocsrf", "site": "hq", "platform": "linux", **extra}
        r = client.post("/devices", data=form, follow_redirects=False)
        assert r.status_code == 403 and "security token" in r.text
    assert "nocsrf" not in _devices(ctx)


def test_audit_page_is_for_admins_only(client: TestClient) -> None:
    _logged_in(client, "admin")
    page = client.get("/audit")
    assert page.status_code == 200 and "device.create" in page.text and "core-rtr1" in page.text
    filtered = client.get("/audit", params={"action": "site.create"}).text
    assert "site.create" in filtered and "core-rtr1</a>" not in filtered
    client.cookies.clear()
    _logged_in(client, "viewer")
    refused = client.get("/audit")
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert "needs role admin" in refused.text


def test_placeholders_are_calm_and_admin_sections_hidden(client: TestClient) -> None:
    _logged_in(client, "operator")
    for path in ("/monitoring", "/incidents", "/reports"):
        r = client.get(path)
        assert r.status_code == 200 and "Coming in a later release" in r.text, path
    nav = client.get("/").text
    assert 'href="/audit"' not in nav and 'href="/admin"' not in nav and 'href="/map"' in nav
    assert client.get("/admin").status_code == 403


def test_bad_query_values_give_an_html_error_not_a_traceback(client: TestClient) -> None:
    _logged_in(client, "viewer")
    for path in ("/devices?page=abc", "/devices?page=0", "/ipam?family=5", "/audit?page=-1"):
        r = client.get(path)
        assert r.status_code in (400, 403), path
        assert "text/html" in r.headers["content-type"] and "Traceback" not in r.text


def test_ipam_without_the_service_shows_an_empty_state(monkeypatch: pytest.MonkeyPatch, client: TestClient) -> None:
    monkeypatch.delattr(service, "list_prefixes", raising=False)
    _logged_in(client, "viewer")
    r = client.get("/ipam")
    assert r.status_code == 200 and 'id="ipam-unavailable"' in r.text


def test_ipam_page_draws_the_tree_and_utilisation_bars(monkeypatch: pytest.MonkeyPatch, client: TestClient) -> None:
    # Rendering is tested against the agreed list_prefixes contract, so it holds whether or not the
    # IPAM service (built separately) is in this tree.
    monkeypatch.setattr(service, "list_prefixes", contract_list_prefixes, raising=False)
    _logged_in(client, "viewer")
    page = client.get("/ipam").text
    depths = re.findall(r'class="prefix-row" data-cidr="([^"]+)" data-depth="(\d+)"', page)
    assert depths == [
        ("10.0.0.0/16", "0"),
        ("10.0.0.0/24", "1"),
        ("10.0.1.0/24", "1"),
        ("10.0.1.0/26", "2"),
        ("2001:db8::/48", "0"),
    ]
    assert "padding-left: 3.4em" in page  # depth 2 is indented twice as far as depth 1
    assert '<div class="fill hot" style="width: 94.49%">' in page
    assert '<div class="fill warm" style="width: 74.8%">' in page
    assert '<div class="fill ok" style="width: 19.35%">' in page
    assert "240 / 254" in page
    v6 = client.get("/ipam", params={"family": "6"}).text
    assert "2001:db8::/48" in v6 and "10.0.0.0/16" not in v6
    assert "No prefix matches these filters." in client.get("/ipam", params={"q": "nothing-like-this"}).text
    assert 'id="count-prefixes"><span class="num">5</span>' in client.get("/").text


def test_ipam_page_with_the_real_ipam_service(ctx: Context, client: TestClient) -> None:
    """The page on real prefixes: tree order, depth, utilisation from recorded addresses."""
    from netwarden.inventory.schemas import IPAddressIn, PrefixIn

    with ctx.db() as db:
        for cidr in ("10.50.0.0/16", "10.50.1.0/24", "10.50.1.0/26", "2001:db8:50::/48"):
            service.add_prefix(db, SYSTEM, PrefixIn(cidr=cidr, site="hq"))
        for i in range(1, 32):
            service.add_ip_address(db, SYSTEM, IPAddressIn(address=f"10.50.1.{i}/26"))
    _logged_in(client, "viewer")
    page = client.get("/ipam").text
    depths = re.findall(r'class="prefix-row" data-cidr="([^"]+)" data-depth="(\d+)"', page)
    assert depths == [("10.50.0.0/16", "0"), ("10.50.1.0/24", "1"), ("10.50.1.0/26", "2"), ("2001:db8:50::/48", "0")]
    assert "31 / 62" in page  # 31 of the /26's 62 usable addresses
    assert '<div class="fill ok" style="width: 50.0%">' in page
    assert "No prefix matches these filters." in client.get("/ipam", params={"site": "branch"}).text


def test_static_assets_are_served_locally(client: TestClient) -> None:
    css = client.get("/static/app.css")
    assert css.status_code == 200 and ".topbar" in css.text
    js = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert js.status_code == 200 and "htmx" in js.text
    _logged_in(client, "viewer")
    page = client.get("/devices").text
    assert "https://" not in page and "http://" not in page


# ---------------------------------------------------------------- the JSON API with the session cookie


def test_api_accepts_the_session_cookie_with_csrf_on_writes(ctx: Context, client: TestClient, seeded: Seeded) -> None:
    assert client.get("/api/v1/devices").status_code == 401
    csrf = _logged_in(client, "admin")
    listed = client.get("/api/v1/devices")
    assert listed.status_code == 200 and listed.json()["total"] == 4
    body = {"name": "api-dev", "site": "hq", "platform": "linux"}
    refused = client.post("/api/v1/devices", json=body)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "X-CSRF-Token" in refused.json()["detail"]
    assert client.post("/api/v1/devices", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert "api-dev" not in _devices(ctx)
    made = client.post("/api/v1/devices", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    # A Bearer token is not ambient, so it needs no CSRF token even next to a cookie.
    bearer = {"Authorization": f"Bearer {seeded.tokens['admin']}"}
    assert client.delete("/api/v1/devices/api-dev", headers=bearer).status_code == 204


def test_api_cookie_keeps_the_session_users_role(client: TestClient) -> None:
    csrf = _logged_in(client, "viewer")
    assert client.get("/api/v1/audit").status_code == 403
    r = client.post(
        "/api/v1/devices", json={"name": "x1", "site": "hq", "platform": "linux"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 403
