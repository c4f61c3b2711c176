"""Platform knowledge as data: one YAML file per platform, validated, and identification from it.

Each ``<name>.yml`` beside this module says how to recognise the platform
(sysObjectID prefixes, sysDescr / SSH banner / prompt / ``show version`` patterns),
how to drive its CLI over SSH (prompt, paging-off setup, privilege) and, per fact
kind, which commands to run and which parser reads each answer. Core code never
branches on a vendor: it reads these files.

    spec = get_platform("cisco_ios")
    identify(sys_object_id="1.3.6.1.4.1.9.1.1208", sys_descr="Cisco IOS Software, ...")  # -> "cisco_ios"
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from netwarden.collect.parsers import PARSERS
from netwarden.collect.parsers.registry import FACT_KINDS, FactKind, template_exists
from netwarden.datafiles import load_named
from netwarden.errors import NotFound


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_regexes(values: list[str]) -> list[str]:
    for value in values:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad regular expression {value!r}: {exc}") from exc
    return values


class Recognise(_Strict):
    """How to tell this platform from the others. Regexes are searched (not anchored unless they say so)."""

    sys_object_id: list[str] = Field(default_factory=list, description="sysObjectID prefixes, dotted")
    sys_descr: list[str] = Field(default_factory=list, description="regexes over sysDescr")
    ssh_banner: list[str] = Field(default_factory=list, description="regexes over the SSH identification string")
    prompt: list[str] = Field(default_factory=list, description="regexes over the CLI prompt after login")
    version_output: list[str] = Field(default_factory=list, description="regexes over the probe command's output")
    descr_version: list[str] = Field(
        default_factory=list, description="regexes over sysDescr with a (?P<version>...) group: the OS version"
    )
    priority: int = Field(default=0, description="wins ties: FRR (runs on Linux) outranks Linux")

    @field_validator("sys_descr", "ssh_banner", "prompt", "version_output", "descr_version")
    @classmethod
    def _regexes(cls, values: list[str]) -> list[str]:
        return _check_regexes(values)

    @field_validator("sys_object_id")
    @classmethod
    def _oids(cls, values: list[str]) -> list[str]:
        out = []
        for value in values:
            oid = value.strip().lstrip(".")
            if not re.fullmatch(r"\d+(\.\d+)*", oid):
                raise ValueError(f"not a dotted OID prefix: {value!r}")
            out.append(oid)
        return out


class Privilege(_Strict):
    """How to reach the privileged level when the login lands below it (``enable``)."""

    command: str = "enable"
    prompt: str = Field(description="regex of the privileged prompt; when the login prompt matches it, nothing is sent")
    password_prompt: str = r"[Pp]assword:\s*$"

    @field_validator("prompt", "password_prompt")
    @classmethod
    def _regex(cls, value: str) -> str:
        return _check_regexes([value])[0]


class SshSpec(_Strict):
    """Driving the CLI over SSH."""

    prompt: str = Field(description="regex (multi-line mode) matching the prompt line")
    setup: list[str] = Field(default_factory=list, description="commands run after login: paging off, width")
    privilege: Privilege | None = None
    failure: list[str] = Field(default_factory=list, description="substrings that mark a command as failed")
    probe: str | None = Field(default=None, description="command whose output identifies the platform")

    @field_validator("prompt")
    @classmethod
    def _regex(cls, value: str) -> str:
        return _check_regexes([value])[0]


class CommandSpec(_Strict):
    """One command and the parser that reads its output (after the named ntc-templates template, if any)."""

    command: str = Field(min_length=1)
    parser: str
    template: str | None = Field(default=None, description="ntc-templates file, e.g. cisco_ios_show_version.textfsm")


class Commands(_Strict):
    """The commands per fact kind, in order; several answers of one kind are merged."""

    facts: list[CommandSpec] = Field(default_factory=list)
    interfaces: list[CommandSpec] = Field(default_factory=list)
    neighbours: list[CommandSpec] = Field(default_factory=list)
    routing: list[CommandSpec] = Field(default_factory=list)
    arp: list[CommandSpec] = Field(default_factory=list)
    mac_table: list[CommandSpec] = Field(default_factory=list)
    routes: list[CommandSpec] = Field(default_factory=list)

    def of(self, kind: FactKind) -> list[CommandSpec]:
        specs: list[CommandSpec] = getattr(self, kind)
        return specs


class ConfigSource(_Strict):
    """One part of a device's configuration and the command that prints it (``running``, ``startup``...)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    command: str = Field(min_length=1)
    exec: bool = Field(default=False, description="run in an SSH exec channel, not in the CLI session")
    optional: bool = Field(default=False, description="a box without it (failure marker, empty) is not a failure")
    syntax: str | None = Field(default=None, description="the language of the text for parsing (default: platform)")
    start: str | None = Field(default=None, description="regex: lines before its first match are dropped")
    complete: str | None = Field(
        default=None, description="regex the last non-blank line must match, else the copy is truncated"
    )
    file: str | None = Field(default=None, description="file name in the repository (default <device>.<name>)")

    @field_validator("start", "complete")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return None if value is None else _check_regexes([value])[0]


class MaskRule(_Strict):
    """A regex whose matches are replaced before a configuration is stored (``\\1`` keeps a group)."""

    pattern: str
    replace: str
    kind: str = Field(default="secret", pattern=r"^(secret|volatile)$")

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        return _check_regexes([value])[0]


