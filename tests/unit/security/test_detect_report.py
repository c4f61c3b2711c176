"""Breach reports from an incident: the six parts, escaping, actions that follow the rules that fired."""

from __future__ import annotations

import datetime as dt

import pytest

from netwarden.errors import InvalidInput
from netwarden.security import report
from netwarden.security.detect.schemas import Asset, DetectionOut, HistoryEntry, IncidentDetail, TimelineEntry

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
EVIL = "<script>alert(1)</script> | pipe"


def incident(rules: list[str], attacker_device: str | None = "h1") -> IncidentDetail:
    lines = [f"srv1 sshd: Failed password for root from 10.1.20.3 port {p} ssh2 {EVIL}" for p in range(40)]
    detection = DetectionOut(
        id=1, incident_id=7, rule=rules[0], host="srv1", source_ip="10.1.20.3", user=None,
        first=T0, last=T0 + dt.timedelta(seconds=95), count=40, evidence=lines, evidence_total=40,
        severity="major", summary="SSH brute force: 40 failed logins",
    )  # fmt: skip
    return IncidentDetail(
        id=7, title="Brute force from h1 against srv1", status="investigating", severity="major",
        vector=rules[0], attacker="10.1.20.3", attacker_device=attacker_device,
        first_seen=T0, last_seen=T0 + dt.timedelta(seconds=95), targets=["srv1"],
        assets=[Asset(device="srv1", site="hq", address="10.1.10.2", role="server")], sites=["hq"],
        sources=["auth", "firewall"], users=["root"], rules=rules, detections=1, event_count=41,
        timeline=[TimelineEntry(time=T0, source="auth", host="srv1", kind="auth-failure", summary=EVIL, raw=lines[0])],
        detection_list=[detection],
        history=[HistoryEntry(at=T0, actor="netwarden", status="open"),
                 HistoryEntry(at=T0, actor="ann", status="investigating", previous="open", note="on it")],
    )  # fmt: skip


def test_markdown_has_the_six_parts_and_follows_the_rules() -> None:
    text = report.render(incident(["brute-force", "login-after-failures"]), "md").decode()
    order = ["## What happened", "## When", "## Scope", "## Vector", "## Evidence", "## Recommended actions"]
    assert [text.index(h) for h in order] == sorted(text.index(h) for h in order)
    assert "10.1.20.3 (inventory device h1)" in text and "| srv1 | hq | 10.1.10.2 | server |" in text
    assert "Duration: 95 s" in text and "presumed compromised" in text
    assert "... 15 more" in text  # 25 of 40 evidence lines in the report
    assert "\\| pipe" in text.split("### Timeline")[1]  # a pipe inside a table cell is escaped
    actions = text.split("## Recommended actions")[1]
    assert actions.index("examine it for compromise") < actions.index("Disable password logins")
    assert "disable it, rotate its password" in actions and "ann: investigating (on it)" in text
    external = report.render(incident(["port-scan"], attacker_device=None), "md").decode()
    assert "examine it for compromise" not in external and "close or filter" in external


def test_html_escapes_log_lines() -> None:
    page = report.render(incident(["brute-force"]), "html").decode()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<li>") >= 5


def test_unknown_format_is_refused() -> None:
    with pytest.raises(InvalidInput, match="md, html or pdf"):
        report.render(incident(["brute-force"]), "docx")
