"""``netwarden credential add|list|show|rm``: the secret comes from stdin, never from a flag."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, table
from netwarden.errors import InvalidInput
from netwarden.inventory import service
from netwarden.inventory.schemas import CredentialIn

app = typer.Typer(help="Device credentials (encrypted at rest, never shown).", no_args_is_help=True)
COLUMNS = ["name", "kind", "username", "security_level", "params", "updated_at"]


def _read_secrets(kind: str) -> tuple[str, str | None]:
    """The secret (and for SNMPv3 the privacy key) from a hidden prompt or from stdin.

    On a pipe: an SSH private key is the whole input (it starts with ``-----BEGIN``);
    otherwise the first line is the secret and, for snmp-v3, an optional second
    line is the privacy key.
    """
    if sys.stdin.isatty():
        label = {"ssh": "password", "snmp-v2c": "community", "snmp-v3": "auth key"}[kind]
        secret = str(typer.prompt(label, hide_input=True))
        priv = None
        if kind == "snmp-v3":
            priv = str(typer.prompt("privacy key (empty for authNoPriv)", hide_input=True, default="")) or None
        return secret, priv
    data = sys.stdin.read()
    if kind == "ssh" and data.lstrip().startswith("-----BEGIN"):
        return data.strip() + "\n", None
    lines = data.splitlines()
    if not lines or not lines[0]:
        raise InvalidInput("no secret on stdin: pipe it in, e.g. 'printf %s \"$PASS\" | netwarden credential add ...'")
    priv = lines[1] if kind == "snmp-v3" and len(lines) > 1 and lines[1] else None
    return lines[0], priv


@app.command("add")
def add(
    name: str,
    kind: Annotated[str, typer.Option(help="ssh, snmp-v2c or snmp-v3.")],
    username: Annotated[str, typer.Option(help="SSH user or SNMPv3 security name.")] = "",
    port: Annotated[int | None, typer.Option(help="Port, when not the protocol's default.")] = None,
    auth_protocol: Annotated[str | None, typer.Option("--auth-protocol", help="SNMPv3: md5, sha, sha256...")] = None,
    priv_protocol: Annotated[str | None, typer.Option("--priv-protocol", help="SNMPv3: des, aes, aes256...")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a credential of that name.")] = False,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Add a credential; the secret is read from stdin (hidden prompt on a terminal)."""
    if kind not in ("ssh", "snmp-v2c", "snmp-v3"):
        raise InvalidInput(f"unknown credential kind {kind!r}; use ssh, snmp-v2c or snmp-v3")
    secret, priv = _read_secrets(kind)
    params = {"port": port, "auth_protocol": auth_protocol, "priv_protocol": priv_protocol}
    data = CredentialIn.model_validate(
        {
            "name": name,
            "kind": kind,
            "username": username,
            "secret": secret,
            "priv_secret": priv,
            "params": {k: v for k, v in params.items() if v is not None},
        }
    )
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        write = service.upsert_credential if replace else service.add_credential
        out = write(db, actor(), ctx.vault, data)
    emit(out, json_out, lambda: console.print(f"credential {out.name} ({out.kind}) stored, encrypted"))


@app.command("list")
def list_(data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """List credentials (never their secrets)."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        page = service.list_credentials(db, actor(), limit=10**9)
    emit(page.items, json_out, lambda: table(page.items, COLUMNS, "credentials"))


@app.command("show")
def show(name: str, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Show a credential's kind, user and parameters (never its secret)."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.show_credential(db, actor(), name)
    emit(out, json_out, lambda: table([out], COLUMNS, "credential"))


@app.command("rm")
def rm(name: str, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Remove a credential."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        service.remove_credential(db, actor(), name)
    emit({"removed": name}, json_out, lambda: console.print(f"credential {name} removed"))
