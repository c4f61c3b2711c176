"""``netwarden worker``: a poller of the distributed mode, sharing the inventory's devices through Redis.

Runs until SIGTERM or SIGINT, then leaves the broker at once so the other workers take its devices.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from typing import Annotated

import typer

from netwarden.access.schemas import SYSTEM
from netwarden.cli.common import DataDir, JsonOut, console
from netwarden.context import Context
from netwarden.errors import ConfigError


def worker(
    data_dir: DataDir = None,
    redis_url: Annotated[
        str | None, typer.Option("--redis-url", help="Redis broker URL (default: the redis_url setting).")
    ] = None,
    worker_id: Annotated[
        str | None, typer.Option("--id", help="This worker's name in the broker (default host:pid:random).")
    ] = None,
    json_out: JsonOut = False,
) -> None:
    """Poll this worker's share of the devices until stopped (SIGTERM/SIGINT); the others take it over."""
    from netwarden.jobs.broker import Broker
    from netwarden.jobs.worker import Worker

    ctx = Context.open(data_dir=data_dir, redis_url=redis_url)
    if not ctx.settings.redis_url:
        raise ConfigError("the worker needs a Redis broker: set redis_url (NETWARDEN_REDIS_URL) or --redis-url")
    _setup_logging(ctx.settings.log_level)

    async def main() -> None:
        broker = Broker.from_url(str(ctx.settings.redis_url))
        try:
            await broker.check()
            runner = Worker(ctx, SYSTEM, broker, worker_id)
            runner.validate()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, runner.stop)
            started = {
                "worker": runner.id,
                "checks": {c.check: c.interval for c in runner.checks},
                "heartbeat_seconds": runner.beat,
            }
            if json_out:
                sys.stdout.write(json.dumps(started) + "\n")
                sys.stdout.flush()
            else:
                checks = ", ".join(f"{c.check} every {c.interval:g} s" for c in runner.checks)
                console.print(f"worker [bold]{runner.id}[/bold] polling its share ({checks}); stop with Ctrl-C")
            await runner.run()
        finally:
            await broker.close()

    asyncio.run(main())


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


if __name__ == "__main__":  # python -m netwarden.cli.worker [OPTIONS]: the command on its own
    _standalone = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    _standalone.command()(worker)
    _standalone()
