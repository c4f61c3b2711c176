"""Breach reports: one security incident as Markdown, HTML or PDF.

A report answers, in this order: what happened, when, the scope (devices, sites, accounts), the
vector, the evidence (the log lines, by detection, and the timeline) and the recommended actions.
The text is built from the stored incident (:class:`~netwarden.security.detect.schemas.IncidentDetail`),
so a report written today and next month say the same. PDF is the HTML printed by headless Chromium
(``chromium --headless --print-to-pdf``), the browser the console tests already use: no new dependency.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from jinja2 import Environment, select_autoescape

from netwarden.errors import InvalidInput, NetwardenError
from netwarden.security.detect.schemas import DetectionOut, IncidentDetail, TimelineEntry

__all__ = ["ACTIONS", "BreachReport", "ReportError", "build", "render", "to_pdf"]

Format = Literal["md", "html", "pdf"]
EVIDENCE_LINES = 25  # per detection in the report; the incident keeps more
TIMELINE_LINES = 200

VECTOR_TEXT = {
    "brute-force": "repeated password guesses against a login service (SSH, VPN or another)",
    "password-spraying": "a few password guesses each for many accounts, to stay under per-account lockouts",
    "login-after-failures": "a successful login from an address that had just failed several times: a guessed"
    " or stolen password",
    "port-scan": "probing many ports of one host to find services to attack",
    "port-sweep": "probing many addresses to find live hosts",
    "denied-spike": "a burst of traffic the firewall denied, far above its usual rate",
    "config-change-outside-window": "a configuration change made outside any approved change window",
    "new-device": "a device the inventory does not know appeared on the network",
    "privilege-escalation": "an account becoming root without being allowed to, or failing to",
}
ACTIONS = {
    "brute-force": [
        "Block the source address at the firewall or with fail2ban while the incident is open.",
        "Disable password logins on the targeted service; allow keys (SSH) or certificates (VPN) only.",
        "Check the targeted hosts for any successful login from the source address.",
    ],
    "password-spraying": [
        "Block the source address and review every account it tried for a later successful login.",
        "Enforce multi-factor authentication or key-only logins for the accounts listed.",
    ],
    "login-after-failures": [
        "Treat the account as compromised: disable it, rotate its password and keys, end its sessions.",
        "Review what the session did (shell history, sudo log, config changes) on the host.",
        "Block the source address and look for the same address on other hosts.",
    ],
    "port-scan": [
        "Confirm the scanned host exposes only the services it needs; close or filter the others.",
        "If the source is internal, check that host for compromise or an unauthorised scanner.",
        "Block or rate-limit the source at the firewall.",
    ],
    "port-sweep": [
        "Identify the sweeping host; an internal one may be compromised or running an unapproved tool.",
        "Filter the swept service between zones that do not need it.",
    ],
    "denied-spike": [
        "Find the top sources of denied traffic and whether they are one attacker or a misconfiguration.",
        "Check the firewall's capacity and logging rate limits during such bursts.",
    ],
    "config-change-outside-window": [
        "Compare the configuration before and after ('netwarden config diff DEVICE') and confirm the change"
        " with its author.",
        "Revert an unapproved change; record approved emergency changes in a change window afterwards.",
    ],
    "new-device": [
        "Locate the device's switch port and owner; add it to the inventory or disconnect it.",
        "Consider port security or 802.1X on access ports.",
    ],
    "privilege-escalation": [
        "Review the account's sudo/su rights; remove those it should not have.",
        "Check what ran as root and whether the account itself is compromised.",
    ],
}
GENERIC_ACTIONS = [
    "Keep the evidence below (the raw log lines) with the incident; do not rely on device log buffers.",
    "Close the incident once the source is blocked and the affected assets are checked.",
]


class ReportError(NetwardenError):
    status = 500
    code = "report-failed"


@dataclass
class BreachReport:
    """The report's content, independent of its format."""

    incident: IncidentDetail
    generated: dt.datetime
    what: str
    vector: str
    actions: list[str]
    detections: list[DetectionOut] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    timeline_total: int = 0

    @property
    def title(self) -> str:
        return f"Breach report: incident {self.incident.id}"


