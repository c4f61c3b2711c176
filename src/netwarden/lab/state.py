"""The lab's state file: everything ``lab up`` made, so that ``down`` can remove it after a crash.

One directory per lab prefix under ``/run/netwarden-lab`` (tmpfs: a reboot
clears it along with the namespaces it describes). ``state.json`` is rewritten
atomically after every step of ``up`` and every fault.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from netwarden.errors import LabError
from netwarden.lab.plan import Plan

RUN_ROOT = Path(os.environ.get("NETWARDEN_LAB_RUN_DIR", "/run/netwarden-lab"))


class Proc(BaseModel):
    """A process the lab started: a daemon (pidfile) or a supervised child (its own process group)."""

    model_config = ConfigDict(extra="forbid")
    node: str
    name: str
    pid: int
    group: bool = False
    pidfile: str | None = None


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    args: list[str]
    detail: dict[str, Any] = {}
    at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


class LabState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prefix: str
    run_dir: str
    plan: Plan
    started: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    phase: str = "building"
    converged: bool = False
    converge_seconds: float | None = None
    delay_mechanism: str | None = None
    ssh_user: str
    ssh_password: str
    community: str
    credentials_file: str | None = None
    created_user: bool = False
    processes: list[Proc] = []
    faults: list[Fault] = []

    @property
    def dir(self) -> Path:
        return Path(self.run_dir)

    def node_dir(self, node: str) -> Path:
        return self.dir / "nodes" / node

    def uts(self, node: str) -> Path:
        return self.dir / "uts" / node

    def procs(self, node: str, name: str | None = None) -> list[Proc]:
        return [p for p in self.processes if p.node == node and (name is None or p.name == name)]

    def save(self) -> None:
        path = self.dir / "state.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)


def lab_dir(prefix: str) -> Path:
    return RUN_ROOT / prefix


def load_state(prefix: str) -> LabState | None:
    """The saved state of lab ``prefix``, or None when it has none (never built, or removed)."""
    path = lab_dir(prefix) / "state.json"
    if not path.exists():
        return None
    try:
        return LabState.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise LabError(f"the state file {path} is unreadable ({exc}); 'netwarden lab down' sweeps by prefix") from exc


def require_state(prefix: str) -> LabState:
    state = load_state(prefix)
    if state is None:
        raise LabError(f"no lab '{prefix}' is up; start one with 'netwarden lab up'")
    return state


def known_prefixes() -> list[str]:
    if not RUN_ROOT.exists():
        return []
    return sorted(p.name for p in RUN_ROOT.iterdir() if (p / "state.json").exists())


@contextmanager
def locked(prefix: str) -> Iterator[None]:
    """Serialise commands that change one lab (two ``lab fault`` at once must not lose a record)."""
    path = lab_dir(prefix)
    if not path.exists():
        yield
        return
    with open(path / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
