"""The CLI loads only the module of the command it runs (decision 0030), and the table of commands is whole."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from netwarden.cli.main import COMMANDS, build_app, main


def test_every_command_of_the_table_is_in_the_full_app_and_no_other() -> None:
    group = typer.main.get_command(build_app())
    assert isinstance(group, typer.core.TyperGroup)
    assert list(group.commands) == list(COMMANDS)


def test_one_command_app_stays_a_group() -> None:
    group = typer.main.get_command(build_app(["worker"]))
    assert isinstance(group, typer.core.TyperGroup)
    assert list(group.commands) == ["worker"]


def _loaded_after(argv: list[str]) -> set[str]:
    code = (
        "import sys\n"
        "from netwarden.cli.main import main\n"
        f"main({argv!r})\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(('netwarden.cli.', 'sqlalchemy', 'fastapi')))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return set(out.stdout.split())


def test_pcap_help_loads_neither_the_store_nor_other_command_groups() -> None:
    loaded = _loaded_after(["pcap", "--help"])
    assert "netwarden.cli.pcap" in loaded
    assert not {m for m in loaded if m.startswith(("sqlalchemy", "fastapi"))}
    assert not {
        m
        for m in loaded
        if m.startswith("netwarden.cli.")
        and m not in ("netwarden.cli.pcap", "netwarden.cli.common", "netwarden.cli.main")
    }


def test_top_level_help_lists_every_command() -> None:
    loaded = _loaded_after(["--help"])
    assert {f"netwarden.cli.{module}" for module, _ in COMMANDS.values()} <= loaded


def test_the_short_names_run_the_same_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``netwarden syslog`` and ``logs detect`` (DESIGN.md's names) are ``logs syslog`` and ``security detections``."""
    data = str(tmp_path / "data")
    assert main(["init", "--data-dir", data, "--json"]) == 0
    capsys.readouterr()
    outputs = []
    for argv in (["logs", "detect"], ["security", "detections"]):
        assert main([*argv, "--data-dir", data, "--json", "--no-save"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1]
    assert main(["syslog", "--data-dir", data, "--port", "0", "--host", "127.0.0.1", "--seconds", "0", "-q"]) == 0
