"""Parsers: CLI output (text) -> netwarden records.

Importing this package registers every parser (``ntc.*`` for TextFSM-backed
vendor commands, ``frr.*`` for vtysh JSON, ``linux.*`` for iproute2 JSON and
friends). Platform YAML files refer to them by name; :func:`parse` runs one.
"""

from __future__ import annotations

from netwarden.collect.parsers import frr, linux, ntc  # noqa: F401  (registers the parsers)
from netwarden.collect.parsers.common import ParseError
from netwarden.collect.parsers.registry import FACT_KINDS, PARSERS, FactKind, Parsed, parse, run_template

__all__ = ["FACT_KINDS", "PARSERS", "FactKind", "ParseError", "Parsed", "parse", "run_template"]
