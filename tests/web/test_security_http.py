"""The security pages over HTTP (TestClient), on SQLite and PostgreSQL: incidents, an incident's timeline,
evidence, status and breach reports, detections and "Run detections now", the log search, the risk register.

The data is made by the real backend (``tests/web/security_support.py``): lab-style syslog lines ingested
from a file, the real detections and correlation, two real scans. The pages that only read share one
seeded store per backend (module scope); the tests that change incidents or run detections get their own.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from netwarden.access.audit import list_entries
from netwarden.api.app import create_app
from netwarden.context import Context
from netwarden.security import correlate
from netwarden.store import base
from tests.conftest import ADMIN, BACKENDS, VIEWER
from tests.support.pg import PgCluster
from tests.web.security_support import (
    ALICE_PC,
    BRUTE_ATTEMPTS,
    H1,
    OUTSIDE,
    SCAN_HOST,
    SPRAYED,
    SRV1,
    LogData,
    SecurityData,
    seed_risks,
    seed_security,
)
from tests.web.support import PASSWORDS, csrf_of, login


@dataclass
class Store:
    ctx: Context
    data: SecurityData
    ports: dict[str, int]
    incidents: dict[str, int]  # incident id by its vector (brute-force, port-scan, privilege-escalation)


def _incidents(ctx: Context) -> dict[str, int]:
    with ctx.db() as db:
        return {i.vector: i.id for i in correlate.list_incidents(db, VIEWER, status="all")}


@pytest.fixture(scope="module", params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One seeded store per backend for the tests that only read (the ``ctx`` fixture's setup, module-wide)."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("NETWARDEN_")}
    work = tmp_path_factory.mktemp("security")
    data_dir = work / "data"
    try:
        if request.param == "sqlite":
            template: Path = request.getfixturevalue("sqlite_template")
            data_dir.mkdir()
            shutil.copyfile(template, data_dir / "netwarden.db")
            ctx = Context.create(data_dir=data_dir)
        else:
            cluster: PgCluster | None = request.getfixturevalue("pg_cluster")
            if cluster is None:
                pytest.skip("PostgreSQL binaries not found (run `make test` to install them)")
            name = cluster.new_database(template=cluster.template)  # type: ignore[attr-defined]
            ctx = Context.create(data_dir=data_dir, database_url=cluster.url(name))
        data = seed_security(ctx, work)
        ports = seed_risks(ctx)
        yield Store(ctx, data, ports, _incidents(ctx))
    finally:
        base.dispose_engines()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def client(store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(store.ctx), base_url="http://testserver") as c:
        yield c


def _as(client: TestClient, role: str) -> str:
    """Log in as ``role``; returns the session's CSRF token."""
    client.cookies.clear()
    assert login(client, role, PASSWORDS[role]).status_code == 303
    return csrf_of(client.get("/devices").text)


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _plain(fragment: str) -> str:
    """Text as a reader sees it when the tags are inline (no space added where a tag was)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def _row(page: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{re.escape(row_id)}"[^>]*>(.*?)</tr>', page, re.S)
    assert found, f"no row {row_id}"
    return found.group(1)


def _log_lines(page: str) -> list[str]:
    """The raw lines of the log search's result rows, in page order."""
    return [html.unescape(x) for x in re.findall(r'<td class="mono raw log-raw">(.*?)</td>', page, re.S)]


def _search(client: TestClient, **params: str) -> list[str]:
    r = client.get("/security/logs?" + urlencode(params))
    assert r.status_code == 200, _text(r.text)[:300]
    return _log_lines(r.text)


def _error(page: str, element: str) -> str:
    found = re.search(rf'id="{element}"[^>]*>(.*?)</div>', page, re.S)
    assert found, f"no {element}"
    return _text(found.group(1))


# ---------------------------------------------------------------- incidents


