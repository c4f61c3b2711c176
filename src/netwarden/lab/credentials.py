"""The lab's credentials: a netwarden credential file, and the store when one exists."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from netwarden.errors import NetwardenError
from netwarden.lab.state import LabState

log = logging.getLogger(__name__)
DEFAULT_PREFIX = "nwlab"


def names(prefix: str) -> tuple[str, str]:
    """(ssh, snmp) credential names: lab-ssh/lab-snmp for the default lab, <prefix>-ssh/... otherwise."""
    stem = "lab" if prefix == DEFAULT_PREFIX else prefix
    return f"{stem}-ssh", f"{stem}-snmp"


def entries(state: LabState) -> list[dict[str, Any]]:
    ssh_name, snmp_name = names(state.prefix)
    return [
        {
            "name": ssh_name,
            "kind": "ssh",
            "username": state.ssh_user,
            "secret": state.ssh_password,
            "params": {"port": 22},
        },
        {"name": snmp_name, "kind": "snmp-v2c", "username": "", "secret": state.community, "params": {"port": 161}},
    ]


def write_file(state: LabState) -> Path:
    """``credentials.yml`` (mode 0600) in the lab's run dir, in the format ``netwarden import`` reads."""
    path = state.dir / "credentials.yml"
    path.touch(mode=0o600)
    path.write_text(
        "# netwarden lab credentials (secrets: keep this file private)\n"
        + yaml.safe_dump({"credentials": entries(state)}, sort_keys=False)
    )
    path.chmod(0o600)
    return path


def store(state: LabState, data_dir: Path | None) -> list[str]:
    """Upsert the lab credentials (and sites) into the store when ``data_dir`` holds one; returns the names."""
    return store_entries(entries(state), data_dir, after=lambda db: _add_sites(db, state))


def store_entries(
    creds: list[dict[str, Any]], data_dir: Path | None, after: Callable[[Any], None] | None = None
) -> list[str]:
    """Upsert credential entries into the store in ``data_dir`` (or the configured one) when it holds one.

    Shared by the lab and the simulated fleet. Returns the names stored; none when there is no store.
    """
    from netwarden.context import MARKER, Context

    probe = data_dir
    if probe is None:
        from netwarden.config import load_settings

        try:
            probe = load_settings().data_dir
        except NetwardenError:
            return []
    if not (probe / MARKER).exists():
        log.info("no netwarden store in %s: credentials only written to the file", probe)
        return []
    from netwarden.access.schemas import cli_actor
    from netwarden.inventory.credentials import upsert_credential
    from netwarden.inventory.schemas import CredentialIn

    ctx = Context.open(data_dir=probe)
    stored = []
    with ctx.db() as db:
        for entry in creds:
            upsert_credential(db, cli_actor(), ctx.vault, CredentialIn.model_validate(entry))
            stored.append(str(entry["name"]))
        if after is not None:
            after(db)
    return stored


def _add_sites(db: Any, state: LabState) -> None:
    """The lab's sites, so that discovery files each node under the site its sysLocation names."""
    from netwarden.access.schemas import cli_actor
    from netwarden.errors import AlreadyExists
    from netwarden.inventory import service
    from netwarden.inventory.schemas import SiteIn

    for site in sorted({n.site for n in state.plan.nodes if n.site}):
        try:
            service.add_site(db, cli_actor(), SiteIn(name=site, description=f"netwarden lab {state.prefix}"))
        except AlreadyExists:
            continue
