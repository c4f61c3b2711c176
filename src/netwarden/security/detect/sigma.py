"""Sigma rules: loaded from files with pySigma, evaluated on normalised log events.

pySigma parses a rule (YAML, modifiers, the condition) into a condition tree whose leaves are
``field = value`` and keyword expressions; it has no evaluator of its own (its backends write
queries for other engines). :func:`compile_rule` turns that tree into a predicate over
:class:`~netwarden.security.logs.model.LogEvent`:

- Sigma field names map to event fields through :data:`FIELDS` (``src_ip``, ``pam_rhost`` ->
  ``source_ip``; ``user``, ``pam_user`` -> ``user``...; ``fields.NAME`` reads a parser's extra field);
- strings match whole values, case-insensitively (``|cased`` for case), with ``*``/``?`` wildcards;
  ``|contains``, ``|startswith``, ``|endswith``, ``|all``, ``|re`` (searched, with ``i``/``m``/``s``),
  ``|cidr``, ``|lt``..``|gte``, ``|neq``, ``|exists`` work; keywords (values without a field) are
  searched in the raw line;
- the logsource narrows the events: ``service`` is the program (``sshd``, ``sudo``; ``auth`` is every
  authentication event), ``category: firewall`` the firewall events.

A rule that cannot be evaluated faithfully (an encoding modifier such as ``|base64offset`` meant for
Windows event data, a field with no mapping, a logsource netwarden has no events for, a correlation
rule, a YAML or Sigma syntax error) is not loaded: it is counted in :class:`SigmaProblem` with its
file and the reason, and every other rule still runs.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netwarden.security.detect.bursts import bursts, group_by, listed
from netwarden.security.detect.model import Detection, RuleOverride, RuleSettings, Severity, rule_settings
from netwarden.security.logs.model import LogEvent

__all__ = [
    "FIELDS",
    "CompiledRule",
    "SigmaProblem",
    "SigmaRuleSet",
    "compile_text",
    "evaluate",
    "load",
]

log = logging.getLogger(__name__)
Predicate = Callable[[LogEvent], bool]
MAX_FILE = 1 << 20  # bytes; a Sigma rule is a few KiB
DEFAULT = RuleSettings(threshold=1, window_seconds=600)

# Sigma field name (lower case) -> LogEvent attribute.
FIELDS: dict[str, str] = {
    **{k: "host" for k in ("host", "hostname", "computer", "computername", "host.name", "dvc_host", "device")},
    **{
        k: "source_ip"
        for k in (
            "source_ip",
            "src_ip",
            "srcip",
            "sourceip",
            "src",
            "source.ip",
            "ipaddress",
            "client_ip",
            "clientip",
            "pam_rhost",
            "rhost",
            "remote_ip",
        )
    },
    **{k: "source_port" for k in ("source_port", "src_port", "sourceport", "source.port", "spt")},
    **{k: "dest_ip" for k in ("dest_ip", "dst_ip", "dstip", "destinationip", "dst", "destination.ip")},
    **{k: "dest_port" for k in ("dest_port", "dst_port", "dstport", "destinationport", "destination.port", "dpt")},
    **{
        k: "user" for k in ("user", "username", "user.name", "targetusername", "subjectusername", "pam_user", "account")
    },
    **{k: "app" for k in ("app", "program", "process", "processname", "process.name", "syslog_program")},
    **{k: "message" for k in ("message", "msg", "text", "description")},
    **{k: "raw" for k in ("raw", "_raw", "event.original")},
    **{k: "proto" for k in ("proto", "protocol", "network.transport")},
    **{k: "action" for k in ("action", "event.action")},
    **{k: "outcome" for k in ("outcome", "event.outcome")},
    **{k: "kind" for k in ("kind", "event.kind")},
    "parser": "parser",
}
# Modifiers evaluated here; the rest are refused with the reason below.
SUPPORTED_MODIFIERS = frozenset(
    {"contains", "startswith", "endswith", "all", "neq", "re", "i", "m", "s", "ignorecase", "multiline", "dotall",
     "cased", "cidr", "lt", "lte", "gt", "gte", "exists"}
)  # fmt: skip
_REFUSED = {
    "base64": "encodes the value (Windows event data); netwarden's events are text",
    "base64offset": "encodes the value (Windows event data); netwarden's events are text",
    "wide": "re-encodes the value as UTF-16 (Windows event data)",
    "utf16": "re-encodes the value as UTF-16 (Windows event data)",
    "utf16le": "re-encodes the value as UTF-16 (Windows event data)",
    "utf16be": "re-encodes the value as UTF-16 (Windows event data)",
    "windash": "expands Windows command-line dashes",
    "expand": "needs placeholder values from a processing pipeline",
    "fieldref": "compares two fields",
}
_AUTH_KINDS = frozenset({"auth-failure", "auth-success", "auth-invalid-user", "sudo", "session-open", "session-close"})
_AUTH_APPS = frozenset({"sshd", "sudo", "su", "login", "passwd", "dropbear", "systemd-logind", "sshd-session"})
_LEVELS: dict[str, Severity] = {
    "informational": "info",
    "low": "warning",
    "medium": "minor",
    "high": "major",
    "critical": "critical",
}


class _Unsupported(Exception):
    """A rule netwarden cannot evaluate; the message is the reason."""


@dataclass(frozen=True)
class SigmaProblem:
    """A rule (or file) that was not loaded."""

    file: str
    rule: str  # the rule's title, '' when the file could not be read as rules
    reason: str

    def public(self) -> dict[str, str]:
        return {"file": self.file, "rule": self.rule, "reason": self.reason}


@dataclass(frozen=True)
class CompiledRule:
    title: str
    id: str
    file: str
    level: Severity
    scope: Predicate  # the logsource
    match: Predicate  # the detection condition

    @property
    def name(self) -> str:
        return f"sigma:{self.title}"

    def __call__(self, event: LogEvent) -> bool:
        return self.scope(event) and self.match(event)


@dataclass
class SigmaRuleSet:
    rules: list[CompiledRule] = field(default_factory=list)
    problems: list[SigmaProblem] = field(default_factory=list)
    files: int = 0

    def public(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "loaded": len(self.rules),
            "unsupported": len(self.problems),
            "rules": [{"title": r.title, "id": r.id, "file": r.file, "level": r.level} for r in self.rules],
            "problems": [p.public() for p in self.problems],
        }


# ---------------------------------------------------------------- loading


def load(paths: Iterable[Path]) -> SigmaRuleSet:
    """Every ``*.yml``/``*.yaml`` under ``paths`` (files or directories); never raises for a bad rule."""
    out = SigmaRuleSet()
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
        elif path.exists():
            files = [path]
        else:
            out.problems.append(SigmaProblem(str(path), "", "no such file or directory"))
            continue
        for file in files:
            out.files += 1
            try:
                if file.stat().st_size > MAX_FILE:
                    out.problems.append(SigmaProblem(str(file), "", f"larger than {MAX_FILE} bytes"))
                    continue
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                out.problems.append(SigmaProblem(str(file), "", f"cannot be read: {exc}"))
                continue
            rules, problems = compile_text(text, str(file))
            out.rules += rules
            out.problems += problems
    if out.problems:
        log.warning("sigma rules not loaded count=%d first=%r", len(out.problems), out.problems[0].reason)
    return out


def compile_text(text: str, file: str = "<text>") -> tuple[list[CompiledRule], list[SigmaProblem]]:
    """The rules of one YAML text (one or more documents), and the problems of those that cannot run."""
    from sigma.collection import SigmaCollection
    from sigma.rule import SigmaRule

    try:
        # References (correlation -> rule ids) may point into other files: not resolved here, and
        # correlation rules are refused below anyway.
        collection = SigmaCollection.from_yaml(text, collect_errors=True, resolve_references=False)
    except Exception as exc:  # YAML errors, documents that are no mappings: pySigma raises many kinds
        return [], [SigmaProblem(file, "", f"not a Sigma rule file: {_first_line(exc)}")]
    rules: list[CompiledRule] = []
    problems = [SigmaProblem(file, "", _first_line(e)) for e in collection.errors if not _rule_error(e, collection)]
    for rule in collection.rules:
        title = str(getattr(rule, "title", "") or "")
        if not isinstance(rule, SigmaRule):
            problems.append(
                SigmaProblem(file, title, f"{type(rule).__name__} is not supported (single-event rules only)")
            )
            continue
        if rule.errors:
            problems.append(SigmaProblem(file, title, _first_line(rule.errors[0])))
            continue
        try:
            rules.append(compile_rule(rule, file))
        except _Unsupported as exc:
            problems.append(SigmaProblem(file, title, str(exc)))
        except Exception as exc:  # a pySigma error while building the condition tree
            problems.append(SigmaProblem(file, title, _first_line(exc)))
    return rules, problems


def _rule_error(error: Exception, collection: Any) -> bool:
    """Whether a collection-level error is one a rule also carries (reported once, with its title)."""
    return any(error in getattr(r, "errors", ()) for r in collection.rules)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def compile_rule(rule: Any, file: str) -> CompiledRule:
    """One parsed pySigma rule as a :class:`CompiledRule`; raises _Unsupported with the reason."""
    _check_modifiers(rule)
    scope = _logsource(rule.logsource)
    conditions = [_compile(c.parsed) for c in rule.detection.parsed_condition]
    match: Predicate = conditions[0] if len(conditions) == 1 else (lambda e: any(c(e) for c in conditions))
    level = _LEVELS.get(str(rule.level.name).lower() if rule.level else "medium", "minor")
    return CompiledRule(title=str(rule.title), id=str(rule.id or ""), file=file, level=level, scope=scope, match=match)


def _check_modifiers(rule: Any) -> None:
    from sigma.modifiers import reverse_modifier_mapping

    def items(detection: Any) -> Iterable[Any]:
        for item in detection.detection_items:
            if hasattr(item, "detection_items"):
                yield from items(item)
            else:
                yield item

    for name, detection in rule.detection.detections.items():
        for item in items(detection):
            for modifier in item.modifiers:
                word = reverse_modifier_mapping.get(modifier.__name__, modifier.__name__)
                if word not in SUPPORTED_MODIFIERS:
                    why = _REFUSED.get(word, "is not evaluated by netwarden")
                    raise _Unsupported(f"modifier '{word}' on {item.field or 'keywords'} in '{name}' {why}")


def _logsource(source: Any) -> Predicate:
    product = (source.product or "").lower()
    service = (source.service or "").lower()
    category = (source.category or "").lower()
    checks: list[Predicate] = []
    if product and product not in ("linux", "unix"):
        raise _Unsupported(f"logsource product '{product}': netwarden reads Linux and network-device logs only")
    if category:
        if category != "firewall":
            raise _Unsupported(f"logsource category '{category}' has no netwarden events (only 'firewall')")
        checks.append(lambda e: e.kind.startswith("firewall-"))
    if service in ("auditd", "clamav", "modsecurity", "guacamole"):
        raise _Unsupported(f"logsource service '{service}' is not parsed by netwarden")
    if service == "auth":
        checks.append(lambda e: e.kind in _AUTH_KINDS or e.app.lower() in _AUTH_APPS)
    elif service == "sudo":
        checks.append(lambda e: e.app.lower() == "sudo" or e.kind == "sudo")
    elif service and service != "syslog":
        checks.append(lambda e: e.app.lower() == service)  # Sigma's Linux services are program names
    if not checks:
        return lambda e: True
    return lambda e: all(c(e) for c in checks)


# ---------------------------------------------------------------- the condition tree


def _compile(node: Any) -> Predicate:
    from sigma.conditions import (
        ConditionAND,
        ConditionFieldEqualsValueExpression,
        ConditionNOT,
        ConditionOR,
        ConditionValueExpression,
    )

    if node is None:
        return lambda e: False
    if isinstance(node, ConditionAND):
        parts = [_compile(a) for a in node.args]
        return lambda e: all(p(e) for p in parts)
    if isinstance(node, ConditionOR):
        parts = [_compile(a) for a in node.args]
        return lambda e: any(p(e) for p in parts)
    if isinstance(node, ConditionNOT):
        inner = _compile(node.args[0])
        return lambda e: not inner(e)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        getter = _field(node.field)
        test = _value(node.value, keyword=False)
        return lambda e: test(getter(e))
    if isinstance(node, ConditionValueExpression):
        test = _value(node.value, keyword=True)
        return lambda e: test(e.raw)
    raise _Unsupported(f"condition element {type(node).__name__} is not supported")


def _field(name: str) -> Callable[[LogEvent], Any]:
    lowered = name.lower()
    if lowered.startswith("fields."):
        key = name[len("fields.") :]
        return lambda e: e.fields.get(key)
    attr = FIELDS.get(lowered)
    if attr is None:
        known = sorted({*FIELDS.values()})
        raise _Unsupported(f"field '{name}' has no netwarden event field (map it to one of {listed(known, 20)})")
    return lambda e: getattr(e, attr)


def _value(value: Any, keyword: bool) -> Callable[[Any], bool]:
    from sigma.types import (
        CompareOperators,
        SigmaBool,
        SigmaCasedString,
        SigmaCIDRExpression,
        SigmaCompareExpression,
        SigmaExists,
        SigmaExpansion,
        SigmaNull,
        SigmaNumber,
        SigmaRegularExpression,
        SigmaString,
    )

    if isinstance(value, SigmaString):
        if value.contains_placeholder():
            raise _Unsupported(f"value '{value}' holds a placeholder that needs a processing pipeline")
        pattern = str(value.to_regex().regexp)
        flags = re.DOTALL | (0 if isinstance(value, SigmaCasedString) else re.IGNORECASE)
        compiled = re.compile(pattern, flags)
        # Keywords are searched anywhere in the line; field values must match whole.
        run = compiled.search if keyword else compiled.fullmatch
        return lambda v: v is not None and run(str(v)) is not None
    if isinstance(value, SigmaRegularExpression):
        rx_flags = 0
        for rx_flag in value.flags:
            rx_flags |= int(SigmaRegularExpression.sigma_to_python_flags[rx_flag])
        rx = re.compile(str(value.regexp), rx_flags)
        return lambda v: v is not None and rx.search(str(v)) is not None
    if isinstance(value, SigmaNumber):
        number = value.number
        return lambda v: v is not None and (v == number or str(v) == str(number))
    if isinstance(value, SigmaCompareExpression):
        target = value.number.number
        ops: dict[Any, Callable[[float, float], bool]] = {
            CompareOperators.LT: lambda a, b: a < b,
            CompareOperators.LTE: lambda a, b: a <= b,
            CompareOperators.GT: lambda a, b: a > b,
            CompareOperators.GTE: lambda a, b: a >= b,
            CompareOperators.NEQ: lambda a, b: a != b,
        }
        op = ops[value.op]
        return lambda v: _number(v) is not None and op(_number(v), target)  # type: ignore[arg-type]
    if isinstance(value, SigmaCIDRExpression):
        network = value.network
        return lambda v: _in_network(v, network)
    if isinstance(value, SigmaNull):
        return lambda v: v is None or v == ""
    if isinstance(value, SigmaExists):
        wanted = value.exists
        return lambda v: (v is not None and v != "") == wanted
    if isinstance(value, SigmaBool):
        wanted_bool = value.boolean
        return lambda v: v is wanted_bool or str(v).lower() == str(wanted_bool).lower()
    if isinstance(value, SigmaExpansion):
        parts = [_value(v, keyword) for v in value.values]
        return lambda v: any(p(v) for p in parts)
    raise _Unsupported(f"value type {type(value).__name__} is not supported")


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(str(v))
    except ValueError:
        return None


def _in_network(v: Any, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    if v is None:
        return False
    try:
        return ipaddress.ip_address(str(v)) in network
    except ValueError:
        return False


# ---------------------------------------------------------------- evaluation


def evaluate(
    ruleset: SigmaRuleSet, events: Sequence[LogEvent], overrides: Mapping[str, RuleOverride] | None = None
) -> list[Detection]:
    """Detections of every loaded rule: matching events by host, source and user, in bursts.

    A rule's settings come from ``detection_overrides`` under ``sigma:<title>`` or its id (default:
    every match is a detection, matches less than 600 s apart are one).
    """
    out: list[Detection] = []
    for rule in ruleset.rules:
        cfg = rule_settings(DEFAULT, overrides or {}, [rule.name, rule.id, "sigma"])
        if not cfg.enabled:
            continue
        matches = [e for e in events if _safe(rule, e)]
        for (host, src, user), group in group_by(matches, lambda e: (e.host, e.source_ip, e.user)).items():
            for run in bursts(group, cfg.threshold, cfg.window):
                out.append(
                    Detection(
                        rule=rule.name,
                        host=host,
                        source_ip=src,
                        user=user,
                        target=host,
                        first=run[0].time,
                        last=run[-1].time,
                        count=len(run),
                        events=run,
                        severity=rule.level,
                        users=[user] if user else [],
                        summary=f"Sigma rule '{rule.title}' matched {len(run)} line(s) on {host}"
                        + (f" from {src}" if src else "")
                        + (f" for {user}" if user else ""),
                        details={"sigma_id": rule.id, "sigma_file": rule.file},
                    )
                )
    return out


def _safe(rule: CompiledRule, event: LogEvent) -> bool:
    try:
        return rule(event)
    except Exception as exc:  # an odd value in one event must not stop the run
        log.debug("sigma rule failed on an event rule=%r error=%r", rule.title, str(exc))
        return False
