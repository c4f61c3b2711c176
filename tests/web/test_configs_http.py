"""The configs and compliance pages over HTTP (TestClient), on SQLite and PostgreSQL (the ``ctx`` fixture).

The data is made by the real backend: two revisions committed to the config repository of the store's
data dir (real Cisco IOS configurations from the Batfish corpus), backup states and compliance results
as the backup and the checker store them. "Back up now" runs a real backup over SSH against fake IOS
devices on 127.0.0.x (tests/support/fake_cli.py).
"""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from netwarden.access.models import AuditEntry
from netwarden.access.schemas import SYSTEM
from netwarden.api.app import create_app
from netwarden.configs import compliance
from netwarden.configs.backup import repo_of
from netwarden.configs.models import ComplianceResult, ConfigBackup
from netwarden.context import Context
from netwarden.inventory.credentials import add_credential
from netwarden.inventory.devices import add_device, add_site
from netwarden.inventory.models import Device
from netwarden.inventory.schemas import CredentialIn, CredentialParams, DeviceIn, SiteIn
from netwarden.web.configs import diff_view
from tests.conftest import OPERATOR
from tests.support.fake_cli import fake_ios
from tests.support.shared_data import shared_data
from tests.web.support import PASSWORDS, add_users, csrf_of, login

BATFISH = shared_data() / "batfish" / "networks" / "example" / "live" / "configs"
# Devices live on loopback addresses: a backup run only ever reaches 127.0.0.x (fake devices or nothing).
DEVICES = (
    ("edge1", "cisco_ios", "127.0.0.2"),
    ("edge2", "cisco_ios", "127.0.0.3"),
    ("fw1", "frr", "127.0.0.4"),
    ("sw9", "arista_eos", "127.0.0.5"),
    ("fw-old", "nftables", None),
)
FRR = "frr version 8.4\nfrr defaults traditional\nhostname fw1\n!\nrouter ospf\n network 10.0.0.0/24 area 0\n!\nend\n"
NFT_OLD = (
    "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n"
    "\t\ttcp dport 22 accept\n\t}\n}\n"
)
MINUS = "\u2212"  # the pages write removed counts and lines with a real minus sign
NFT_NEW = NFT_OLD.replace("tcp dport 22 accept", "tcp dport 22 accept\n\t\ttcp dport 443 accept")


@dataclass
class ConfigData:
    """What was stored, for the tests to compare the pages with."""

    first: str
    second: str
    text1: str
    text2: str
    changed: tuple[str, str]  # the line of the first revision and what it became
    added: str
    removed: str


def seed_configs(ctx: Context) -> ConfigData:
    """Users of each role, five devices, two backup runs in git and their states, two compliance runs."""
    if not BATFISH.is_dir():
        pytest.fail(f"the Batfish corpus is missing: {BATFISH}")
    with ctx.db() as db:
        add_users(db)
    with ctx.db() as db:
        add_site(db, SYSTEM, SiteIn(name="lab"))
        for name, platform, ip in DEVICES:
            add_device(db, SYSTEM, DeviceIn(name=name, site="lab", platform=platform, mgmt_ip=ip))
    # As a backup stores it: from the first line of the configuration, no trailing blanks.
    raw = (BATFISH / "as1border1.cfg").read_text()
    text1 = "\n".join(line.rstrip() for line in raw.splitlines()).lstrip("\n") + "\n"
    old_line, new_line = " ip address 1.0.1.1 255.255.255.0", " ip address 1.0.1.2 255.255.255.0"
    added, removed = "ntp server 10.9.9.9", "ip tcp synwait-time 5"
    assert text1.count(old_line + "\n") == 1 and text1.count(removed + "\n") == 1
    text2 = (
        text1.replace(old_line + "\n", new_line + "\n")
        .replace("ip domain name lab.local\n", f"ip domain name lab.local\n{added}\n")
        .replace(removed + "\n", "")
    )
    repo = repo_of(ctx)
    first = repo.commit(
        {"edge1.cfg": text1, "edge1.startup.cfg": text1, "fw1.cfg": FRR, "fw1.nft": NFT_OLD, "edge2.cfg": FRR},
        author="alice",
        message="Backup: first look\n\nAsked by: alice (test)\n",
    )
    second = repo.commit(
        {"edge1.cfg": text2, "fw1.nft": NFT_NEW}, author="bob", message="Backup: change CHG-42\n\nAsked by: bob\n"
    )
    assert first and second
    day = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    with ctx.db() as db:
        ids = {name: id_ for name, id_ in db.execute(select(Device.name, Device.id))}
        db.add(
            ConfigBackup(
                device_id=ids["edge1"], last_attempt=day, last_success=day, last_change=day, revision=second,
                files=["edge1.cfg", "edge1.startup.cfg"], failures=0, reason="", last_error="",
            )
        )  # fmt: skip
        db.add(
            ConfigBackup(
                device_id=ids["fw1"], last_attempt=day, last_success=day, last_change=day, revision=second,
                files=["fw1.cfg", "fw1.nft"], failures=0, reason="", last_error="",
            )
        )  # fmt: skip
        db.add(
            ConfigBackup(
                device_id=ids["edge2"], last_attempt=day, last_success=day - dt.timedelta(days=3), revision=first,
                files=["edge2.cfg"], failures=3, reason="truncated",
                last_error="running: the copy ends at 'interface Gi0/3', not a complete configuration",
            )
        )  # fmt: skip
        runs = [
            (day - dt.timedelta(days=1), first, {"ssh-only": "pass", "no-snmp-public": "fail", "ntp": "fail"}),
            (
                day,
                second,
                {
                    "ssh-only": "pass",
                    "no-snmp-public": "fail",
                    "ntp": "pass",
                    "aaa": "pass",
                    "syslog": "pass",
                    "banner": "not_applicable",
                },
            ),
        ]
        for at, rev, verdicts in runs:
            for rule, status in verdicts.items():
                db.add(_result(ids["edge1"], at, rev, rule, status))
        for rule in ("ssh-only", "ntp"):
            db.add(_result(ids["fw1"], day, second, rule, "pass"))
    return ConfigData(first, second, text1, text2, (old_line, new_line), added, removed)


