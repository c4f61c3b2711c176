"""A polling round against a real snmpd on loopback: points for availability, interfaces and health."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator

import pytest

from netwarden.alerts.events import Event
from netwarden.context import Context
from netwarden.inventory import service
from netwarden.inventory.schemas import CredentialIn, DeviceIn, SiteIn
from netwarden.monitor.records import Point
from netwarden.monitor.service import Monitor
from tests.conftest import ADMIN
from tests.support.snmpd import running_snmpd


@pytest.fixture(scope="module")
def agent_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with running_snmpd(tmp_path_factory.mktemp("snmpd"), ["sysName polled"], community="pollme") as port:
        yield port


@pytest.fixture
def monitored(ctx: Context, agent_port: int) -> Monitor:
    from netwarden.inventory.credentials import add_credential

    admin = ADMIN
    with ctx.db() as db:
        service.add_site(db, admin, SiteIn(name="lab"))
        service.add_device(db, admin, DeviceIn(name="agent", site="lab", platform="linux", mgmt_ip="127.0.0.1"))
        service.add_device(db, admin, DeviceIn(name="ghost", site="lab", platform="linux", mgmt_ip="127.0.0.9"))
        add_credential(
            db, admin, ctx.vault, CredentialIn.model_validate({"name": "wrong", "kind": "snmp-v2c", "secret": "nope"})
        )
        add_credential(
            db, admin, ctx.vault, CredentialIn.model_validate({"name": "right", "kind": "snmp-v2c", "secret": "pollme"})
        )
    settings = ctx.settings.model_copy(
        update={"monitor_credentials": ["wrong", "right"], "monitor_snmp_port": agent_port}
    )
    return Monitor(dataclasses.replace(ctx, settings=settings), admin)


def test_two_rounds_give_rates_and_keep_the_working_credential(monitored: Monitor) -> None:
    points: list[Point] = []
    events: list[Event] = []

    def round_() -> None:
        asyncio.run(monitored.run_round(("ping", "snmp"), ["agent"], points_to=points.extend, events_to=events.extend))

    round_()
    assert monitored.auth["agent"] is not None  # "right", after "wrong" timed out
    first = {(p.metric, p.instance) for p in points}
    assert ("up", "") in first and ("rtt_ms", "") in first and ("uptime_seconds", "") in first
    assert ("if_oper_up", "lo") in first
    points.clear()
    round_()
    second = {(p.metric, p.instance): p.value for p in points}
    # A rate needs two readings: the second round has one per counter (net-snmp caches its
    # counters for a few seconds, so the value itself may be 0 this soon).
    assert second[("if_in_bps", "lo")] >= 0 and ("if_out_bps", "lo") in second
    assert events == []


def test_an_unknown_device_is_a_clear_error(monitored: Monitor) -> None:
    from netwarden.errors import NotFound

    with pytest.raises(NotFound, match="nosuch"):
        asyncio.run(monitored.run_round(("ping",), ["nosuch"], points_to=list, events_to=list))
