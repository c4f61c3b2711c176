"""The console in Debian's Chromium through Playwright, against a real uvicorn server."""

from __future__ import annotations

import re
from typing import Any

import pytest

from netwarden.access.models import WebSession
from netwarden.access.schemas import SYSTEM
from netwarden.inventory import service
from tests.web.conftest import Console
from tests.web.support import CONTRACT_PREFIXES, PASSWORDS, contract_list_prefixes

pytestmark = pytest.mark.web

Page = Any  # playwright.sync_api.Page; kept loose so collecting this module does not need playwright


def _device_names(console: Console) -> set[str]:
    with console.ctx.db() as db:
        return {d.name for d in service.list_devices(db, SYSTEM, None, limit=10000).items}


def _login(page: Page, console: Console, name: str, secret: str, path: str = "/") -> None:
    page.goto(console.url + path)
    page.fill("#username", name)
    page.fill("#password", secret)
    page.click("button[type=submit]")


def _logged_in(page: Page, console: Console, role: str, path: str = "/") -> None:
    _login(page, console, role, PASSWORDS[role], path)
    page.wait_for_selector("#logout")


def test_logged_out_visit_goes_to_login_and_back(page: Page, console: Console) -> None:
    page.goto(console.url + "/devices?status=planned")
    assert re.search(r"/login\?next=", page.url)
    assert "token printed by" in page.inner_text(".hint")
    page.fill("#username", "viewer")
    page.fill("#password", PASSWORDS["viewer"])
    page.click("button[type=submit]")
    page.wait_for_selector("#device-table")
    assert page.url.endswith("/devices?status=planned")
    rows = page.locator("#device-table tbody tr").all_inner_texts()
    assert len(rows) == 1 and "br-rtr1" in rows[0]


def test_wrong_password_shows_an_error(page: Page, console: Console) -> None:
    _login(page, console, "admin", "wrong-password")
    assert "wrong user name or password" in page.inner_text("#login-error")
    assert "/login" in page.url
    assert not [c for c in page.context.cookies() if c["name"] == "nw_session"]