def _result(device_id: int, at: dt.datetime, rev: str, rule: str, status: str) -> ComplianceResult:
    failing = status == "fail"
    return ComplianceResult(
        device_id=device_id,
        checked_at=at,
        revision=rev,
        policy="default",
        rule=rule,
        severity="major" if rule == "no-snmp-public" else "warning",
        status=status,
        message=f"{rule}: {'violated' if failing else 'ok'}",
        evidence=[{"line": 12, "text": "snmp-server community <masked> RO"}] if failing else [],
        remediation=f"no snmp-server community public  ! fix {rule}" if failing else "",
    )


@pytest.fixture
def data(ctx: Context) -> ConfigData:
    return seed_configs(ctx)


@pytest.fixture
def client(ctx: Context, data: ConfigData) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), base_url="http://testserver") as c:
        yield c


def _as(client: TestClient, role: str) -> str:
    """Log in as ``role``; returns the session's CSRF token."""
    client.cookies.clear()
    assert login(client, role, PASSWORDS[role]).status_code == 303
    return csrf_of(client.get("/devices").text)


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _row(page: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{re.escape(row_id)}"[^>]*>(.*?)</tr>', page, re.S)
    assert found, f"no row {row_id}"
    return found.group(1)


def _rows(page: str, table_id: str, kind: str) -> list[list[str]]:
    """The text of each cell of the rows of one kind (d-changed, d-added...) of a diff table."""
    table = re.search(rf'<table class="diff[^"]*" id="{table_id}">(.*?)</table>', page, re.S)
    assert table, f"no table {table_id}"
    rows = re.findall(rf'<tr class="d-{kind}">(.*?)</tr>', table.group(1), re.S)
    return [[_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]


def _head(ctx: Context) -> str:
    out = subprocess.run(["git", "-C", str(repo_of(ctx).path), "rev-parse", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip()


# ---------------------------------------------------------------- /configs


def test_the_list_shows_backup_state_failures_and_scores(client: TestClient, data: ConfigData) -> None:
    _as(client, "viewer")
    page = client.get("/configs")
    assert page.status_code == 200
    assert re.search(r'<a href="/configs" class="active"', page.text)  # a built page, not the placeholder
    edge1 = _row(page.text, "backup-edge1")
    assert data.second[:10] in edge1 and "2026-11-20 08:00:00" in edge1
    # edge1's latest run: four rules pass, no-snmp-public fails, banner is not applicable.
    assert "80.0%" in edge1 and 'href="/compliance/edge1"' in edge1
    assert "100.0%" in _row(page.text, "backup-fw1")
    edge2 = _text(_row(page.text, "backup-edge2"))
    assert "3" in edge2 and "truncated" in edge2 and "not a complete configuration" in edge2 and "not checked" in edge2
    assert '<span class="reason">truncated</span>' in _row(page.text, "backup-edge2")
    assert "not checked" in _text(_row(page.text, "backup-sw9")) and ">0<" in _row(page.text, "backup-sw9")
    assert "no management IP" in _text(_row(page.text, "backup-fw-old"))
    counts = {k: _text(v) for k, v in re.findall(r'id="count-([a-z-]+)">(\d+)<', page.text)}
    assert counts == {"devices": "5", "backed-up": "3", "failing": "1", "never": "2"}
    # A viewer reads, without the button.
    assert 'id="backup-form"' not in page.text and "Back up now" not in page.text
    # The device page links its configuration history.
    assert 'href="/configs/edge1"' in client.get("/devices/edge1").text


def test_a_viewer_may_not_back_up(ctx: Context, client: TestClient) -> None:
    csrf = _as(client, "viewer")
    head = _head(ctx)
    for url in ("/configs/backup", "/configs/edge1/backup"):
        r = client.post(url, data={"csrf_token": csrf, "device": "edge1"}, follow_redirects=False)
        assert r.status_code == 403 and "text/html" in r.headers["content-type"]
        assert "needs role operator" in html.unescape(r.text)
    assert _head(ctx) == head


def test_back_up_now_without_a_credential_says_why(ctx: Context, client: TestClient) -> None:
    csrf = _as(client, "operator")
    page = client.get("/configs")
    assert 'id="backup-form"' in page.text and 'id="backup-now"' in page.text
    assert client.post("/configs/backup", data={"device": "edge1"}).status_code == 403  # no CSRF token
    r = client.post("/configs/backup", data={"csrf_token": csrf, "device": "edge1"})
    assert r.status_code == 500 and "no SSH credential" in html.unescape(r.text)
    assert 'id="backup-error"' in r.text and 'id="backup-table"' in r.text  # the page, with the reason
    swapped = client.post(
        "/configs/backup", data={"csrf_token": csrf, "device": "edge1"}, headers={"HX-Request": "true"}
    )
    assert swapped.status_code == 200 and 'id="backup-error"' in swapped.text  # htmx swaps only 2xx
    unknown = client.post("/configs/backup", data={"csrf_token": csrf, "device": "nope"})
    assert unknown.status_code == 404 and "no device 'nope'" in html.unescape(unknown.text)


def test_an_operator_backs_up_one_device_then_all(ctx: Context, data: ConfigData, client: TestClient) -> None:
    served = data.text2.replace("ip domain name lab.local", "ip domain name example.net")
    with fake_ios({"edge1": served, "edge2": FRR.replace("frr version 8.4", "!\nversion 15.2")}) as fleet:
        assert set(fleet.devices) == {"127.0.0.2", "127.0.0.3"}  # edge1 and edge2 of the inventory
        with ctx.db() as db:
            add_credential(
                db, SYSTEM, ctx.vault,
                CredentialIn(name="netops", kind="ssh", username=fleet.user, secret=SecretStr(fleet.password),
                             params=CredentialParams(port=fleet.port)),
            )  # fmt: skip
        ctx.settings.config_credentials = ["netops"]
        csrf = _as(client, "operator")
        one = client.post("/configs/backup", data={"csrf_token": csrf, "device": "edge1", "why": "after CHG-43"})
        assert one.status_code == 200
        outcome = re.search(r'<tr data-device="edge1" data-result="([a-z]+)">(.*?)</tr>', one.text, re.S)
        assert (
            outcome and outcome.group(1) == "changed" and "+1" in outcome.group(2) and f"{MINUS}1" in outcome.group(2)
        )
        history = repo_of(ctx).history("edge1.cfg")
        assert [r.author for r in history] == ["operator", "bob", "alice"]
        assert history[0].message == "Backup: after CHG-43 (console)"
        assert 'data-device="edge2"' not in one.text.split('id="backup-table"')[0]  # only edge1 ran
        assert re.search(rf'id="backup-revision" title="{history[0].rev}"', one.text)
        with ctx.db() as db:
            entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "config.backup"))
            assert entry is not None and entry.actor == "operator"

        # Every device, as htmx sends it: fw1 and sw9 have no SSH server on their addresses.
        every = client.post("/configs/backup", data={"csrf_token": csrf, "device": ""}, headers={"HX-Request": "true"})
        assert every.status_code == 200
        results = dict(re.findall(r'<tr data-device="([^"]+)" data-result="([a-z]+)">', every.text))
        assert results == {"edge1": "unchanged", "edge2": "changed", "fw1": "failed", "sw9": "failed"}
        assert 'data-ok="false"' in every.text
        fw1 = _row(every.text, "backup-fw1")
        assert re.search(r'class="pill bk-failed failures">1<', fw1) and '<span class="reason">' in fw1
        assert "0" in _text(_row(every.text, "backup-edge2"))  # its run of failures ended
        assert repo_of(ctx).show("edge2.cfg").startswith("!\nversion 15.2")


# ---------------------------------------------------------------- /configs/{device}


def test_the_device_page_shows_revisions_and_the_last_change_side_by_side(client: TestClient, data: ConfigData) -> None:
    _as(client, "viewer")
    page = client.get("/configs/edge1")
    assert page.status_code == 200
    revs = re.findall(r'<tr data-rev="([0-9a-f]{40})"', page.text)
    assert revs == [data.second, data.first]
    second = _text(re.search(rf'<tr data-rev="{data.second}"[^>]*>(.*?)</tr>', page.text, re.S).group(1))  # type: ignore[union-attr]
    assert "bob" in second and "change CHG-42" in second and "Backup:" not in second
    assert 'data-mode="diff"' in page.text
    old_line, new_line = data.changed
    old_no = data.text1.splitlines().index(old_line) + 1
    new_no = data.text2.splitlines().index(new_line) + 1
    changed = _rows(page.text, "diff-side", "changed")
    assert [str(old_no), old_line, str(new_no), new_line] in changed
    # The changed word is marked on both sides.
    assert "<mark>1.0.1.1</mark>" in page.text and "<mark>1.0.1.2</mark>" in page.text
    added = _rows(page.text, "diff-side", "added")
    assert ["", "", str(data.text2.splitlines().index(data.added) + 1), data.added] in added
    removed = _rows(page.text, "diff-side", "removed")
    assert [str(data.text1.splitlines().index(data.removed) + 1), data.removed, "", ""] in removed
    assert re.search(r'id="diff-added">\+2<', page.text) and re.search(f'id="diff-removed">{MINUS}2<', page.text)
    # Parts: running and startup are stored; the page offers both.
    assert set(re.findall(r'data-part="([a-z]+)"', page.text)) == {"running", "startup"}

    unified = client.get("/configs/edge1", params={"layout": "unified"}).text
    assert [str(old_no), "", MINUS, old_line] in _rows(unified, "diff-unified", "removed")
    assert ["", str(new_no), "+", new_line] in _rows(unified, "diff-unified", "added")
    assert 'id="diff-side"' not in unified

    raw = client.get("/configs/edge1/raw", params={"old": data.first, "new": data.second})
    assert raw.headers["content-type"].startswith("text/plain")
    assert f"-{old_line}\n" in raw.text and f"+{new_line}\n" in raw.text and f"+{data.added}\n" in raw.text

    whole = client.get("/configs/edge1", params={"context": "all"}).text
    lines = (
        _rows(whole, "diff-side", "same") + _rows(whole, "diff-side", "changed") + _rows(whole, "diff-side", "removed")
    )
    assert len(lines) == len(data.text1.splitlines())


def test_texts_of_a_revision_and_of_each_part(client: TestClient, data: ConfigData) -> None:
    _as(client, "viewer")
    old = client.get("/configs/edge1", params={"rev": data.first[:12]})
    assert old.status_code == 200 and 'data-mode="text"' in old.text
    assert f'<tr id="L{data.text1.splitlines().index(data.changed[0]) + 1}">' in old.text
    assert client.get("/configs/edge1/raw", params={"rev": data.first}).text == data.text1
    assert client.get("/configs/edge1/raw").text == data.text2
    # The startup config was stored once: its only revision is shown, with nothing to compare.
    startup = client.get("/configs/edge1", params={"part": "startup"})
    assert startup.status_code == 200 and 'id="only-one"' in startup.text and 'data-mode="text"' in startup.text
    # fw1's nftables rule set changed in the second run; its running config did not.
    nft = client.get("/configs/fw1", params={"part": "nftables"})
    assert _rows(nft.text, "diff-side", "added") == [["", "", "5", "\t\ttcp dport 443 accept"]]
    running = client.get("/configs/fw1")
    assert 'id="only-one"' in running.text and set(re.findall(r'data-part="([a-z]+)"', running.text)) == {
        "running",
        "nftables",
    }
    # An explicit pair: newest against itself has no difference; new alone compares with its predecessor.
    same = client.get("/configs/edge1", params={"old": data.second, "new": data.second})
    assert 'id="diff-empty"' in same.text
    alone = client.get("/configs/edge1", params={"new": data.second})
    assert [data.changed[0], data.changed[1]] == [c for c in _rows(alone.text, "diff-side", "changed")[0][1::2]]
    # A device never backed up: an empty page, not an error.
    never = client.get("/configs/sw9")
    assert never.status_code == 200 and 'id="config-empty"' in never.text
    unsupported = client.get("/configs/fw-old")
    assert unsupported.status_code == 200 and "no config backup for platform nftables" in unsupported.text
    assert client.get("/configs/fw-old/raw").status_code == 400


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"rev": "deadbeef00"}, 404, "no revision 'deadbeef00'"),
        ({"rev": "--output=/tmp/x"}, 400, "not a revision"),
        ({"old": "HEAD", "new": "no-such-rev"}, 404, "no revision 'no-such-rev'"),
        ({"rev": "HEAD~2"}, 404, "edge1.cfg is not in revision HEAD~2"),  # the repository's first commit
        ({"part": "nftables"}, 400, "has no config part 'nftables'"),
        ({"part": "Bad Part"}, 400, "part:"),
        ({"layout": "3d"}, 400, "layout:"),
        ({"rev": "x" * 101}, 400, "rev:"),
    ],
)
def test_bad_revisions_and_parts_give_the_error_page(
    client: TestClient, params: dict[str, str], status: int, message: str
) -> None:
    _as(client, "viewer")
    for url in ("/configs/edge1", "/configs/edge1/raw"):
        if url.endswith("raw") and "layout" in params:
            continue
        r = client.get(url, params=params)
        assert r.status_code == status, (url, params)
        assert "text/html" in r.headers["content-type"] and "Traceback" not in r.text
        found = re.search(r'id="error-message">(.*?)</p>', r.text, re.S)
        assert found and message in html.unescape(found.group(1)), found and found.group(1)
    assert client.get("/configs/no-such-device").status_code == 404


