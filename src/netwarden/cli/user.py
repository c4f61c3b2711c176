"""``netwarden user add|list|revoke|token|passwd``."""

from __future__ import annotations

from typing import Annotated

import typer

from netwarden.access import service as access
from netwarden.access.schemas import Role, UserIn
from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, read_secret, table

app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)


@app.command("add")
def add(
    name: str,
    role: Annotated[Role, typer.Option(help="admin, operator or viewer.")],
    ttl_days: Annotated[int | None, typer.Option("--ttl-days", help="Token expiry in days.")] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Add a user and print its API token (shown once)."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        created = access.create_user(db, actor(), UserIn(name=name, role=role, token_ttl_days=ttl_days))

    def human() -> None:
        console.print(f"user [bold]{created.name}[/bold] ({created.role.value}); API token (shown once):")
        console.print(created.token, highlight=False, soft_wrap=True)

    emit(created, json_out, human)


@app.command("list")
def list_(data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """List users."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        users = access.list_users(db, actor())
    emit(users, json_out, lambda: table(users, ["name", "role", "disabled", "tokens", "created_at"], "users"))


@app.command("revoke")
def revoke(
    name: str,
    key: Annotated[str | None, typer.Option(help="Revoke only this token key (default: all tokens).")] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Revoke a user's API tokens."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        done = access.revoke(db, actor(), name, key)
    emit(done, json_out, lambda: console.print(f"revoked {len(done)} token(s) of {name}"))


@app.command("token")
def token(
    name: str,
    ttl_days: Annotated[int | None, typer.Option("--ttl-days", help="Token expiry in days.")] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Issue a new API token for a user (shown once)."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        created = access.new_token(db, actor(), name, ttl_days)
    emit(created, json_out, lambda: console.print(created.token, highlight=False, soft_wrap=True))


@app.command("passwd")
def passwd(name: str, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Set a user's console password (read from stdin)."""
    ctx = open_ctx(data_dir)
    password = read_secret("password")
    with ctx.db() as db:
        access.set_password(db, actor(), name, password)
    emit({"name": name, "password": "set"}, json_out, lambda: console.print(f"password of {name} set"))
