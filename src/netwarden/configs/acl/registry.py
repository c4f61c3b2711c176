"""Platform name -> ACL parser, imported lazily so each parser module loads only when used.

Every parser has the signature ``parse(text: str, *, source: str = "", **options) -> ParsedFilters``.
Add a platform with one line in :data:`PARSERS` (``"module:function"`` relative to this package).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Protocol

from netwarden.configs.acl.model import ParsedFilters
from netwarden.errors import InvalidInput


class Parser(Protocol):
    def __call__(self, text: str, *, source: str = "", **options: Any) -> ParsedFilters: ...


PARSERS: dict[str, str] = {
    "cisco_ios": "cisco:parse_ios",
    "cisco_xe": "cisco:parse_ios",
    "cisco_xr": "cisco:parse_xr",
    "cisco_nxos": "cisco:parse_nxos",
    "cisco_asa": "cisco:parse_asa",
    "arista_eos": "cisco:parse_eos",
    # engineer 2's parsers
    "juniper_junos": "juniper:parse",
    "nftables": "nftables:parse",
    "iptables": "iptables:parse",
    "capirca": "capirca:parse",
}


def platforms() -> list[str]:
    """Platform names whose parser module is present."""
    return [name for name in PARSERS if _available(name)]


def _available(name: str) -> bool:
    module, _, _ = PARSERS[name].partition(":")
    return importlib.util.find_spec(f"{__package__}.{module}") is not None


def parser(platform: str) -> Parser:
    """The parser for ``platform``; InvalidInput naming the known platforms otherwise."""
    target = PARSERS.get(platform)
    if target is None or not _available(platform):
        raise InvalidInput(f"unknown ACL platform {platform!r}: use one of {', '.join(platforms())}")
    module_name, _, function = target.partition(":")
    module = importlib.import_module(f"{__package__}.{module_name}")
    found: Parser = getattr(module, function)
    return found


def parse(text: str, platform: str, *, source: str = "", **options: Any) -> ParsedFilters:
    """Parse ``text`` with the parser registered for ``platform``."""
    return parser(platform)(text, source=source, **options)