# ---------------------------------------------------------------- /compliance


def test_the_compliance_overview(client: TestClient, data: ConfigData) -> None:
    _as(client, "viewer")
    page = client.get("/compliance")
    assert page.status_code == 200
    scores = dict(re.findall(r'<tr data-device="([^"]+)" data-score="([^"]*)">', page.text))
    assert scores == {"edge1": "80.0", "fw1": "100.0"}
    rules = dict(re.findall(r'<tr data-rule="([^"]+)" data-count="(\d+)">', page.text))
    assert rules == {"no-snmp-public": "1"}
    assert re.search(r'id="unchecked">.*edge2', page.text, re.S)  # backed up once, never checked
    assert 'aria-current="page">Compliance<' in page.text


def test_a_device_compliance_page_shows_rules_evidence_remediation_history(
    client: TestClient, data: ConfigData
) -> None:
    _as(client, "viewer")
    page = client.get("/compliance/edge1")
    assert page.status_code == 200
    statuses = re.findall(r'<tr data-rule="([^"]+)" data-status="([^"]+)"', page.text)
    assert statuses[0] == ("no-snmp-public", "fail")  # failures first
    assert sorted(statuses) == sorted(
        [
            ("ssh-only", "pass"),
            ("no-snmp-public", "fail"),
            ("ntp", "pass"),
            ("aaa", "pass"),
            ("syslog", "pass"),
            ("banner", "not_applicable"),
        ]
    )
    failing = re.search(r'data-status="fail"[^>]*>(.*?)</tr>', page.text, re.S)
    assert failing
    assert (
        '<span class="ln" title="line 12">12</span><code>snmp-server community &lt;masked&gt; RO</code>'
        in failing.group(1)
    )
    assert '<pre class="remediation">no snmp-server community public  ! fix no-snmp-public</pre>' in failing.group(1)
    history = re.search(r'id="score-history">(.*?)</table>', page.text, re.S)
    assert history
    assert re.findall(r'class="pct">([\d.]+)%', history.group(1)) == ["80.0", "33.3"]  # newest first
    assert f'?rev={data.second}"' in page.text  # the checked revision's text
    assert 'id="device-score">80.0%' in page.text
    never = client.get("/compliance/sw9")
    assert never.status_code == 200 and 'id="not-checked"' in never.text
    assert client.get("/compliance/nope").status_code == 404


