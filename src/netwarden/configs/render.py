"""Intended configurations: Jinja2 templates rendered from inventory facts, and their diff with the running one.

Template lookup for a device: ``<platform>/<role>.j2``, else ``<platform>/default.j2``; each name is looked
for in the user's template directories (in the order given) and then in the shipped ``configs/templates``.
Templates render with ``StrictUndefined``: a missing variable is a :class:`TemplateError` naming the template,
the line and the variable, never an empty string in a device config.

    facts = DeviceFacts(name="r1", platform="frr", site="hq", role="router", vars={"log_file": "/var/log/frr.log"})
    intended = render_config(facts)
    print(diff(intended.text, running_text, "frr"))
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from netwarden.configs.tree import parse, syntax_for
from netwarden.errors import InvalidInput, NotFound

SHIPPED_TEMPLATES = Path(__file__).resolve().parent / "templates"


class TemplateNotFound(NotFound):
    """No template for the device's platform and role."""

    code = "template-not-found"


class TemplateError(InvalidInput):
    """A template that cannot be read or rendered (syntax error, undefined variable, failing filter)."""

    code = "template-error"


class InterfaceFacts(BaseModel):
    """One interface as the inventory knows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    addresses: list[str] = Field(default_factory=list, description="CIDR strings, e.g. 10.0.0.1/30")
    admin_status: str = "up"
    kind: str = ""


class DeviceFacts(BaseModel):
    """What templates and policies know about a device: inventory fields plus free template variables.

    ``vars`` holds site- or device-specific values that the inventory has no column for (syslog server,
    banner text); templates see them both as ``vars.x`` and as top-level ``x`` (inventory fields win).
    A ``facts`` mapping given to the constructor is spread over the fields and ``vars``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    platform: str = Field(min_length=1)
    site: str = ""
    role: str = ""
    mgmt_ip: str | None = None
    vendor: str = ""
    model: str = ""
    serial: str = ""
    os_version: str = ""
    tags: list[str] = Field(default_factory=list)
    interfaces: list[InterfaceFacts] = Field(default_factory=list)
    vars: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _lift_facts(cls, data: Any) -> Any:
        # Callers may pass everything they know as one mapping under "facts": inventory fields are lifted into
        # their own fields, anything else becomes a template variable.
        if isinstance(data, dict) and isinstance(data.get("facts"), Mapping):
            data = dict(data)
            extra = dict(data.pop("facts"))
            variables = dict(data.get("vars") or {})
            for key, value in extra.items():
                if key in cls.model_fields and key not in ("vars", "facts") and key not in data:
                    data[key] = value
                else:
                    variables.setdefault(key, value)
            data["vars"] = variables
        return data

    @property
    def addresses(self) -> list[str]:
        """Every interface address (CIDR), in interface order."""
        return [a for i in self.interfaces for a in i.addresses]

    def context(self) -> dict[str, Any]:
        """The mapping templates render with."""
        ctx: dict[str, Any] = dict(self.vars)
        ctx.update(self.model_dump())
        ctx["addresses"] = self.addresses
        ctx["facts"] = self
        return ctx

    @classmethod
    def from_inventory(
        cls, device: Any, interfaces: Sequence[Any] = (), variables: Mapping[str, JsonValue] | None = None
    ) -> DeviceFacts:
        """Facts from inventory records (``DeviceOut``/``DeviceDetail`` and ``InterfaceOut``, or alike).

        Interfaces default to ``device.interfaces`` when the record has them (``DeviceDetail``).
        """
        rows = list(interfaces) or list(getattr(device, "interfaces", None) or [])
        return cls(
            name=device.name,
            platform=device.platform,
            site=getattr(device, "site", "") or "",
            role=getattr(device, "role", "") or "",
            mgmt_ip=getattr(device, "mgmt_ip", None),
            vendor=getattr(device, "vendor", "") or "",
            model=getattr(device, "model", "") or "",
            serial=getattr(device, "serial", "") or "",
            os_version=getattr(device, "os_version", "") or "",
            tags=list(getattr(device, "tags", None) or []),
            interfaces=[
                InterfaceFacts(
                    name=i.name,
                    description=getattr(i, "description", "") or "",
                    addresses=list(getattr(i, "addresses", None) or []),
                    admin_status=getattr(i, "admin_status", "up") or "up",
                    kind=getattr(i, "kind", "") or "",
                )
                for i in rows
            ],
            vars=dict(variables or {}),
        )


@dataclass(frozen=True)
class Rendered:
    """An intended configuration and the template it came from."""

    device: str
    template: str
    source: str
    text: str


# ---------------------------------------------------------------- Jinja2


def _environment(loader: jinja2.BaseLoader | None) -> jinja2.Environment:
    # Device configs are plain text: no HTML escaping. Trailing newlines are part of a config.
    return jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


@lru_cache(maxsize=64)
def _dir_environment(directory: str) -> jinja2.Environment:
    # One environment per directory: its template cache is keyed by name, so a name is cached per directory
    # and a template added to a user directory later still shadows the shipped one.
    return _environment(jinja2.FileSystemLoader(directory))


_STRING_ENV = _environment(None)


