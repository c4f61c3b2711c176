"""Checking parsed configurations against compiled policies: one :class:`RuleResult` per rule in scope."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from netwarden.configs.policy.load import (
    MAX_EVIDENCE,
    SEVERITIES,
    Matcher,
    Policy,
    Rule,
    Severity,
    Status,
)
from netwarden.configs.render import DeviceFacts, render_string
from netwarden.configs.tree import ConfigTree, parse

# ---------------------------------------------------------------- results


class Evidence(BaseModel):
    """A configuration line behind a result; ``line`` 0 for a line that is missing from the device."""

    line: int
    text: str


class RuleResult(BaseModel):
    """The outcome of one rule on one device."""

    device: str
    policy: str
    rule: str
    title: str
    severity: Severity
    status: Status
    message: str
    evidence: list[Evidence] = Field(default_factory=list)
    remediation: str = ""


class ComplianceSummary(BaseModel):
    """Counts and score of one device's results."""

    device: str
    passed: int
    failed: int
    not_applicable: int
    score: float | None = Field(description="passed / (passed + failed); None when no rule applied")
    failed_by_severity: dict[str, int]


def score(results: Iterable[RuleResult]) -> float | None:
    """Passed over applicable (passed + failed) results; None when none applied."""
    passed = failed = 0
    for r in results:
        passed += r.status == "pass"
        failed += r.status == "fail"
    return None if passed + failed == 0 else passed / (passed + failed)


def summarize(device: str, results: Sequence[RuleResult]) -> ComplianceSummary:
    """Per-device counts, score and failures per severity."""
    mine = [r for r in results if r.device == device]
    by_severity = {s: sum(1 for r in mine if r.status == "fail" and r.severity == s) for s in SEVERITIES}
    return ComplianceSummary(
        device=device,
        passed=sum(1 for r in mine if r.status == "pass"),
        failed=sum(1 for r in mine if r.status == "fail"),
        not_applicable=sum(1 for r in mine if r.status == "not_applicable"),
        score=score(mine),
        failed_by_severity=by_severity,
    )


# ---------------------------------------------------------------- checking


def check(tree: ConfigTree, device: DeviceFacts, policies: Sequence[Policy]) -> list[RuleResult]:
    """Check one parsed configuration against policies: one result per rule in scope.

    A configuration that looks truncated gets a failing ``netwarden/config-complete`` result first: its
    other results may be wrong.
    """
    ctx = _Context(tree, device)
    results: list[RuleResult] = []
    if tree.truncated:
        reasons = [u for u in tree.unclassified if "truncated" in u.reason or "never closed" in u.reason]
        results.append(
            RuleResult(
                device=device.name,
                policy="netwarden",
                rule="config-complete",
                title="Configuration is complete",
                severity="major",
                status="fail",
                message="the configuration looks truncated; back it up again before trusting other results",
                evidence=[Evidence(line=u.line, text=u.text) for u in reasons[:MAX_EVIDENCE]],
            )
        )
    for policy in policies:
        for rule in policy.rules:
            if rule.scope.matches(tree.platform, device):
                results.append(_CHECKS[rule.kind](rule, ctx))
    return results


def check_text(
    text: str, device: DeviceFacts, policies: Sequence[Policy], syntax: str | None = None
) -> list[RuleResult]:
    """Parse ``text`` (in ``syntax``, default the device's platform) and check it."""
    return check(parse(text, syntax or device.platform), device, policies)


class _Context:
    """What the checks of one device share: the tree, the facts and their template context."""

    def __init__(self, tree: ConfigTree, device: DeviceFacts) -> None:
        self.tree = tree
        self.device = device
        self._template_ctx: dict[str, Any] | None = None

    @property
    def template_ctx(self) -> dict[str, Any]:
        if self._template_ctx is None:
            self._template_ctx = self.device.context()
        return self._template_ctx

    def result(
        self,
        rule: Rule,
        status: Status,
        message: str,
        evidence: Sequence[tuple[int, str]] = (),
        remediation: str = "",
    ) -> RuleResult:
        # Evidence as plain dicts: pydantic validates these faster than it builds models one by one.
        return RuleResult(
            device=self.device.name,
            policy=rule.policy,
            rule=rule.id,
            title=rule.title,
            severity=rule.severity,
            status=status,
            message=message,
            evidence=[{"line": line, "text": text} for line, text in evidence[:MAX_EVIDENCE]],
            remediation=remediation,
        )

    def remediate(self, rule: Rule, **extra: Any) -> str:
        if rule.remediation is None:
            return ""
        ctx = dict(self.template_ctx)
        ctx.update(extra)
        ctx["rule"] = rule.id
        return render_string(rule.remediation, ctx, f"{rule.policy}/{rule.id} remediation").strip("\n")

    def blocks(self, rule: Rule) -> list[int]:
        """Positions of the blocks a rule is about (after its ``when``)."""
        tree = self.tree
        found = tree.block_indices(rule.block)
        if rule.when_contains or rule.when_not_contains:
            wanted, unwanted = rule.when_contains, rule.when_not_contains
            found = [
                k
                for k in found
                if (not wanted or any(_block_has(tree, k, rx) for rx in wanted))
                and not any(_block_has(tree, k, rx) for rx in unwanted)
            ]
        return found

    def absent(self, rule: Rule, message: str) -> RuleResult:
        remediation = (
            self.remediate(rule, block="", block_line=0, lines=[], values=[]) if rule.if_absent == "fail" else ""
        )
        return self.result(rule, rule.if_absent, message, remediation=remediation)


