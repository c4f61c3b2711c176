"""What a detection is, and how each rule's threshold and window are set.

A :class:`Detection` is one finding of one rule over a run of :class:`~netwarden.security.logs.model.LogEvent`:
who (``source_ip``, ``user``), where (``host``: the device whose log shows it; ``target``: what was
attacked), when (``first``..``last``), how much (``count``) and the raw lines that prove it
(``evidence``). :meth:`Detection.public` is the scripting contract's shape
(``security detections --json``).

:class:`RuleSettings` holds one rule's tunables; :func:`rule_settings` merges the defaults with the
``detection_overrides`` setting (tables of ``{rule, threshold?, window_seconds?, enabled?}``, plus
``factor`` for denied-traffic spikes and ``allow`` for privilege escalation).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from netwarden.errors import ConfigError
from netwarden.security.logs.model import LogEvent

__all__ = [
    "MAX_EVIDENCE",
    "SEVERITIES",
    "Detection",
    "RuleOverride",
    "RuleSettings",
    "Severity",
    "parse_overrides",
    "rule_settings",
]

Severity = Literal["info", "warning", "minor", "major", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "minor", "major", "critical")  # low to high
MAX_EVIDENCE = 200  # raw lines kept per detection; ``count`` and ``evidence_total`` keep the totals


@dataclass
class Detection:
    """One finding: a rule that fired for one source/user against one host over a span of time."""

    rule: str
    host: str
    first: dt.datetime
    last: dt.datetime
    count: int
    events: list[LogEvent]  # the events behind it, in time order (evidence is their raw lines)
    source_ip: str | None = None
    user: str | None = None
    target: str | None = None  # the attacked address or device, when it is not ``host`` itself
    severity: Severity = "major"
    summary: str = ""
    users: list[str] = field(default_factory=list)  # every user name involved (spraying, brute force)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def evidence(self) -> list[str]:
        return [e.raw for e in self.events[:MAX_EVIDENCE]]

    def public(self) -> dict[str, Any]:
        """The scripting contract's fields, then the others."""
        return {
            "rule": self.rule,
            "host": self.host,
            "source_ip": self.source_ip,
            "user": self.user,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "count": self.count,
            "evidence": self.evidence,
            "evidence_total": len(self.events),
            "target": self.target,
            "severity": self.severity,
            "summary": self.summary,
            "users": self.users,
            "details": self.details,
        }


class RuleOverride(BaseModel):
    """One table of the ``detection_overrides`` setting."""

    model_config = ConfigDict(extra="forbid")

    rule: str = Field(min_length=1, description="a built-in rule name, or 'sigma:<title>' / a Sigma rule id")
    threshold: int | None = Field(default=None, ge=1)
    window_seconds: float | None = Field(default=None, gt=0)
    enabled: bool | None = None
    factor: float | None = Field(default=None, gt=1, description="denied-spike: times the baseline rate")
    allow: list[str] | None = Field(default=None, description="privilege-escalation: users allowed to become root")


@dataclass(frozen=True)
class RuleSettings:
    """A rule's tunables after overrides."""

    threshold: int
    window_seconds: float
    enabled: bool = True
    factor: float = 3.0
    allow: tuple[str, ...] = ()

    @property
    def window(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.window_seconds)


def parse_overrides(raw: Iterable[Mapping[str, Any] | RuleOverride]) -> dict[str, RuleOverride]:
    """The ``detection_overrides`` setting by rule name; raises ConfigError naming the bad table."""
    out: dict[str, RuleOverride] = {}
    for i, item in enumerate(raw):
        if isinstance(item, RuleOverride):
            out[item.rule] = item
            continue
        try:
            parsed = RuleOverride.model_validate(dict(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ConfigError(
                f"detection_overrides[{i}] is invalid ({where}: {err['msg']}); "
                "each table takes rule, threshold, window_seconds, enabled (factor, allow for some rules)"
            ) from None
        out[parsed.rule] = parsed
    return out


def rule_settings(
    default: RuleSettings, overrides: Mapping[str, RuleOverride], names: Sequence[str | None]
) -> RuleSettings:
    """``default`` with the first override found under any of ``names`` applied."""
    for name in names:
        o = overrides.get(name) if name else None
        if o is None:
            continue
        return replace(
            default,
            threshold=o.threshold if o.threshold is not None else default.threshold,
            window_seconds=o.window_seconds if o.window_seconds is not None else default.window_seconds,
            enabled=o.enabled if o.enabled is not None else default.enabled,
            factor=o.factor if o.factor is not None else default.factor,
            allow=tuple(o.allow) if o.allow is not None else default.allow,
        )
    return default
