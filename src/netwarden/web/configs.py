"""/configs (every device's backup state, back up now), /configs/{device} (revisions, stored text, side-by-side
diff) and /compliance, /compliance/{device} (scores, failures by rule, evidence and remediation).

The diff views are drawn from git's own unified diff of the two revisions (the same hunks as
``netwarden config diff``): a run of removed lines followed by a run of added lines is one change, its
lines paired row by row (old left, new right) with the changed words marked. The text itself stays in
the config repository; these pages only read it (``netwarden.configs.gitstore``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.collect.platforms import get_platform
from netwarden.configs import backup as backups
from netwarden.configs import compliance
from netwarden.configs.gitstore import ConfigRepo, Revision
from netwarden.errors import InvalidInput, NetwardenError
from netwarden.inventory import service as inventory
from netwarden.web.common import PageRoute, check_csrf, get_ctx, is_htmx, page_actor, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PageActor = Annotated[Actor, Depends(page_actor)]
Part = Annotated[str, Query(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
Rev = Annotated[str, Query(max_length=100)]
Layout = Literal["side", "unified"]
ContextLines = Literal["3", "10", "all"]
CONTEXT_LINES = {"3": 3, "10": 10, "all": 10**7}  # "all": git shows the whole file around the changes
HISTORY_LIMIT = 200
MAX_DIFF_ROWS = 5000  # beyond this the page says so and links the raw diff
MAX_TEXT_LINES = 20000
MAX_INTRALINE = 2000  # characters: longer changed lines are marked whole
SHORT = 10  # characters of a revision hash shown
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@ ?(.*)$")
_WORD = re.compile(r"\s+|\S+")  # config words: an address or a name changes as a whole


# ---------------------------------------------------------------- diff views


Segments = list[tuple[str, bool]]  # pieces of a line; True marks a changed piece


@dataclass
class Cell:
    number: int
    parts: Segments


@dataclass
class DiffRow:
    """One row of either layout: ``hunk`` (a header), ``same``, ``changed``, ``removed`` or ``added``.

    A hunk row's cells hold the first line numbers of the hunk on each side; ``header`` is git's
    context for it (the nearest line above that starts a block, e.g. ``interface Gi0/1``).
    """

    kind: str
    left: Cell | None = None
    right: Cell | None = None
    header: str = ""


@dataclass
class DiffView:
    side: list[DiffRow] = field(default_factory=list)
    unified: list[DiffRow] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    truncated: bool = False

    @property
    def empty(self) -> bool:
        return not self.side


def changed_words(old: str, new: str) -> tuple[Segments, Segments]:
    """The two lines cut into pieces, the pieces that differ (word by word) marked."""
    if len(old) + len(new) > MAX_INTRALINE:
        return [(old, True)], [(new, True)]
    a, b = _WORD.findall(old), _WORD.findall(new)
    left: Segments = []
    right: Segments = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        same = op == "equal"
        if i2 > i1:
            _append(left, "".join(a[i1:i2]), not same)
        if j2 > j1:
            _append(right, "".join(b[j1:j2]), not same)
    return left, right


def _append(parts: Segments, text: str, marked: bool) -> None:
    # Whitespace between two marked words is marked too, so a changed phrase reads as one piece.
    if parts and parts[-1][1] == marked:
        parts[-1] = (parts[-1][0] + text, marked)
    else:
        parts.append((text, marked))


def diff_view(unified: str, max_rows: int = MAX_DIFF_ROWS) -> DiffView:
    """Both layouts of one file's unified diff (git's output); rows past ``max_rows`` are left out."""
    view = DiffView()
    removed: list[tuple[int, str]] = []
    added: list[tuple[int, str]] = []
    old_no = new_no = 0
    in_hunk = False

    def emit(row: DiffRow, *, side: bool = True, uni: bool = True) -> None:
        if len(view.side) >= max_rows or len(view.unified) >= 2 * max_rows:
            view.truncated = True
            return
        if side:
            view.side.append(row)
        if uni:
            view.unified.append(row)

    def flush() -> None:
        lefts = [Cell(number, [(text, False)]) for number, text in removed]
        rights = [Cell(number, [(text, False)]) for number, text in added]
        for k in range(min(len(lefts), len(rights))):
            lefts[k].parts, rights[k].parts = changed_words(removed[k][1], added[k][1])
        for k in range(max(len(lefts), len(rights))):
            left = lefts[k] if k < len(lefts) else None
            right = rights[k] if k < len(rights) else None
            emit(DiffRow("changed" if left and right else "removed" if left else "added", left, right), uni=False)
        for cell in lefts:
            emit(DiffRow("removed", left=cell), side=False)
        for cell in rights:
            emit(DiffRow("added", right=cell), side=False)
        removed.clear()
        added.clear()

    for line in unified.splitlines():
        hunk = _HUNK.match(line)
        if hunk:
            flush()
            in_hunk = True
            old_no, new_no = int(hunk[1]), int(hunk[2])
            emit(DiffRow("hunk", Cell(old_no, []), Cell(new_no, []), header=hunk[3].strip()))
            continue
        if not in_hunk:
            continue
        tag, body = line[:1], line[1:]
        if tag == "-":
            removed.append((old_no, body))
            old_no += 1
            view.removed += 1
        elif tag == "+":
            added.append((new_no, body))
            new_no += 1
            view.added += 1
        elif tag == " ":
            flush()
            emit(DiffRow("same", Cell(old_no, [(body, False)]), Cell(new_no, [(body, False)])))
            old_no += 1
            new_no += 1
        elif tag != "\\":  # "\ No newline at end of file" is not a line; anything else ends the file's hunks
            flush()
            in_hunk = False
    flush()
    return view


# ---------------------------------------------------------------- the backup list


@dataclass
class BackupRow:
    device: str
    platform: str
    site: str
    state: Any  # ConfigBackup | None
    note: str  # why a scheduled run leaves it out, or ""
    score: compliance.DeviceCompliance | None


@dataclass
class BackupRun:
    """What a "Back up now" did: the report, or the one-line reason it could not run."""

    target: str
    report: backups.BackupReport | None = None
    error: str = ""
    status: int = 200


def _skip_note(mgmt_ip: str | None, platform: str) -> str:
    if not mgmt_ip:
        return "no management IP: not backed up"
    try:
        spec = get_platform(platform)
    except NetwardenError:
        return f"no config backup for platform {platform}"
    return "" if spec.config is not None else f"no config backup for platform {platform}"


def _list_values(request: Request, actor: Actor) -> dict[str, Any]:
    with get_ctx(request).db() as db:
        scores = {c.device: c for c in compliance.latest(db, actor)}
        rows = [
            BackupRow(d.name, d.platform, d.site.name, s, _skip_note(d.mgmt_ip, d.platform), scores.get(d.name))
            for d, s in backups.states(db)
        ]
    return {
        "rows": rows,
        "counts": {
            "devices": len(rows),
            "backed_up": sum(1 for r in rows if r.state is not None and r.state.last_success is not None),
            "failing": sum(1 for r in rows if r.state is not None and r.state.failures),
            "never": sum(1 for r in rows if r.state is None or r.state.last_success is None),
        },
        "can_backup": actor.can(Role.operator),
        "active": "configs",
        "tab": "backups",
        "short": SHORT,
        "title": "Configs",
    }


@router.get("/configs")
def configs_page(request: Request, actor: PageActor) -> Response:
    """Every device's backup state and compliance score; operators also get "Back up now"."""
    return render(request, "configs.html", **_list_values(request, actor))


