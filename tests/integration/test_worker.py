"""Distributed mode: ``netwarden worker`` processes share devices through a real Redis, store in PostgreSQL.

The devices are loopback addresses (127.0.0.x answer ICMP), so no lab is needed; only the ping
check runs. Gaps between polls are read from the broker's poll stream, timed by the Redis server.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from netwarden.context import Context
from netwarden.inventory import service
from netwarden.inventory.schemas import DeviceIn, SiteIn
from netwarden.jobs.broker import Broker, PollRecord, owner, share
from tests.conftest import ADMIN
from tests.support.pg import PgCluster
from tests.support.redis import RedisServer, find_redis_server, running_redis

pytestmark = pytest.mark.pg

INTERVAL = 3  # seconds between two pings of a device
BEAT = 0.5  # heartbeat: TTL 1.5 s; a dead worker's devices wait at most INTERVAL + TTL + BEAT + one round
DEVICES = [f"loop{i}" for i in range(2, 12)]
NW = str(Path(sys.executable).with_name("netwarden"))


def worker_argv() -> list[str]:
    """``netwarden worker``; until cli/main.py registers it, the module's own one-command app."""
    from netwarden.cli.main import app

    if any(c.name == "worker" for c in app.registered_commands):
        return [NW, "worker"]
    return [sys.executable, "-m", "netwarden.cli.worker"]


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    if find_redis_server() is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed; `make test` installs it")
        pytest.skip("redis-server is not installed (run `make test` to install it)")
    with running_redis() as server:
        yield server


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _with_broker(url: str, fn: Callable[[Broker], Any]) -> Any:
    broker = Broker.from_url(url)
    try:
        return await fn(broker)
    finally:
        await broker.close()


def broker_call(url: str, fn: Callable[[Broker], Any]) -> Any:
    return run(_with_broker(url, fn))


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    async def flush(b: Broker) -> None:
        await b.redis.flushall()

    broker_call(redis_server.url, flush)
    return redis_server.url


@pytest.fixture
def pg_store(pg_cluster: PgCluster | None, tmp_path: Path) -> Context:
    if pg_cluster is None:
        pytest.skip("PostgreSQL binaries not found (run `make test` to install them)")
    url = pg_cluster.url(pg_cluster.new_database(template=pg_cluster.template))  # type: ignore[attr-defined]
    ctx = Context.create(data_dir=tmp_path / "data", database_url=url)
    with ctx.db() as db:
        service.add_site(db, ADMIN, SiteIn(name="loop"))
        for i, name in enumerate(DEVICES, start=2):
            service.add_device(db, ADMIN, DeviceIn(name=name, site="loop", platform="linux", mgmt_ip=f"127.0.0.{i}"))
    return ctx


class Workers:
    """``netwarden worker`` subprocesses; every one still running is killed at teardown."""

    def __init__(self, ctx: Context, redis_url: str, tmp: Path, **settings: str) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NETWARDEN_")},
            "NETWARDEN_DATA_DIR": str(ctx.data_dir),
            "NETWARDEN_DATABASE_URL": str(ctx.settings.database_url),
            "NETWARDEN_REDIS_URL": redis_url,
            "NETWARDEN_MONITOR_PING_INTERVAL": str(INTERVAL),
            "NETWARDEN_MONITOR_SNMP_INTERVAL": "0",
            "NETWARDEN_WORKER_HEARTBEAT_SECONDS": str(BEAT),
        }
        self.env.update({f"NETWARDEN_{k.upper()}": v for k, v in settings.items()})
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, worker_id: str) -> None:
        err = (self.tmp / f"{worker_id}.log").open("wb")
        self.procs[worker_id] = subprocess.Popen(
            [*worker_argv(), "--id", worker_id, "--json"], env=self.env, stdout=subprocess.DEVNULL, stderr=err
        )

    def log(self, worker_id: str, tail: int = 2000) -> str:
        return (self.tmp / f"{worker_id}.log").read_text(errors="replace")[-tail:]

    def pause(self) -> None:
        """A short pause that also fails at once if a worker that should run has died."""
        for wid, proc in self.procs.items():
            if proc.poll() is not None and proc.returncode not in (-signal.SIGKILL, 0):
                raise AssertionError(f"worker {wid} exited {proc.returncode}: {self.log(wid)}")
        time.sleep(0.1)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def workers(pg_store: Context, redis_url: str, tmp_path: Path) -> Iterator[Workers]:
    group = Workers(pg_store, redis_url, tmp_path)
    try:
        yield group
    finally:
        group.stop_all()


