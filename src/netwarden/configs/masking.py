"""Masking before storing: secrets replaced, volatile lines (timestamps, counters) dropped.

The rules are data: each platform file's ``config.mask`` list, plus the ``config_mask_rules`` setting
(tables ``{pattern, replace, kind?, platform?}``). Patterns apply to one line at a time; a volatile rule
whose replacement leaves the line empty drops the line, so a backup differs only when the device's
configuration does. ``config_mask_secrets = false`` keeps secrets as the device printed them (volatile
lines are dropped either way).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from netwarden.collect.platforms import MaskRule, get_platform
from netwarden.errors import ConfigError

MASK = "<masked>"


def extra_rules(tables: Iterable[Mapping[str, Any]], platform: str) -> list[MaskRule]:
    """The ``config_mask_rules`` entries that apply to ``platform`` (no ``platform`` key: every platform)."""
    out = []
    for i, table in enumerate(tables):
        data = dict(table)
        scope = data.pop("platform", None)
        if scope is not None and scope != platform:
            continue
        try:
            out.append(MaskRule.model_validate(data))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "rule"
            raise ConfigError(f"config_mask_rules[{i}]: {where}: {err['msg']}") from exc
    return out


def rules_for(platform: str, extra: Iterable[Mapping[str, Any]] = (), secrets: bool = True) -> list[MaskRule]:
    """The masking rules for ``platform``: its file's, then the extra ones; without secrets when told so."""
    spec = get_platform(platform)
    rules = list(spec.config.mask) if spec.config else []
    rules += extra_rules(extra, platform)
    return [r for r in rules if secrets or r.kind != "secret"]


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def mask(text: str, rules: Sequence[MaskRule]) -> str:
    """``text`` with every rule applied line by line; lines a volatile rule empties are dropped."""
    if not rules:
        return text
    compiled = [(_compiled(r.pattern), r.replace, r.kind == "volatile") for r in rules]
    out = []
    for line in text.splitlines():
        dropped = False
        for pattern, replace, volatile in compiled:
            if pattern.search(line) is None:
                continue
            line = pattern.sub(replace, line)
            if volatile and not line.strip():
                dropped = True
                break
        if not dropped:
            out.append(line)
    return "\n".join(out) + ("\n" if out else "")
