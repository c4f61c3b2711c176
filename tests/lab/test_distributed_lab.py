"""Distributed mode on the lab: 2 workers + Redis + PostgreSQL poll the lab (ping and SNMP); one is killed
with SIGKILL mid-round; no device misses more than two intervals of either check.

Run only as ``flock /tmp/netwarden-lab.lock .venv/bin/pytest -m lab tests/lab/test_distributed_lab.py``.
"""

from __future__ import annotations

import itertools
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netwarden.access.schemas import cli_actor
from netwarden.context import Context
from netwarden.inventory import porting, service
from netwarden.inventory.schemas import DeviceIn, SiteIn
from netwarden.jobs.broker import Broker, share
from netwarden.lab.credentials import names as credential_names
from netwarden.monitor import metrics
from tests.integration.test_worker import (
    Workers,
    broker_call,
    by_device,
    kill_mid_round,
    polls,
    wait_until,
)
from tests.support.pg import PgCluster
from tests.support.redis import RedisServer, running_redis

pytestmark = [pytest.mark.lab, pytest.mark.pg]
ACTOR = cli_actor()
PING, SNMP = 4, 8  # seconds: short intervals so that the test sees several of each
BEAT = 0.5


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture
def lab_store(lab: Any, pg_cluster: PgCluster | None, tmp_path: Path) -> tuple[Context, str]:
    """A PostgreSQL store holding the lab's nodes and credentials; returns it and the SNMP credential's name."""
    if pg_cluster is None:
        pytest.skip("PostgreSQL binaries not found (run `make test` to install them)")
    url = pg_cluster.url(pg_cluster.new_database(template=pg_cluster.template))  # type: ignore[attr-defined]
    ctx = Context.create(data_dir=tmp_path / "data", database_url=url)
    with ctx.db() as db:
        porting.import_inventory(db, ACTOR, ctx.vault, porting.load_document(Path(lab.state.credentials_file)))
        service.add_site(db, ACTOR, SiteIn(name="distributed"))
        for node in lab.nodes:
            service.add_device(
                db,
                ACTOR,
                DeviceIn(name=node.name, site="distributed", platform=node.platform, mgmt_ip=str(node.mgmt_ip)),
            )
    return ctx, credential_names(lab.state.prefix)[1]


def test_two_workers_poll_the_lab_and_survive_a_sigkill(
    lab: Any, lab_store: tuple[Context, str], redis_server: RedisServer, tmp_path: Path
) -> None:
    ctx, snmp_credential = lab_store
    url = redis_server.url
    broker_call(url, lambda br: br.redis.flushall())
    devices = [n.name for n in lab.nodes]
    workers = Workers(
        ctx,
        url,
        tmp_path,
        monitor_ping_interval=str(PING),
        monitor_snmp_interval=str(SNMP),
        monitor_credentials=json.dumps([snmp_credential]),
        worker_heartbeat_seconds=str(BEAT),
    )
    a, b = "lab-worker-a", "lab-worker-b"
    split = {w: share(devices, [a, b], w) for w in (a, b)}
    assert split[a] and split[b], "the ids must split the devices for the test to mean anything"
    try:
        workers.start(a)
        workers.start(b)

        def settled() -> bool:
            for check in ("ping", "snmp"):
                seen = by_device(polls(url, check))
                if not all(sum(1 for r in seen[d] if r.worker == w) >= 2 for w in (a, b) for d in split[w]):
                    return False
            return True

        wait_until(settled, 120, "both workers polling their shares with ping and SNMP", workers.pause)
        kill_mid_round(workers, a, url, ["ping", "snmp"])
        killed_at = broker_call(url, lambda br: br.now_ms())

        def taken_over() -> bool:
            for check in ("ping", "snmp"):
                after = by_device([r for r in polls(url, check) if r.ts_ms > killed_at])
                if not all(sum(1 for r in after[d] if r.worker == b) >= 2 for d in devices):
                    return False
            return True

        wait_until(taken_over, 120, f"{b} polling every device after {a} was killed", workers.pause)

        for check, interval in (("ping", PING), ("snmp", SNMP)):
            records = by_device(polls(url, check))
            for device in devices:
                times = [r.ts_ms for r in records[device]]
                gaps = [t1 - t0 for t0, t1 in itertools.pairwise(times)]
                assert max(gaps) <= 2 * interval * 1000, f"{check} of {device}: {max(gaps)} ms between polls {times}"
                assert min(gaps) >= interval * 1000 / 2, f"{check} of {device} polled twice in an interval: {times}"
                assert all(r.ok for r in records[device]), (check, device)

        # Both checks' points reached the PostgreSQL store for every node.
        with ctx.db() as db:
            for device in devices:
                latest = {v.metric: v.value for v in metrics.read_latest(db, ACTOR, device) if not v.instance}
                assert latest.get("up") == 1.0, (device, latest)
                assert latest.get("uptime_seconds", 0) > 0, (device, latest)

        workers.procs[b].send_signal(signal.SIGTERM)
        assert workers.procs[b].wait(timeout=30) == 0, workers.log(b)

        async def members(br: Broker) -> list[Any]:
            return list(await br.redis.zrange(br.key("workers"), 0, -1))

        assert broker_call(url, members) == []
    finally:
        workers.stop_all()
