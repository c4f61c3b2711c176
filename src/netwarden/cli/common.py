"""What every CLI command shares: the --data-dir and --json options, output, the context."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from netwarden.access.schemas import Actor, cli_actor

if TYPE_CHECKING:  # the store (SQLAlchemy) loads only for commands that open it
    from netwarden.context import Context

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="NETWARDEN_DATA_DIR", help="Data directory (default ./netwarden-data)."),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

console = Console()
err_console = Console(stderr=True)


def open_ctx(data_dir: Path | None) -> Context:
    from netwarden.context import Context

    return Context.open(data_dir=data_dir)


def actor() -> Actor:
    return cli_actor()


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    if isinstance(value, BaseModel):
        # pydantic's own encoder: the same JSON without building the whole document as Python objects first
        # (a million-packet pcap report: 70 MB and a second less than json.dumps with indent).
        sys.stdout.write(value.model_dump_json(indent=2) + "\n")
        return
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, default=str) + "\n")


def table(rows: Iterable[BaseModel | dict[str, Any]], columns: Sequence[str], title: str | None = None) -> None:
    """Print rows as a Rich table with the given columns."""
    t = Table(title=title, header_style="bold")
    for col in columns:
        t.add_column(col)
    count = 0
    for row in rows:
        data = row.model_dump(mode="json") if isinstance(row, BaseModel) else row
        t.add_row(*[_cell(data.get(c)) for c in columns])
        count += 1
    if count:
        console.print(t)
    else:
        console.print(f"[dim]no {title or 'rows'}[/dim]")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def emit(value: Any, as_json: bool, human: Callable[[], None]) -> None:
    """Print ``value`` as JSON, or call ``human`` to render it for people."""
    if as_json:
        print_json(value)
    else:
        human()


def read_secret(prompt: str) -> str:
    """A secret from stdin: hidden prompt on a terminal, first line of a pipe otherwise."""
    if sys.stdin.isatty():
        return str(typer.prompt(prompt, hide_input=True))
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@contextmanager
def progress_bar(enabled: bool, title: str) -> Iterator[Callable[[str, int, int], None]]:
    """A Rich progress bar fed by ``report(step, done, total)``; a no-op when ``enabled`` is false (--json)."""
    if not enabled:
        yield lambda step, done, total: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(title, total=1)

        def report(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        yield report


@contextmanager
def step_progress(json_out: bool, title: str) -> Iterator[Callable[[str, int, int], None]]:
    """A counting progress bar (step, done/total, elapsed) on stderr, fed by ``report(step, done, total)``.

    For commands whose stdout is their result (``discover``, ``scan``): off with --json or when stderr is
    no terminal, so scripts and pipes see nothing of it.
    """
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=json_out or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task(title, total=None)

        def report(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        yield report


class Stop:
    """When a foreground listener (``traps listen``, ``logs syslog``) ends: after ``count`` items, or on its event."""

    def __init__(self, count: int | None) -> None:
        self.left = count
        self.event = asyncio.Event()


async def until_stopped(stop: Stop, seconds: float | None) -> None:
    """Wait for ``stop``, SIGINT/SIGTERM or ``seconds``, whichever comes first."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.event.set)
    try:
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.event.wait(), seconds)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
