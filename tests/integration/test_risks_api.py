"""GET /api/v1/risks and /api/v1/risks/{id} on SQLite and PostgreSQL.

The register is filled by two real scans of a telnet and an FTP greeter on a loopback address (the FTP
one stopped before the second scan, so its entry is resolved): ``tests/web/security_support.py``.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from netwarden.context import Context
from netwarden.security.scan import service
from netwarden.security.scan.register import Coverage
from netwarden.security.scan.schemas import FindingOut
from tests.conftest import auth
from tests.web.security_support import SCAN_HOST, seed_inventory, seed_risks


@pytest.fixture
def ports(ctx: Context) -> dict[str, int]:
    seed_inventory(ctx)
    return seed_risks(ctx)


def test_viewers_read_the_register_with_its_filters(
    api: httpx.Client, tokens: dict[str, str], ports: dict[str, int]
) -> None:
    viewer = auth(tokens["viewer"])
    page = api.get("/api/v1/risks", headers=viewer)
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == 1 and len(body["items"]) == 1
    [telnet] = body["items"]
    assert (telnet["kind"], telnet["target"], telnet["device"], telnet["address"]) == (
        "telnet",
        "edge9",
        "edge9",
        SCAN_HOST,
    )
    assert (telnet["port"], telnet["proto"], telnet["status"], telnet["level"]) == (
        ports["telnet"],
        "tcp",
        "open",
        "high",
    )
    assert "transport input ssh" in telnet["remediation"] and telnet["evidence"]
    everything = api.get("/api/v1/risks", headers=viewer, params={"status": "all"}).json()
    assert [(r["kind"], r["status"]) for r in everything["items"]] == [("telnet", "open"), ("ftp", "resolved")]
    assert everything["total"] == 2
    resolved = api.get("/api/v1/risks", headers=viewer, params={"status": "resolved"}).json()["items"]
    assert [(r["kind"], r["port"]) for r in resolved] == [("ftp", ports["ftp"])] and resolved[0]["resolved_at"]
    # min_level: that level and above (telnet is high, FTP medium).
    levels = {
        level: [
            r["kind"]
            for r in api.get("/api/v1/risks", headers=viewer, params={"status": "all", "min_level": level}).json()[
                "items"
            ]
        ]
        for level in ("critical", "high", "medium")
    }
    assert levels == {"critical": [], "high": ["telnet"], "medium": ["telnet", "ftp"]}


def test_one_entry_by_id_or_prefix(api: httpx.Client, tokens: dict[str, str], ports: dict[str, int]) -> None:
    viewer = auth(tokens["viewer"])
    [entry] = api.get("/api/v1/risks", headers=viewer).json()["items"]
    full = api.get(f"/api/v1/risks/{entry['id']}", headers=viewer)
    assert full.status_code == 200 and full.json() == entry
    short = api.get(f"/api/v1/risks/{entry['id'][:6].upper()}", headers=viewer)
    assert short.status_code == 200 and short.json()["id"] == entry["id"]


def test_refusals(api: httpx.Client, tokens: dict[str, str], ports: dict[str, int]) -> None:
    viewer = auth(tokens["viewer"])
    [entry] = api.get("/api/v1/risks", headers=viewer).json()["items"]
    for url in ("/api/v1/risks", f"/api/v1/risks/{entry['id']}"):
        anonymous = api.get(url)
        assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/problem+json"
    unknown_id = "0000" if not entry["id"].startswith("0000") else "ffff"
    unknown = api.get(f"/api/v1/risks/{unknown_id}", headers=viewer)
    assert unknown.status_code == 404 and "netwarden risk list" in unknown.json()["detail"]
    short = api.get(f"/api/v1/risks/{entry['id'][:3]}", headers=viewer)
    assert short.status_code == 400 and "too short" in short.json()["detail"]
    for params in ({"status": "gone"}, {"min_level": "severe"}):
        assert api.get("/api/v1/risks", headers=viewer, params=params).status_code == 422


def test_an_ambiguous_prefix_is_refused(ctx: Context, api: httpx.Client, tokens: dict[str, str]) -> None:
    """Two entries whose ids share a prefix (stored through the register's own merge and store)."""
    now = dt.datetime.now(dt.UTC)
    findings = [
        FindingOut(
            id=f"abcd{n}000000000000"[:16],
            kind="telnet",
            title="Telnet",
            target=f"h{n}",
            address=f"192.0.2.{n}",
            port=23,
            proto="tcp",
            severity=8.1,
            exposure=1.0,
            score=8.1,
            level="high",
        )
        for n in (1, 2)
    ]
    with ctx.db() as db:
        service._store(db, findings, Coverage(frozenset(), frozenset(), snmp_checked=False), now)
    viewer = auth(tokens["viewer"])
    assert api.get("/api/v1/risks", headers=viewer).json()["total"] == 2
    ambiguous = api.get("/api/v1/risks/abcd", headers=viewer)
    assert ambiguous.status_code == 400 and "ambiguous" in ambiguous.json()["detail"]
    assert api.get("/api/v1/risks/abcd2", headers=viewer).json()["target"] == "h2"