async def _run_backup(request: Request, actor: Actor, device: str, why: str) -> BackupRun:
    run = BackupRun(device or "all devices")
    reason = why.strip() or "on demand"
    try:
        run.report = await backups.backup(
            get_ctx(request), actor, [device] if device else None, why=f"{reason} (console)"
        )
    except NetwardenError as exc:
        run.error, run.status = str(exc), exc.status
    return run


def _status(request: Request, run: BackupRun) -> int:
    """htmx swaps only successful answers, so it gets 200 with the message; a plain form the error's status."""
    return 200 if is_htmx(request) or not run.error else run.status


@router.post("/configs/backup")
async def backup_now(
    request: Request,
    actor: PageActor,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    device: Annotated[str, Form(max_length=128)] = "",
    why: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Back up every device (or the chosen one) now (operators; a viewer gets the 403 page), show the outcome."""
    check_csrf(request, csrf_token)
    require(actor, Role.operator, "back up configurations")
    run = await _run_backup(request, actor, device.strip(), why)
    values = await run_in_threadpool(_list_values, request, actor)
    return render(request, "configs.html", _status(request, run), run=run, **values)


# ---------------------------------------------------------------- one device


@dataclass
class PartInfo:
    name: str
    file: str
    revisions: int  # how many the history shows (0: never stored)


@dataclass
class RevInfo:
    rev: str
    at: Any
    author: str
    why: str


def _rev_info(rev: Revision) -> RevInfo:
    subject = rev.message.strip()
    return RevInfo(rev.rev, rev.at, rev.author, subject.removeprefix("Backup: ") or subject)


def _parts(repo: ConfigRepo, device: str, platform: str) -> list[PartInfo]:
    try:
        spec = get_platform(platform)
    except NetwardenError:
        return []
    out = []
    for source in spec.config.sources if spec.config else []:
        name = backups.file_name(device, source)
        out.append(PartInfo(source.name, name, len(repo.history(name, HISTORY_LIMIT))))
    return out


def _device_values(request: Request, actor: Actor, device: str, part: str) -> dict[str, Any]:
    """What every view of one device shows: facts, backup state, score, its parts and the chosen part's history."""
    ctx = get_ctx(request)
    with ctx.db() as db:
        facts = inventory.show_device(db, actor, device)
        state = backups.state_of(db, facts.name)
        scored = compliance.latest(db, actor, facts.name)
    repo = backups.repo_of(ctx)
    parts = _parts(repo, facts.name, facts.platform)
    chosen = next((p for p in parts if p.name == part), None)
    if chosen is None and parts:
        known = ", ".join(p.name for p in parts)
        raise InvalidInput(f"{facts.name} ({facts.platform}) has no config part {part!r}; its parts: {known}")
    # A platform without a config description: the page says so instead of failing.
    chosen = chosen or PartInfo(part, "", 0)
    history = [_rev_info(r) for r in repo.history(chosen.file, HISTORY_LIMIT)] if chosen.file else []
    return {
        "device": facts,
        "state": state,
        "score": scored[0] if scored else None,
        "parts": [p for p in parts if p.revisions or p.name == part],
        "part": chosen,
        "history": history,
        "by_rev": {r.rev: r for r in history},
        "repo": repo,
        "unsupported": not parts,
        "can_backup": actor.can(Role.operator) and bool(parts),
        "active": "configs",
        "short": SHORT,
        "title": f"{facts.name} · configs",
    }


def _diff_ends(repo: ConfigRepo, history: list[RevInfo], old: str, new: str) -> tuple[str, str] | None:
    """Full hashes of the two revisions to compare; None when there is nothing to compare (0-1 revisions)."""
    if not old and not new:
        if len(history) < 2:
            return None
        return history[1].rev, history[0].rev
    new_full = repo.resolve(new or "HEAD")
    if old:
        return repo.resolve(old), new_full
    revs = [r.rev for r in history]
    if new_full in revs and revs.index(new_full) + 1 < len(revs):
        return revs[revs.index(new_full) + 1], new_full
    return repo.resolve(f"{new_full}~1"), new_full


def _linker(device: str, base: dict[str, str]) -> Callable[..., str]:
    """A URL builder for the device page: the current view's parameters with some changed (defaults left out)."""

    def url(**changes: str) -> str:
        params = {**base, **changes}
        kept = {k: v for k, v in params.items() if v and (k, v) not in _DEFAULT_PARAMS}
        return f"/configs/{quote(device, safe='')}" + (f"?{urlencode(kept)}" if kept else "")

    return url


_DEFAULT_PARAMS = {("part", "running"), ("layout", "side"), ("context", "3")}


def _view_values(values: dict[str, Any], rev: str, old: str, new: str, layout: str, context: str) -> dict[str, Any]:
    """The text of one revision (``rev``), else the diff between ``old`` and ``new`` (default: the last change)."""
    repo: ConfigRepo = values["repo"]
    part: PartInfo = values["part"]
    history: list[RevInfo] = values["history"]
    out: dict[str, Any] = {"layout": layout, "context": context, "rev": "", "old": "", "new": ""}
    out["url"] = _linker(values["device"].name, {"part": part.name, "layout": layout, "context": context})
    ends = None if rev else _diff_ends(repo, history, old, new)
    if ends is None:
        if not rev and not history:
            return {**out, "mode": "empty"}
        full = repo.resolve(rev) if rev else history[0].rev
        lines = repo.show(part.file, rev or full).splitlines()  # errors name the revision as it was asked
        return {
            **out,
            "mode": "text",
            "rev": full,
            "lines": lines[:MAX_TEXT_LINES],
            "total_lines": len(lines),
            "single": not rev,
        }
    old_full, new_full = ends
    out["url"] = _linker(
        values["device"].name,
        {"part": part.name, "layout": layout, "context": context, "old": old_full, "new": new_full},
    )
    unified = repo.diff(part.file, old_full, new_full, context=CONTEXT_LINES[context])
    return {**out, "mode": "diff", "old": old_full, "new": new_full, "diff": diff_view(unified)}


@router.get("/configs/{device:path}/raw")
def raw_text(
    request: Request, actor: PageActor, device: str, part: Part = "running", rev: Rev = "", old: Rev = "", new: Rev = ""
) -> Response:
    """The stored text of a revision as plain text, or with ``old``/``new`` the unified diff (for a ticket)."""
    values = _device_values(request, actor, device, part)
    repo: ConfigRepo = values["repo"]
    name = values["part"].file
    if values["unsupported"]:
        raise InvalidInput(f"platform {values['device'].platform} has no config backup: nothing is stored")
    if old or new:
        ends = _diff_ends(repo, values["history"], old, new)
        body = repo.diff(name, *ends) if ends else ""
    else:
        body = repo.show(name, rev or "HEAD")
    return PlainTextResponse(body, headers={"X-Content-Type-Options": "nosniff"})


@router.post("/configs/{device:path}/backup")
async def backup_device(
    request: Request,
    actor: PageActor,
    device: str,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    why: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Back up this device now (operators), then show its page with the outcome and the new revision."""
    check_csrf(request, csrf_token)
    require(actor, Role.operator, "back up configurations")
    run = await _run_backup(request, actor, device, why)

    def page() -> dict[str, Any]:
        values = _device_values(request, actor, device, "running")
        return {**values, **_view_values(values, "", "", "", "side", "3")}

    values = await run_in_threadpool(page)
    return render(request, "configs_device.html", _status(request, run), run=run, **values)


@router.get("/configs/{device:path}")
def device_configs(
    request: Request,
    actor: PageActor,
    device: str,
    part: Part = "running",
    rev: Rev = "",
    old: Rev = "",
    new: Rev = "",
    layout: Annotated[Layout, Query()] = "side",
    context: Annotated[ContextLines, Query()] = "3",
) -> Response:
    """A device's revisions, with the text of one (``rev``) or a diff of two (default: the last change)."""
    values = _device_values(request, actor, device, part)
    view = _view_values(values, rev.strip(), old.strip(), new.strip(), layout, context)
    return render(request, "configs_device.html", **values, **view)


# ---------------------------------------------------------------- compliance


@dataclass
class RuleFailures:
    policy: str
    rule: str
    severity: str
    devices: list[str] = field(default_factory=list)
    message: str = ""


SEVERITY_RANK = {s: i for i, s in enumerate(("critical", "major", "minor", "warning", "info"))}


def failures_by_rule(results: list[compliance.DeviceCompliance]) -> list[RuleFailures]:
    """Rules failed by at least one device: most devices first, then the worst severity."""
    by_rule: dict[tuple[str, str], RuleFailures] = {}
    for device in results:
        for r in device.results:
            if r.status != "fail":
                continue
            entry = by_rule.setdefault((r.policy, r.rule), RuleFailures(r.policy, r.rule, r.severity, [], r.message))
            if device.device not in entry.devices:
                entry.devices.append(device.device)
            if SEVERITY_RANK.get(r.severity, 9) < SEVERITY_RANK.get(entry.severity, 9):
                entry.severity = r.severity
    return sorted(by_rule.values(), key=lambda e: (-len(e.devices), SEVERITY_RANK.get(e.severity, 9), e.rule))


@router.get("/compliance")
def compliance_page(request: Request, actor: PageActor) -> Response:
    """Each checked device's score (passed / applicable rules) and the rules failed across devices."""
    with get_ctx(request).db() as db:
        results = compliance.latest(db, actor)
        unchecked = [d.name for d, s in backups.states(db) if s is not None and s.last_success is not None]
    checked = {r.device for r in results}
    return render(
        request,
        "compliance.html",
        results=results,
        rules=failures_by_rule(results),
        unchecked=[name for name in unchecked if name not in checked],
        active="configs",
        tab="compliance",
        short=SHORT,
        title="Compliance",
    )


def _evidence_ref(device: str, platform: str, revision: str) -> Callable[[Any], tuple[str, str] | None]:
    """For an evidence item naming a stored file and a line: the part's name and a link to that line of the
    checked revision's text (None for any other item)."""
    try:
        spec = get_platform(platform)
        parts = {backups.file_name(device, s): s.name for s in spec.config.sources} if spec.config else {}
    except NetwardenError:
        parts = {}

    def ref(item: Any) -> tuple[str, str] | None:
        if not isinstance(item, dict) or not isinstance(item.get("line"), int) or not revision:
            return None
        part = parts.get(str(item.get("file", "")))
        if part is None:
            return None
        query = urlencode({**({"part": part} if part != "running" else {}), "rev": revision})
        return part, f"/configs/{quote(device, safe='')}?{query}#L{item['line']}"

    return ref


@router.get("/compliance/{device:path}")
def compliance_device(request: Request, actor: PageActor, device: str) -> Response:
    """One device's latest verdict rule by rule (evidence lines, remediation) and its score history."""
    with get_ctx(request).db() as db:
        facts = inventory.show_device(db, actor, device)
        found = compliance.latest(db, actor, facts.name)
        history = compliance.score_history(db, actor, facts.name)
    latest = found[0] if found else None
    order = {"fail": 0, "error": 1}
    results = (
        sorted(latest.results, key=lambda r: (order.get(r.status, 2), SEVERITY_RANK.get(r.severity, 9)))
        if latest
        else []
    )
    return render(
        request,
        "compliance_device.html",
        device=facts,
        latest=latest,
        results=results,
        history=history,
        evidence_ref=_evidence_ref(facts.name, facts.platform, latest.revision if latest else ""),
        active="configs",
        short=SHORT,
        title=f"{facts.name} · compliance",
    )
