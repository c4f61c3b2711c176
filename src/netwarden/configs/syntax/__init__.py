"""Per-platform configuration syntax as data: one ``<platform>.yml`` per language, validated here.

The tree parser (:mod:`netwarden.configs.tree`) reads these and never branches on a vendor. A file says
which parser family reads the text (``indent``, ``braces``, ``flat``), which lines are comments, what
closes a block, which line ends the configuration, which lines are output noise (``preamble``) or change
without a configuration change (``volatile``), and the known first words of top-level statements.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from netwarden.datafiles import load_named


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"bad regular expression {value!r}: {exc}") from exc
    return value


class Multiline(_Strict):
    """A statement followed by verbatim text (banners): the text is kept, never classified.

    Either ``start`` has a ``(?P<delim>...)`` group (the text runs to the next occurrence of the captured
    delimiter, IOS ``banner motd ^C ... ^C``) or ``end`` is a regex for the line that closes it (EOS ``EOF``).
    """

    start: str
    end: str | None = None

    @field_validator("start", "end")
    @classmethod
    def _re(cls, value: str | None) -> str | None:
        return None if value is None else _regex(value)

    @model_validator(mode="after")
    def _closed(self) -> Multiline:
        if self.end is None and "(?P<delim>" not in self.start:
            raise ValueError("a multiline statement needs an 'end' regex or a (?P<delim>...) group in 'start'")
        return self


class SetForm(_Strict):
    """How ``set`` commands (Junos ``display set``) map onto the levels of the curly-brace hierarchy."""

    set: str = "set"
    deactivate: str = "deactivate"
    containers: list[str] = Field(default_factory=list, description="words that open a level, no argument")
    named_containers: list[str] = Field(default_factory=list, description="words that open a level with one argument")
    name_lists: list[str] = Field(default_factory=list, description="containers whose children are bare names")


class Syntax(_Strict):
    """One configuration language."""

    name: str
    style: Literal["indent", "braces", "flat"]
    comments: list[str] = Field(default_factory=list, description="a line starting with one of these is a comment")
    block_comments: bool = Field(default=False, description="/* ... */ comments, possibly over several lines")
    inline_comments: bool = Field(default=False, description="comment markers after a statement end the line")
    statement_end: str = Field(default="", description="character ending a statement (Junos and nft ';')")
    annotations: list[str] = Field(default_factory=list, description="prefixes dropped from a statement (inactive:)")
    inactive_annotation: str | None = None
    end_marker: str | None = Field(default=None, description="top-level line that ends the configuration")
    require_end: Literal["always", "never", "if_preamble"] = "never"
    terminators: list[str] = Field(default_factory=list, description="lines that close the current block (exit)")
    expand_abbreviations: bool = Field(default=False, description="read a unique prefix of a top-level word as it")
    preamble: list[str] = Field(default_factory=list, description="regexes: command output before the config")
    volatile: list[str] = Field(default_factory=list, description="regexes: lines that change by themselves")
    multiline: list[Multiline] = Field(default_factory=list)
    set_form: SetForm | None = None
    top_level: list[str] = Field(default_factory=list, description="known first words; empty accepts any")

    @field_validator("preamble", "volatile")
    @classmethod
    def _res(cls, values: list[str]) -> list[str]:
        return [_regex(v) for v in values]


def syntax_dir() -> Path:
    """The folder holding the packaged syntax files."""
    return Path(str(resources.files(__name__)))


def load_syntax(path: Path) -> Syntax:
    """Read and validate one syntax file; its ``name`` must equal the file stem.

    Raises:
        InvalidInput: naming the file and what is wrong.
    """
    return load_named(path, Syntax, "config syntax")


@cache
def syntaxes() -> dict[str, Syntax]:
    """Every packaged syntax, by platform name."""
    return {p.stem: load_syntax(p) for p in sorted(syntax_dir().glob("*.yml"))}


__all__ = ["Multiline", "SetForm", "Syntax", "load_syntax", "syntax_dir", "syntaxes"]
