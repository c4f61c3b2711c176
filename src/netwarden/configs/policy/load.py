"""Policy files: the YAML schema, validation with one-line errors, and compilation into :class:`Rule` objects."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from netwarden.configs.render import DeviceFacts, TemplateError, compile_template
from netwarden.errors import InvalidInput

Severity = Literal["critical", "major", "minor", "warning", "info"]
Status = Literal["pass", "fail", "not_applicable"]
Kind = Literal["must_contain", "must_not_contain", "value", "golden"]
SEVERITIES: tuple[str, ...] = ("critical", "major", "minor", "warning", "info")
DEFAULT_POLICY = Path(__file__).resolve().parents[1] / "policies" / "default.yml"
MAX_EVIDENCE = 50


class PolicyError(InvalidInput):
    """A policy file that cannot be used (bad YAML, unknown kind, bad regex, bad template)."""

    code = "policy-error"


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
