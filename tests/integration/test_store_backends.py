"""The store on SQLite and PostgreSQL: migrations, constraints, append-only audit."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from netwarden.context import Context
from netwarden.store import migrate
from netwarden.store.base import get_engine


def test_store_is_at_head(ctx: Context) -> None:
    assert migrate.current(ctx.url) == migrate.head()


def test_audit_log_refuses_update_and_delete(ctx: Context) -> None:
    engine = get_engine(ctx.url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (time, actor, role, address, action, object_type, object, changes, note)"
                " VALUES (CURRENT_TIMESTAMP, 'a', 'admin', 'x', 'site.create', 'site', 's', '{}', '')"
            )
        )
    for sql in ("UPDATE audit_log SET actor = 'b'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalar_one() == "a"