def wait_until(cond: Callable[[], Any], timeout: float, what: str, pause: Callable[[], None]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        pause()
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def kill_mid_round(workers: Workers, victim: str, url: str, checks: list[str]) -> dict[str, str]:
    """Freeze ``victim`` (SIGSTOP) as soon as it holds claims in flight, check it still does, SIGKILL it.

    Returns what it held (device -> check). A worker frozen then killed never finishes that round.
    """
    fast = redis.Redis.from_url(url)
    keys = [f"netwarden:inflight:{c}" for c in checks]
    proc = workers.procs[victim]
    held: dict[str, str] = {}
    deadline = time.monotonic() + 60
    try:
        while not held and time.monotonic() < deadline:
            if any(victim.encode() in fast.hvals(k) for k in keys):
                proc.send_signal(signal.SIGSTOP)
                held = {
                    d.decode(): check
                    for k, check in zip(keys, checks, strict=True)
                    for d, w in fast.hgetall(k).items()
                    if w.decode() == victim
                }
                if not held:  # it finished just before the freeze: catch its next round
                    proc.send_signal(signal.SIGCONT)
    finally:
        fast.close()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert held, f"never caught {victim} in a round"
    return held


def polls(url: str, check: str | None = None) -> list[PollRecord]:
    got: list[PollRecord] = broker_call(url, lambda b: b.polls())
    return [r for r in got if check is None or r.check == check]


def by_device(records: list[PollRecord]) -> dict[str, list[PollRecord]]:
    out: dict[str, list[PollRecord]] = defaultdict(list)
    for r in records:
        out[r.device].append(r)
    return out


def test_a_killed_workers_devices_are_taken_over_within_two_intervals(
    workers: Workers, redis_url: str, pg_store: Context
) -> None:
    a, b = "worker-a", "worker-b"
    split = {w: share(DEVICES, [a, b], w) for w in (a, b)}
    assert split[a] and split[b], "the ids must split the devices for the test to mean anything"
    workers.start(a)
    workers.start(b)

    # Both run and each has polled its own share at least twice.
    def settled() -> bool:
        seen = by_device(polls(redis_url))
        return all(sum(1 for r in seen[d] if r.worker == w) >= 2 for w in (a, b) for d in split[w])

    wait_until(settled, 60, "both workers polling their shares", workers.pause)

    # Kill A in the middle of a round, holding claims it will never finish.
    kill_mid_round(workers, a, redis_url, ["ping"])
    killed_at = broker_call(redis_url, lambda br: br.now_ms())

    # B takes A's devices and polls each of them (and its own) three more times.
    def taken_over() -> bool:
        after = by_device([r for r in polls(redis_url) if r.ts_ms > killed_at])
        return all(sum(1 for r in after[d] if r.worker == b) >= 3 for d in DEVICES)

    wait_until(taken_over, 60, f"{b} polling every device after {a} was killed", workers.pause)

    records = by_device(polls(redis_url))
    for device in DEVICES:
        times = [r.ts_ms for r in records[device]]
        gaps = [t1 - t0 for t0, t1 in itertools.pairwise(times)]
        assert max(gaps) <= 2 * INTERVAL * 1000, f"{device} waited {max(gaps)} ms between two polls: {times}"
        # Claims keep a device from being polled twice in an interval when views of membership differ.
        assert min(gaps) >= INTERVAL * 1000 / 2, f"{device} polled twice within half an interval: {times}"
        assert all(r.ok for r in records[device])

    # The points are in the PostgreSQL store: every device answered.
    from netwarden.monitor import metrics

    with pg_store.db() as db:
        for device in DEVICES:
            values = metrics.read_latest(db, ADMIN, device, "up")
            assert [v.value for v in values] == [1.0], device

    # A clean stop leaves the broker at once: nobody is left to prune B's entry, yet it is gone
    # (A's entry, which SIGKILL left behind, was pruned by B after its TTL).
    workers.procs[b].send_signal(signal.SIGTERM)
    assert workers.procs[b].wait(timeout=30) == 0, workers.log(b)
    problems = [line for line in workers.log(b, 10**7).splitlines() if "level=WARNING" in line]
    assert problems == [], problems[:5]

    async def members(br: Broker) -> list[Any]:
        return list(await br.redis.zrange(br.key("workers"), 0, -1))

    assert broker_call(redis_url, members) == []


def test_a_killed_worker_stays_listed_until_its_ttl_is_over(workers: Workers, redis_url: str) -> None:
    """What the previous test relies on: without a clean stop, the entry stays until a live worker prunes it."""
    workers.start("lone")
    wait_until(lambda: polls(redis_url), 60, "the lone worker polling", workers.pause)
    workers.procs["lone"].send_signal(signal.SIGKILL)
    workers.procs["lone"].wait(timeout=10)

    async def members(br: Broker) -> list[str]:
        return [m.decode() for m in await br.redis.zrange(br.key("workers"), 0, -1)]

    assert broker_call(redis_url, members) == ["lone"]

    # The first reader after the TTL drops it (a worker that is not live polls nothing).
    def aged_out() -> bool:
        _, live = broker_call(redis_url, lambda br: br.live(BEAT * 3))
        return live == []

    wait_until(aged_out, 30, "the dead worker to age out", workers.pause)
    assert broker_call(redis_url, members) == []


def test_claims_take_a_due_device_once_per_interval(redis_url: str) -> None:
    async def scenario(br: Broker) -> None:
        await br.heartbeat("w1", ttl=60)
        await br.heartbeat("w2", ttl=60)
        first = await br.claim("ping", "w1", ["r1", "r2"], interval=60, ttl=60)
        assert first.devices == ["r1", "r2"]
        assert await br.in_flight("ping") == {"r1": "w1", "r2": "w1"}
        # Another worker whose view still gives it r1 finds it claimed, and learns when it is due.
        second = await br.claim("ping", "w2", ["r1"], interval=60, ttl=60)
        assert second.devices == [] and second.soonest_ms is not None
        assert second.soonest_ms - second.now_ms > 50_000
        # Once w1's heartbeat is gone, the claim it holds is an orphan: the new owner takes it at once.
        await br.leave("w1")
        assert (await br.claim("ping", "w2", ["r1"], interval=60, ttl=60)).devices == ["r1"]
        assert (await br.in_flight("ping"))["r1"] == "w2"
        await br.heartbeat("w1", ttl=60)
        # A released claim (its poll was cut) is due at once and no longer in flight.
        await br.release("ping", ["r2"])
        assert "r2" not in await br.in_flight("ping")
        assert (await br.claim("ping", "w1", ["r1", "r2"], interval=60, ttl=60)).devices == ["r2"]
        # Another check keeps its own schedule.
        assert (await br.claim("snmp", "w1", ["r1"], interval=300, ttl=60)).devices == ["r1"]
        # Recording a poll clears only the recorder's own in-flight marks.
        at = await br.done("ping", "w1", [("r1", True), ("r2", False)])
        assert await br.last_polled("ping") == {"r1": at, "r2": at}
        assert await br.in_flight("ping") == {"r1": "w2"}
        assert [(p.device, p.worker, p.ok) for p in await br.polls()] == [("r1", "w1", True), ("r2", "w1", False)]

    broker_call(redis_url, scenario)


def test_a_heartbeat_outlives_its_ttl_only_while_beating(redis_url: str) -> None:
    async def scenario(br: Broker) -> None:
        _, live = await br.heartbeat("w1", ttl=60)
        assert live == ["w1"]
        await br.heartbeat("w2", ttl=60)
        assert (await br.live(60))[1] == ["w1", "w2"]
        await br.leave("w1")
        assert (await br.live(60))[1] == ["w2"]

    broker_call(redis_url, scenario)


def test_rendezvous_moves_only_the_devices_of_a_worker_that_leaves() -> None:
    devices = [f"d{i}" for i in range(2000)]
    three = ["w1", "w2", "w3"]
    before = {d: owner(d, three) for d in devices}
    after = {d: owner(d, ["w1", "w3"]) for d in devices}
    moved = {d for d in devices if before[d] != after[d]}
    assert moved == {d for d in devices if before[d] == "w2"}
    counts = {w: sum(1 for d in devices if before[d] == w) for w in three}
    assert all(500 < n < 840 for n in counts.values()), counts  # roughly a third each
    # A joining worker takes devices only from the others, never reshuffles them among them.
    four = {d: owner(d, [*three, "w4"]) for d in devices}
    assert all(four[d] in (before[d], "w4") for d in devices)
    assert share(devices, three, "w9") == []


def test_a_worker_without_a_reachable_broker_says_what_to_do(pg_store: Context, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NETWARDEN_")},
        "NETWARDEN_DATA_DIR": str(pg_store.data_dir),
        "NETWARDEN_DATABASE_URL": str(pg_store.settings.database_url),
    }
    missing = subprocess.run(worker_argv(), env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "redis_url" in missing.stderr, missing.stderr
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [*worker_argv(), "--redis-url", f"redis://127.0.0.1:{port}/0"]
    away = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert away.returncode != 0 and "cannot reach the Redis broker" in away.stderr, away.stderr
