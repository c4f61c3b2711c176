"""The same operations on SQLite and PostgreSQL give identical results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netwarden.access import audit
from netwarden.context import Context
from netwarden.errors import NetwardenError
from netwarden.inventory import service
from netwarden.inventory.schemas import DeviceFilter, DeviceIn, DevicePatch, InterfaceIn, SiteIn
from tests.conftest import ADMIN
from tests.support.pg import PgCluster

VOLATILE = {"created_at", "updated_at", "time", "id", "last_seen"}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def scenario(ctx: Context) -> list[Any]:
    """A fixed sequence of writes, reads and refused writes; returns everything observed."""
    seen: list[Any] = []
    with ctx.db() as db:
        for site in ("hq", "branch", "Ärhus"):
            service.add_site(db, ADMIN, SiteIn(name=site.replace("Ä", "A"), description=f"site {site}"))
        for i in range(12):
            service.add_device(
                db,
                ADMIN,
                DeviceIn(
                    name=f"sw{i:02d}",
                    site="hq" if i % 2 else "branch",
                    platform="arista_eos" if i % 3 else "cisco_ios",
                    mgmt_ip=f"10.1.0.{i + 1}" if i % 4 else f"2001:db8::{i + 1:x}",
                    role="access" if i % 5 else "core",
                    tags=[f"t{i % 3}"],
                ),
            )
            for port in range(3):
                service.add_interface(db, ADMIN, f"sw{i:02d}", InterfaceIn(name=f"Ethernet{port + 1}", mtu=9000))
        service.update_device(db, ADMIN, "sw03", DevicePatch(site="Arhus", status="planned"))
        service.remove_interface(db, ADMIN, "sw04", "Ethernet2")
        service.remove_device(db, ADMIN, "sw05")
    for bad in (
        lambda db: service.add_device(db, ADMIN, DeviceIn(name="sw00", site="hq", platform="frr")),
        lambda db: service.add_device(db, ADMIN, DeviceIn(name="x", site="hq", platform="frr", mgmt_ip="10.1.0.2")),
        lambda db: service.remove_site(db, ADMIN, "hq"),
    ):
        try:
            with ctx.db() as db:
                bad(db)
        except NetwardenError as exc:
            seen.append([type(exc).__name__, str(exc)])
    with ctx.db() as db:
        seen.append(service.list_sites(db, ADMIN).model_dump(mode="json"))
        seen.append(service.list_devices(db, ADMIN).model_dump(mode="json"))
        for f in (DeviceFilter(site="hq"), DeviceFilter(q="10.1.0.1"), DeviceFilter(platform="cisco_ios", role="core")):
            seen.append(service.list_devices(db, ADMIN, f).model_dump(mode="json"))
        seen.append(service.list_interfaces(db, ADMIN, limit=7, offset=5).model_dump(mode="json"))
        seen.append(service.show_device(db, ADMIN, "sw04").model_dump(mode="json"))
        rows, total = audit.list_entries(db, ADMIN, limit=1000)
        seen.append([total, [r.model_dump(mode="json") for r in rows]])
    return _strip(seen)


def test_sqlite_and_postgresql_agree(tmp_path: Path, pg_cluster: PgCluster | None) -> None:
    if pg_cluster is None:
        pytest.skip("PostgreSQL binaries not found (run `make test` to install them)")
    lite = Context.create(data_dir=tmp_path / "lite")
    pg = Context.create(data_dir=tmp_path / "pg", database_url=pg_cluster.url(pg_cluster.new_database()))
    a, b = scenario(lite), scenario(pg)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert len(a[-1][1]) > 40
