"""The detection engine: built-in rules and Sigma rules over a list of log events.

:data:`BUILTIN` names each built-in rule with its default threshold and window; the
``detection_overrides`` setting changes them per rule (``enabled = false`` turns one off).
:meth:`Engine.run` is pure: events (any order) and a :class:`DetectContext` in, detections out
(ordered by first time), so it serves the CLI, the API, a live syslog sink and tests alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netwarden.security.detect import auth, network, sigma
from netwarden.security.detect.context import DetectContext
from netwarden.security.detect.model import Detection, RuleOverride, RuleSettings, parse_overrides, rule_settings
from netwarden.security.logs.model import LogEvent

if TYPE_CHECKING:
    from netwarden.config import Settings

__all__ = ["BUILTIN", "CORRELATION", "BuiltinRule", "DetectionRun", "Engine"]

log = logging.getLogger(__name__)
RuleFn = Callable[[Sequence[LogEvent], RuleSettings, DetectContext], list[Detection]]


@dataclass(frozen=True)
class BuiltinRule:
    name: str
    default: RuleSettings
    run: RuleFn
    description: str


def _rule(name: str, threshold: int, window: float, run: RuleFn, description: str, **kw: Any) -> BuiltinRule:
    return BuiltinRule(name, RuleSettings(threshold=threshold, window_seconds=window, **kw), run, description)


BUILTIN: dict[str, BuiltinRule] = {
    r.name: r
    for r in (
        _rule("brute-force", 5, 600, auth.brute_force, "failed logins (SSH, VPN, other) from one source to one host"),
        _rule("password-spraying", 5, 600, auth.password_spraying, "failed logins from one source for many users"),
        _rule("login-after-failures", 3, 600, auth.login_after_failures, "a successful login after failures"),
        _rule("port-scan", 20, 120, network.port_scan, "one source, many ports of one target, in firewall logs"),
        _rule("port-sweep", 10, 120, network.port_sweep, "one source, many target addresses, in firewall logs"),
        _rule("denied-spike", 100, 60, network.denied_spike, "a firewall's denies per window against its baseline"),
        _rule(
            "config-change-outside-window",
            1,
            600,
            network.config_change_outside_window,
            "a config change on a device no maintenance window covers",
        ),
        _rule("new-device", 1, 86400, network.new_device, "a MAC address the inventory does not know"),
        _rule(
            "privilege-escalation",
            1,
            600,
            auth.privilege_escalation,
            "sudo/su to root by a user not allowed, and failed sudo/su",
        ),
    )
}
# Not a rule: the correlation window (``{rule = "correlation", window_seconds = N}``), read by correlate.py.
CORRELATION = "correlation"


@dataclass
class DetectionRun:
    """What one run found, and what it could not do."""

    detections: list[Detection]
    events: int
    rules: list[str]  # the rules that ran
    sigma: sigma.SigmaRuleSet | None = None
    failed: dict[str, str] = field(default_factory=dict)  # rule -> why it failed (a bug, never bad input)

    def public(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "rules": self.rules,
            "detections": [d.public() for d in self.detections],
            "sigma": self.sigma.public() if self.sigma else None,
            "failed": self.failed,
        }


class Engine:
    """Built-in rules (with overrides) and an optional Sigma rule set."""

    def __init__(
        self,
        overrides: Iterable[Mapping[str, Any] | RuleOverride] = (),
        sigma_rules: sigma.SigmaRuleSet | None = None,
    ) -> None:
        self.overrides = parse_overrides(overrides)
        self.sigma = sigma_rules
        sigma_names = {n for r in (sigma_rules.rules if sigma_rules else []) for n in (r.name, r.id)}
        unknown = sorted(set(self.overrides) - set(BUILTIN) - sigma_names - {CORRELATION, "sigma"})
        if unknown:
            log.warning("detection_overrides name unknown rules rules=%s known=%s", unknown, sorted(BUILTIN))
        self.unknown_overrides = unknown

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        """Overrides from ``detection_overrides``, Sigma rules from the ``sigma_rules`` paths."""
        rules = sigma.load(settings.sigma_rules) if settings.sigma_rules else None
        return cls(settings.detection_overrides, rules)

    def settings(self, name: str) -> RuleSettings:
        return rule_settings(BUILTIN[name].default, self.overrides, [name])

    def run(self, events: Iterable[LogEvent], ctx: DetectContext | None = None) -> DetectionRun:
        """Every enabled rule over ``events``; a rule that fails is reported in ``failed``, the others run."""
        ordered = sorted(events, key=lambda e: e.time)
        ctx = ctx or DetectContext()
        found: list[Detection] = []
        ran: list[str] = []
        failed: dict[str, str] = {}
        for name, rule in BUILTIN.items():
            cfg = self.settings(name)
            if not cfg.enabled:
                continue
            ran.append(name)
            try:
                found += rule.run(ordered, cfg, ctx)
            except Exception as exc:  # a rule bug must not hide what the other rules find
                failed[name] = repr(exc)
                log.exception("detection rule failed rule=%s", name)
        if self.sigma is not None and self.sigma.rules:
            ran.append("sigma")
            try:
                found += sigma.evaluate(self.sigma, ordered, self.overrides)
            except Exception as exc:
                failed["sigma"] = repr(exc)
                log.exception("sigma evaluation failed")
        found.sort(key=lambda d: (d.first, d.rule, d.host))
        return DetectionRun(detections=found, events=len(ordered), rules=ran, sigma=self.sigma, failed=failed)
