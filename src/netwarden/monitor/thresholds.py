"""Static thresholds: rules per metric, device and role, with a hold time and hysteresis.

A rule names a metric (a glob), a warning and/or critical level, the direction that is bad
(``above`` or ``below``) and optionally the devices (glob on the name), roles (glob on the
inventory role) and instances (glob on the interface, peer or probe) it applies to::

    [[thresholds]]
    metric = "if_util_pct"
    device = "core-*"
    warn = 70
    crit = 90
    for_seconds = 300     # the value must stay past the level this long before it is reported
    hysteresis = 5        # and come back 5 points under it before the alert clears

Rules are tried in the order configured, the first that matches a series wins, and the built-in
rules (:data:`BUILTIN_RULES`) come after every configured one, so they apply to whatever no
configured rule covers; ``off = true`` silences a metric where it matches.

:class:`ThresholdEngine` keeps one small state per series and emits an event only when the
state changes: ``threshold`` (with the severity of the level reached) once, and
``threshold_clear`` once the value is back past the level minus the hysteresis. A value that stays
high, or wobbles around the level, never gives one event per poll.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import math
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from netwarden.alerts.events import Event, Severity
from netwarden.config import Settings
from netwarden.errors import ConfigError
from netwarden.monitor.records import Point

Key = tuple[str, str, str]
Direction = Literal["above", "below"]

#: Used after the configured rules: what a NOC would set on day one.
BUILTIN_RULES: list[dict[str, Any]] = [
    {"metric": "if_util_pct", "warn": 80, "crit": 95, "for_seconds": 300},
    {"metric": "cpu_pct", "warn": 85, "crit": 95, "for_seconds": 300},
    {"metric": "mem_used_pct", "warn": 90, "crit": 97, "for_seconds": 300},
    {"metric": "loss_pct", "warn": 5, "crit": 20, "for_seconds": 120},
    {"metric": "sla_mos", "warn": 3.6, "crit": 3.1, "direction": "below", "for_seconds": 120},
]
_LEVEL_NAME = {1: "warning", 2: "critical"}
_SEVERITY: dict[int, Severity] = {1: "warning", 2: "critical"}
_METRIC_GLOB = re.compile(r"[a-z0-9_*?\[\]!]{1,128}")


class _RuleIn(BaseModel):
    """One ``[[thresholds]]`` table as written in netwarden.toml."""

    model_config = ConfigDict(extra="forbid", strict=False)

    metric: str
    warn: float | None = None
    crit: float | None = None
    direction: Direction = "above"
    device: str = "*"
    role: str = "*"
    instance: str = "*"
    for_seconds: float = 0
    hysteresis: float | None = None
    off: bool = False

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        if not _METRIC_GLOB.fullmatch(v):
            raise ValueError("metric must be a snake_case metric name or a glob such as if_*_errors_ps")
        return v

    @field_validator("warn", "crit", "for_seconds", "hysteresis")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @model_validator(mode="after")
    def _levels(self) -> _RuleIn:
        if self.off:
            return self
        if self.warn is None and self.crit is None:
            raise ValueError("give warn and/or crit (or off = true to silence this metric)")
        if self.for_seconds < 0:
            raise ValueError("for_seconds must be 0 or more")
        if self.hysteresis is not None and self.hysteresis < 0:
            raise ValueError("hysteresis must be 0 or more")
        if self.warn is not None and self.crit is not None:
            if self.direction == "above" and self.crit < self.warn:
                raise ValueError(f"crit {self.crit:g} is under warn {self.warn:g}; with direction 'above' crit >= warn")
            if self.direction == "below" and self.crit > self.warn:
                raise ValueError(f"crit {self.crit:g} is over warn {self.warn:g}; with direction 'below' crit <= warn")
        return self


@dataclass(frozen=True)
class ThresholdRule:
    """A parsed rule; ``name`` says where it came from (``thresholds[2]`` or ``builtin[0]``)."""

    name: str
    metric: str
    warn: float | None
    crit: float | None
    direction: Direction = "above"
    device: str = "*"
    role: str = "*"
    instance: str = "*"
    for_seconds: float = 0
    hysteresis: float = 0
    off: bool = False

    def level_value(self, level: int) -> float | None:
        return self.warn if level == 1 else self.crit

    def matches(self, device: str, metric: str, instance: str, role: str) -> bool:
        return (
            _match(metric, self.metric)
            and _match(device, self.device)
            and _match(instance, self.instance)
            and _match(role, self.role)
        )

    def first_level(self) -> float:
        """The level a capacity forecast aims at: warn when set, crit otherwise."""
        value = self.warn if self.warn is not None else self.crit
        assert value is not None  # parse_rule refuses a rule with neither (unless off)
        return value


def _match(value: str, pattern: str) -> bool:
    return pattern == "*" or value == pattern or fnmatch.fnmatchcase(value, pattern)


def parse_rule(raw: Mapping[str, Any], name: str) -> ThresholdRule:
    """One rule from its table; ConfigError naming the rule and the first thing wrong with it."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"threshold rule {name} must be a table (metric, warn, crit, ...), not {type(raw).__name__}")
    label = f"{name} (metric={raw.get('metric')!r})" if "metric" in raw else name
    try:
        rule = _RuleIn.model_validate(dict(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        what = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            what = "unknown key; known keys: " + ", ".join(_RuleIn.model_fields)
        raise ConfigError(f"threshold rule {label}: {where + ': ' if where else ''}{what}") from None
    hysteresis = rule.hysteresis
    if hysteresis is None:
        level = rule.warn if rule.warn is not None else rule.crit
        hysteresis = abs(level) * 0.05 if level is not None else 0.0
    return ThresholdRule(
        name=name,
        metric=rule.metric,
        warn=rule.warn,
        crit=rule.crit,
        direction=rule.direction,
        device=rule.device,
        role=rule.role,
        instance=rule.instance,
        for_seconds=rule.for_seconds,
        hysteresis=hysteresis,
        off=rule.off,
    )


def parse_rules(raw: Sequence[Mapping[str, Any]], *, builtins: bool = True) -> list[ThresholdRule]:
    """The configured rules in order, then (unless ``builtins`` is false) the built-in ones."""
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Sequence):
        raise ConfigError("thresholds must be a list of tables ([[thresholds]] in netwarden.toml)")
    rules = [parse_rule(r, f"thresholds[{i}]") for i, r in enumerate(raw)]
    if builtins:
        rules += [parse_rule(r, f"builtin[{i}]") for i, r in enumerate(BUILTIN_RULES)]
    return rules


# -- how values read in summaries -------------------------------------------------------------

_LABELS = {
    "if_util_pct": "utilisation",
    "if_in_bps": "in",
    "if_out_bps": "out",
    "cpu_pct": "cpu",
    "mem_used_pct": "memory",
    "rtt_ms": "rtt",
    "loss_pct": "loss",
    "jitter_ms": "jitter",
    "sla_mos": "MOS",
    "sla_rtt_ms": "SLA rtt",
    "sla_loss_pct": "SLA loss",
    "sla_jitter_ms": "SLA jitter",
}
_SUFFIXES = ("_pct", "_bps", "_ms", "_ps", "_seconds", "_count")


def metric_label(metric: str) -> str:
    """``cpu_pct`` -> ``cpu``, ``if_in_errors_ps`` -> ``in errors``."""
    if metric in _LABELS:
        return _LABELS[metric]
    name = metric
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.removeprefix("if_").replace("_", " ")


def _num(v: float) -> str:
    if abs(v) >= 100 or v == int(v):
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}".rstrip("0").rstrip(".")
    return f"{v:.2f}".rstrip("0").rstrip(".")


