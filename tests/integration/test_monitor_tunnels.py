"""VPN gateways in the polling round: chosen from the inventory's tunnel interfaces, read over SSH."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from pathlib import Path

from netwarden.access.schemas import SYSTEM
from netwarden.context import Context
from netwarden.inventory import porting
from netwarden.inventory.credentials import add_credential
from netwarden.inventory.schemas import CredentialIn
from netwarden.monitor.poller import Target
from netwarden.monitor.service import Monitor

DOC = """
version: 1
sites: [{name: hq}]
devices:
  - {name: gw1, site: hq, platform: linux, mgmt_ip: 127.0.0.1, interfaces: [{name: eth0}, {name: wg0}]}
  - {name: gw2, site: hq, platform: linux, mgmt_ip: 127.0.0.2, interfaces: [{name: ipsec0, kind: virtual}]}
  - {name: sw1, site: hq, platform: linux, mgmt_ip: 127.0.0.3, interfaces: [{name: eth0}, {name: eth1}]}
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gateways_are_the_devices_with_tunnel_interfaces_and_a_dead_one_costs_a_failure(tmp_path: Path) -> None:
    ctx = Context.create(data_dir=tmp_path / "data")
    with ctx.db() as db:
        porting.import_inventory(db, SYSTEM, ctx.vault, porting.parse_yaml(DOC))
        add_credential(
            db,
            SYSTEM,
            ctx.vault,
            CredentialIn.model_validate(
                {"name": "gw-ssh", "kind": "ssh", "username": "nw", "secret": "x", "params": {"port": closed_port()}}
            ),
        )
    monitor = Monitor(ctx, SYSTEM)
    assert monitor.gateways() == {"gw1", "gw2"}
    # Off until a credential is named: nothing is sent.
    assert asyncio.run(monitor._tunnels([Target("gw1", "127.0.0.1")])) == []
    ctx = dataclasses.replace(ctx, settings=ctx.settings.model_copy(update={"monitor_tunnel_credential": "gw-ssh"}))
    monitor = Monitor(ctx, SYSTEM)
    [outcome] = asyncio.run(monitor._tunnels([Target("gw1", "127.0.0.1"), Target("sw1", "127.0.0.3")]))
    assert outcome.device == "gw1" and outcome.failed and "refused" in outcome.failed
    assert outcome.events == [] and outcome.points == []