def test_the_security_entry_lists_incidents_with_attacker_targets_and_sources(store: Store, client: TestClient) -> None:
    _as(client, "viewer")
    page = client.get("/security")
    assert page.status_code == 200
    assert re.search(r'<a href="/security" class="active"\s+aria-current="page">Security</a>', page.text)
    assert "Coming in a later release" not in page.text
    ids = [int(x) for x in re.findall(r'<tr id="incident-(\d+)"', page.text)]
    assert sorted(ids) == sorted(store.incidents.values()) and len(ids) == 3
    brute = _row(page.text, f"incident-{store.incidents['brute-force']}")
    assert "Brute force from h1 against srv1" in _text(brute)
    assert f'<a href="/devices/h1">h1</a> <span class="muted">{H1}</span>' in brute
    assert '<a href="/devices/srv1">srv1</a>' in brute and "auth" in brute and "firewall" in brute
    assert re.search(r'<td class="num">2</td>\s*<td class="num">16</td>', brute)  # detections, log lines
    scan = _text(_row(page.text, f"incident-{store.incidents['port-scan']}"))
    assert OUTSIDE in scan and "srv1" in scan and "firewall" in scan
    assert "user alice" in _text(_row(page.text, f"incident-{store.incidents['privilege-escalation']}"))
    # Filters: nothing is closed; "all" is every incident; htmx gets the same page (it selects the results).
    closed = client.get("/security", params={"status": "closed"})
    assert '<tr id="incident-' not in closed.text and "No incident matches this filter" in closed.text
    assert len(re.findall(r'<tr id="incident-', client.get("/security?status=all").text)) == 3
    assert client.get("/security?status=gone").status_code == 400


def test_an_incident_shows_scope_timeline_and_evidence(store: Store, client: TestClient) -> None:
    _as(client, "viewer")
    incident_id = store.incidents["brute-force"]
    r = client.get(f"/security/incidents/{incident_id}")
    assert r.status_code == 200
    page = r.text
    assert _text(re.search(r'id="incident-title">(.*?)</span>', page).group(1)) == "Brute force from h1 against srv1"  # type: ignore[union-attr]
    assert 'id="incident-status">open<' in page and 'id="incident-severity">major<' in page
    attacker = re.search(r'id="incident-attacker">(.*?)</dd>', page, re.S).group(1)  # type: ignore[union-attr]
    assert attacker == f'<a href="/devices/h1">h1</a> ({H1})'
    assets = re.search(r'<table class="dense" id="incident-assets">(.*?)</table>', page, re.S).group(1)  # type: ignore[union-attr]
    assert '<a href="/devices/srv1">srv1</a>' in assets and SRV1 in assets and "server" in assets
    # The timeline: every line of both sources, oldest first, and a mark where each rule fired.
    timeline = re.search(r'id="incident-timeline">(.*?)</table>', page, re.S).group(1)  # type: ignore[union-attr]
    sources = re.findall(r'<tr class="tl-(\w+)"', timeline)
    assert sources.count("auth") == BRUTE_ATTEMPTS and sources.count("firewall") == BRUTE_ATTEMPTS
    assert sources.count("detection") == 2 and sources[:2] == ["firewall", "auth"]
    text = _text(timeline)
    for user in SPRAYED:
        assert f"Failed password for {user} from {H1}" in text
    assert f"IP {H1}.50000 > {SRV1}.22: Flags [S]" in text and "◆ SSH brute force: 8 failed logins" in text
    # The detections and their evidence lines, unfolded here.
    detections = re.search(r'id="incident-detections">(.*?)</table>', page, re.S).group(1)  # type: ignore[union-attr]
    assert re.findall(r'<tr data-rule="([\w-]+)"', detections) == ["brute-force", "password-spraying"]
    assert '<details class="evidence-lines" open>' in detections
    evidence = [html.unescape(x) for x in re.findall(r'<pre class="raw-lines">(.*?)</pre>', detections, re.S)]
    assert all(line in evidence[0] for line in store.data.logs.failures)
    # Report links; a viewer has no form to change the incident.
    for fmt in ("html", "md", "pdf"):
        assert f'href="/security/incidents/{incident_id}/report.{fmt}"' in page
    assert 'id="incident-form"' not in page
    assert "Status history" in page and re.search(r'<span class="pill is-open">open</span></td>', page)


def test_the_breach_report_as_markdown_and_html(store: Store, client: TestClient) -> None:
    _as(client, "viewer")
    base_url = f"/security/incidents/{store.incidents['brute-force']}/report"
    md = client.get(base_url + ".md")
    assert md.status_code == 200 and md.headers["content-type"] == "text/markdown; charset=utf-8"
    for heading in ("## What happened", "## Scope", "## Evidence", "## Recommended actions"):
        assert heading in md.text
    assert "h1" in md.text and "srv1" in md.text and f"Failed password for admin from {H1}" in md.text
    page = client.get(base_url + ".html")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.text.startswith("<!doctype html>") and "Brute force from h1 against srv1" in page.text
    assert "sandbox" in page.headers["content-security-policy"]
    assert client.get(base_url + ".txt").status_code == 400
    assert client.get("/security/incidents/99999/report.md").status_code == 404


