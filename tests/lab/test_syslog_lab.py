"""Syslog from the lab's routers to the receiver: an OSPF adjacency lost on link-down arrives as
neighbor_down events from both ends (FRR's own log line, forwarded by the node's logger), and comes
back as neighbor_up after heal."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from netwarden.alerts.events import Event
from netwarden.security.network_events import events_for
from netwarden.security.syslog import SyslogMessage, SyslogReceiver

pytestmark = pytest.mark.lab
log = logging.getLogger(__name__)


async def wait_for(condition: Any, seconds: float, why: Any = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, f"condition not met in time: {why() if callable(why) else why}"
        await asyncio.sleep(0.05)


def test_link_down_gives_ospf_neighbor_down_from_both_ends(lab: Any) -> None:
    plan = lab.state.plan
    for node in ("r1", "r2"):
        # FRR's "traditional" defaults log no adjacency changes; operators turn it on, so does this test.
        lab.vtysh(node, "configure terminal", "router ospf", "log-adjacency-changes")

    async def main() -> tuple[list[Event], list[Event], list[SyslogMessage], dict[str, Any]]:
        messages: list[SyslogMessage] = []
        events: list[Event] = []

        def sink(batch: list[SyslogMessage]) -> None:
            messages.extend(batch)
            events.extend(e for m in batch for e in events_for(m))

        receiver = SyslogReceiver(sink, flush_interval=0.2)
        await receiver.start(str(plan.syslog_collector), plan.syslog_port)
        try:

            def seen(kind: str) -> set[str]:
                return {e.device for e in events if e.kind == kind and ":ospf:" in e.subject}

            await asyncio.to_thread(lab.fault, "link-down", "r1", "r2")

            def story() -> str:
                tail = [(m.host, m.app, m.text[:160]) for m in messages if m.host in ("r1", "r2")][-15:]
                return f"{len(messages)} messages, events {events}, r1/r2 last: {tail}"

            await wait_for(lambda: {"r1", "r2"} <= seen("neighbor_down"), 30, story)
            down = [e for e in events if e.kind == "neighbor_down"]
            await asyncio.to_thread(lab.heal)
            await wait_for(lambda: {"r1", "r2"} <= seen("neighbor_up"), 60, story)
            up = [e for e in events if e.kind == "neighbor_up"]
        finally:
            await receiver.close(timeout=10)
        return down, up, messages, receiver.stats().as_dict()

    down, up, messages, stats = asyncio.run(main())
    for event in down + up:
        log.info("lab syslog event %s %s raw=%r", event.kind, event.subject, event.raw)
    r1_lo, r2_lo = str(lab.node("r1").loopback), str(lab.node("r2").loopback)
    assert {e.subject for e in down} >= {f"r1:ospf:{r2_lo}", f"r2:ospf:{r1_lo}"}
    assert {e.subject for e in up} >= {f"r1:ospf:{r2_lo}", f"r2:ospf:{r1_lo}"}
    assert all(e.source == "syslog" and "AdjChg" in e.raw for e in down + up)
    assert all(m.app for m in messages) and stats["received"] == stats["parsed"] + sum(stats["dropped"].values())
