"""The configs pages in Debian's Chromium against a real uvicorn server: the side-by-side diff, its layouts,
comparing two chosen revisions, and "Back up now" answered in place (htmx).

The store holds two real revisions in git (``seed_configs``, shared with the HTTP tests); the tests wait
on the page's DOM (Playwright's expect, bounded), never on a fixed delay.
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
from tests.web.support import browser_login, playwright_expect
from tests.web.test_configs_http import ConfigData, seed_configs

pytestmark = pytest.mark.web

Page = Any  # playwright.sync_api.Page


@dataclass
class Server:
    url: str
    ctx: Context
    data: ConfigData


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("NETWARDEN_")}
    ctx = Context.create(data_dir=tmp_path_factory.mktemp("configs") / "data")
    data = seed_configs(ctx)
    try:
        with serve(ctx) as url:
            yield Server(url, ctx, data)
    finally:
        os.environ.update(saved)


def test_the_diff_page_shows_the_change_side_by_side(page: Page, server: Server) -> None:
    expect = playwright_expect()
    old_line, new_line = server.data.changed
    browser_login(page, server.url, "viewer", "/configs/edge1")
    expect(page.locator("#diff-side")).to_be_visible()
    row = page.locator("#diff-side tr.d-changed", has_text=old_line.strip())
    expect(row).to_have_count(1)
    old_cell, new_cell = row.locator("td.code.old"), row.locator("td.code.new")
    expect(old_cell).to_have_text(old_line)
    expect(new_cell).to_have_text(new_line)
    expect(old_cell.locator("mark")).to_have_text("1.0.1.1")
    expect(new_cell.locator("mark")).to_have_text("1.0.1.2")
    # Old on the left, new on the right, on one line of the screen, each about half the width.
    a, b = old_cell.bounding_box(), new_cell.bounding_box()
    assert a["x"] + a["width"] <= b["x"] and abs(a["y"] - b["y"]) < 1
    assert abs(a["width"] - b["width"]) < 2 and a["width"] > 300
    # The coloured rows: changed lines are red on the left, green on the right; an added line has a blank left.
    assert old_cell.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(253, 236, 236)"
    assert new_cell.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(230, 246, 236)"
    added = page.locator("#diff-side tr.d-added", has_text=server.data.added)
    expect(added.locator("td.code.old.blank")).to_have_count(1)
    expect(added.locator("td.code.new")).to_have_text(server.data.added)

    # Unified, then back to side by side: the toggle keeps the revisions.
    page.click("#layout-unified")
    expect(page.locator("#diff-unified")).to_be_visible()
    expect(page.locator("#diff-side")).to_have_count(0)
    expect(page.locator("#diff-unified tr.d-removed td.code", has_text=old_line.strip())).to_have_text(old_line)
    expect(page.locator("#diff-unified tr.d-added td.code", has_text=new_line.strip())).to_have_text(new_line)
    assert f"old={server.data.first}" in page.url and "layout=unified" in page.url
    page.click("#layout-side")
    expect(page.locator("#diff-side tr.d-changed", has_text=old_line.strip())).to_have_count(1)


def test_comparing_two_chosen_revisions_and_reading_one(page: Page, server: Server) -> None:
    expect = playwright_expect()
    browser_login(page, server.url, "viewer", "/configs/edge1")
    # Newest against itself: nothing differs.
    page.check(f'#revision-table input[name=old][value="{server.data.second}"]')
    page.check(f'#revision-table input[name=new][value="{server.data.second}"]')
    page.click("#compare")
    expect(page.locator("#diff-empty")).to_be_visible()
    # The first revision's text, with a line number link.
    page.click(f'#revision-table tr[data-rev="{server.data.first}"] a[title="{server.data.first}"]')
    expect(page.locator("#config-view")).to_have_attribute("data-mode", "text")
    number = server.data.text1.splitlines().index(server.data.changed[0]) + 1
    expect(page.locator(f"#L{number} td.code")).to_have_text(server.data.changed[0])


def test_back_up_now_answers_in_place(page: Page, server: Server) -> None:
    """No SSH credential is set here: the run is refused and the reason shows on the page, without a reload."""
    expect = playwright_expect()
    browser_login(page, server.url, "operator", "/configs")
    page.evaluate("window.__same_page = true")
    page.select_option("#backup-device", "edge1")
    page.click("#backup-now")
    expect(page.locator("#backup-error")).to_contain_text("no SSH credential")
    expect(page.locator("#backup-table")).to_be_visible()
    assert page.evaluate("window.__same_page === true")  # swapped by htmx, not a new page
    assert re.search(r"/configs$", page.url)