def _when(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(span: float) -> str:
    seconds = round(span)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def build(incident: IncidentDetail, now: dt.datetime | None = None) -> BreachReport:
    """The report of an incident (see the module docstring for its parts)."""
    inc = incident
    who = inc.attacker or inc.actor or "an unidentified source"
    if inc.attacker_device:
        who = f"{inc.attacker} (inventory device {inc.attacker_device})"
    victims = ", ".join(f"{a.device}" + (f" ({a.address})" if a.address else "") for a in inc.assets) or ", ".join(
        inc.targets
    )
    span = (inc.last_seen - inc.first_seen).total_seconds()
    what = (
        f"Between {_when(inc.first_seen)} and {_when(inc.last_seen)} ({_duration(span)}), {who} was seen in"
        f" {inc.event_count} log lines from {', '.join(inc.sources) or 'no'} logs"
        + (f" acting against {victims}" if victims else "")
        + f". {len(inc.detection_list)} detection(s) fired: {', '.join(inc.rules)}."
    )
    if "login-after-failures" in inc.rules:
        what += " A login succeeded after the failures: the account must be presumed compromised."
    vector_rule = inc.vector
    vector = VECTOR_TEXT.get(vector_rule, f"events matching the rule '{vector_rule}'")
    actions: list[str] = []
    for rule in [vector_rule, *inc.rules]:
        for a in ACTIONS.get(rule, []):
            if a not in actions:
                actions.append(a)
    if inc.attacker_device:
        actions.insert(0, f"The source address belongs to {inc.attacker_device}, a device of this network:"
                       " examine it for compromise before anything else.")  # fmt: skip
    actions += GENERIC_ACTIONS
    return BreachReport(
        incident=inc,
        generated=now or dt.datetime.now(dt.UTC),
        what=what,
        vector=f"{vector_rule}: {vector}",
        actions=actions,
        detections=inc.detection_list,
        timeline=inc.timeline[:TIMELINE_LINES],
        timeline_total=len(inc.timeline),
    )


# ---------------------------------------------------------------- Markdown


def _md_cell(text: object) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def markdown(report: BreachReport) -> str:
    inc = report.incident
    out = [
        f"# {report.title}",
        "",
        f"**{inc.title}**",
        "",
        f"- Severity: {inc.severity}",
        f"- Status: {inc.status}",
        f"- Report generated: {_when(report.generated)}",
        "",
        "## What happened",
        "",
        report.what,
        "",
        "## When",
        "",
        f"- First seen: {_when(inc.first_seen)}",
        f"- Last seen: {_when(inc.last_seen)}",
        f"- Duration: {_duration((inc.last_seen - inc.first_seen).total_seconds())}",
        "",
        "## Scope",
        "",
        f"- Source: {inc.attacker or '-'}" + (f" (device {inc.attacker_device})" if inc.attacker_device else ""),
        f"- Sites: {', '.join(inc.sites) or '-'}",
        f"- Accounts involved: {', '.join(inc.users) or '-'}",
        f"- Targets: {', '.join(inc.targets) or '-'}",
        "",
        *(["| device | site | address | role |", "| --- | --- | --- | --- |"] if inc.assets else
          ["No inventory device matched the targets."]),
        *(f"| {_md_cell(a.device)} | {_md_cell(a.site)} | {_md_cell(a.address)} | {_md_cell(a.role)} |"
          for a in inc.assets),
        "",
        "## Vector",
        "",
        report.vector,
        "",
        "## Evidence",
        "",
        f"Log sources: {', '.join(inc.sources) or '-'}.",
        "",
    ]  # fmt: skip
    for d in report.detections:
        out += [
            f"### {d.rule} on {d.host}",
            "",
            f"{d.summary}",
            "",
            f"{_when(d.first)} to {_when(d.last)}, count {d.count}, {d.evidence_total} line(s):",
            "",
            "```",
            *d.evidence[:EVIDENCE_LINES],
            *([f"... {d.evidence_total - EVIDENCE_LINES} more"] if d.evidence_total > EVIDENCE_LINES else []),
            "```",
            "",
        ]
    out += ["### Timeline", "", "| time | source | host | what |", "| --- | --- | --- | --- |"]
    out += [
        f"| {_when(t.time)} | {_md_cell(t.source)} | {_md_cell(t.host)} | {_md_cell(t.summary)} |"
        for t in report.timeline
    ]
    if report.timeline_total > len(report.timeline):
        out += ["", f"({report.timeline_total - len(report.timeline)} more timeline entries in the incident)"]
    out += ["", "## Recommended actions", "", *(f"{i}. {a}" for i, a in enumerate(report.actions, 1)), ""]
    if inc.history:
        out += ["## Status history", ""]
        out += [f"- {_when(h.at)} {h.actor}: {h.status}" + (f" ({h.note})" if h.note else "") for h in inc.history]
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------- HTML

_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ r.title }}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
pre { background: #f4f4f4; padding: 0.6em; font-size: 0.75em; white-space: pre-wrap; word-break: break-all; }
.sev { font-weight: bold; text-transform: uppercase; }
.critical, .major { color: #b00; } .minor, .warning { color: #a60; }
</style></head><body>
<h1>{{ r.title }}</h1>
<p><strong>{{ i.title }}</strong></p>
<p>Severity: <span class="sev {{ i.severity }}">{{ i.severity }}</span> &middot; Status: {{ i.status }}
 &middot; Generated {{ when(r.generated) }}</p>
<h2>What happened</h2><p>{{ r.what }}</p>
<h2>When</h2>
<ul><li>First seen: {{ when(i.first_seen) }}</li><li>Last seen: {{ when(i.last_seen) }}</li>
<li>Duration: {{ duration }}</li></ul>
<h2>Scope</h2>
<ul><li>Source: {{ i.attacker or "-" }}{% if i.attacker_device %} (device {{ i.attacker_device }}){% endif %}</li>
<li>Sites: {{ i.sites | join(", ") or "-" }}</li><li>Accounts involved: {{ i.users | join(", ") or "-" }}</li>
<li>Targets: {{ i.targets | join(", ") or "-" }}</li></ul>
{% if i.assets %}<table><tr><th>device</th><th>site</th><th>address</th><th>role</th></tr>
{% for a in i.assets %}<tr><td>{{ a.device }}</td><td>{{ a.site or "" }}</td><td>{{ a.address or "" }}</td>
<td>{{ a.role or "" }}</td></tr>{% endfor %}</table>{% else %}<p>No inventory device matched the targets.</p>{% endif %}
<h2>Vector</h2><p>{{ r.vector }}</p>
<h2>Evidence</h2><p>Log sources: {{ i.sources | join(", ") or "-" }}.</p>
{% for d in r.detections %}<h3>{{ d.rule }} on {{ d.host }}</h3><p>{{ d.summary }}</p>
<p>{{ when(d.first) }} to {{ when(d.last) }}, count {{ d.count }}, {{ d.evidence_total }} line(s):</p>
<pre>{% for line in d.evidence[:limit] %}{{ line }}
{% endfor %}{% if d.evidence_total > limit %}... {{ d.evidence_total - limit }} more{% endif %}</pre>
{% endfor %}
<h3>Timeline</h3>
<table><tr><th>time</th><th>source</th><th>host</th><th>what</th></tr>
{% for t in r.timeline %}<tr><td>{{ when(t.time) }}</td><td>{{ t.source }}</td><td>{{ t.host }}</td>
<td>{{ t.summary }}</td></tr>{% endfor %}</table>
{% if r.timeline_total > r.timeline | length %}<p>({{ r.timeline_total - r.timeline | length }} more timeline
 entries in the incident)</p>{% endif %}
<h2>Recommended actions</h2><ol>{% for a in r.actions %}<li>{{ a }}</li>{% endfor %}</ol>
{% if i.history %}<h2>Status history</h2><ul>{% for h in i.history %}<li>{{ when(h.at) }} {{ h.actor }}:
 {{ h.status }}{% if h.note %} ({{ h.note }}){% endif %}</li>{% endfor %}</ul>{% endif %}
</body></html>
"""
_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_TEMPLATE = _ENV.from_string(_HTML)


def html(report: BreachReport) -> str:
    inc = report.incident
    return _TEMPLATE.render(
        r=report,
        i=inc,
        when=_when,
        duration=_duration((inc.last_seen - inc.first_seen).total_seconds()),
        limit=EVIDENCE_LINES,
    )


# ---------------------------------------------------------------- PDF


def chromium() -> str:
    """The Chromium binary, or ReportError saying how to get one."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise ReportError("PDF reports need Chromium: install Debian's chromium package, or use --format html")


def to_pdf(document: str, timeout: float = 120.0) -> bytes:
    """The HTML ``document`` printed to PDF by headless Chromium."""
    binary = chromium()
    with tempfile.TemporaryDirectory(prefix="netwarden-report-") as tmp:
        page, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        page.write_text(document, encoding="utf-8")
        argv = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", "--disable-sync", "--no-pdf-header-footer",
            f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={out}", page.as_uri(),
        ]  # fmt: skip
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ReportError(f"Chromium did not print the report within {timeout:.0f} s; try --format html") from None
        if not out.exists() or out.stat().st_size == 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
            raise ReportError(f"Chromium could not print the report ({tail[0][:200]}); try --format html")
        return out.read_bytes()


# The HTTP media type of each format (the API and the console serve the report as it is).
MEDIA_TYPES = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}


def render(incident: IncidentDetail, fmt: str = "md", now: dt.datetime | None = None) -> bytes:
    """The breach report of ``incident`` in ``fmt`` (md, html or pdf) as bytes."""
    if fmt not in MEDIA_TYPES:
        raise InvalidInput(f"unknown report format {fmt!r}: use md, html or pdf")
    report = build(incident, now)
    if fmt == "md":
        return markdown(report).encode()
    document = html(report)
    return document.encode() if fmt == "html" else to_pdf(document)