def _template_line(exc: BaseException, filename: str | None) -> int | None:
    """The template line where rendering failed (Jinja puts template frames in the traceback)."""
    tb: TracebackType | None = exc.__traceback__
    line = None
    while tb is not None:
        if filename is not None and tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _render(template: jinja2.Template, context: Mapping[str, Any], label: str) -> str:
    try:
        return template.render(context)
    except jinja2.UndefinedError as exc:
        line = _template_line(exc, template.filename)
        where = f" line {line}" if line else ""
        raise TemplateError(f"template {label}{where}: {exc.message}; define it in the inventory or vars") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template {label}: {exc}") from exc
    except Exception as exc:  # a filter or test failing on the facts given: one line, not a traceback
        line = _template_line(exc, template.filename)
        where = f" line {line}" if line else ""
        raise TemplateError(f"template {label}{where}: {type(exc).__name__}: {exc}") from exc


def compile_template(source: str, label: str) -> jinja2.Template:
    """An inline template (policy golden sections, remediation snippets).

    Raises:
        TemplateError: naming ``label`` and the line of the syntax error.
    """
    try:
        return _STRING_ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template {label} line {exc.lineno}: {exc.message}") from exc


def render_string(source: str | jinja2.Template, context: Mapping[str, Any], label: str) -> str:
    """Render an inline template with ``context``.

    Raises:
        TemplateError: syntax error or undefined variable, naming ``label``.
    """
    template = compile_template(source, label) if isinstance(source, str) else source
    return _render(template, context, label)


def template_names(platform: str, role: str) -> list[str]:
    """The template names tried for a device, most specific first."""
    names = [f"{platform}/{role}.j2"] if role and role != "default" else []
    return [*names, f"{platform}/default.j2"]


def _dirs(template_dirs: Sequence[Path | str]) -> tuple[str, ...]:
    return (*(str(Path(d)) for d in template_dirs), str(SHIPPED_TEMPLATES))


def _select(facts: DeviceFacts, template_dirs: Sequence[Path | str], template: str | None) -> jinja2.Template:
    """The first of the candidate names found, each looked for in the user directories, then the shipped one."""
    dirs = _dirs(template_dirs)
    names = [template] if template else template_names(facts.platform, facts.role)
    for name in names:
        for directory in dirs:
            if not (Path(directory) / name).is_file():
                continue
            try:
                return _dir_environment(directory).get_template(name)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(f"template {exc.name or name} line {exc.lineno}: {exc.message}") from exc
            except jinja2.TemplateNotFound:
                continue
    raise TemplateNotFound(f"no template for {facts.name}: tried {', '.join(names)} in {', '.join(dirs)}")


def find_template(facts: DeviceFacts, template_dirs: Sequence[Path | str] = ()) -> str:
    """The path of the template a device renders with.

    Raises:
        TemplateNotFound: naming every name and directory tried.
    """
    tpl = _select(facts, template_dirs, None)
    return tpl.filename or tpl.name or ""


def render_config(
    facts: DeviceFacts, template_dirs: Sequence[Path | str] = (), *, template: str | None = None
) -> Rendered:
    """Render a device's intended configuration from its facts.

    Args:
        facts: the device's inventory facts.
        template_dirs: user template directories, searched before the shipped templates.
        template: a template name (relative to the directories) instead of the platform/role lookup.

    Raises:
        TemplateNotFound: no template for the platform/role.
        TemplateError: a syntax error or an undefined variable (one line naming the template and variable).
    """
    tpl = _select(facts, template_dirs, template)
    label = tpl.name or template or ""
    text = _render(tpl, facts.context(), label)
    return Rendered(device=facts.name, template=label, source=tpl.filename or label, text=text)


# ---------------------------------------------------------------- diff


def significant_lines(text: str, platform: str) -> list[str]:
    """The lines of a configuration that a diff compares: no blank, comment, preamble or volatile lines.

    Trailing spaces are dropped; indentation is kept.
    """
    syntax = syntax_for(platform)
    comments = tuple(syntax.comments)
    noise = [re.compile(p) for p in (*syntax.volatile, *syntax.preamble)]
    out = []
    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.lstrip()
        if not stripped or (comments and stripped.startswith(comments)):
            continue
        if any(rx.match(stripped) for rx in noise):
            continue
        out.append(line)
    return out


def diff(
    intended: str,
    running: str,
    platform: str,
    *,
    structural: bool = False,
    context: int = 3,
    labels: tuple[str, str] = ("intended", "running"),
) -> str:
    """A unified diff from the intended to the running configuration; ``""`` when they agree.

    Comment, blank and volatile lines (per the platform's syntax file) are ignored. With ``structural``
    both texts are parsed first and their statements compared (Junos set form against curly form, FRR
    ``exit`` lines, indentation widths do not count).
    """
    if structural:
        noise = [re.compile(p) for p in syntax_for(platform).volatile]
        left, right = (
            [line for line in parse(text, platform).lines() if not any(rx.match(line.lstrip()) for rx in noise)]
            for text in (intended, running)
        )
    else:
        left, right = significant_lines(intended, platform), significant_lines(running, platform)
    return "\n".join(difflib.unified_diff(left, right, labels[0], labels[1], n=context, lineterm=""))


__all__ = [
    "SHIPPED_TEMPLATES",
    "DeviceFacts",
    "InterfaceFacts",
    "Rendered",
    "TemplateError",
    "TemplateNotFound",
    "compile_template",
    "diff",
    "find_template",
    "render_config",
    "render_string",
    "significant_lines",
    "template_names",
]
