"""Log ingestion, search and syslog storage end to end: the CLI, the API and a real receiver on loopback,
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gzip
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from netwarden.cli.main import main
from netwarden.context import Context
from netwarden.security.logs import service
from netwarden.security.logs.parse import parse_line
from netwarden.security.logs.store import count_events, query_events, store_events
from netwarden.security.syslog import SyslogMessage, SyslogReceiver, parse
from tests.conftest import ADMIN, VIEWER, auth
from tests.support.shared_data import shared_data

SSHD = shared_data() / "fail2ban" / "fail2ban" / "tests" / "files" / "logs" / "sshd"
LINES = [
    "Mar  9 10:00:01 srv1 sshd[100]: Failed password for root from 192.0.2.10 port 40000 ssh2",
    "Mar  9 10:00:02 srv1 sshd[100]: Failed password for admin from 192.0.2.10 port 40000 ssh2",
    "Mar  9 10:00:03 srv1 sshd[101]: Accepted password for alice from 192.0.2.20 port 40001 ssh2",
    "Mar  9 10:00:04 fw1 kernel: [UFW BLOCK] IN=eth0 OUT= SRC=192.0.2.10 DST=10.0.0.1 LEN=60 PROTO=TCP SPT=1 DPT=23",
    "Mar  9 10:00:05 srv1 CRON[7]: (root) CMD (true)",
    "",
]


@pytest.fixture
def cli_env(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> Context:
    monkeypatch.setenv("NETWARDEN_DATA_DIR", str(ctx.data_dir))
    if not ctx.url.startswith("sqlite"):
        monkeypatch.setenv("NETWARDEN_DATABASE_URL", ctx.url)
    return ctx


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_plain_and_gzip_then_search(
    cli_env: Context, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "auth.log"
    plain.write_text("\n".join(LINES[:3]) + "\n")
    packed = tmp_path / "more.log.gz"
    with gzip.open(packed, "wt") as f:
        f.write("\n".join(LINES[3:]) + "\n")
    code, out, err = run(capsys, "logs", "ingest", str(plain), str(packed), "--json")
    assert code == 0, err
    assert json.loads(out) == {"received": 5, "parsed": 4, "unparsed": 1, "stored": 5, "files": 2}

    code, out, err = run(capsys, "logs", "events", "--kind", "auth-failure", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["host"], r["kind"], r["source_ip"], r["user"], r["outcome"]) for r in rows] == [
        ("srv1", "auth-failure", "192.0.2.10", "root", "failure"),
        ("srv1", "auth-failure", "192.0.2.10", "admin", "failure"),
    ]
    assert rows[0]["raw"] == LINES[0]
    assert set(rows[0]) >= {"time", "host", "kind", "source_ip", "user", "outcome", "raw"}  # the contract

    def raws(*args: str) -> list[str]:
        code, out, err = run(capsys, "logs", "events", *args, "--json")
        assert code == 0, err
        return [r["raw"] for r in json.loads(out)]

    assert raws("--source-ip", "192.0.2.10") == [LINES[0], LINES[1], LINES[3]]
    assert raws("--host", "fw1") == [LINES[3]]
    assert raws("--user", "alice") == [LINES[2]]
    assert raws("--search", "ufw block") == [LINES[3]]
    assert raws("--limit", "2") == [LINES[3], LINES[4]]  # the newest two, in time order
    assert raws("--kind", "auth-success", "--kind", "firewall-deny") == [LINES[2], LINES[3]]
    assert raws("--since", "1h") == []  # they were logged on 9 March

    code, out, _ = run(capsys, "logs", "events", "--host", "srv1")
    assert code == 0 and "Accepted password for alice" in out


def test_a_binary_or_missing_file_stores_nothing(
    cli_env: Context, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "auth.log"
    good.write_text("\n".join(LINES) + "\n")
    binary = tmp_path / "core"
    binary.write_bytes(b"Mar  9 10:00:01 srv1 sshd[1]: ok\n\x7fELF\x02\x01\x01\x00\x00\x00" + os.urandom(256))
    broken = tmp_path / "cut.gz"
    broken.write_bytes(gzip.compress(("\n".join(LINES) + "\n").encode() * 50)[:60])
    for bad in (binary, broken, tmp_path / "missing.log", tmp_path):
        code, out, err = run(capsys, "logs", "ingest", str(good), str(bad), "--json")
        assert code == 1 and out == ""
        assert err.startswith("error: ") and err.count("\n") == 1, err
    with cli_env.db() as db:
        assert count_events(db) == 0


def test_fail2ban_sshd_corpus_ingests_whole(cli_env: Context, capsys: pytest.CaptureFixture[str]) -> None:
    if not SSHD.is_file():
        pytest.skip(f"fail2ban corpus not found at {SSHD}")
    code, out, err = run(capsys, "logs", "ingest", str(SSHD), "--json", "--host", "corpus")
    assert code == 0, err
    counts = json.loads(out)
    lines = [line for line in SSHD.read_text().splitlines() if line.strip()]
    comments = [line for line in lines if line.startswith("#")]
    assert counts["received"] == len(lines)
    # every sample line is read by a format rule except the ones fail2ban itself does not read either
    assert counts["parsed"] >= len(lines) - len(comments) - 8
    with cli_env.db() as db:
        assert {e.host for e in query_events(db, limit=None)} == {"corpus"}


def test_api_lists_events_for_viewers(ctx: Context, tokens: dict[str, str], api: httpx.Client) -> None:
    now = dt.datetime.now(dt.UTC)
    with ctx.db() as db:
        store_events(db, [parse_line(line, received=now) for line in LINES[:5]])
    r = api.get("/api/v1/logs", params={"kind": "auth-failure"}, headers=auth(tokens["viewer"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 2 and [i["user"] for i in body["items"]] == ["root", "admin"]
    r = api.get(
        "/api/v1/logs", params=[("kind", "auth-success"), ("kind", "firewall-deny")], headers=auth(tokens["viewer"])
    )
    assert [i["kind"] for i in r.json()["items"]] == ["auth-success", "firewall-deny"]
    r = api.get("/api/v1/logs", params={"search": "cron", "limit": 1}, headers=auth(tokens["viewer"]))
    assert [i["raw"] for i in r.json()["items"]] == [LINES[4]]
    r = api.get("/api/v1/logs", params={"source_ip": "192.0.2.10", "since": "30d"}, headers=auth(tokens["admin"]))
    assert r.json()["total"] == 0  # logged on 9 March, more than 30 days ago
    assert api.get("/api/v1/logs").status_code == 401
    r = api.get("/api/v1/logs", params={"kind": "nonsense"}, headers=auth(tokens["viewer"]))
    assert r.status_code == 400 and "unknown log event kind" in r.text


def test_ingest_needs_an_operator(ctx: Context, tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text(LINES[0] + "\n")
    from netwarden.errors import PermissionDenied

    with ctx.db() as db, pytest.raises(PermissionDenied):
        service.ingest_files(db, VIEWER, [log])
    with ctx.db() as db:
        assert service.ingest_files(db, ADMIN, [log]).stored == 1


def _send_udp(port: int, lines: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for line in lines:
            s.sendto(line, ("127.0.0.1", port))


def _send_tcp(port: int, lines: list[bytes]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"".join(b"%d %s" % (len(line), line) for line in lines))


async def _wait_for(ctx: Context, count: int, deadline: float = 20.0) -> int:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    stored = 0
    while loop.time() < end:
        with ctx.db() as db:
            stored = count_events(db)
        if stored >= count:
            return stored
        await asyncio.sleep(0.05)
    return stored


def test_the_syslog_sink_stores_udp_and_tcp_messages(ctx: Context) -> None:
    udp = [b"<38>Mar  9 10:00:01 srv1 sshd[100]: Failed password for root from 192.0.2.10 port 40000 ssh2"]
    tcp = [
        b"<38>1 2026-03-09T10:00:02.5+02:00 srv2 sshd 7 - - Invalid user bob from 192.0.2.11 port 4",
        b"<4>Mar  9 10:00:03 fw1 kernel: DROP IN=eth0 OUT= SRC=192.0.2.12 DST=10.0.0.1 LEN=60 PROTO=TCP SPT=1 DPT=22",
    ]

    async def go() -> int:
        receiver = SyslogReceiver(service.store_sink(ctx, lookup=lambda _a: None), flush_interval=0.05)
        await receiver.start("127.0.0.1", 0)
        assert receiver.udp_address and receiver.tcp_address
        await asyncio.to_thread(_send_udp, receiver.udp_address[1], udp)
        await asyncio.to_thread(_send_tcp, receiver.tcp_address[1], tcp)
        stored = await _wait_for(ctx, 3)
        await receiver.close()
        return stored

    assert asyncio.run(go()) == 3
    with ctx.db() as db:
        events = {e.kind: e for e in query_events(db)}
    assert events["auth-failure"].host == "srv1" and events["auth-failure"].source_ip == "192.0.2.10"
    assert events["auth-invalid-user"].time.utcoffset() == dt.timedelta(hours=2)
    assert events["firewall-deny"].dest_port == 22


def test_fan_out_retries_only_the_sink_that_failed() -> None:
    now = dt.datetime.now(dt.UTC)
    batch = [
        parse(b"<13>Mar  9 10:00:01 h app: one", "127.0.0.1", now),
        parse(b"<13>Mar  9 10:00:02 h app: 2", "", now),
    ]
    seen: dict[str, int] = {"events": 0, "store": 0}
    failures = [RuntimeError("store down")]

    async def events(messages: list[SyslogMessage]) -> None:
        seen["events"] += len(messages)

    def store(messages: list[SyslogMessage]) -> None:
        if failures:
            raise failures.pop()
        seen["store"] += len(messages)

    sink = service.fan_out(events, store)

    async def go() -> None:
        with pytest.raises(RuntimeError):
            await sink(batch)
        await sink(list(batch))  # the batch queue's retry: a new list of the same messages
        await sink([parse(b"<13>Mar  9 10:00:03 h app: three", "", now)])

    asyncio.run(go())
    assert seen == {"events": 3, "store": 3}


def test_prune_follows_logs_retention_days(ctx: Context) -> None:
    now = dt.datetime.now(dt.UTC)
    days = ctx.settings.logs_retention_days
    event = parse_line(LINES[0], received=now)
    with ctx.db() as db:
        store_events(
            db,
            [
                dataclasses.replace(event, time=now - dt.timedelta(days=days, hours=1)),
                dataclasses.replace(event, time=now - dt.timedelta(days=days - 1)),
            ],
        )
    assert service.prune(ctx, now) == 1
    with ctx.db() as db:
        assert count_events(db) == 1


def test_logs_syslog_runs_in_the_foreground_and_stores(cli_env: Context) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETWARDEN_")}
    env["NETWARDEN_DATA_DIR"] = str(cli_env.data_dir)
    if not cli_env.url.startswith("sqlite"):
        env["NETWARDEN_DATABASE_URL"] = cli_env.url
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "netwarden.cli.main",
            "logs",
            "syslog",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--count",
            "2",
            "--seconds",
            "60",
            "--json",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        ready = proc.stderr.readline()  # "listening for syslog on udp 127.0.0.1:P and tcp 127.0.0.1:Q"
        assert ready.startswith("listening for syslog"), ready
        udp_port = int(ready.split()[5].rsplit(":", 1)[1])
        deadline = time.monotonic() + 30
        sent = 0
        while proc.poll() is None and time.monotonic() < deadline:  # UDP may be sent before the loop reads
            _send_udp(udp_port, [b"<38>Mar  9 10:00:0%d srv1 sshd[1]: Invalid user u%d from 192.0.2.9" % (sent, sent)])
            sent += 1
            try:
                proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    printed = [json.loads(line) for line in out.splitlines()]
    assert len(printed) >= 2 and printed[0]["kind"] == "auth-invalid-user" and printed[0]["user"] == "u0"
    assert json.loads(err.splitlines()[-1])["stats"]["received"] >= 2
    with cli_env.db() as db:
        assert count_events(db) >= 2