class ConfigSpec(_Strict):
    """How to back up a device's configuration: its parts and what to mask."""

    sources: list[ConfigSource] = Field(min_length=1)
    mask: list[MaskRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_required(self) -> ConfigSpec:
        if all(s.optional for s in self.sources):
            raise ValueError("at least one config source must not be optional")
        if len({s.name for s in self.sources}) != len(self.sources):
            raise ValueError("config source names must be unique")
        return self


class PlatformSpec(_Strict):
    """One platform file."""

    name: str
    vendor: str
    description: str = ""
    recognise: Recognise = Recognise()
    ssh: SshSpec | None = None
    commands: Commands = Commands()
    config: ConfigSpec | None = None

    @model_validator(mode="after")
    def _parsers_exist(self) -> PlatformSpec:
        for kind in FACT_KINDS:
            for spec in self.commands.of(kind):
                parser = PARSERS.get(spec.parser)
                if parser is None:
                    raise ValueError(f"{kind}: unknown parser {spec.parser!r} for {spec.command!r}")
                if parser.kind != kind:
                    raise ValueError(f"{kind}: parser {spec.parser!r} yields {parser.kind}, not {kind}")
                if parser.rows and not spec.template:
                    raise ValueError(f"{kind}: parser {spec.parser!r} reads TextFSM rows; name a template")
                if not parser.rows and spec.template:
                    raise ValueError(f"{kind}: parser {spec.parser!r} reads text; it takes no template")
                if spec.template and not template_exists(spec.template):
                    raise ValueError(f"{kind}: ntc-templates has no template {spec.template!r}")
        return self

    def all_commands(self) -> list[str]:
        """Every distinct command this platform runs for a full snapshot, in order."""
        seen: list[str] = []
        for kind in FACT_KINDS:
            for spec in self.commands.of(kind):
                if spec.command not in seen:
                    seen.append(spec.command)
        return seen


# ---------------------------------------------------------------- loading


def platform_dir() -> Path:
    """The folder that holds the packaged platform files."""
    return Path(str(resources.files(__name__)))


def load_platform(path: Path) -> PlatformSpec:
    """Read and validate one platform file; its ``name`` must equal the file stem.

    Raises:
        InvalidInput: with the file name and what is wrong.
    """
    return load_named(path, PlatformSpec, "platform")


@cache
def platforms() -> dict[str, PlatformSpec]:
    """Every packaged platform, by name."""
    return {p.stem: load_platform(p) for p in sorted(platform_dir().glob("*.yml"))}


class UnknownPlatform(NotFound):
    """No platform file of that name."""

    code = "unknown-platform"


def get_platform(name: str) -> PlatformSpec:
    """The platform called ``name``.

    Raises:
        UnknownPlatform: when no platform file has that name.
    """
    known = platforms()
    if name not in known:
        raise UnknownPlatform(f"no platform knowledge for {name!r}; known: {', '.join(sorted(known))}")
    return known[name]


# ---------------------------------------------------------------- identification


def _oid_match(spec: PlatformSpec, oid: str) -> int:
    """Length (in arcs) of the longest listed prefix that ``oid`` starts with; 0 when none."""
    best = 0
    for pfx in spec.recognise.sys_object_id:
        if oid == pfx or oid.startswith(pfx + "."):
            best = max(best, pfx.count(".") + 1)
    return best


def _any(patterns: list[str], text: str | None) -> bool:
    return bool(text) and any(re.search(p, text or "") for p in patterns)


def identify(
    sys_object_id: str | None = None,
    sys_descr: str | None = None,
    banner: str | None = None,
    *,
    prompt: str | None = None,
    version_output: str | None = None,
    candidates: dict[str, PlatformSpec] | None = None,
) -> str | None:
    """The platform name that best explains what a device said, or None when nothing fits.

    Evidence ranks: sysDescr or probe output (they name the OS) beat sysObjectID (enterprise
    arcs are shared by several OSes of a vendor), which beats the SSH banner and prompt (many
    vendors ship OpenSSH). Within a rank the platform's ``priority`` and then the longest
    sysObjectID prefix decide. Banner/prompt evidence alone must point to one platform.

    Args:
        sys_object_id: SNMPv2-MIB::sysObjectID.0, dotted (a leading dot is ignored).
        sys_descr: SNMPv2-MIB::sysDescr.0.
        banner: the SSH identification string (``SSH-2.0-Cisco-1.25``).
        prompt: the CLI prompt seen after login.
        version_output: output of the platform probe command (``show version``, ``uname -sr``).
        candidates: platforms to choose from (default: every packaged one).
    """
    specs = candidates if candidates is not None else platforms()
    oid = (sys_object_id or "").strip().lstrip(".")
    scored: list[tuple[int, int, int, str]] = []
    for name, spec in specs.items():
        rec = spec.recognise
        oid_len = _oid_match(spec, oid) if oid else 0
        if _any(rec.sys_descr, sys_descr) or _any(rec.version_output, version_output):
            rank = 3
        elif oid_len:
            rank = 2
        elif _any(rec.ssh_banner, banner) or _any(rec.prompt, prompt):
            rank = 1
        else:
            continue
        scored.append((rank, rec.priority, oid_len, name))
    if not scored:
        return None
    scored.sort(reverse=True)
    best = scored[0]
    if best[0] == 1 and len(scored) > 1 and scored[1][:3] == best[:3]:
        return None  # a banner shared by several platforms names none of them
    return best[3]


__all__ = [
    "CommandSpec",
    "Commands",
    "PlatformSpec",
    "Privilege",
    "Recognise",
    "SshSpec",
    "UnknownPlatform",
    "get_platform",
    "identify",
    "load_platform",
    "platform_dir",
    "platforms",
]