@pytest.mark.web
def test_the_breach_report_as_pdf(store: Store, client: TestClient) -> None:
    from netwarden.security import report

    try:
        report.chromium()
    except report.ReportError as exc:
        pytest.skip(str(exc))
    _as(client, "viewer")
    r = client.get(f"/security/incidents/{store.incidents['brute-force']}/report.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-") and b"%%EOF" in r.content[-1024:]


def test_unknown_incidents_and_refused_changes(store: Store, client: TestClient) -> None:
    csrf = _as(client, "viewer")
    missing = client.get("/security/incidents/99999")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "no security incident 99999" in _text(missing.text)
    incident_id = store.incidents["port-scan"]
    # A viewer has no form; a forged POST with a valid session token is refused by the service.
    forged = client.post(f"/security/incidents/{incident_id}", data={"csrf_token": csrf, "status": "closed"})
    assert forged.status_code == 403 and "needs role operator" in _text(forged.text)
    # An operator without the form's token is refused before anything is read.
    _as(client, "operator")
    stale = client.post(f"/security/incidents/{incident_id}", data={"status": "closed"})
    assert stale.status_code == 403 and "security token" in _text(stale.text)
    with store.ctx.db() as db:
        assert correlate.get_incident(db, VIEWER, incident_id).status == "open"


