"""The security pages in Debian's Chromium against a real uvicorn server: from the navigation to an
incident, its timeline and evidence, a status change; a phrase search of the logs; "Run detections now"
and the risk register's filters answered in place (htmx).

The store is seeded by the real backend (``tests/web/security_support.py``, shared with the HTTP tests);
the tests wait on the page's DOM (Playwright's expect, bounded), never on a fixed delay.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from netwarden.context import Context
from tests.web.map_support import serve
from tests.web.security_support import BRUTE_ATTEMPTS, H1, SecurityData, seed_risks, seed_security
from tests.web.support import browser_login, playwright_expect

pytestmark = pytest.mark.web

Page = Any  # playwright.sync_api.Page


@dataclass
class Server:
    url: str
    ctx: Context
    data: SecurityData


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("NETWARDEN_")}
    work = tmp_path_factory.mktemp("security")
    ctx = Context.create(data_dir=work / "data")
    data = seed_security(ctx, work)
    seed_risks(ctx)
    try:
        with serve(ctx) as url:
            yield Server(url, ctx, data)
    finally:
        os.environ.update(saved)


def test_an_operator_follows_an_incident_from_the_navigation(page: Page, server: Server) -> None:
    expect = playwright_expect()
    browser_login(page, server.url, "operator", "/")
    page.click("nav.nav a:has-text('Security')")
    expect(page).to_have_url(re.compile(r"/security$"))
    row = page.locator("#incident-table tbody tr", has_text="Brute force from h1 against srv1")
    expect(row).to_have_count(1)
    expect(row.locator("td.attacker")).to_contain_text(H1)
    row.locator("a.title").click()

    expect(page.locator("#incident-title")).to_have_text("Brute force from h1 against srv1")
    expect(page.locator("#incident-timeline tr.tl-auth")).to_have_count(BRUTE_ATTEMPTS)
    expect(page.locator("#incident-timeline tr.tl-firewall")).to_have_count(BRUTE_ATTEMPTS)
    expect(page.locator("#incident-timeline tr.tl-detection").first).to_contain_text("SSH brute force")
    first_failure = server.data.logs.failures[0]
    evidence = page.locator("#incident-detections tr[data-evidence-for=brute-force] pre.raw-lines")
    expect(evidence).to_be_visible()  # unfolded on the incident page
    expect(evidence).to_contain_text(first_failure)
    expect(page.locator("#incident-assets a", has_text="srv1")).to_have_attribute("href", "/devices/srv1")

    page.select_option("#incident-new-status", "investigating")
    page.fill("#incident-note-input", "h1 blocked at fw1")
    page.click("#incident-save")
    expect(page.locator("#incident-status")).to_have_text("investigating")
    expect(page.locator("#incident-note")).to_have_text("h1 blocked at fw1")
    expect(page.locator("#incident-history tr", has_text="h1 blocked at fw1")).to_contain_text("operator")

    # Back on the list, the status filter answers in place.
    page.click("h1 a.crumb")
    page.select_option("#filter-status", "investigating")
    expect(page.locator("#incident-table tbody tr[data-status]")).to_have_count(1)
    expect(page.locator("#incident-table tbody tr[data-status]")).to_contain_text("Brute force from h1")
    assert "status=investigating" in page.url


def test_a_phrase_search_of_the_logs(page: Page, server: Server) -> None:
    expect = playwright_expect()
    logs = server.data.logs
    browser_login(page, server.url, "viewer", "/security")
    page.click("#tab-logs")
    expect(page.locator("#log-table tr.log-row")).to_have_count(len(logs.lines))
    page.fill("#log-q", '"for alice"')
    page.click("#log-go")
    rows = page.locator("#log-table tr.log-row")
    expect(rows).to_have_count(1)
    expect(rows.locator("td.log-raw")).to_have_text(logs.alice_login)
    assert "q=%22for+alice%22" in page.url  # a GET form: the search is a link
    # Words instead of the phrase, then a click on a row's user narrows to that user.
    page.fill("#log-q", "")
    page.fill("#log-user", "")
    page.fill("#log-q", "alice")
    page.click("#log-go")
    expect(rows).to_have_count(3)
    page.locator("#log-table tr.log-row", has_text="sudo").locator("a.pill.kind").click()
    expect(rows).to_have_count(1)
    expect(page.locator("#log-kind")).to_have_value("sudo")
    # A bad period keeps the form and says why.
    page.fill("#log-since", "yesterday")
    page.click("#log-go")
    expect(page.locator("#log-error")).to_contain_text("bad since 'yesterday'")
    expect(page.locator("#log-q")).to_have_value("alice")


def test_run_detections_now_and_the_risk_filters_answer_in_place(page: Page, server: Server) -> None:
    expect = playwright_expect()
    browser_login(page, server.url, "operator", "/security/detections")
    page.evaluate("window.__same_page = true")
    page.select_option("#detect-period", "all")
    page.click("#detect-now")
    expect(page.locator("#detect-summary")).to_contain_text("4 updated")
    expect(page.locator("#detection-table tbody tr[data-rule]")).to_have_count(4)
    assert page.evaluate("window.__same_page === true")  # swapped by htmx, not a new page

    page.click("#tab-risks")
    expect(page.locator("#risk-table tbody tr[data-kind]")).to_have_count(1)
    page.evaluate("window.__same_page = true")
    page.select_option("#risk-status", "all")
    expect(page.locator("#risk-table tbody tr[data-kind]")).to_have_count(2)
    assert page.evaluate("window.__same_page === true")
    page.locator("#risk-table a.risk-title", has_text="Telnet").click()
    expect(page.locator("#risk-evidence")).to_contain_text("telnet answered")
    expect(page.locator("#risk-remediation")).to_contain_text("transport input ssh")
