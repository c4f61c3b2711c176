"""The ``netwarden`` command: one Typer app, one module per command group.

Errors: a NetwardenError (or bad settings/usage) prints one line on stderr and
exits 1 (2 for usage errors); no tracebacks reach the user.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from pydantic import ValidationError
from typer.exceptions import TyperException

from netwarden.errors import NetwardenError

# Command name -> (module in netwarden.cli, what it offers). A module offering "register" adds its own
# top-level commands; any other attribute is a Typer sub-app mounted under the command's name. Only the
# module of the command being run is imported: importing every group (SQLAlchemy, FastAPI, the lab, pcap
# readers) cost 2.5 s and 120 MB before ``pcap analyze`` could start (decision 0030). The order is
# the order of ``netwarden --help``.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("server", "register"),
    "serve": ("server", "register"),
    "audit": ("audit", "register"),
    "import": ("porting", "register"),
    "export": ("porting", "register"),
    "discover": ("discover", "register"),
    "poll": ("poll", "register"),
    "worker": ("worker", "register"),
    "scan": ("scan", "register"),
    "syslog": ("logs", "register"),
    "risk": ("scan", "register"),
    "user": ("user", "app"),
    "site": ("site", "app"),
    "device": ("device", "app"),
    "interface": ("interface", "app"),
    "prefix": ("prefix", "app"),
    "vlan": ("vlan", "app"),
    "link": ("link", "app"),
    "credential": ("credential", "app"),
    "ipam": ("ipam", "app"),
    "lab": ("lab", "app"),
    "topology": ("topology", "app"),
    "metrics": ("metrics", "app"),
    "alerts": ("alerts", "app"),
    "traps": ("traps", "app"),
    "maintenance": ("alerts", "maintenance_app"),
    "sla": ("sla", "app"),
    "config": ("config", "app"),
    "acl": ("acl", "app"),
    "pcap": ("pcap", "app"),
    "security": ("security", "app"),
    "logs": ("logs", "app"),
}


def _root() -> None:
    """netwarden: inventory, discovery, monitoring, configs and security for your network."""


def build_app(names: list[str] | None = None) -> typer.Typer:
    """The ``netwarden`` Typer app with the commands ``names`` (every command when None)."""
    built = typer.Typer(
        name="netwarden",
        help="netwarden: inventory, discovery, monitoring, configs and security for your network.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    # A root callback keeps the app a group even when only one command is loaded (Typer would otherwise
    # run that command as the whole program, and ``netwarden worker`` would take "worker" as an argument).
    built.callback()(_root)
    registered: set[str] = set()
    for name, (module_name, offer) in COMMANDS.items():
        if names is not None and name not in names:
            continue
        module = importlib.import_module(f"netwarden.cli.{module_name}")
        if offer != "register":
            built.add_typer(getattr(module, offer), name=name)
        elif module_name not in registered:
            registered.add(module_name)
            module.register(built)
    return built


def _command_of(argv: list[str]) -> str | None:
    """The command ``argv`` runs when its first word names one, else None (help, options, typos)."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def __getattr__(name: str) -> Any:
    # ``netwarden.cli.main.app`` (tests, documentation tools) is the whole app, built on first use.
    if name == "app":
        value = build_app()
        globals()["app"] = value
        return value
    raise AttributeError(name)


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    name = _command_of(args)
    command = typer.main.get_command(build_app([name]) if name else build_app())
    try:
        # Without standalone mode click returns the code of a typer.Exit instead of raising it.
        code = command.main(args=args, prog_name="netwarden", standalone_mode=False)
        if isinstance(code, int):
            return code
    except NetwardenError as exc:
        sys.stderr.write(f"error: {_one_line(str(exc))}\n")
        return 1
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        sys.stderr.write(f"error: invalid {where or 'input'}: {_one_line(err['msg']).removeprefix('Value error, ')}\n")
        return 1
    except typer.Abort:
        sys.stderr.write("error: aborted\n")
        return 1
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except TyperException as exc:
        message = _one_line(exc.format_message()).replace("Value error, ", "").rstrip(".")
        ctx = getattr(exc, "ctx", None)
        hint = f"; see '{ctx.command_path} --help'" if ctx is not None else ""
        sys.stderr.write(f"error: {message}{hint}\n")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
