"""The log store on SQLite and PostgreSQL: batch inserts, field and text search, retention."""

from __future__ import annotations

import datetime as dt

import pytest

from netwarden.context import Context
from netwarden.errors import InvalidInput
from netwarden.security.logs.model import LogEvent
from netwarden.security.logs.store import count_events, prune_events, query_events, store_events

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _event(i: int, **kw: object) -> LogEvent:
    base: dict[str, object] = {
        "time": T0 + dt.timedelta(seconds=i),
        "host": f"r{i % 3}",
        "kind": "auth-failure" if i % 2 else "firewall-deny",
        "raw": f"<38>1 line {i} Failed password for user{i % 5} from 192.0.2.{i % 7} port 22 ssh2",
        "message": f"Failed password for user{i % 5} from 192.0.2.{i % 7} port 22 ssh2",
        "app": "sshd",
        "source_ip": f"192.0.2.{i % 7}",
        "user": f"user{i % 5}",
        "outcome": "failure",
        "parser": "test",
    }
    base.update(kw)
    return LogEvent(**base)  # type: ignore[arg-type]


def test_store_and_read_back_every_field(ctx: Context) -> None:
    zoned = dt.datetime(2019, 7, 8, 17, 40, 16, 954167, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    event = LogEvent(
        time=zoned,
        host="fw1",
        kind="firewall-deny",
        raw="<4>1 2019-07-08T17:40:16.954167-04:00 fw1 kernel - - drop IN=eth0 SRC=10.0.0.1 DST=10.0.0.2",
        app="kernel",
        message="drop IN=eth0 SRC=10.0.0.1 DST=10.0.0.2",
        source_ip="10.0.0.1",
        source_port=40000,
        dest_ip="10.0.0.2",
        dest_port=23,
        proto="tcp",
        user=None,
        action="deny",
        outcome=None,
        parser="netfilter",
        fields={"in": "eth0"},
    )
    other = _event(1, message="not a tail of raw")
    with ctx.db() as db:
        assert store_events(db, [event, other]) == 2
    with ctx.db() as db:
        got = query_events(db)
    assert got == [event, other]
    assert got[0].time.utcoffset() == dt.timedelta(hours=-4)  # the zone the line was written in


def test_field_filters_time_range_order_and_limit(ctx: Context) -> None:
    events = [_event(i) for i in range(2500)]  # more than one insert batch
    with ctx.db() as db:
        assert store_events(db, events) == 2500
    with ctx.db() as db:
        assert count_events(db) == 2500
        window = query_events(db, since=T0 + dt.timedelta(seconds=100), until=T0 + dt.timedelta(seconds=110))
        assert [e.time for e in window] == [e.time for e in events[100:110]]
        by_host = query_events(db, host="r1", kinds=["auth-failure"], limit=None)
        assert by_host == [e for e in events if e.host == "r1" and e.kind == "auth-failure"]
        assert query_events(db, source_ip="192.0.2.3", user="user2", limit=None) == [
            e for e in events if e.source_ip == "192.0.2.3" and e.user == "user2"
        ]
        newest = query_events(db, newest_first=True, limit=3)
        assert newest == events[-1:-4:-1]
        assert query_events(db, kinds=["auth-failure", "firewall-deny"], limit=None) == events
        with pytest.raises(InvalidInput, match="unknown log event kind"):
            query_events(db, kinds=["nonsense"])


def test_text_search_is_case_insensitive_all_words_and_literal(ctx: Context) -> None:
    lines = [
        "sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2",
        "sshd[2]: Accepted password for alice from 192.0.2.2 port 22 ssh2",
        "kernel: [UFW BLOCK] IN=eth0 SRC=192.0.2.9 DST=10.0.0.1 PROTO=TCP DPT=23",
        "app: 100% done_ok",
        "app: 1000 doneXok",
    ]
    events = [_event(i, raw=line, message=line) for i, line in enumerate(lines)]
    with ctx.db() as db:
        store_events(db, events)
    with ctx.db() as db:

        def raws(text: str) -> list[str]:
            return [e.raw for e in query_events(db, text=text)]

        assert raws("FAILED") == [lines[0]]
        assert raws("password 192.0.2.2") == [lines[1]]
        assert raws('"ufw block" dpt=23') == [lines[2]]
        assert raws("100%") == [lines[3]]  # % and _ are literal, not wildcards
        assert raws("done_ok") == [lines[3]]
        assert raws("password nothere") == []
        assert count_events(db, text="password") == 2


def test_prune_removes_only_older_events(ctx: Context) -> None:
    events = [_event(i * 60) for i in range(120)]  # two hours, one a minute
    with ctx.db() as db:
        store_events(db, events)
    cutoff = T0 + dt.timedelta(hours=1)
    with ctx.db() as db:
        assert prune_events(db, cutoff, batch=7) == 60
    with ctx.db() as db:
        left = query_events(db, limit=None)
    assert left == events[60:]


def test_address_and_user_searches_use_the_partial_indexes(ctx: Context) -> None:
    """Rows without an address or user stay out of those indexes, and equality searches still use them."""
    from sqlalchemy import text

    with ctx.db() as db:
        store_events(db, [_event(i) for i in range(4)] + [_event(9, source_ip=None, user=None)])
        assert [e.raw for e in query_events(db, source_ip="192.0.2.1")] == [_event(1).raw]
        assert [e.raw for e in query_events(db, user="user3")] == [_event(3).raw]
        dialect = db.get_bind().dialect.name
        for column, index in (("source_ip", "ix_log_events_source_ip_ts"), ("username", "ix_log_events_username_ts")):
            if dialect == "sqlite":
                plan = db.execute(
                    text(f"EXPLAIN QUERY PLAN SELECT id FROM log_events WHERE {column} = :v ORDER BY ts DESC LIMIT 5"),
                    {"v": "x"},
                ).fetchall()
                assert index in " ".join(str(row[-1]) for row in plan)
                ddl = db.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": index}).scalar_one()
            else:
                ddl = db.execute(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": index}
                ).scalar_one()
            assert "IS NOT NULL" in ddl.upper()
