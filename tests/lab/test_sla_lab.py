"""SLA probes on the lab: ping from h1 to h2 over SSH; netem loss on the path shows and degrades the MOS."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from netwarden.access.schemas import cli_actor
from netwarden.collect.records import DeviceFacts, DeviceSnapshot, InterfaceFacts
from netwarden.context import Context
from netwarden.discover import sync
from netwarden.inventory import porting, service
from netwarden.monitor import metrics, sla

pytestmark = pytest.mark.lab
ACTOR = cli_actor()


@pytest.fixture(scope="module")
def store(lab_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Context:
    """The lab's credentials, and h1/h2 as the inventory would have them after discovery."""
    ctx = Context.create(data_dir=tmp_path_factory.mktemp("sla"))
    with ctx.db() as db:
        porting.import_inventory(db, ACTOR, ctx.vault, porting.load_document(Path(lab_session.state.credentials_file)))
        for name in ("h1", "h2"):
            node = lab_session.node(name)
            interfaces = [
                InterfaceFacts(name=i.name, addresses=[str(i.address)]) for i in node.ifaces if i.address is not None
            ]
            snap = DeviceSnapshot(
                target=str(node.mgmt_ip), facts=DeviceFacts(hostname=name, platform="linux"), interfaces=interfaces
            )
            sync.upsert_snapshot(db, ACTOR, snap, site="lab")
    return ctx


def ssh_credential(store: Context) -> str:
    with store.db() as db:
        return next(c.name for c in service.list_credentials(db, ACTOR).items if c.kind == "ssh")


def test_loss_on_the_path_shows_and_degrades_mos(store: Context, lab: Any) -> None:
    cred = ssh_credential(store)
    clean = asyncio.run(sla.probe(store, ACTOR, "h1", "h2", cred, count=20))
    assert clean.loss_pct == 0 and clean.mos > 4.0, clean
    lab.fault("netem", "r5", "h2", loss=30.0)
    lossy = asyncio.run(sla.probe(store, ACTOR, "h1", "h2", cred, count=40))
    assert lossy.loss_pct > 5, lossy
    assert lossy.mos < clean.mos - 0.5, (clean, lossy)
    with store.db() as db:
        latest = {(v.metric, v.instance) for v in metrics.latest(db, "h1")}
    assert ("sla_mos", "h2") in latest and ("sla_loss_pct", "h2") in latest
