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

from netwarden.configs.policy.check import (
    ComplianceSummary,
    Evidence,
    RuleResult,
    check,
    check_text,
    score,
    summarize,
)
from netwarden.configs.policy.load import (
    DEFAULT_POLICY,
    SEVERITIES,
    Policy,
    PolicyError,
    Rule,
    default_policies,
    load_policies,
    load_policy,
)
from netwarden.configs.render import DeviceFacts

__all__ = [
    "DEFAULT_POLICY",
    "SEVERITIES",
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