# ---------------------------------------------------------------- the diff layouts themselves


def test_side_by_side_rows_rebuild_both_texts_exactly(ctx: Context) -> None:
    """With the whole file as context, the left column is the old text and the right the new, line for line."""
    text = (BATFISH / "as2dept1.cfg").read_text().splitlines()
    new = list(text)
    new[10:14] = ["interface Vlan99", " ip address 10.99.0.1 255.255.255.0"]  # 4 lines become 2
    new.insert(40, "logging host 10.0.0.50")
    del new[100:103]
    new[120] = new[120] + " extra"
    repo = repo_of(ctx)
    a = repo.commit({"x.cfg": "\n".join(text) + "\n"}, author="t", message="a")
    b = repo.commit({"x.cfg": "\n".join(new) + "\n"}, author="t", message="b")
    assert a and b
    view = diff_view(repo.diff("x.cfg", a, b, context=10**7))
    lines = [r for r in view.side if r.kind != "hunk"]
    lefts = [(r.left.number, "".join(t for t, _ in r.left.parts)) for r in lines if r.left]
    rights = [(r.right.number, "".join(t for t, _ in r.right.parts)) for r in lines if r.right]
    assert lefts == list(enumerate(text, 1)) and rights == list(enumerate(new, 1))
    assert (view.added, view.removed) == (4, 8)
    # Pairs: a run of removed lines next to the added ones that replace them, one row each.
    assert [r.kind for r in view.side].count("changed") == 3
    unified_old = [r.left.number for r in view.unified if r.kind in ("same", "removed") and r.left]
    assert unified_old == list(range(1, len(text) + 1))
    cut = diff_view(repo.diff("x.cfg", a, b, context=10**7), max_rows=50)
    assert cut.truncated and len(cut.side) == 50


