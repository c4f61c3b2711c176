"""The parser registry: named functions from CLI output to records, and the TextFSM runner.

Platform YAML files name a parser (``ntc.interfaces``, ``frr.routes``, ``linux.addresses``)
and, for TextFSM-backed ones, an ntc-templates template file. A parser either
takes the template's rows (``rows=True``) or the raw text.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeAlias

import textfsm  # type: ignore[import-untyped]

from netwarden.collect.parsers.common import ParseError
from netwarden.collect.records import (
    ArpEntry,
    DeviceFacts,
    InterfaceFacts,
    MacEntry,
    Neighbour,
    Route,
    RoutingNeighbour,
)

FactKind = Literal["facts", "interfaces", "neighbours", "routing", "arp", "mac_table", "routes"]
FACT_KINDS: tuple[FactKind, ...] = ("facts", "interfaces", "neighbours", "routing", "arp", "mac_table", "routes")

Row: TypeAlias = dict[str, Any]
Parsed: TypeAlias = (
    DeviceFacts
    | list[InterfaceFacts]
    | list[Neighbour]
    | list[RoutingNeighbour]
    | list[ArpEntry]
    | list[MacEntry]
    | list[Route]
)


@dataclass(frozen=True)
class ParserDef:
    """One registered parser: its name, the fact kind it yields and whether it reads TextFSM rows."""

    name: str
    kind: FactKind
    rows: bool
    fn: Callable[[Any], Parsed]


PARSERS: dict[str, ParserDef] = {}


_Fn: TypeAlias = Callable[[Any], Any]


def register(name: str, kind: FactKind, *, rows: bool = False) -> Callable[[_Fn], _Fn]:
    """Decorator: make ``fn`` available to platform files under ``name``."""

    def wrap(fn: _Fn) -> _Fn:
        if name in PARSERS:
            raise ValueError(f"parser {name!r} registered twice")
        PARSERS[name] = ParserDef(name=name, kind=kind, rows=rows, fn=fn)
        return fn

    return wrap


# ---------------------------------------------------------------- TextFSM / ntc-templates


def templates_dir() -> Path:
    """The ntc-templates package's template folder."""
    return Path(str(resources.files("ntc_templates") / "templates"))


@cache
def _template_text(name: str) -> str:
    path = templates_dir() / name
    if not path.is_file():
        raise ParseError(f"no ntc-templates template {name!r} in {templates_dir()}")
    return path.read_text()


def template_exists(name: str) -> bool:
    """True when ntc-templates ships a template file of that name."""
    return (templates_dir() / name).is_file()


def run_template(name: str, text: str) -> list[Row]:
    """Parse ``text`` with an ntc-templates template; rows as dicts with lower-case keys (as ntc-templates does).

    Raises:
        ParseError: when the template hits an ``Error`` state or the input cannot be read.
    """
    try:
        fsm = textfsm.TextFSM(io.StringIO(_template_text(name)))
        table = fsm.ParseText(text)
    except textfsm.TextFSMError as exc:
        raise ParseError(f"{name}: output does not match the template ({exc})") from exc
    except (ValueError, TypeError, IndexError, re.error) as exc:  # textfsm internals on odd input
        raise ParseError(f"{name}: cannot parse output ({exc})") from exc
    header = [str(h).lower() for h in fsm.header]
    return [dict(zip(header, row, strict=True)) for row in table]


def parse(parser: str, text: str, template: str | None = None) -> Parsed:
    """Run a registered parser on one command's output.

    Raises:
        ParseError: when the parser is unknown, the output is garbage, or a value cannot be normalised.
    """
    spec = PARSERS.get(parser)
    if spec is None:
        raise ParseError(f"unknown parser {parser!r}; known: {', '.join(sorted(PARSERS))}")
    if not isinstance(text, str):
        raise ParseError(f"{parser}: expected text, got {type(text).__name__}")
    try:
        if spec.rows:
            if template is None:
                raise ParseError(f"parser {parser!r} reads TextFSM rows: the command needs a template")
            return spec.fn(run_template(template, text))
        return spec.fn(text)
    except ParseError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, ArithmeticError) as exc:
        # A parser bug or an input shape nobody foresaw: still one clear error, never a crash upstream.
        raise ParseError(f"{parser}: cannot read output ({type(exc).__name__}: {exc})") from exc
