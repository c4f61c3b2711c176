"""Assemble one :class:`DeviceSnapshot` from the raw answers to a platform's commands (no I/O).

A transport runs the commands a platform file lists and hands the text here;
this module applies the parsers and merges several answers of one fact kind
(e.g. Linux interfaces from ``ip -j addr`` plus speeds from /sys). A command
that failed or could not be parsed becomes a warning on the snapshot, never an
exception: one odd command must not cost the rest of the device.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel

from netwarden.collect.parsers.common import ParseError
from netwarden.collect.parsers.registry import FACT_KINDS, Parsed, parse
from netwarden.collect.platforms import PlatformSpec
from netwarden.collect.records import DeviceFacts, DeviceSnapshot, InterfaceFacts

log = logging.getLogger(__name__)
Via = Literal["snmp", "ssh", "icmp", "tcp"]


def merge_facts(parts: Sequence[DeviceFacts]) -> DeviceFacts:
    """Field-wise merge: the first non-empty value of each field wins."""
    merged: dict[str, Any] = {}
    for part in parts:
        for key, value in part.model_dump().items():
            if merged.get(key) in (None, "") and value not in (None, ""):
                merged[key] = value
    merged.setdefault("hostname", "")
    return DeviceFacts(**{k: v for k, v in merged.items() if v is not None})


def merge_by_name(items: Sequence[InterfaceFacts]) -> list[InterfaceFacts]:
    """Interfaces from several commands, joined on the name; later answers fill only what earlier left empty."""
    defaults = {name: f.get_default(call_default_factory=True) for name, f in InterfaceFacts.model_fields.items()}
    order: list[str] = []
    merged: dict[str, dict[str, Any]] = {}
    for item in items:
        data = item.model_dump()
        if item.name not in merged:
            order.append(item.name)
            merged[item.name] = data
            continue
        current = merged[item.name]
        for key, value in data.items():
            if current[key] == defaults.get(key) and value != defaults.get(key):
                current[key] = value
            elif key == "addresses":
                current[key] = current[key] + [a for a in value if a not in current[key]]
    return [InterfaceFacts(**merged[name]) for name in order]


def build_snapshot(
    target: str,
    platform: PlatformSpec,
    outputs: Mapping[str, str],
    *,
    failed: Mapping[str, str] | None = None,
    via: Sequence[Via] = ("ssh",),
) -> DeviceSnapshot:
    """Parse every answer the platform's command table expects into one snapshot.

    Args:
        target: the address the answers came from.
        platform: the platform whose command table was run.
        outputs: command -> its output text.
        failed: command -> why it failed (the device rejected it, it timed out, ...).
        via: how the data was obtained.
    """
    failed = failed or {}
    warnings: list[str] = []
    collected: dict[str, list[Any]] = {kind: [] for kind in FACT_KINDS}
    for kind in FACT_KINDS:
        for spec in platform.commands.of(kind):
            if spec.command in failed:
                warnings.append(f"{spec.command}: {failed[spec.command]}")
                continue
            if spec.command not in outputs:
                warnings.append(f"{spec.command}: not run")
                continue
            try:
                parsed: Parsed = parse(spec.parser, outputs[spec.command], spec.template)
            except ParseError as exc:
                log.info("parse failed target=%s command=%r error=%s", target, spec.command, exc)
                warnings.append(f"{spec.command}: {exc}")
                continue
            if isinstance(parsed, BaseModel):
                collected[kind].append(parsed)
            else:
                collected[kind].extend(parsed)
    facts = merge_facts(collected["facts"])
    facts = facts.model_copy(update={"platform": platform.name, "vendor": facts.vendor or platform.vendor})
    return DeviceSnapshot(
        target=target,
        facts=facts,
        interfaces=merge_by_name(collected["interfaces"]),
        neighbours=collected["neighbours"],
        routing=collected["routing"],
        arp=collected["arp"],
        mac_table=collected["mac_table"],
        routes=collected["routes"],
        via=list(via),
        warnings=warnings,
    )