def _block_has(tree: ConfigTree, k: int, rx: re.Pattern[str]) -> bool:
    """True when a statement under block ``k`` matches (banner text excluded)."""
    start, end = k + 1, tree._end[k]
    verbatim = tree._verbatim
    if not verbatim:
        return any(map(rx.search, tree._text[start:end]))
    texts = tree._text
    return any(rx.search(texts[j]) and j not in verbatim for j in range(start, end))


def _block_matches(tree: ConfigTree, k: int, matcher: Matcher) -> list[int]:
    """Positions of the statements under block ``k`` that the matcher accepts."""
    texts = tree._text
    if matcher.position == "last":
        ends = tree._end
        j, last = k + 1, -1
        while j < ends[k]:
            last, j = j, ends[j]
        return [last] if last >= 0 and matcher.rx.search(texts[last]) else []
    if not _block_has(tree, k, matcher.rx):
        return []
    search, verbatim = matcher.rx.search, tree._verbatim
    return [j for j in range(k + 1, tree._end[k]) if search(texts[j]) and j not in verbatim]


def _satisfied(tree: ConfigTree, k: int, matcher: Matcher) -> bool:
    if matcher.position == "last":
        return bool(_block_matches(tree, k, matcher))
    return _block_has(tree, k, matcher.rx)


def _shown(rule: Rule) -> str:
    return " or ".join(m.shown + (" (last statement)" if m.position == "last" else "") for m in rule.matchers)


def _check_must_contain(rule: Rule, ctx: _Context) -> RuleResult:
    tree = ctx.tree
    if not rule.block:
        for m in rule.matchers:
            hits = tree.find_indices(m.rx)
            if hits:
                return ctx.result(rule, "pass", f"found {_shown(rule)}", [(tree._line[hits[0]], tree._text[hits[0]])])
        remediation = ctx.remediate(rule, block="", block_line=0, lines=[], values=[])
        return ctx.result(rule, "fail", f"no statement matches {_shown(rule)}", remediation=remediation)
    blocks = ctx.blocks(rule)
    if not blocks:
        return ctx.absent(rule, f"no block matches {rule.block_shown}")
    failing = [k for k in blocks if not any(_satisfied(tree, k, m) for m in rule.matchers)]
    if not failing:
        return ctx.result(rule, "pass", f"all {len(blocks)} block(s) matching {rule.block_shown} have {_shown(rule)}")
    remediation = "\n".join(
        ctx.remediate(rule, block=tree._text[k], block_line=tree._line[k], lines=[], values=[]) for k in failing
    ).strip("\n")
    return ctx.result(
        rule,
        "fail",
        f"{len(failing)} of {len(blocks)} block(s) matching {rule.block_shown} lack {_shown(rule)}",
        [(tree._line[k], tree._text[k]) for k in failing],
        remediation,
    )


def _check_must_not_contain(rule: Rule, ctx: _Context) -> RuleResult:
    tree = ctx.tree
    if rule.block:
        blocks = ctx.blocks(rule)
        if not blocks:
            return ctx.absent(rule, f"no block matches {rule.block_shown}")
        hits = sorted({j for k in blocks for m in rule.matchers for j in _block_matches(tree, k, m)})
    else:
        hits = sorted({j for m in rule.matchers for j in tree.find_indices(m.rx)})
    if not hits:
        where = f" in {rule.block_shown}" if rule.block else ""
        return ctx.result(rule, "pass", f"no statement matches {_shown(rule)}{where}")
    parents = tree._parent
    remediation = "\n".join(
        ctx.remediate(
            rule,
            block=tree._text[parents[j]] if parents[j] >= 0 else "",
            block_line=tree._line[parents[j]] if parents[j] >= 0 else 0,
            line=tree._text[j],
            lines=[tree._text[j]],
            values=[],
        )
        for j in hits
    ).strip("\n")
    return ctx.result(
        rule,
        "fail",
        f"{len(hits)} statement(s) match {_shown(rule)}",
        [(tree._line[j], tree._text[j]) for j in hits],
        remediation,
    )