def format_value(metric: str, value: float) -> str:
    """A value with its unit: ``93%``, ``412 Mb/s``, ``12.5 ms``, ``3.2/s``."""
    if metric.endswith("_pct"):
        return f"{_num(value)}%"
    if metric.endswith("_bps"):
        for scale, unit in ((1e9, "Gb/s"), (1e6, "Mb/s"), (1e3, "kb/s")):
            if abs(value) >= scale:
                return f"{_num(value / scale)} {unit}"
        return f"{_num(value)} b/s"
    if metric.endswith("_ms"):
        return f"{_num(value)} ms"
    if metric.endswith("_ps"):
        return f"{_num(value)}/s"
    if metric.endswith("_seconds"):
        return f"{_num(value)} s"
    return _num(value)


def describe(device: str, metric: str, instance: str) -> str:
    """``r1 eth1 utilisation``, ``r1 cpu``, ``r1 MOS to 10.0.0.2``."""
    label = metric_label(metric)
    if not instance:
        return f"{device} {label}"
    if metric.startswith("sla_"):
        return f"{device} {label} to {instance}"
    return f"{device} {instance} {label}"


def subject_of(device: str, instance: str) -> str:
    """The event subject: ``r1:eth1`` for an instance, ``r1`` for a device-wide value."""
    return f"{device}:{instance}" if instance else device


