"""Dispatch/claim overhead per device poll: netwarden's Redis claims vs task queues on the same Redis.

What is measured is everything the distributed mode spends to hand one device poll to one worker
and record it done, with the poll itself a no-op:

- **netwarden** (``netwarden.jobs.broker``): per tick, the live-worker read, the rendezvous share
  of the devices, one atomic claim script over the due ones and one script recording them done
  (hash + capped stream), as ``netwarden worker`` does.
- **lease** (the plain-primitive alternative): the same share, then one ``SET lease:<device> <worker>
  NX PX <interval>`` per device in a pipeline (a device is due when its lease has expired), and
  the same done-recording script.
- **taskiq-redis** (RedisStreamBroker, the taskiq broker with acknowledgements, which is what
  "a worker that dies loses no job" needs): ``task.kiq(device)`` per device, then the taskiq
  Receiver running each message and acking it.
- **arq** (only if installed): ``enqueue_job`` per device, then a burst-mode arq Worker.

Each runs against one fresh redis-server on 127.0.0.1, in this process, one after the other. For
each: wall time, this process's CPU and redis-server's CPU (INFO cpu), and Redis commands, per
device poll; then the ratio peer / netwarden. A real deployment of a queue also needs a single
scheduler process to enqueue the periodic polls; its cost is not counted here.

    .venv/bin/python benchmarks/worker_queue.py [--devices 2000] [--rounds 5]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file's name would shadow the standard library's ``queue`` (which redis and asyncio import)
# while its folder leads sys.path: swap the folder for the repository root.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import time  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

from redis.asyncio import Redis  # noqa: E402
from tests.support.redis import running_redis  # noqa: E402

from netwarden.jobs.broker import Broker, share  # noqa: E402


@dataclass
class Figure:
    name: str
    polls: int
    wall: float
    cpu: float
    server_cpu: float
    commands: int

    def per_poll(self) -> tuple[float, float, float, float]:
        n = self.polls
        return self.wall / n * 1e6, self.cpu / n * 1e6, self.server_cpu / n * 1e6, self.commands / n


async def server_stats(redis: Redis) -> tuple[float, int]:
    cpu = await redis.info("cpu")
    stats = await redis.info("stats")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]), int(stats["total_commands_processed"])


async def measure(name: str, url: str, polls: int, body: Callable[[], Awaitable[None]]) -> Figure:
    probe = Redis.from_url(url)
    try:
        await probe.flushall()
        cpu0, cmd0 = await server_stats(probe)
        wall0, proc0 = time.perf_counter(), time.process_time()
        await body()
        wall, proc = time.perf_counter() - wall0, time.process_time() - proc0
        cpu1, cmd1 = await server_stats(probe)
    finally:
        await probe.aclose()
    # The two INFO calls after the run are not the mechanism's.
    return Figure(name, polls, wall, proc, cpu1 - cpu0, cmd1 - cmd0 - 2)


async def netwarden_claims(url: str, devices: list[str], rounds: int) -> None:
    broker = Broker.from_url(url)
    me, ttl = "bench-worker", 15.0
    done = 0
    try:
        await broker.heartbeat(me, ttl)
        for _ in range(rounds):
            _, live = await broker.live(ttl)
            mine = share(devices, live, me)
            claim = await broker.claim("ping", me, mine, interval=0, ttl=ttl)  # interval 0: all due again
            await broker.done("ping", me, [(d, True) for d in claim.devices])
            done += len(claim.devices)
    finally:
        await broker.close()
    assert done == len(devices) * rounds, done


async def leases(url: str, devices: list[str], rounds: int) -> None:
    broker = Broker.from_url(url)
    me, ttl = "bench-worker", 15.0
    done = 0
    try:
        await broker.heartbeat(me, ttl)
        for _ in range(rounds):
            _, live = await broker.live(ttl)
            mine = share(devices, live, me)
            async with broker.redis.pipeline(transaction=False) as pipe:
                for device in mine:
                    pipe.set(f"lease:{device}", me, nx=True, px=1)  # 1 ms: due again next round
                got = await pipe.execute()
            claimed = [d for d, ok in zip(mine, got, strict=True) if ok]
            await broker.done("ping", me, [(d, True) for d in claimed])
            done += len(claimed)
    finally:
        await broker.close()
    assert done == len(devices) * rounds, done


async def taskiq_stream(url: str, devices: list[str], rounds: int) -> None:
    from taskiq.receiver import Receiver
    from taskiq_redis import RedisStreamBroker

    broker = RedisStreamBroker(url, queue_name="bench", xread_count=100, xread_block=100)
    seen = 0

    @broker.task(task_name="poll")
    async def poll(device: str) -> None:
        nonlocal seen
        seen += 1

    await broker.startup()
    receiver = Receiver(broker, run_startup=False, max_async_tasks=100)
    total = len(devices) * rounds
    try:
        for _ in range(rounds):
            for device in devices:
                await poll.kiq(device)
        got = 0
        async for message in broker.listen():
            await receiver.callback(message)
            got += 1
            if got >= total:
                break
    finally:
        await broker.shutdown()
    assert seen == total, seen


async def arq_burst(url: str, devices: list[str], rounds: int) -> None:
    from arq.connections import RedisSettings, create_pool
    from arq.worker import Worker, func

    seen = 0

    async def poll(ctx: dict[str, Any], device: str) -> None:
        nonlocal seen
        seen += 1

    settings = RedisSettings.from_dsn(url)
    pool = await create_pool(settings)
    try:
        for _ in range(rounds):
            for i, device in enumerate(devices):
                await pool.enqueue_job("poll", device, _job_id=f"{device}-{_}-{i}")
        worker = Worker(
            functions=[func(poll, name="poll")],
            redis_pool=pool,
            burst=True,
            handle_signals=False,
            max_jobs=100,
            poll_delay=0.01,
            keep_result=0,
            log_results=False,
        )
        await worker.async_run()
    finally:
        await pool.aclose()
    total = len(devices) * rounds
    assert seen == total, seen


def show(figures: list[Figure]) -> None:
    print(f"{'mechanism':<14}{'polls':>8}{'wall us':>10}{'cpu us':>10}{'redis us':>10}{'cmds':>7}   (per device poll)")
    for f in figures:
        wall, cpu, srv, cmds = f.per_poll()
        print(f"{f.name:<14}{f.polls:>8}{wall:>10.1f}{cpu:>10.1f}{srv:>10.1f}{cmds:>7.2f}")
    ours = figures[0]
    ow, oc, os_, ocmd = ours.per_poll()
    for peer in figures[1:]:
        pw, pc, ps, pcmd = peer.per_poll()
        print(
            f"ratio {peer.name}/netwarden: wall {pw / ow:.1f}x, worker cpu {pc / oc:.1f}x, "
            f"redis cpu {ps / max(os_, 1e-9):.1f}x, redis commands {pcmd / ocmd:.1f}x"
        )


async def main(devices: int, rounds: int) -> None:
    names = [f"dev{i:05d}" for i in range(devices)]
    figures: list[Figure] = []
    with running_redis() as server:
        url = server.url
        polls = devices * rounds
        figures.append(await measure("netwarden", url, polls, lambda: netwarden_claims(url, names, rounds)))
        figures.append(await measure("lease", url, polls, lambda: leases(url, names, rounds)))
        figures.append(await measure("taskiq-redis", url, polls, lambda: taskiq_stream(url, names, rounds)))
        try:
            import arq  # noqa: F401
        except ImportError:
            print("arq is not installed: skipped (pip install arq to measure it)")
        else:
            figures.append(await measure("arq", url, polls, lambda: arq_burst(url, names, rounds)))
    show(figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.devices, args.rounds))
