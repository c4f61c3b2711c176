"""``netwarden import FILE`` and ``netwarden export [--format yaml|csv|ansible|nornir]``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, err_console, open_ctx, print_json, table
from netwarden.errors import InvalidInput
from netwarden.inventory import formats, porting

FORMATS = ("yaml", "csv", "ansible", "nornir")


def import_(
    file: Annotated[
        Path, typer.Argument(help="YAML file, a CSV file, or a directory of CSV files; - for stdin (YAML).")
    ],
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Import an inventory (all or nothing): new records are added, existing ones updated."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=json_out or not err_console.is_terminal,
    ) as progress:
        task = progress.add_task(f"reading {file}", total=None)
        doc = porting.parse_yaml(sys.stdin.buffer.read()) if str(file) == "-" else porting.load_document(file)
        progress.update(task, description="loading into the store")
        ctx = open_ctx(data_dir)
        with ctx.db() as db:
            result = porting.import_inventory(db, actor(), ctx.vault, doc)

    def human() -> None:
        kinds = sorted(set(result.created) | set(result.updated) | set(result.unchanged))
        rows = [
            {
                "kind": k,
                "created": result.created.get(k, 0),
                "updated": result.updated.get(k, 0),
                "unchanged": result.unchanged.get(k, 0),
            }
            for k in kinds
        ]
        table(rows, ["kind", "created", "updated", "unchanged"], f"imported {file}")

    emit(result, json_out, human)


def export(
    fmt: Annotated[str, typer.Option("--format", help="yaml, csv, ansible or nornir.")] = "yaml",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (yaml, ansible) or directory (csv, nornir).")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="csv to stdout: which resource (devices, interfaces, ...).")] = None,
    data_dir: DataDir = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the document as JSON (same shape as YAML).")] = False,
) -> None:
    """Export the inventory. Secrets are never exported."""
    if json_out:
        fmt = "json"
    if fmt not in (*FORMATS, "json"):
        raise InvalidInput(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        doc = porting.export_inventory(db, actor())
    if fmt == "json":
        print_json(json.loads(doc.model_dump_json(exclude_none=True)))
        return
    if fmt in ("yaml", "ansible"):
        text = porting.dump_yaml(doc) if fmt == "yaml" else formats.render_ansible(doc)
        _write_one(text, output)
        return
    files = {f"{k}.csv": v for k, v in formats.render_csv(doc).items()} if fmt == "csv" else formats.render_nornir(doc)
    if output is None:
        if fmt == "csv":
            wanted = f"{kind or 'devices'}.csv"
            sys.stdout.write(files.get(wanted, ""))
            return
        raise InvalidInput("a nornir inventory is three files: give a directory with --output DIR")
    output.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        # A kind that has no rows any more must not leave last export's file behind.
        for stale in output.glob("*.csv"):
            if stale.name not in files and stale.stem in porting.CSV_KINDS:
                stale.unlink()
    for name, text in files.items():
        (output / name).write_text(text, encoding="utf-8")
    console.print(f"wrote {len(files)} file(s) to {output}")


def _write_one(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command("export")(export)
