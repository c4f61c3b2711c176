"""Upgrading a store from the first migration keeps its data, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from netwarden.inventory import service
from netwarden.store import base, migrate
from tests.conftest import ADMIN
from tests.support.pg import PgCluster


def _fresh_url(backend: str, tmp_path: Path, pg: PgCluster | None) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    if pg is None:
        pytest.skip("PostgreSQL binaries not found (run `make test` to install them)")
    return pg.url(pg.new_database())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_from_first_migration_keeps_data(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    pg = request.getfixturevalue("pg_cluster") if backend == "postgresql" else None
    url = _fresh_url(backend, tmp_path, pg)
    migrate.upgrade(url, "0001")
    assert migrate.current(url) == "0001"
    engine = base.get_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sites (name, description, address, tags, created_at)"
                " VALUES ('hq', 'd', '', '[]', CURRENT_TIMESTAMP)"
            )
        )
        site_id = conn.execute(text("SELECT id FROM sites WHERE name = 'hq'")).scalar_one()
        for n in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO devices (name, site_id, role, platform, mgmt_ip, status, vendor, model, serial,"
                    " os_version, tags, created_at, updated_at) VALUES (:n, :s, 'router', 'frr', :ip, 'active',"
                    " 'FRR', '', 'SN', '8.4', '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"n": f"r{n}", "s": site_id, "ip": f"198.18.0.{n}"},
            )
            dev = conn.execute(text("SELECT id FROM devices WHERE name = :n"), {"n": f"r{n}"}).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO interfaces (device_id, name, description, admin_status, oper_status, mac, kind)"
                    " VALUES (:d, 'eth1', '', 'up', 'up', '', 'ethernet')"
                ),
                {"d": dev},
            )
        a, b = conn.execute(text("SELECT id FROM interfaces ORDER BY id")).scalars().all()
        conn.execute(
            text(
                "INSERT INTO links (a_interface_id, b_interface_id, kind, description) VALUES (:a, :b, 'physical', '')"
            ),
            {"a": a, "b": b},
        )
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head() != "0001"
    from netwarden.store.base import session_scope

    with session_scope(url) as db:
        devices = service.list_devices(db, ADMIN).items
        assert [(d.name, d.site, d.mgmt_ip, d.os_version) for d in devices] == [
            ("r1", "hq", "198.18.0.1", "8.4"),
            ("r2", "hq", "198.18.0.2", "8.4"),
        ]
        assert service.show_device(db, ADMIN, "r2").interfaces[0].oper_status == "up"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT source FROM links")).scalar_one() == "manual"
    base.dispose_engines()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_build_exactly_the_models(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A model changed without a migration (or the reverse) fails here, not in a user's upgrade."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import netwarden.store.models  # noqa: F401  (registers every table)

    pg = request.getfixturevalue("pg_cluster") if backend == "postgresql" else None
    url = _fresh_url(backend, tmp_path, pg)
    migrate.upgrade(url)
    with base.get_engine(url).connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), base.Base.metadata)
    # SQLite's INTEGER is already 64-bit, so migration 0003 leaves it alone there.
    if backend == "sqlite":
        diffs = [d for d in diffs if not (isinstance(d, list) and d[0][0] == "modify_type" and d[0][3] == "speed")]
    assert diffs == []
