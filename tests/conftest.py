"""Shared fixtures: stores on SQLite and PostgreSQL, contexts, API clients, actors."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from netwarden.access import service as access
from netwarden.access.schemas import Actor, Role, UserIn
from netwarden.context import Context
from netwarden.store import base, migrate
from tests.support.pg import PgCluster, find_bindir

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's netwarden settings."""
    for key in list(os.environ):
        if key.startswith("NETWARDEN_"):
            monkeypatch.delenv(key)


@pytest.fixture(autouse=True, scope="session")
def _fast_argon2() -> Iterator[None]:
    """Real argon2 hashes with test-sized cost, so hundreds of token checks stay quick."""
    from argon2 import PasswordHasher

    saved = access._hasher
    access._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    access._hasher = saved


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file copied for each test (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    base.get_engine(url).dispose()
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster | None]:
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; `make test` installs it")
        yield None
        return
    cluster = PgCluster(bindir)
    cluster.start()
    template = "nw_template"
    cluster.execute(f"CREATE DATABASE {template}")
    migrate.upgrade(cluster.url(template))
    base.dispose_engines()
    cluster.template = template  # type: ignore[attr-defined]
    try:
        yield cluster
    finally:
        base.dispose_engines()
        cluster.stop()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated store on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        data = tmp_path / "data"
        data.mkdir()
        shutil.copyfile(template, data / "netwarden.db")
        yield f"sqlite:///{data / 'netwarden.db'}"
    else:
        cluster: PgCluster | None = request.getfixturevalue("pg_cluster")
        if cluster is None:
            pytest.skip("PostgreSQL binaries not found (run `make test` to install them)")
        name = cluster.new_database(template=cluster.template)  # type: ignore[attr-defined]
        yield cluster.url(name)
    base.dispose_engines()


@pytest.fixture
def ctx(db_url: str, tmp_path: Path) -> Context:
    """An initialised context (data dir, key, store) on each backend."""
    data_dir = tmp_path / "data"
    # SQLite: the copied template already sits in data_dir as netwarden.db.
    database_url = None if db_url.startswith("sqlite") else db_url
    return Context.create(data_dir=data_dir, database_url=database_url)


@pytest.fixture
def sqlite_ctx(tmp_path: Path) -> Context:
    return Context.create(data_dir=tmp_path / "data")


ADMIN = Actor("admin", Role.admin, "test")
OPERATOR = Actor("operator", Role.operator, "test")
VIEWER = Actor("viewer", Role.viewer, "test")


@pytest.fixture
def tokens(ctx: Context) -> dict[str, str]:
    """An API token for a user of each role."""
    out = {}
    with ctx.db() as db:
        out["admin"] = access.bootstrap_admin(db, "admin").token  # type: ignore[union-attr]
        for role in ("operator", "viewer"):
            out[role] = access.create_user(db, ADMIN, UserIn(name=role, role=Role(role))).token
    return out


@pytest.fixture
def api(ctx: Context) -> Iterator[httpx.Client]:
    """An httpx client on the app (in-process ASGI transport through the TestClient)."""
    from fastapi.testclient import TestClient

    from netwarden.api.app import create_app

    with TestClient(create_app(ctx), base_url="http://testserver") as client:
        yield client


def auth(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}"}
