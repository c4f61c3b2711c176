"""Running detections over the log store: read the events, the change windows and the inventory,
run the engine, record detections and incidents.

The knowledge the rules use comes through other packages' service functions: maintenance windows
from :mod:`netwarden.alerts.service`, devices, sites, addresses and MAC addresses from the inventory.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session

from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.config import Settings
from netwarden.context import Context
from netwarden.security import correlate
from netwarden.security.detect.context import ChangeWindow, DetectContext, normalise_mac
from netwarden.security.detect.engine import Engine
from netwarden.security.detect.model import Detection
from netwarden.security.detect.schemas import DetectionOut, DetectResult
from netwarden.security.logs.model import LogEvent

__all__ = ["MAX_EVENTS", "change_windows", "detect", "inventory_view"]

log = logging.getLogger(__name__)
# Events read per run (about 700 bytes each in memory): a busier period is read from its newest event
# back to this many and reported truncated; 'serve' and scripts run detections over short periods.
MAX_EVENTS = 500_000
_PAGE = 1000


def inventory_view(db: Session, actor: Actor) -> tuple[correlate.Assets, set[str], dict[str, str]]:
    """Assets by address and name, known MAC addresses, device -> site; from the inventory service."""
    from netwarden.inventory import service as inventory

    assets = correlate.Assets()
    macs: set[str] = set()
    site_of: dict[str, str] = {}
    devices = {}
    for offset in range(0, 10_000_000, _PAGE):  # bounded paging
        page = inventory.list_devices(db, actor, limit=_PAGE, offset=offset)
        for dev in page.items:
            devices[dev.name] = dev
            site_of[dev.name] = dev.site
        if offset + _PAGE >= page.total:
            break
    addresses: dict[str, list[str]] = {}
    for offset in range(0, 100_000_000, _PAGE):
        ipage = inventory.list_interfaces(db, actor, limit=_PAGE, offset=offset)
        for iface in ipage.items:
            addresses.setdefault(iface.device, []).extend(iface.addresses)
            if iface.mac and (mac := normalise_mac(iface.mac)):
                macs.add(mac)
        if offset + _PAGE >= ipage.total:
            break
    for name, dev in devices.items():  # interface addresses first: an attack reaches the data plane
        assets.add(name, dev.site, dev.role, [*addresses.get(name, []), *([dev.mgmt_ip] if dev.mgmt_ip else [])])
    return assets, macs, site_of


def change_windows(db: Session, actor: Actor) -> list[ChangeWindow]:
    """Every maintenance window, past ones included (an old change is judged by the windows of its time)."""
    from netwarden.alerts import service as alerts

    return [
        ChangeWindow(w.id, w.scope, w.pattern, w.starts_at, w.ends_at, w.reason)
        for w in alerts.list_windows(db, actor, include_past=True)
    ]


def detect(
    db: Session,
    actor: Actor,
    settings: Settings,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    events: Sequence[LogEvent] | None = None,
    save: bool = True,
    engine: Engine | None = None,
) -> DetectResult:
    """Run every enabled rule over the stored events of ``[since, until)`` (or over ``events``).

    With ``save``, detections are recorded (a detection continuing a recorded one updates it) and
    correlated into incidents; without, nothing is written and no incident is made.
    """
    require(actor, Role.operator if save else Role.viewer, "run detections")
    engine = engine or Engine.from_settings(settings)
    truncated = False
    if events is None:
        from netwarden.security.logs.store import query_events

        read = query_events(db, since=since, until=until, limit=MAX_EVENTS + 1, newest_first=True)
        truncated = len(read) > MAX_EVENTS
        if truncated:
            log.warning("detection period holds more than %d events; the oldest are not read", MAX_EVENTS)
        events = read[:MAX_EVENTS][::-1]
    assets, macs, site_of = inventory_view(db, actor)
    ctx = DetectContext(
        windows=change_windows(db, actor),
        site_of=site_of,
        known_macs=macs if assets.by_name else None,
        since=since,
    )
    run = engine.run(events, ctx)
    result = DetectResult(
        events=run.events,
        truncated=truncated,
        detections=[],
        sigma=run.sigma.public() if run.sigma else None,
        failed=run.failed,
    )
    if not save:
        result.detections = [_unsaved(d) for d in run.detections]
        return result
    recorded = correlate.record(
        db, actor, run.detections, events, assets, correlate.correlation_window(engine.overrides)
    )
    result.detections = [correlate.detection_out(row) for _, row in recorded.detections]
    result.new, result.updated, result.incidents = recorded.new, recorded.updated, recorded.incidents
    return result


def _unsaved(d: Detection) -> DetectionOut:
    return DetectionOut.model_validate({**d.public(), "first": d.first, "last": d.last})


DETECT_EVERY = 60.0  # seconds between two detection runs inside serve
DETECT_LOOKBACK = dt.timedelta(minutes=30)  # each run reads this much of the log store (runs overlap)


async def detection_loop(ctx: Context, actor: Actor, interval: float = DETECT_EVERY) -> None:
    """Inside ``serve``: detect and correlate over the last half hour of stored events, every minute.

    Runs overlap on purpose: a detection still growing is updated, not recorded twice (correlate.record).
    A failed run is logged; the loop goes on.
    """
    import asyncio

    def once() -> DetectResult:
        with ctx.db() as db:
            return detect(db, actor, ctx.settings, since=dt.datetime.now(dt.UTC) - DETECT_LOOKBACK)

    while True:
        await asyncio.sleep(interval)
        try:
            result = await asyncio.to_thread(once)
            if result.new or result.incidents:
                log.info("detections new=%s updated=%s incidents=%s", result.new, result.updated, result.incidents)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the next run tries again
            log.warning("detection run failed error=%r", str(exc))