def test_a_real_check_shows_on_the_pages_with_evidence_linked_to_its_line(ctx: Context, client: TestClient) -> None:
    """The policy engine's default pack checks the stored configurations; the pages show what it stored."""
    checked = {d.device: d for d in compliance.run_check(ctx, OPERATOR, ["edge1", "fw1"])}
    _as(client, "viewer")
    overview = client.get("/compliance").text
    scores = dict(re.findall(r'<tr data-device="([^"]+)" data-score="([^"]*)">', overview))
    assert scores == {name: str(d.score) for name, d in checked.items()}
    failing_rules = {r.rule for d in checked.values() for r in d.results if r.status == "fail"}
    assert set(re.findall(r'<tr data-rule="([^"]+)" data-count="\d+">', overview)) == failing_rules

    page = client.get("/compliance/edge1")
    assert page.status_code == 200
    shown = re.findall(r'<tr data-rule="([^"]+)" data-status="([^"]+)"', page.text)
    assert sorted(shown) == sorted((r.rule, r.status) for r in checked["edge1"].results)
    revision = checked["edge1"].revision
    # Every evidence line that names a stored file links to that line of the checked revision, in its part.
    parts = {"edge1.cfg": "running", "edge1.startup.cfg": "startup"}
    evidence = [e for r in checked["edge1"].results for e in r.evidence if isinstance(e, dict) and "file" in e]
    assert evidence, "the default pack found no evidence line on a Batfish IOS config"
    for e in evidence:
        part = parts[e["file"]]
        query = f"part={part}&amp;rev={revision}" if part != "running" else f"rev={revision}"
        assert f'href="/configs/edge1?{query}#L{e["line"]}"' in page.text
        text = client.get("/configs/edge1", params={"rev": revision, **({"part": part} if part != "running" else {})})
        line = re.search(rf'<tr id="L{e["line"]}">.*?<td class="code">(.*?)</td>', text.text, re.S)
        assert line and html.unescape(line.group(1)).strip() == e["text"].strip()
    remedies = {r.remediation for r in checked["edge1"].results if r.status == "fail" and r.remediation}
    shown_remedies = {html.unescape(m) for m in re.findall(r'<pre class="remediation">(.*?)</pre>', page.text, re.S)}
    assert remedies and shown_remedies == remedies
