"""ICMP on real sockets, to 127.0.0.0/8 and ::1 only.

Loopback answers every address of 127/8, so the sweeps here must find everything alive. The
paths where nothing answers (timeouts) or something refuses (ICMP errors) are tested in a
network namespace made for the test, with nftables dropping or rejecting echo requests to a few
of its loopback addresses; that needs root and is skipped otherwise. Ping sockets are tested
there too: ``net.ipv4.ping_group_range`` is per namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from netwarden.collect._sockets import available_mode
from netwarden.collect.icmp import PingOptions, PingStats, ping, sweep, sweep_iter
from netwarden.collect.records import TargetResult
from netwarden.errors import InvalidInput, NeedsRoot

MODE = available_mode(socket.AF_INET)
needs_icmp = pytest.mark.skipif(
    MODE is None, reason="no ICMP socket allowed: not root and net.ipv4.ping_group_range excludes this group"
)


def _stats(result: TargetResult[PingStats]) -> PingStats:
    assert result.value is not None
    return result.value


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@needs_icmp
def test_a_loopback_range_is_all_alive() -> None:
    seen: list[tuple[int, int]] = []
    results = asyncio.run(sweep(["127.0.5.0/28"], timeout=1.0, progress=lambda d, t: seen.append((d, t))))
    assert [r.target for r in results] == [f"127.0.5.{i}" for i in range(1, 15)]  # hosts only
    for result in results:
        stats = _stats(result)
        assert result.ok, result.describe()
        assert (stats.sent, stats.received, stats.loss, result.attempts) == (1, 1, 0.0, 1)
        assert stats.rtt_min is not None and stats.rtt_min >= 0
        assert stats.rtts == (stats.rtt_min,)
        assert stats.mode == MODE
    assert seen[-1] == (14, 14)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@needs_icmp
def test_every_address_when_asked_and_ipv6_beside_ipv4() -> None:
    results = asyncio.run(sweep(["127.0.6.0/29", "::1"], hosts_only=False, timeout=1.0))
    assert [r.target for r in results] == [f"127.0.6.{i}" for i in range(8)] + ["::1"]
    assert all(r.ok for r in results), [r.describe() for r in results if not r.ok]


@needs_icmp
def test_ping_measures_loss_latency_and_jitter() -> None:
    results = asyncio.run(ping(["127.0.0.1", "::1"], count=4, interval=0.02, timeout=1.0))
    assert [r.target for r in results] == ["127.0.0.1", "::1"]
    for result in results:
        stats = _stats(result)
        assert result.ok
        assert (stats.sent, stats.received, stats.loss, len(stats.rtts)) == (4, 4, 0.0, 4)
        assert stats.jitter is not None and stats.jitter >= 0
        assert stats.rtt_min is not None and stats.rtt_max is not None and stats.rtt_avg is not None
        assert stats.rtt_min <= stats.rtt_avg <= stats.rtt_max


@needs_icmp
def test_a_rate_limit_and_a_small_window_still_reach_everyone() -> None:
    options = PingOptions(timeout=1.0, concurrency=3, rate=2000, batch=2)

    async def run() -> list[str]:
        async with contextlib.aclosing(sweep_iter(["127.0.7.0/27"], options=options)) as results:
            return [r.target async for r in results if r.ok]

    assert sorted(asyncio.run(run()), key=lambda a: int(a.rsplit(".", 1)[1])) == [f"127.0.7.{i}" for i in range(1, 31)]


def test_bad_input_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(InvalidInput, match="invalid CIDR"):
        asyncio.run(sweep(["127.0.0.0/24", "127.0.0.300"]))
    with pytest.raises(InvalidInput, match="--force"):
        asyncio.run(sweep(["127.0.0.0/8"]))
    with pytest.raises(InvalidInput, match="count"):
        asyncio.run(ping(["127.0.0.1"], count=0))


def test_a_socket_kind_that_is_not_allowed_says_how_to_allow_it() -> None:
    denied = next((m for m in ("dgram", "raw") if available_mode(socket.AF_INET, m) is None), None)  # type: ignore[arg-type]
    if denied is None:
        pytest.skip("both ping and raw sockets are allowed here")
    with pytest.raises(NeedsRoot, match="ping_group_range"):
        asyncio.run(sweep(["127.0.0.1"], mode=denied))  # type: ignore[arg-type]


@needs_icmp
def test_force_lifts_the_configured_maximum() -> None:
    with pytest.raises(InvalidInput, match="maximum of 8"):
        asyncio.run(sweep(["127.0.8.0/28"], max_addresses=8))
    results = asyncio.run(sweep(["127.0.8.0/28"], max_addresses=8, force=True))
    assert len(results) == 14 and all(r.ok for r in results)


@needs_icmp
def test_cancelling_a_sweep_closes_its_sockets() -> None:
    """A /16 at 2,000 requests a second would take half a minute: cancel it after the first results."""
    before = _open_fds()

    async def run() -> int:
        got = 0

        async def consume() -> None:
            nonlocal got
            options = PingOptions(timeout=1.0, retries=0, rate=2000)
            async for _ in sweep_iter(["127.1.0.0/16"], options=options):
                got += 1

        task = asyncio.create_task(consume())
        while got < 50:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return got

    got = asyncio.run(run())
    assert 50 <= got < 65_534
    assert _open_fds() == before


@needs_icmp
def test_stopping_early_closes_the_sockets() -> None:
    before = _open_fds()

    async def run() -> list[str]:
        taken = []
        async with contextlib.aclosing(sweep_iter(["127.2.0.0/16"])) as results:
            async for result in results:
                taken.append(result.target)
                if len(taken) == 10:
                    break
        return taken

    assert len(asyncio.run(run())) == 10
    assert _open_fds() == before


# ---------------------------------------------------------------- in a namespace of our own

NAMESPACE_SETUP = """
set -e
ip link set lo up
ip -6 addr add fd00::9/128 dev lo nodad
ip -6 addr add fd00::10/128 dev lo nodad
sysctl -qw net.ipv4.ping_group_range="0 0"
nft -f - <<'NFT'
table inet nwtest {
  chain in {
    type filter hook input priority 0;
    ip daddr 127.0.0.9 icmp type echo-request drop
    ip daddr 127.0.0.10 icmp type echo-request reject with icmp type admin-prohibited
    ip6 daddr fd00::9 icmpv6 type echo-request drop
    ip6 daddr fd00::10 icmpv6 type echo-request reject with icmpv6 type admin-prohibited
  }
}
NFT
exec "$@"
"""

NAMESPACE_PROBE = textwrap.dedent(
    """
    import asyncio, json, sys
    from netwarden.collect.icmp import sweep

    async def main():
        mode = sys.argv[1]
        out = {}
        sweep_results = await sweep(
            ["127.0.0.8/30", "::1", "fd00::9", "fd00::10"], timeout=0.3, retries=1, mode=mode, hosts_only=False
        )
        stats_results = await sweep(
            ["127.0.0.1", "127.0.0.9", "127.0.0.10", "fd00::10"],
            count=3, interval=0.02, timeout=0.3, retries=1, mode=mode,
        )
        for name, results in (("sweep", sweep_results), ("stats", stats_results)):
            out[name] = {
                r.target: {"ok": r.ok, "reason": r.reason, "detail": r.detail, "attempts": r.attempts,
                           "sent": r.value.sent, "received": r.value.received, "mode": r.value.mode}
                for r in results
            }
        print(json.dumps(out))

    asyncio.run(main())
    """
)


def _in_namespace(mode: str) -> dict[str, dict[str, dict[str, object]]]:
    if os.geteuid() != 0 or available_mode(socket.AF_INET, "raw") is None:
        pytest.skip("needs root (CAP_SYS_ADMIN, CAP_NET_RAW): builds a network namespace with nftables rules")
    for tool in ("unshare", "nft", "ip"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    src = Path(__file__).resolve().parents[3] / "src"
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        ["unshare", "--net", "sh", "-c", NAMESPACE_SETUP, "ns", sys.executable, "-c", NAMESPACE_PROBE, mode],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, dict[str, dict[str, object]]] = json.loads(out.stdout)
    return result


@pytest.mark.parametrize("mode", ["raw", "dgram"])
def test_timeouts_refusals_and_answers_in_both_socket_kinds(mode: str) -> None:
    got = _in_namespace(mode)
    swept = got["sweep"]
    assert {t: r["mode"] for t, r in swept.items()} == dict.fromkeys(swept, mode)
    for alive in ("127.0.0.8", "127.0.0.11", "::1"):
        assert swept[alive]["ok"] and swept[alive]["attempts"] == 1, swept[alive]
    for silent in ("127.0.0.9", "fd00::9"):
        # no answer: one request and one retry, then a timeout
        assert swept[silent] | {"detail": ""} == {
            "ok": False,
            "reason": "timeout",
            "detail": "",
            "attempts": 2,
            "sent": 2,
            "received": 0,
            "mode": mode,
        }
        assert "no echo reply to 2 requests" in str(swept[silent]["detail"])
    for rejecting in ("127.0.0.10", "fd00::10"):
        # an ICMP error is an answer: no retry, and the reason says what came back
        assert (swept[rejecting]["ok"], swept[rejecting]["reason"], swept[rejecting]["attempts"]) == (
            False,
            "refused",
            1,
        )
        assert "prohibited" in str(swept[rejecting]["detail"])

    stats = got["stats"]
    assert (stats["127.0.0.1"]["ok"], stats["127.0.0.1"]["sent"], stats["127.0.0.1"]["received"]) == (True, 3, 3)
    assert (stats["127.0.0.9"]["reason"], stats["127.0.0.9"]["sent"]) == ("timeout", 4)  # 3 + 1 retry
    assert (stats["127.0.0.10"]["reason"], stats["127.0.0.10"]["sent"]) == ("refused", 3)
    assert stats["fd00::10"]["reason"] == "refused"
