"""Sharing devices among ``netwarden worker`` processes with plain Redis primitives.

Three pieces, all timed by the Redis server's clock (``TIME`` inside Lua scripts), so the clocks
of the worker machines never order anything and may be skewed:

- **membership**: a sorted set ``<prefix>:workers`` of worker id -> last heartbeat (server ms).
  A worker is live while its heartbeat is younger than the TTL; whoever reads the set prunes
  the dead ones. A clean stop removes the worker's entry at once.
- **assignment**: rendezvous (highest-random-weight) hashing of each device over the live
  workers (:func:`owner`). Every worker computes the same answer from the same member list, and
  a change of membership moves only the devices of the worker that left (or ~1/n of them to the
  one that joined).
- **claims**: a hash ``<prefix>:next:<check>`` of device -> when it is next due (server ms). A
  worker claims its due devices atomically (:meth:`Broker.claim`), which pushes their due time one
  interval on, and marks them in flight in ``<prefix>:inflight:<check>`` (device -> worker) until
  the poll is recorded. Two workers whose membership views differ for a moment therefore never
  poll one device twice in an interval; a device whose claim is held by a worker that is no longer
  live (it died mid-round) is claimed at once by its new owner.

Each finished poll is recorded with the server's time in ``<prefix>:polled:<check>`` (device -> ms)
and appended to the stream ``<prefix>:polls`` (device, check, worker, ok), capped in length.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from netwarden.errors import NetwardenError

DEFAULT_PREFIX = "netwarden"
BATCH = 1000  # devices per script call: keeps each call short on the Redis server
STREAM_MAXLEN = 100_000

# KEYS[1] workers zset. ARGV: ttl_ms, worker id ('' reads without beating). Returns {now_ms, members...}.
_HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[2] ~= '' then redis.call('ZADD', KEYS[1], now, ARGV[2]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[1])))
local out = redis.call('ZRANGE', KEYS[1], 0, -1)
table.insert(out, 1, now)
return out
"""

# KEYS[1] next-due hash, KEYS[2] in-flight hash, KEYS[3] workers zset. ARGV: interval_ms, early_ms,
# worker, ttl_ms, then devices. Returns {now_ms, soonest_due_ms|-1, claimed...}.
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local early = tonumber(ARGV[2])
local oldest = now - tonumber(ARGV[4])
local live = {}
local function is_live(worker)
  if live[worker] == nil then
    local beat = redis.call('ZSCORE', KEYS[3], worker)
    live[worker] = beat ~= false and tonumber(beat) >= oldest
  end
  return live[worker]
