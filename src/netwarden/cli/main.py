"""The ``netwarden`` command: one Typer app, one module per command group.

Errors: a NetwardenError (or bad settings/usage) prints one line on stderr and
exits 1 (2 for usage errors); no tracebacks reach the user.
"""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError
from typer.exceptions import TyperException

from netwarden.cli import (
    acl,
    alerts,
    audit,
    config,
    credential,
    device,
    discover,
    interface,
    ipam,
    lab,
    link,
    logs,
    metrics,
    pcap,
    poll,
    porting,
    prefix,
    scan,
    security,
    server,
    site,
    sla,
    topology,
    traps,
    user,
    vlan,
    worker,
)
from netwarden.errors import NetwardenError

app = typer.Typer(
    name="netwarden",
    help="netwarden: inventory, discovery, monitoring, configs and security for your network.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

server.register(app)
audit.register(app)
porting.register(app)
discover.register(app)
poll.register(app)
worker.register(app)
scan.register(app)
app.add_typer(user.app, name="user")
app.add_typer(site.app, name="site")
app.add_typer(device.app, name="device")
app.add_typer(interface.app, name="interface")
app.add_typer(prefix.app, name="prefix")
app.add_typer(vlan.app, name="vlan")
app.add_typer(link.app, name="link")
app.add_typer(credential.app, name="credential")
app.add_typer(ipam.app, name="ipam")
app.add_typer(lab.app, name="lab")
app.add_typer(topology.app, name="topology")
app.add_typer(metrics.app, name="metrics")
app.add_typer(alerts.app, name="alerts")
app.add_typer(traps.app, name="traps")
app.add_typer(alerts.maintenance_app, name="maintenance")
app.add_typer(sla.app, name="sla")
app.add_typer(config.app, name="config")
app.add_typer(acl.app, name="acl")
app.add_typer(pcap.app, name="pcap")
app.add_typer(security.app, name="security")
app.add_typer(logs.app, name="logs")


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    command = typer.main.get_command(app)
    try:
        # Without standalone mode click returns the code of a typer.Exit instead of raising it.
        code = command.main(args=argv, prog_name="netwarden", standalone_mode=False)
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