def _check_value(rule: Rule, ctx: _Context) -> RuleResult:
    tree = ctx.tree
    rx = rule.matchers[0].rx
    if rule.block:
        blocks = ctx.blocks(rule)
        hits = sorted({j for k in blocks for j in _block_matches(tree, k, rule.matchers[0])})
    else:
        hits = tree.find_indices(rx)
    if not hits:
        return ctx.absent(rule, f"no statement matches {_shown(rule)}")
    bad: list[tuple[int, str]] = []
    bad_values: list[str] = []
    seen: list[str] = []
    for j in hits:
        m = rx.search(tree._text[j])
        if m is None or m.group(1) is None:
            continue
        value = m.group(1)
        seen.append(value)
        if not _value_ok(rule, value):
            bad.append((tree._line[j], tree._text[j]))
            bad_values.append(value)
    if not seen:
        return ctx.absent(rule, f"no value captured by {_shown(rule)}")
    if not bad:
        return ctx.result(rule, "pass", f"{len(seen)} value(s) allowed: {', '.join(seen[:10])}")
    remediation = ctx.remediate(rule, block="", block_line=0, lines=[t for _, t in bad], values=bad_values)
    return ctx.result(
        rule,
        "fail",
        f"{len(bad)} value(s) not allowed ({_expectation(rule)}): {', '.join(bad_values[:10])}",
        bad,
        remediation,
    )


def _value_ok(rule: Rule, value: str) -> bool:
    key = value.lower() if rule.ignore_case else value
    if rule.allowed is not None:
        return key in rule.allowed
    if rule.denied is not None:
        return key not in rule.denied
    assert rule.range is not None
    try:
        number = float(value)
    except ValueError:
        return False
    return rule.range[0] <= number <= rule.range[1]


def _expectation(rule: Rule) -> str:
    if rule.allowed is not None:
        return "allowed: " + ", ".join(sorted(rule.allowed))
    if rule.denied is not None:
        return "forbidden: " + ", ".join(sorted(rule.denied))
    assert rule.range is not None
    lo, hi = rule.range
    return f"range {lo:g}..{hi:g}"


def _check_golden(rule: Rule, ctx: _Context) -> RuleResult:
    tree = ctx.tree
    assert rule.golden is not None
    text = render_string(rule.golden, ctx.template_ctx, f"{rule.policy}/{rule.id} golden")
    golden = parse(text, tree.platform)
    pairs: list[tuple[list[tuple[int, str, int]], list[tuple[int, str, int]]]] = []
    if rule.block:
        # The device's section is every statement the block regexes reach; it must equal the golden's.
        want = _sections(golden, golden.block_indices(rule.block))
        have = _sections(tree, tree.block_indices(rule.block))
        if not want and not have:
            return ctx.absent(rule, f"neither the device nor the golden template has {rule.block_shown}")
        pairs.append((want, have))
    else:
        # Each golden top-level statement must be on the device, with its block equal line for line.
        for head in golden.children:
            node = tree.block(head.text)
            pairs.append((_sections(golden, [head.index]), _sections(tree, [node.index]) if node else []))
    evidence: list[tuple[int, str]] = []
    missing = unexpected = total = 0
    for want, have in pairs:
        expected = [(d, t) for d, t, _ in want]
        actual = [(d, t) for d, t, _ in have]
        total += len(expected)
        if expected == actual:
            continue
        matcher = difflib.SequenceMatcher(a=expected, b=actual, autojunk=False)
        for op, a0, a1, b0, b1 in matcher.get_opcodes():
            if op in ("replace", "delete"):
                missing += a1 - a0
                evidence.extend((0, "missing: " + " " * d + t) for d, t in expected[a0:a1])
            if op in ("replace", "insert"):
                unexpected += b1 - b0
                evidence.extend((have[j][2], " " * have[j][0] + have[j][1]) for j in range(b0, b1))
    if not missing and not unexpected:
        return ctx.result(rule, "pass", f"{total} line(s) match the golden template")
    rendered = "\n".join(" " * d + t for want, _ in pairs for d, t, _ in want)
    remediation = (
        ctx.remediate(rule, block="", block_line=0, lines=[t for _, t in evidence], values=[], expected=rendered)
        if rule.remediation is not None
        else rendered
    )
    return ctx.result(
        rule,
        "fail",
        f"differs from the golden template: {missing} line(s) missing or different, {unexpected} unexpected",
        evidence,
        remediation,
    )


def _sections(tree: ConfigTree, heads: list[int]) -> list[tuple[int, str, int]]:
    """(depth, text, line) of the statements under and including each head, in order."""
    out: list[tuple[int, str, int]] = []
    for k in heads:
        base = tree._depth[k]
        out.extend((tree._depth[j] - base, tree._text[j], tree._line[j]) for j in range(k, tree._end[k]))
    return out


_CHECKS = {
    "must_contain": _check_must_contain,
    "must_not_contain": _check_must_not_contain,
    "value": _check_value,
    "golden": _check_golden,
}