end
local first = 5
local dues = redis.call('HMGET', KEYS[1], unpack(ARGV, first))
local holders = redis.call('HMGET', KEYS[2], unpack(ARGV, first))
local out = {now, -1}
local set, held = {}, {}
local soonest = -1
for i = 1, #dues do
  local device = ARGV[first + i - 1]
  local due = tonumber(dues[i]) or 0
  local nxt = due
  local holder = holders[i]
  -- A claim whose holder is no longer live was cut by that worker's death: poll it now.
  local orphan = holder and not is_live(holder)
  if orphan or due - early <= now then
    nxt = due + interval
    if orphan or nxt <= now then nxt = now + interval end
    set[#set + 1] = device
    set[#set + 1] = nxt
    held[#held + 1] = device
    held[#held + 1] = ARGV[3]
    out[#out + 1] = device
  end
  if soonest < 0 or nxt < soonest then soonest = nxt end
end
if #set > 0 then
  redis.call('HSET', KEYS[1], unpack(set))
  redis.call('HSET', KEYS[2], unpack(held))
end
out[2] = soonest
return out
"""

# KEYS[1] polled hash, KEYS[2] stream, KEYS[3] in-flight hash. ARGV: check, worker, maxlen, then
# (device, ok) pairs. Returns now_ms.
_DONE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local set = {}
for i = 4, #ARGV, 2 do
  set[#set + 1] = ARGV[i]
  set[#set + 1] = now
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*',
             'device', ARGV[i], 'check', ARGV[1], 'worker', ARGV[2], 'ok', ARGV[i + 1])
  if redis.call('HGET', KEYS[3], ARGV[i]) == ARGV[2] then redis.call('HDEL', KEYS[3], ARGV[i]) end
end
if #set > 0 then redis.call('HSET', KEYS[1], unpack(set)) end
return now
"""


class BrokerError(NetwardenError):
    """The Redis broker cannot be reached or refuses the worker."""

    status = 503
    code = "broker-unavailable"


def _weight(worker: str, device: str) -> int:
    digest = hashlib.blake2b(f"{worker}\0{device}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(device: str, workers: Sequence[str]) -> str | None:
    """The live worker that polls ``device``: the one with the highest hash weight (rendezvous hashing)."""
    if not workers:
        return None
    return max(workers, key=lambda w: (_weight(w, device), w))


def share(devices: Iterable[str], workers: Sequence[str], me: str) -> list[str]:
    """The devices of ``devices`` that ``me`` polls when ``workers`` are live (none when ``me`` is not)."""
    if me not in workers:
        return []
    return [d for d in devices if owner(d, workers) == me]


@dataclass
class Claim:
    """What one :meth:`Broker.claim` gave: the devices to poll now and when the next one is due."""

    now_ms: int
    devices: list[str] = field(default_factory=list)
    soonest_ms: int | None = None  # the earliest due time among the devices asked about (server ms)

    def wait_seconds(self) -> float | None:
        """Seconds until the next of the asked devices is due (by the server's clock); None if none."""
        if self.soonest_ms is None:
            return None
        return max(0.0, (self.soonest_ms - self.now_ms) / 1000)


@dataclass(frozen=True)
class PollRecord:
    """One finished poll, as the ``<prefix>:polls`` stream holds it."""

    ts_ms: int  # server time of the record
    device: str
    check: str
    worker: str
    ok: bool


class Broker:
    """The Redis side of the distributed mode (see the module docstring)."""

    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._claim = redis.register_script(_CLAIM)
        self._done = redis.register_script(_DONE)

    @classmethod
    def from_url(cls, url: str, prefix: str = DEFAULT_PREFIX) -> Broker:
        return cls(Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5), prefix)

    async def check(self) -> int:
        """Fail with a clear :class:`BrokerError` when Redis does not answer; returns the server time (ms)."""
        try:
            return await self.now_ms()
        except (RedisError, OSError) as exc:
            where = self.redis.connection_pool.connection_kwargs
            raise BrokerError(
                f"cannot reach the Redis broker at {where.get('host', '?')}:{where.get('port', '?')}:"
                f" {str(exc).rstrip('.')};"
                " check redis_url (NETWARDEN_REDIS_URL) and that redis-server runs"
            ) from None

    async def close(self) -> None:
        await self.redis.aclose()

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def heartbeat(self, worker: str, ttl: float) -> tuple[int, list[str]]:
        """Mark ``worker`` live now; returns (server ms, live workers), dropping those older than ``ttl`` s."""
        return await self._members(worker, ttl)

    async def live(self, ttl: float) -> tuple[int, list[str]]:
        """(server ms, live workers) without beating."""
        return await self._members("", ttl)

    async def _members(self, worker: str, ttl: float) -> tuple[int, list[str]]:
        got = cast(list[Any], await self._heartbeat(keys=[self.key("workers")], args=[int(ttl * 1000), worker]))
        return int(got[0]), [_text(m) for m in got[1:]]

    async def leave(self, worker: str) -> None:
        """Remove ``worker`` from the live set at once (a clean stop): its share moves on the next tick."""
        await self.redis.zrem(self.key("workers"), worker)

    async def claim(
        self,
        check: str,
        worker: str,
        devices: Sequence[str],
        interval: float,
        early: float = 0.0,
        ttl: float = 15.0,
    ) -> Claim:
        """Atomically take those of ``devices`` due for ``check`` (within ``early`` s) and push them an interval on.

        Also taken at once: devices whose claim is held by a worker whose heartbeat is older than ``ttl`` s
        (it died mid-round). Liveness is read inside the same atomic step, not from the caller's view.
        The claims are held by ``worker`` until :meth:`done` or :meth:`release`.
        """
        out = Claim(now_ms=0)
        keys = [self.key("next", check), self.key("inflight", check), self.key("workers")]
        head: list[str | int] = [int(interval * 1000), int(early * 1000), worker, int(ttl * 1000)]
        for i in range(0, len(devices), BATCH):
            batch = devices[i : i + BATCH]
            got = cast(list[Any], await self._claim(keys=keys, args=[*head, *batch]))
            out.now_ms = int(got[0])
            soonest = int(got[1])
            if soonest >= 0 and (out.soonest_ms is None or soonest < out.soonest_ms):
                out.soonest_ms = soonest
            out.devices.extend(_text(d) for d in got[2:])
        if not devices:
            out.now_ms = await self.now_ms()
        return out

    async def release(self, check: str, devices: Sequence[str]) -> None:
        """Make ``devices`` due at once again (their claimed poll did not happen)."""
        for i in range(0, len(devices), BATCH):
            batch = devices[i : i + BATCH]
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(self.key("next", check), mapping=dict.fromkeys(batch, 0))
                pipe.hdel(self.key("inflight", check), *batch)
                await pipe.execute()

    async def unhold(self, check: str, worker: str, devices: Sequence[str]) -> None:
        """Drop ``worker``'s in-flight mark on ``devices`` (a round ended without polling them); they stay claimed."""
        held = await self.in_flight(check)
        mine = [d for d in devices if held.get(d) == worker]
        if mine:
            await self.redis.hdel(self.key("inflight", check), *mine)

    async def in_flight(self, check: str) -> dict[str, str]:
        """Device -> the worker holding its claim while the poll runs."""
        raw = cast(dict[Any, Any], await self.redis.hgetall(self.key("inflight", check)))
        return {_text(k): _text(v) for k, v in raw.items()}

    async def done(self, check: str, worker: str, results: Sequence[tuple[str, bool]]) -> int:
        """Record finished polls (device, ok) with the server's time; returns that time (ms)."""
        now = 0
        for i in range(0, len(results), BATCH):
            args: list[str | int] = [check, worker, STREAM_MAXLEN]
            for device, ok in results[i : i + BATCH]:
                args += [device, int(ok)]
            keys = [self.key("polled", check), self.key("polls"), self.key("inflight", check)]
            now = int(cast(int, await self._done(keys=keys, args=args)))
        return now

    async def now_ms(self) -> int:
        seconds, micros = await self.redis.time()
        return int(seconds) * 1000 + int(micros) // 1000

    async def last_polled(self, check: str) -> dict[str, int]:
        """Device -> server ms of its last finished ``check`` poll."""
        raw = cast(dict[Any, Any], await self.redis.hgetall(self.key("polled", check)))
        return {_text(k): int(v) for k, v in raw.items()}

    async def polls(self, since_ms: int = 0, count: int = 10_000) -> list[PollRecord]:
        """Finished polls recorded at or after ``since_ms`` (server ms), oldest first, at most ``count``."""
        rows = cast(list[Any], await self.redis.xrange(self.key("polls"), min=f"{since_ms}-0", count=count))
        out = []
        for entry_id, fields in rows:
            f = {_text(k): _text(v) for k, v in fields.items()}
            out.append(
                PollRecord(
                    ts_ms=int(_text(entry_id).split("-")[0]),
                    device=f.get("device", ""),
                    check=f.get("check", ""),
                    worker=f.get("worker", ""),
                    ok=f.get("ok") == "1",
                )
            )
        return out


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