def test_login_with_a_token_and_the_cookie_is_httponly(page: Page, console: Console) -> None:
    _login(page, console, "admin", console.seeded.tokens["admin"])
    page.wait_for_selector("#logout")
    assert page.inner_text(".topbar .user") == "admin" and page.inner_text(".topbar .role").lower() == "admin"
    cookie = next(c for c in page.context.cookies() if c["name"] == "nw_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("nw_session") == -1


def test_live_search_filters_the_table(page: Page, console: Console) -> None:
    _logged_in(page, console, "viewer", "/devices")
    assert page.locator("#device-table tbody tr").count() == 4
    with page.expect_response(lambda r: "/devices?" in r.url and "q=sw" in r.url):
        page.type("#device-search", "sw", delay=40)
    page.wait_for_function("document.querySelectorAll('#device-table tbody tr').length === 1")
    assert "core-sw1" in page.inner_text("#device-table tbody")
    assert "q=sw" in page.url  # pushed, so reload and back keep the filter
    page.fill("#device-search", "")
    page.select_option("select[name=site]", "hq")
    page.wait_for_function("document.querySelectorAll('#device-table tbody tr').length === 3")
    assert "br-rtr1" not in page.inner_text("#device-table tbody")


def test_device_page_shows_interfaces(page: Page, console: Console) -> None:
    _logged_in(page, console, "viewer", "/devices")
    page.click("text=core-rtr1")
    page.wait_for_selector("#interfaces")
    assert page.inner_text("#device-name") == "core-rtr1"
    table = page.inner_text("#interfaces")
    assert "Gi0/0" in table and "10.0.0.1/24" in table and "Gi0/1" in table
    assert "cisco_ios" in page.inner_text("#facts")


def test_admin_adds_a_device_through_the_form(page: Page, console: Console) -> None:
    _logged_in(page, console, "admin", "/devices")
    page.click("#add-device summary")
    form = page.locator("#add-device-form")
    form.locator("input[name=name]").fill("edge-br1")
    form.locator("select[name=site]").select_option("branch")
    form.locator("select[name=platform]").select_option("juniper_junos")
    form.locator("input[name=mgmt_ip]").fill("10.1.0.77")
    form.locator("input[name=tags]").fill("wan, edge")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/devices/edge-br1")
    assert "juniper_junos" in page.inner_text("#facts") and "wan" in page.inner_text("#tags")
    page.goto(console.url + "/devices?q=edge-br1")
    assert "edge-br1" in page.inner_text("#device-table tbody")
    # A bad value comes back inline, with what was typed kept.
    page.click("#add-device summary")
    form.locator("input[name=name]").fill("edge-br2")
    form.locator("select[name=site]").select_option("branch")
    form.locator("select[name=platform]").select_option("linux")
    form.locator("input[name=mgmt_ip]").fill("10.1.0.77")
    form.locator("button[type=submit]").click()
    assert "already used by device 'edge-br1'" in page.inner_text("#form-error")
    assert page.locator("#add-device-form input[name=name]").input_value() == "edge-br2"


def test_viewer_has_no_add_form_and_a_forged_post_is_refused(page: Page, console: Console) -> None:
    _logged_in(page, console, "viewer", "/devices")
    assert page.locator("#add-device-form").count() == 0
    csrf = page.input_value("form[action='/logout'] input[name=csrf_token]")
    # The forged request rides on the viewer's own session and valid CSRF token: only the role stops it.
    response = page.request.post(
        console.url + "/devices",
        form={"csrf_token": csrf, "name": "forged-dev", "site": "hq", "platform": "linux"},
        max_redirects=0,
    )
    assert response.status == 403 and "needs role admin" in response.text()
    assert "forged-dev" not in _device_names(console)


def test_post_without_csrf_token_is_refused(page: Page, console: Console) -> None:
    _logged_in(page, console, "admin", "/devices")
    response = page.request.post(
        console.url + "/devices", form={"name": "no-csrf", "site": "hq", "platform": "linux"}, max_redirects=0
    )
    assert response.status == 403
    api = page.request.post(
        console.url + "/api/v1/devices", data={"name": "no-csrf", "site": "hq", "platform": "linux"}
    )
    assert api.status == 403 and api.headers["content-type"].startswith("application/problem+json")
    assert "no-csrf" not in _device_names(console)


def test_ipam_bars_render(page: Page, console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    # The server runs in this process, so the agreed list_prefixes contract can stand in for the
    # separately built IPAM service; the test checks what the browser draws from it.
    monkeypatch.setattr(service, "list_prefixes", contract_list_prefixes, raising=False)
    _logged_in(page, console, "viewer", "/ipam")
    rows = page.locator("#prefix-table tr.prefix-row")
    assert rows.count() == len(CONTRACT_PREFIXES)
    bars = page.locator("#prefix-table .bar")
    fills = page.locator("#prefix-table .bar .fill")
    full = bars.nth(1).evaluate("e => e.getBoundingClientRect().width")
    drawn = fills.nth(1).evaluate("e => e.getBoundingClientRect().width")
    assert 0.9 * full < drawn < full  # 94.49 % of the bar
    colour = fills.nth(1).evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour != fills.nth(3).evaluate("e => getComputedStyle(e).backgroundColor")  # hot vs ok
    indent = [r.locator("td").first.evaluate("e => parseFloat(getComputedStyle(e).paddingLeft)") for r in rows.all()]
    assert indent[0] < indent[1] < indent[3] and indent[4] == indent[0]


def test_audit_page_for_admin_and_403_for_viewer(page: Page, console: Console) -> None:
    _logged_in(page, console, "admin", "/audit")
    assert "device.create" in page.inner_text("#audit-table")
    page.click("nav >> text=Devices")
    page.click("#logout")
    page.wait_for_url("**/login")
    _logged_in(page, console, "viewer", "/")
    assert page.locator("nav a[href='/audit']").count() == 0
    response = page.goto(console.url + "/audit")
    assert response is not None and response.status == 403
    assert "needs role admin" in page.inner_text("#error-message")


def test_logout_ends_the_session(page: Page, console: Console) -> None:
    _logged_in(page, console, "operator", "/")
    with console.ctx.db() as db:
        before = db.query(WebSession).count()
    page.click("#logout")
    page.wait_for_url("**/login")
    with console.ctx.db() as db:
        assert db.query(WebSession).count() == before - 1
    page.goto(console.url + "/devices")
    assert "/login" in page.url


def test_screenshots_of_devices_and_ipam(page: Page, console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a pixel test: the pictures are for a person to look at (/tmp/netwarden-*.png)."""
    if getattr(service, "list_prefixes", None) is None:
        monkeypatch.setattr(service, "list_prefixes", contract_list_prefixes, raising=False)
    page.goto(console.url + "/login")
    page.screenshot(path="/tmp/netwarden-login.png")
    _logged_in(page, console, "admin", "/")
    page.screenshot(path="/tmp/netwarden-dashboard.png", full_page=True)
    page.goto(console.url + "/devices")
    page.screenshot(path="/tmp/netwarden-devices.png", full_page=True)
    page.goto(console.url + "/ipam")
    page.screenshot(path="/tmp/netwarden-ipam.png", full_page=True)
    page.goto(console.url + "/devices/core-rtr1")
    page.screenshot(path="/tmp/netwarden-device.png", full_page=True)
    assert page.locator(".topbar").is_visible()