def test_anonymous_requests_go_to_the_login_page(store: Store, client: TestClient) -> None:
    client.cookies.clear()
    incident_id = store.incidents["brute-force"]
    for path in (
        "/security",
        f"/security/incidents/{incident_id}",
        f"/security/incidents/{incident_id}/report.md",
        "/security/detections",
        "/security/logs?q=password",
        "/security/risks",
    ):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    for path in (f"/security/incidents/{incident_id}", "/security/detect"):
        r = client.post(path, data={"status": "closed"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path


# ---------------------------------------------------------------- detections


def test_detections_with_filters_and_evidence(store: Store, client: TestClient) -> None:
    _as(client, "viewer")
    page = client.get("/security/detections")
    assert page.status_code == 200
    rules = re.findall(r'<tr id="detection-\d+" data-rule="([\w-]+)"', page.text)
    assert sorted(rules) == ["brute-force", "password-spraying", "port-scan", "privilege-escalation"]
    assert 'id="detect-form"' not in page.text and "Run detections now" not in page.text  # viewers read only
    brute = next(d for d in store.data.detected.detections if d.rule == "brute-force")  # type: ignore[union-attr]
    row = _row(page.text, f"detection-{brute.id}")
    assert f">{H1}</a>" in row and ">srv1<" in row and f'href="/security/incidents/{brute.incident_id}"' in row
    assert re.search(rf'<td class="num">{BRUTE_ATTEMPTS}</td>', row)
    evidence = html.unescape(re.search(r'<pre class="raw-lines">(.*?)</pre>', row, re.S).group(1))  # type: ignore[union-attr]
    assert evidence.splitlines() == store.data.logs.failures
    assert '<details class="evidence-lines">' in row  # folded in the list

    def rules_of(**params: str) -> list[str]:
        r = client.get("/security/detections?" + urlencode(params))
        assert r.status_code == 200
        return sorted(re.findall(r'<tr id="detection-\d+" data-rule="([\w-]+)"', r.text))

    assert rules_of(rule="brute-force") == ["brute-force"]
    assert rules_of(source_ip=OUTSIDE) == ["port-scan"]
    assert rules_of(source_ip=H1) == ["brute-force", "password-spraying"]
    assert rules_of(rule="port-scan", source_ip=H1) == []
    assert rules_of(period="1h") == rules_of(period="all")  # all of it is 20 minutes old
    bad = client.get("/security/detections", params={"source_ip": "10.1.20"})
    assert bad.status_code == 400 and "bad source IP '10.1.20'" in _text(bad.text)


# ---------------------------------------------------------------- log search


def test_the_log_search_finds_exactly_the_matching_lines(store: Store, client: TestClient) -> None:
    _as(client, "viewer")
    logs: LogData = store.data.logs
    page = client.get("/security/logs")
    assert page.status_code == 200 and 'id="log-search"' in page.text and 'method="get"' in page.text
    everything = _log_lines(page.text)
    assert sorted(everything) == sorted(logs.lines)  # the default period (24 h) holds every line
    assert everything[0] == logs.alice_sudo  # newest first
    # Raw lines are text, never markup.
    assert "&lt;script&gt;" in page.text and "<script>" not in page.text.split('id="log-table"')[1]
    # Words must all occur anywhere (any case); a quoted phrase as written.
    assert sorted(_search(client, q="for alice")) == sorted([logs.alice_login, logs.alice_session])
    assert sorted(_search(client, q="FOR Alice")) == sorted([logs.alice_login, logs.alice_session])
    assert _search(client, q='"for alice"') == [logs.alice_login]
    assert _search(client, q='"password for oracle"') == [f for f in logs.failures if "for oracle " in f][::-1]
    # Field filters.
    assert sorted(_search(client, kind="auth-failure")) == sorted(logs.failures)
    assert sorted(_search(client, source_ip=H1)) == sorted([*logs.failures, *logs.accepts])
    assert sorted(_search(client, source_ip=H1, kind="firewall-accept")) == sorted(logs.accepts)
    assert sorted(_search(client, host="fw1")) == sorted([*logs.accepts, *logs.denies])
    assert sorted(_search(client, user="alice")) == sorted([logs.alice_login, logs.alice_session, logs.alice_sudo])
    assert _search(client, source_ip=ALICE_PC, q="publickey") == [logs.alice_login]
    # Periods: 1h leaves out the three-hour-old login; empty is any time; an ISO time is a start.
    assert (
        logs.old_bob_login not in _search(client, since="1h")
        and len(_search(client, since="1h")) == len(logs.lines) - 1
    )
    assert logs.old_bob_login in _search(client, since="")
    start = (logs.t0 + dt.timedelta(seconds=100)).replace(tzinfo=None).isoformat()  # no zone: UTC
    assert sorted(_search(client, since=start)) == sorted(
        [*logs.denies, logs.alice_login, logs.alice_session, logs.alice_sudo]
    )
    # Limit: the newest n, and the page says more matched.
    limited = client.get("/security/logs", params={"limit": "5"})
    assert _log_lines(limited.text) == everything[:5] and "more match" in limited.text


def test_bad_searches_keep_the_form_and_say_why(store: Store, client: TestClient) -> None:
    _as(client, "viewer")
    for params, status, message in (
        ({"since": "yesterday"}, 400, "bad since 'yesterday': give a duration (30m, 1h, 24h, 7d) or an ISO time"),
        ({"source_ip": "10.1.20"}, 400, "bad source IP '10.1.20': give one address, such as 10.1.20.2 or 2001:db8::1"),
        ({"kind": "nonsense"}, 400, "unknown event kind 'nonsense': choose one of the list"),
    ):
        r = client.get("/security/logs", params=params)
        assert r.status_code == status and "Traceback" not in r.text
        assert _error(r.text, "log-error") == message
        assert 'id="log-search"' in r.text and not _log_lines(r.text)
    for bad in ({"limit": "0"}, {"limit": "abc"}, {"q": "x" * 501}):
        r = client.get("/security/logs", params=bad)
        assert r.status_code == 400 and "text/html" in r.headers["content-type"] and "Traceback" not in r.text


# ---------------------------------------------------------------- risk register


def test_the_risk_register_with_filters_and_an_entry(store: Store, client: TestClient) -> None:
    _as(client, "viewer")
    page = client.get("/security/risks")
    assert page.status_code == 200
    kinds = re.findall(r'<tr id="risk-\w+" data-risk-id="\w+" data-kind="([\w-]+)"', page.text)
    assert kinds == ["telnet"]
    telnet_id = re.search(r'data-risk-id="(\w+)" data-kind="telnet"', page.text).group(1)  # type: ignore[union-attr]
    row = _text(_row(page.text, f"risk-{telnet_id}"))
    assert "8.1" in row and "high" in row and "edge9" in row and f"{store.ports['telnet']}/tcp" in row
    assert "Telnet management service" in row and "transport input ssh" in row and "open" in row
    assert '<a href="/devices/edge9">edge9</a>' in page.text and SCAN_HOST in page.text

    def kinds_of(**params: str) -> list[str]:
        r = client.get("/security/risks?" + urlencode(params))
        assert r.status_code == 200
        return re.findall(r'data-kind="([\w-]+)" data-level', r.text)

    assert kinds_of(status="all") == ["telnet", "ftp"]
    assert kinds_of(status="resolved") == ["ftp"]
    assert kinds_of(status="all", min_level="high") == ["telnet"]
    assert kinds_of(status="all", min_level="critical") == []
    assert client.get("/security/risks?min_level=severe").status_code == 400
    # One entry, also by a prefix of its id.
    for key in (telnet_id, telnet_id[:6]):
        entry = client.get(f"/security/risks/{key}")
        assert entry.status_code == 200
        evidence = _text(re.search(r'id="risk-evidence">(.*?)</pre>', entry.text, re.S).group(1))  # type: ignore[union-attr]
        assert evidence == f"tcp/{store.ports['telnet']} telnet answered: User Access Verification | Username:"
        assert "transport input ssh" in _text(
            re.search(r'id="risk-remediation">(.*?)</pre>', entry.text, re.S).group(1)
        )  # type: ignore[union-attr]
        assert 'id="risk-score">8.1<' in entry.text
    assert client.get("/security/risks/ffff0000ffff").status_code == 404
    short = client.get("/security/risks/ab")
    assert short.status_code == 400 and "too short" in _text(short.text)


# ---------------------------------------------------------------- changes (each test on its own store)


@pytest.fixture
def fresh(ctx: Context, tmp_path: Path) -> Iterator[tuple[Context, SecurityData, TestClient]]:
    data = seed_security(ctx, tmp_path, run_detections=False)
    with TestClient(create_app(ctx), base_url="http://testserver") as c:
        yield ctx, data, c


def test_run_detections_now_and_change_an_incident(fresh: tuple[Context, SecurityData, TestClient]) -> None:
    ctx, data, client = fresh
    csrf = _as(client, "viewer")
    assert client.post("/security/detect", data={"csrf_token": csrf}).status_code == 403
    csrf = _as(client, "operator")
    page = client.get("/security/detections")
    assert 'id="detect-form"' in page.text and '<tr id="detection-' not in page.text
    assert client.post("/security/detect", data={"period": "24h"}).status_code == 403  # no CSRF token
    ran = client.post("/security/detect", data={"csrf_token": csrf, "period": "24h"})
    assert ran.status_code == 200, _text(ran.text)[:300]
    summary = _plain(re.search(r'id="detect-summary">(.*?)</p>', ran.text, re.S).group(1))  # type: ignore[union-attr]
    assert summary.startswith(f"{len(data.logs.lines)} log lines read")
    assert "4 detections (4 new, 0 updated) · 3 incidents opened or extended" in summary
    assert len(re.findall(r'<tr id="detection-\d+"', ran.text)) == 4
    # htmx gets the page too (it swaps the results); running again updates instead of adding.
    again = client.post("/security/detect", data={"csrf_token": csrf, "period": "all"}, headers={"HX-Request": "true"})
    assert again.status_code == 200 and "(0 new, 4 updated)" in _plain(again.text)

    incident_id = _incidents(ctx)["brute-force"]
    detail = client.get(f"/security/incidents/{incident_id}")
    assert 'id="incident-form"' in detail.text and csrf in detail.text
    changed = client.post(
        f"/security/incidents/{incident_id}",
        data={"csrf_token": csrf, "status": "investigating", "note": "blocked h1 at fw1, ticket INC-7"},
        follow_redirects=False,
    )
    assert changed.status_code == 303 and changed.headers["location"] == f"/security/incidents/{incident_id}"
    shown = client.get(f"/security/incidents/{incident_id}").text
    assert 'id="incident-status">investigating<' in shown
    assert _text(re.search(r'id="incident-note">(.*?)</dd>', shown).group(1)) == "blocked h1 at fw1, ticket INC-7"  # type: ignore[union-attr]
    # The note is sent back as shown: closing records no second note.
    client.post(
        f"/security/incidents/{incident_id}",
        data={"csrf_token": csrf, "status": "closed", "note": "blocked h1 at fw1, ticket INC-7"},
    )
    with ctx.db() as db:
        incident = correlate.get_incident(db, VIEWER, incident_id)
        entries, _ = list_entries(db, ADMIN, object_type="security-incident", action="update")
    assert [(h.status, h.note) for h in incident.history] == [
        ("open", "opened by detection"),
        ("investigating", "blocked h1 at fw1, ticket INC-7"),
        ("closed", ""),
    ]
    assert incident.closed_by == "operator" and incident.note == "blocked h1 at fw1, ticket INC-7"
    assert [(e.actor, e.object, e.changes["status"]) for e in entries] == [
        ("operator", str(incident_id), ["investigating", "closed"]),
        ("operator", str(incident_id), ["open", "investigating"]),
    ]
    active = client.get("/security").text
    assert f'<tr id="incident-{incident_id}"' not in active
    assert f'<tr id="incident-{incident_id}"' in client.get("/security?status=closed").text