def metric_field(metric: str, instance: str) -> str:
    """The event's ``metric``: ``if_util_pct:eth1``, or ``cpu_pct``."""
    return f"{metric}:{instance}" if instance else metric


def key_of_event(event: Event) -> Key:
    """The (device, metric, instance) series an event of this module is about."""
    metric, _, instance = event.metric.partition(":")
    return (event.device, metric, instance)


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:.0f}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:.0f}m"
    return f"{seconds:g}s"


def _at(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


# -- the engine ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _State:
    rule: ThresholdRule | None
    level: int = 0
    since: list[float | None] = field(default_factory=lambda: [None, None, None])
    last_ts: float = -math.inf


_CACHE_MAX = 1_000_000


class ThresholdEngine:
    """Evaluates points against the rules; remembers per series where it stands.

    Memory is one small state per series that has had a rule match (about 200 bytes), plus a
    cache of which rule covers which series. ``evaluate`` is O(points) (points of metrics no
    rule names are skipped on a dictionary lookup) plus a sort of the matched points by time.
    """

    def __init__(self, rules: Sequence[ThresholdRule | Mapping[str, Any]] = (), *, builtins: bool = True) -> None:
        if isinstance(rules, (str, bytes, Mapping)):
            raise ConfigError("thresholds must be a list of tables ([[thresholds]] in netwarden.toml)")
        parsed = [r if isinstance(r, ThresholdRule) else parse_rule(r, f"thresholds[{i}]") for i, r in enumerate(rules)]
        if builtins:
            parsed += parse_rules([], builtins=True)
        self.rules: list[ThresholdRule] = parsed
        self._exact = {r.metric for r in parsed if not any(c in r.metric for c in "*?[")}
        self._globs = any(any(c in r.metric for c in "*?[") for r in parsed)
        self.uses_roles = any(r.role != "*" for r in parsed)
        self._which: dict[tuple[str, str, str, str], ThresholdRule | None] = {}
        self._state: dict[Key, _State] = {}
        self.lock = threading.Lock()  # taken by evaluate_round, which several loops may call at once

    @classmethod
    def from_settings(cls, settings: Settings) -> ThresholdEngine:
        """The engine for ``settings.thresholds`` followed by the built-in rules."""
        return cls(parse_rules(settings.thresholds, builtins=False))

    def watches(self, metric: str) -> bool:
        """Whether any rule may cover ``metric`` (a cheap filter before ``rule_for``)."""
        return metric in self._exact or (self._globs and any(_match(metric, r.metric) for r in self.rules))

    def rule_for(self, device: str, metric: str, instance: str, role: str = "") -> ThresholdRule | None:
        """The first rule matching the series, None when none does or the match is ``off``."""
        ck = (device, metric, instance, role)
        try:
            return self._which[ck]
        except KeyError:
            pass
        found: ThresholdRule | None = None
        for rule in self.rules:
            if rule.matches(device, metric, instance, role):
                found = None if rule.off else rule
                break
        if len(self._which) >= _CACHE_MAX:
            self._which.clear()
        self._which[ck] = found
        return found

    def active(self) -> dict[Key, int]:
        """Series past a level now, with their level (1 warning, 2 critical)."""
        return {k: s.level for k, s in self._state.items() if s.level}

    def restore(self, events: Iterable[Event]) -> None:
        """Take back the open ``threshold`` alerts (after a restart) so their clear is sent when due."""
        for e in events:
            if e.kind == "threshold":
                key = key_of_event(e)
                self._state[key] = _State(rule=None, level=2 if e.severity == "critical" else 1)

    def evaluate(self, points: Iterable[Point], roles: Mapping[str, str] | None = None) -> list[Event]:
        """Events for the level changes these points cause, in time order; nothing when nothing changed."""
        roles = roles or {}
        watched = [p for p in points if self.watches(p[1])]
        watched.sort(key=itemgetter(3))
        events: list[Event] = []
        for device, metric, instance, ts, value in watched:
            try:
                ts, value = float(ts), float(value)
            except (TypeError, ValueError):
                continue
            if not (math.isfinite(ts) and math.isfinite(value)):
                continue
            key = (device, metric, instance)
            rule = self.rule_for(device, metric, instance, roles.get(device, ""))
            state = self._state.get(key)
            if state is not None and (state.rule is not rule or rule is None):
                if state.rule is None and rule is not None:
                    state.rule = rule  # restored after a restart: the rule in force takes it over
                else:
                    if state.level:
                        why = "no threshold applies any more" if rule is None else "its threshold rule changed"
                        events.append(self._clear(key, state, ts, value, why=why))
                    del self._state[key]
                    state = None
            if rule is None:
                continue
            if state is None:
                state = self._state[key] = _State(rule=rule)
            if ts <= state.last_ts:
                continue  # a repeat or an out-of-order point says nothing new
            state.last_ts = ts
            event = self._step(key, state, rule, ts, value)
            if event is not None:
                events.append(event)
        return events

    def _step(self, key: Key, state: _State, rule: ThresholdRule, ts: float, value: float) -> Event | None:
        sign = 1.0 if rule.direction == "above" else -1.0
        s = sign * value
        current = state.level
        reached = 0
        for level in (1, 2):
            limit = rule.level_value(level)
            if limit is None:
                continue
            edge = sign * limit - (rule.hysteresis if current >= level else 0.0)
            if s > edge:
                reached = level
        new = 0
        for level in (1, 2):
            if rule.level_value(level) is None or reached < level:
                state.since[level] = None
                continue
            if state.since[level] is None:
                state.since[level] = ts
            since = state.since[level]
            assert since is not None
            if current >= level or ts - since >= rule.for_seconds:
                new = level
        if new == current:
            return None
        state.level = new
        if new == 0:
            return self._clear(key, state, ts, value)
        device, metric, instance = key
        limit = rule.level_value(new)
        assert limit is not None
        op = ">" if rule.direction == "above" else "<"
        hold = f", for {_duration(rule.for_seconds)}" if rule.for_seconds else ""
        change = "" if current == 0 else f", {'up' if new > current else 'down'} from {_LEVEL_NAME[current]}"
        return Event(
            source="poll",
            kind="threshold",
            subject=subject_of(device, instance),
            device=device,
            severity=_SEVERITY[new],
            metric=metric_field(metric, instance),
            value=value,
            at=_at(ts),
            summary=(
                f"{describe(device, metric, instance)} {format_value(metric, value)} {op} "
                f"{format_value(metric, limit)} ({_LEVEL_NAME[new]} threshold{hold}{change})"
            ),
        )

    def _clear(self, key: Key, state: _State, ts: float, value: float, why: str = "") -> Event:
        device, metric, instance = key
        state.level = 0
        state.since = [None, None, None]
        text = f"{describe(device, metric, instance)} {format_value(metric, value)}"
        rule = state.rule
        if why or rule is None:
            text += f": {why or 'back to normal'}"
        else:
            first = rule.first_level()
            back = first - rule.hysteresis if rule.direction == "above" else first + rule.hysteresis
            word = "under" if rule.direction == "above" else "over"
            text += f" back {word} {format_value(metric, back)} (threshold cleared)"
        return Event(
            source="poll",
            kind="threshold_clear",
            subject=subject_of(device, instance),
            device=device,
            severity="info",
            metric=metric_field(metric, instance),
            value=value,
            at=_at(ts),
            summary=text,
        )
