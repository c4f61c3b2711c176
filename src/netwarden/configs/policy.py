"""Compliance as policy-as-code: YAML policies of rules checked against parsed configurations.

A policy file::

    policy: hardening                      # name (default: the file stem)
    description: What the site expects
    scope: {platform: cisco_ios}           # default scope of the rules below (optional)
    rules:
      - id: vty-ssh-only
        title: VTY lines accept SSH only
        severity: critical                 # critical | major | minor | warning | info
        scope: {role: [core, edge], site: "dc-*"}   # globs; every field given must match
        kind: must_contain                 # must_contain | must_not_contain | value | golden
        block: '^line vty '                # regex, or a list of regexes (one per level from the top)
        when: {not_contains: ['^no exec$']}  # which of those blocks the rule is about (optional)
        regex: '^transport input ssh$'     # or line: (exact statement) or any_of: [{regex|line, position}]
        remediation: |                     # Jinja2, rendered per failing block
          {{ block }}
           transport input ssh

Kinds: ``must_contain`` (every selected block, or the whole config, has a matching statement),
``must_not_contain`` (no statement matches), ``value`` (the regex's one capture group is ``in`` / ``not_in`` a
set or within ``range: [lo, hi]``), ``golden`` (a Jinja2 template rendered with the device's facts; the
matching sections of the device must equal it line for line).

Scope ``platform`` is matched against the configuration's syntax (``tree.platform``: an nftables file on
an FRR firewall is checked by the nftables rules), ``role``/``site``/``name``/``tags`` against the facts.
Rules out of scope produce no result; rules in scope whose subject is absent (no VTY lines, no SNMP) are
``not_applicable`` unless the rule's ``if_absent`` says otherwise.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from netwarden.configs.render import DeviceFacts, TemplateError, compile_template, render_string
from netwarden.configs.tree import ConfigTree, parse
from netwarden.errors import InvalidInput

Severity = Literal["critical", "major", "minor", "warning", "info"]
Status = Literal["pass", "fail", "not_applicable"]
Kind = Literal["must_contain", "must_not_contain", "value", "golden"]
SEVERITIES: tuple[str, ...] = ("critical", "major", "minor", "warning", "info")
DEFAULT_POLICY = Path(__file__).resolve().parent / "policies" / "default.yml"
MAX_EVIDENCE = 50


class PolicyError(InvalidInput):
    """A policy file that cannot be used (bad YAML, unknown kind, bad regex, bad template)."""

    code = "policy-error"


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


# ---------------------------------------------------------------- policy file schema


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _globs(value: str | list[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


class ScopeSpec(_Spec):
    platform: str | list[str] | None = None
    role: str | list[str] | None = None
    site: str | list[str] | None = None
    name: str | list[str] | None = None
    tags: str | list[str] | None = Field(default=None, description="any tag of the device matches any glob")


class MatchSpec(_Spec):
    line: str | None = Field(default=None, description="an exact statement (indentation ignored)")
    regex: str | None = None
    position: Literal["any", "last"] = Field(default="any", description="last: the block's last statement")

    @model_validator(mode="after")
    def _one(self) -> MatchSpec:
        if (self.line is None) == (self.regex is None):
            raise ValueError("give exactly one of 'line' and 'regex'")
        return self


class WhenSpec(_Spec):
    contains: list[str] = Field(default_factory=list, description="the block has a statement matching one")
    not_contains: list[str] = Field(default_factory=list, description="the block has no statement matching any")


class RuleSpec(_Spec):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
    title: str = ""
    description: str = ""
    severity: Severity = "major"
    scope: ScopeSpec | None = None
    kind: Kind
    block: str | list[str] | None = None
    when: WhenSpec | None = None
    line: str | None = None
    regex: str | None = None
    any_of: list[MatchSpec] | None = None
    in_: list[str | int | float] | None = Field(default=None, alias="in")
    not_in: list[str | int | float] | None = None
    range: tuple[float, float] | None = None
    ignore_case: bool = False
    template: str | None = None
    template_file: str | None = None
    if_absent: Status | None = None
    remediation: str = ""

    @field_validator("block")
    @classmethod
    def _block(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and not value:
            raise ValueError("block needs at least one regex")
        return value

    @model_validator(mode="after")
    def _by_kind(self) -> RuleSpec:
        matchers = sum(x is not None for x in (self.line, self.regex, self.any_of))
        if self.kind in ("must_contain", "must_not_contain"):
            if matchers != 1:
                raise ValueError(f"{self.kind} needs exactly one of 'line', 'regex', 'any_of'")
            if self.any_of is not None and not self.any_of:
                raise ValueError("any_of needs at least one entry")
            if self.block is None and any(m.position == "last" for m in self.any_of or []):
                raise ValueError("position 'last' needs a 'block'")
            if self.kind == "must_not_contain" and any(m.position == "last" for m in self.any_of or []):
                raise ValueError("position 'last' is for must_contain")
        elif self.kind == "value":
            if self.regex is None or self.line is not None or self.any_of is not None:
                raise ValueError("value needs 'regex' (with one capture group) and no 'line'/'any_of'")
            if sum(x is not None for x in (self.in_, self.not_in, self.range)) != 1:
                raise ValueError("value needs exactly one of 'in', 'not_in', 'range'")
            if self.range is not None and self.range[0] > self.range[1]:
                raise ValueError(f"range {list(self.range)}: the low end is above the high end")
        elif self.kind == "golden":
            if (self.template is None) == (self.template_file is None):
                raise ValueError("golden needs exactly one of 'template' and 'template_file'")
            if matchers:
                raise ValueError("golden takes no 'line'/'regex'/'any_of' (the template is the expectation)")
        if self.kind != "value" and (self.in_ is not None or self.not_in is not None or self.range is not None):
            raise ValueError(f"'in'/'not_in'/'range' are for kind value, not {self.kind}")
        if self.kind != "golden" and (self.template is not None or self.template_file is not None):
            raise ValueError(f"'template' is for kind golden, not {self.kind}")
        return self


class PolicySpec(_Spec):
    policy: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
    description: str = ""
    scope: ScopeSpec | None = None
    rules: list[RuleSpec]


# ---------------------------------------------------------------- compiled rules


@dataclass(frozen=True)
class Scope:
    platform: list[str] | None = None
    role: list[str] | None = None
    site: list[str] | None = None
    name: list[str] | None = None
    tags: list[str] | None = None

    def matches(self, platform: str, device: DeviceFacts) -> bool:
        if self.platform is not None and not _any_glob(self.platform, platform):
            return False
        if self.role is not None and not _any_glob(self.role, device.role):
            return False
        if self.site is not None and not _any_glob(self.site, device.site):
            return False
        if self.name is not None and not _any_glob(self.name, device.name):
            return False
        return self.tags is None or any(_any_glob(self.tags, t) for t in device.tags)


@cache
def _glob_rx(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))


def _any_glob(patterns: list[str], value: str) -> bool:
    return any(p == value or (any(c in p for c in "*?[") and _glob_rx(p).match(value)) for p in patterns)


@dataclass(frozen=True)
class Matcher:
    rx: re.Pattern[str]
    position: Literal["any", "last"]
    shown: str


@dataclass
class Rule:
    """A validated, compiled rule of a policy."""

    policy: str
    id: str
    title: str
    description: str
    severity: Severity
    kind: Kind
    scope: Scope
    source: str
    block: list[re.Pattern[str]] = field(default_factory=list)
    when_contains: list[re.Pattern[str]] = field(default_factory=list)
    when_not_contains: list[re.Pattern[str]] = field(default_factory=list)
    matchers: list[Matcher] = field(default_factory=list)
    allowed: frozenset[str] | None = None
    denied: frozenset[str] | None = None
    range: tuple[float, float] | None = None
    ignore_case: bool = False
    golden: jinja2.Template | None = None
    if_absent: Status = "not_applicable"
    remediation: jinja2.Template | None = None

    @property
    def block_shown(self) -> str:
        return " > ".join(f"/{rx.pattern}/" for rx in self.block)


@dataclass
class Policy:
    """A loaded policy file."""

    name: str
    source: str
    description: str
    rules: list[Rule]


def _compile_rx(pattern: str, where: str, ignore_case: bool = False) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise PolicyError(f"{where}: bad regex {pattern!r}: {exc}") from exc


def _scope(rule: ScopeSpec | None, default: ScopeSpec | None) -> Scope:
    def pick(name: str) -> list[str] | None:
        own = getattr(rule, name) if rule is not None else None
        return _globs(own if own is not None else (getattr(default, name) if default is not None else None))

    return Scope(pick("platform"), pick("role"), pick("site"), pick("name"), pick("tags"))


_DEFAULT_ABSENT: dict[str, Status] = {
    "must_contain": "not_applicable",
    "must_not_contain": "pass",
    "value": "not_applicable",
    "golden": "fail",
}


def _compile_rule(spec: RuleSpec, policy: PolicySpec, name: str, path: Path) -> Rule:
    where = f"policy file {path.name}, rule {spec.id}"
    blocks = [spec.block] if isinstance(spec.block, str) else list(spec.block or [])
    matchers: list[Matcher] = []
    if spec.line is not None:
        matchers.append(Matcher(re.compile(rf"^{re.escape(spec.line.strip())}$"), "any", repr(spec.line.strip())))
    if spec.regex is not None:
        rx = _compile_rx(spec.regex, where)
        if spec.kind == "value" and rx.groups != 1:
            raise PolicyError(f"{where}: value regex {spec.regex!r} needs exactly one capture group, has {rx.groups}")
        matchers.append(Matcher(rx, "any", f"/{spec.regex}/"))
    for m in spec.any_of or []:
        if m.line is not None:
            matchers.append(Matcher(re.compile(rf"^{re.escape(m.line.strip())}$"), m.position, repr(m.line.strip())))
        else:
            assert m.regex is not None
            matchers.append(Matcher(_compile_rx(m.regex, where), m.position, f"/{m.regex}/"))

    def values(items: list[str | int | float] | None) -> frozenset[str] | None:
        if items is None:
            return None
        return frozenset(str(v).lower() if spec.ignore_case else str(v) for v in items)

    golden = None
    if spec.kind == "golden":
        if spec.template_file is not None:
            tpath = (path.parent / spec.template_file).resolve()
            try:
                source = tpath.read_text()
            except OSError as exc:
                raise PolicyError(f"{where}: cannot read template_file {spec.template_file!r} ({exc})") from exc
        else:
            assert spec.template is not None
            source = spec.template
        golden = _template(source, f"{name}/{spec.id} golden", where)
    remediation = _template(spec.remediation, f"{name}/{spec.id} remediation", where) if spec.remediation else None
    when = spec.when or WhenSpec()
    return Rule(
        policy=name,
        id=spec.id,
        title=spec.title or spec.id,
        description=spec.description,
        severity=spec.severity,
        kind=spec.kind,
        scope=_scope(spec.scope, policy.scope),
        source=str(path),
        block=[_compile_rx(b, where) for b in blocks],
        when_contains=_combined([_compile_rx(b, where) for b in when.contains]),
        when_not_contains=_combined([_compile_rx(b, where) for b in when.not_contains]),
        matchers=matchers,
        allowed=values(spec.in_),
        denied=values(spec.not_in),
        range=spec.range,
        ignore_case=spec.ignore_case,
        golden=golden,
        if_absent=spec.if_absent or _DEFAULT_ABSENT[spec.kind],
        remediation=remediation,
    )


def _combined(patterns: list[re.Pattern[str]]) -> list[re.Pattern[str]]:
    """One alternation for several regexes (one scan of a block instead of one per regex), when it compiles."""
    if len(patterns) < 2:
        return patterns
    try:
        return [re.compile("|".join(f"(?:{p.pattern})" for p in patterns))]
    except re.error:
        return patterns


def _template(source: str, label: str, where: str) -> jinja2.Template:
    try:
        return compile_template(source, label)
    except TemplateError as exc:
        raise PolicyError(f"{where}: {exc}") from exc


def load_policy(path: Path | str) -> Policy:
    """Read, validate and compile one policy file.

    Raises:
        PolicyError: one line naming the file (and rule) and what is wrong.
    """
    path = Path(path)
    try:
        data: Any = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise PolicyError(f"policy file {path}: cannot read it ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PolicyError(f"policy file {path.name}: not valid YAML{at}: {problem}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"policy file {path.name}: expected a mapping with 'rules' at the top")
    try:
        spec = PolicySpec.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_validation_message(path, data, exc)) from exc
    name = spec.policy or path.stem
    seen: set[str] = set()
    for rule in spec.rules:
        if rule.id in seen:
            raise PolicyError(f"policy file {path.name}: rule id {rule.id!r} appears twice")
        seen.add(rule.id)
    return Policy(name, str(path), spec.description, [_compile_rule(r, spec, name, path) for r in spec.rules])


def _validation_message(path: Path, data: dict[str, Any], exc: ValidationError) -> str:
    error = exc.errors()[0]
    loc = list(error["loc"])
    where = f"policy file {path.name}"
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules") or []
        rule = rules[loc[1]] if loc[1] < len(rules) else None
        rule_id = rule.get("id") if isinstance(rule, dict) else None
        where += f", rule {rule_id or '#' + str(loc[1] + 1)}"
        loc = loc[2:]
    field_name = ".".join(str(p) for p in loc if not str(p).startswith("function-"))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "literal_error" and loc and loc[0] == "kind":
        message = f"unknown kind {error.get('input')!r}; use must_contain, must_not_contain, value or golden"
    extra = f" ({exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {field_name + ': ' if field_name else ''}{message}{extra}"


def load_policies(paths: Iterable[Path | str]) -> list[Policy]:
    """Load policy files; a directory stands for its ``*.yml``/``*.yaml`` files, in name order.

    Raises:
        PolicyError: for the first file that cannot be used, or a policy name given twice.
    """
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted([*p.glob("*.yml"), *p.glob("*.yaml")]))
        else:
            files.append(p)
    policies = [load_policy(f) for f in files]
    names: dict[str, str] = {}
    for policy in policies:
        if policy.name in names:
            raise PolicyError(f"policy {policy.name!r} is defined in both {names[policy.name]} and {policy.source}")
        names[policy.name] = policy.source
    return policies


@cache
def _default() -> Policy:
    return load_policy(DEFAULT_POLICY)


def default_policies() -> list[Policy]:
    """The shipped default pack (``configs/policies/default.yml``)."""
    return [_default()]


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

__all__ = [
    "DEFAULT_POLICY",
    "ComplianceSummary",
    "DeviceFacts",
    "Evidence",
    "Policy",
    "PolicyError",
    "Rule",
    "RuleResult",
    "check",
    "check_text",
    "default_policies",
    "load_policies",
    "load_policy",
    "score",
    "summarize",
]
