"""Polls: availability over ICMP, interfaces and system health over SNMP, turned into points and events.

A :class:`Poller` keeps what the previous round saw of each device (counter readings, uptime,
interface and device state), so that a round yields *rates* and *changes*:

- points (:class:`~netwarden.monitor.records.Point`): ``rtt_ms``, ``loss_pct``, ``up`` per device;
  ``if_in_bps``, ``if_out_bps``, ``if_util_pct``, ``if_in_errors_ps``, ``if_out_errors_ps``,
  ``if_in_discards_ps``, ``if_out_discards_ps``, ``if_oper_up`` per interface; ``cpu_pct``,
  ``mem_used_pct``, ``uptime_seconds``, ``snmp_ms`` per device; ``temperature_c`` per sensor where
  ENTITY-SENSOR-MIB or LM-SENSORS-MIB answers;
- events (:class:`~netwarden.alerts.events.Event`) on a change only: ``device_down``/``device_up``
  (ICMP), ``interface_down``/``interface_up`` (admin up, oper down), ``reboot`` (uptime fell).

A reading that cannot give an honest rate (counter reset, clock step, absurd value) is skipped and
counted in :attr:`PollOutcome.skipped` with its reason; it never becomes a spike on a graph.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from netwarden.alerts.events import Event
from netwarden.collect import icmp, snmp
from netwarden.collect._ber import Value
from netwarden.collect.records import TargetResult
from netwarden.monitor.counters import rate, utilisation
from netwarden.monitor.records import Point

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
_IF = "1.3.6.1.2.1.2.2.1."
_IFX = "1.3.6.1.2.1.31.1.1.1."
COLUMNS = {
    "descr": _IF + "2",
    "admin": _IF + "7",
    "oper": _IF + "8",
    "in_discards": _IF + "13",
    "in_errors": _IF + "14",
    "out_discards": _IF + "19",
    "out_errors": _IF + "20",
    "in_octets32": _IF + "10",
    "out_octets32": _IF + "16",
    "name": _IFX + "1",
    "in_octets": _IFX + "6",
    "out_octets": _IFX + "10",
    "high_speed": _IFX + "15",
    "cpu": "1.3.6.1.2.1.25.3.3.1.2",
    "stor_type": "1.3.6.1.2.1.25.2.3.1.2",
    "stor_units": "1.3.6.1.2.1.25.2.3.1.4",
    "stor_size": "1.3.6.1.2.1.25.2.3.1.5",
    "stor_used": "1.3.6.1.2.1.25.2.3.1.6",
    # ENTITY-SENSOR-MIB (RFC 3433) entPhySensorType, Scale, Precision, Value, OperStatus
    "sensor_type": "1.3.6.1.2.1.99.1.1.1.1",
    "sensor_scale": "1.3.6.1.2.1.99.1.1.1.2",
    "sensor_precision": "1.3.6.1.2.1.99.1.1.1.3",
    "sensor_value": "1.3.6.1.2.1.99.1.1.1.4",
    "sensor_status": "1.3.6.1.2.1.99.1.1.1.5",
    # LM-SENSORS-MIB (net-snmp on Linux) lmTempSensorsDevice, lmTempSensorsValue (thousandths of a degree)
    "lm_temp_name": "1.3.6.1.4.1.2021.13.16.2.1.2",
    "lm_temp_value": "1.3.6.1.4.1.2021.13.16.2.1.3",
}
SENSOR_CELSIUS = 8  # EntitySensorDataType celsius(8)
SENSOR_OK = 1  # EntitySensorStatus ok(1)
HR_STORAGE_RAM = "1.3.6.1.2.1.25.2.1.2"
_ERROR_COUNTERS = ("in_errors", "out_errors", "in_discards", "out_discards")


@dataclass(frozen=True)
class Target:
    """A device to poll, as the inventory knows it."""

    name: str
    address: str
    snmp: snmp.Auth | None = None
    snmp_port: int = 161


@dataclass
class IfReading:
    name: str
    admin_up: bool
    oper_up: bool
    speed_bps: int | None
    in_octets: int | None
    out_octets: int | None
    bits: int  # 64 for HC counters, 32 for the ifTable fallback
    errors: dict[str, int]
    # ifOperStatus down(2) or lowerLayerDown(7); unknown(4) and dormant(5), which tunnels and idle
    # ports report, are not failures.
    oper_down: bool = False


@dataclass
class SnmpReading:
    ts: float
    uptime: float | None
    interfaces: dict[str, IfReading]
    cpu_pct: float | None
    mem_used_pct: float | None
    response_ms: float
    temperatures: dict[str, float] = field(default_factory=dict)  # sensor -> degrees Celsius


@dataclass
class PollOutcome:
    """One device's share of a round."""

    device: str
    points: list[Point] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    failed: str | None = None  # why the SNMP part failed, when it did
    skipped: Counter[str] = field(default_factory=Counter)  # readings refused, by reason


R = TypeVar("R")


async def observe_each(
    targets: Sequence[Target],
    read: Callable[[Target], Awaitable[TargetResult[R]]],
    observe: Callable[[str, R], PollOutcome],
    concurrency: int,
) -> list[PollOutcome]:
    """Read every target (at most ``concurrency`` at once) and turn each reading into an outcome.

    A failed read is an outcome of its own, with the reason in ``failed`` and nothing observed.
    """
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(target: Target) -> PollOutcome:
        async with limit:
            got = await read(target)
        if not got.ok or got.value is None:
            failed = PollOutcome(target.name)
            failed.failed = got.describe()
            return failed
        return observe(target.name, got.value)

    return list(await asyncio.gather(*(one(t) for t in targets)))


# ---------------------------------------------------------------- SNMP reading


async def read_snmp(target: Target, *, timeout: float = 2.0, retries: int = 1) -> TargetResult[SnmpReading]:
    """One SNMP reading of a device: uptime, interface counters and state, CPU and memory."""
    assert target.snmp is not None

    async def read(session: snmp.Session) -> SnmpReading:
        started = time.perf_counter()
        uptime_vb = await session.get([SYS_UPTIME])
        columns = await session.walk_columns(list(COLUMNS.values()))
        ts = time.time()
        by_key = {key: columns[oid] for key, oid in COLUMNS.items()}
        uptime = uptime_vb[0][1] if uptime_vb else None
        return SnmpReading(
            ts=ts,
            uptime=uptime / 100 if isinstance(uptime, int) else None,
            interfaces=_interfaces(by_key),
            cpu_pct=_cpu(by_key["cpu"]),
            mem_used_pct=_memory(by_key),
            temperatures=temperatures(by_key),
            response_ms=(time.perf_counter() - started) * 1000,
        )

    return await snmp.collect(
        target.address, target.snmp, read, port=target.snmp_port, timeout=timeout, retries=retries
    )


def _int(value: Value | None) -> int | None:
    return value if isinstance(value, int) else None


def _interfaces(cols: dict[str, dict[str, Value]]) -> dict[str, IfReading]:
    out: dict[str, IfReading] = {}
    for index, descr in cols["descr"].items():
        raw_name = cols["name"].get(index) or descr
        name = raw_name.decode("utf-8", "replace") if isinstance(raw_name, bytes) else str(raw_name)
        hc_in, hc_out = _int(cols["in_octets"].get(index)), _int(cols["out_octets"].get(index))
        hc = hc_in is not None and hc_out is not None
        high = _int(cols["high_speed"].get(index))
        out[name] = IfReading(
            name=name,
            admin_up=_int(cols["admin"].get(index)) == 1,
            oper_up=_int(cols["oper"].get(index)) == 1,
            oper_down=_int(cols["oper"].get(index)) in (2, 7),
            speed_bps=high * 1_000_000 if high else None,
            in_octets=hc_in if hc else _int(cols["in_octets32"].get(index)),
            out_octets=hc_out if hc else _int(cols["out_octets32"].get(index)),
            bits=64 if hc else 32,
            errors={k: v for k in _ERROR_COUNTERS if (v := _int(cols[k].get(index))) is not None},
        )
    return out


def temperatures(cols: dict[str, dict[str, Value]]) -> dict[str, float]:
    """Degrees Celsius by sensor: ENTITY-SENSOR-MIB celsius sensors that are ok, and LM-SENSORS-MIB.

    ENTITY-SENSOR values are ``value x 10^(3 x (scale - 9)) / 10^precision`` (scale units(9) = 1).
    Readings outside -60..200 °C are taken as absurd and left out.
    """
    out: dict[str, float] = {}
    for index, kind in cols.get("sensor_type", {}).items():
        value, scale = _int(cols["sensor_value"].get(index)), _int(cols["sensor_scale"].get(index))
        precision, status = _int(cols["sensor_precision"].get(index)), _int(cols["sensor_status"].get(index))
        if kind != SENSOR_CELSIUS or value is None or status not in (None, SENSOR_OK):
            continue
        celsius = value * 10.0 ** (3 * ((scale or 9) - 9)) / 10.0 ** (precision or 0)
        if -60 <= celsius <= 200:
            out[f"sensor{index}"] = round(celsius, 3)
    for index, raw in cols.get("lm_temp_value", {}).items():
        value = _int(raw)
        name = cols["lm_temp_name"].get(index)
        label = name.decode("utf-8", "replace") if isinstance(name, bytes) else f"lm{index}"
        if value is not None and -60 <= value / 1000 <= 200:
            out[label] = value / 1000
    return out


def _cpu(loads: dict[str, Value]) -> float | None:
    values = [v for v in loads.values() if isinstance(v, int) and 0 <= v <= 100]
    return sum(values) / len(values) if values else None


def _memory(cols: dict[str, dict[str, Value]]) -> float | None:
    for index, kind in cols["stor_type"].items():
        if kind != HR_STORAGE_RAM:
            continue
        size, used = _int(cols["stor_size"].get(index)), _int(cols["stor_used"].get(index))
        if size and used is not None and 0 <= used <= size:
            return 100.0 * used / size
    return None


# ---------------------------------------------------------------- the poller


class Poller:
    """Turns readings into points and change events; remembers what it saw last round."""

    def __init__(self) -> None:
        self.readings: dict[str, SnmpReading] = {}
        self.device_up: dict[str, bool] = {}
        self.if_down: dict[tuple[str, str], bool] = {}

    def availability(self, target: Target, stats: icmp.PingStats, ts: float) -> PollOutcome:
        """Points and device up/down events from one ICMP check."""
        out = PollOutcome(target.name)
        up = stats.received > 0
        out.points.append(Point(target.name, "up", "", ts, 1.0 if up else 0.0))
        out.points.append(Point(target.name, "loss_pct", "", ts, float(stats.loss)))
        if stats.rtt_avg is not None:
            out.points.append(Point(target.name, "rtt_ms", "", ts, stats.rtt_avg * 1000))
        if stats.jitter is not None:
            out.points.append(Point(target.name, "jitter_ms", "", ts, stats.jitter * 1000))
        before = self.device_up.get(target.name)
        self.device_up[target.name] = up
        if before is None and up:
            return out  # first sight of a healthy device: nothing changed
        if before != up:
            kind = "device_up" if up else "device_down"
            summary = f"{target.name} answers ping again" if up else f"{target.name} does not answer ping"
            out.events.append(
                Event(
                    source="poll",
                    kind=kind,
                    subject=target.name,
                    device=target.name,
                    severity="critical",
                    summary=summary,
                )
            )
        return out

    def interfaces(self, target: Target, reading: SnmpReading) -> PollOutcome:
        """Points (rates, utilisation, health) and interface/reboot events from one SNMP reading."""
        out = PollOutcome(target.name)
        name, ts = target.name, reading.ts
        prev = self.readings.get(name)
        self.readings[name] = reading
        rebooted = (
            prev is not None and prev.uptime is not None and reading.uptime is not None and reading.uptime < prev.uptime
        )
        if rebooted:
            out.events.append(
                Event(
                    source="poll",
                    kind="reboot",
                    subject=name,
                    device=name,
                    severity="warning",
                    summary=f"{name} restarted (uptime {reading.uptime:.0f} s)",
                )
            )
        points = out.points
        points.append(Point(name, "snmp_ms", "", ts, reading.response_ms))
        if reading.uptime is not None:
            points.append(Point(name, "uptime_seconds", "", ts, reading.uptime))
        if reading.cpu_pct is not None:
            points.append(Point(name, "cpu_pct", "", ts, reading.cpu_pct))
        if reading.mem_used_pct is not None:
            points.append(Point(name, "mem_used_pct", "", ts, reading.mem_used_pct))
        for sensor, celsius in reading.temperatures.items():
            points.append(Point(name, "temperature_c", sensor, ts, celsius))
        for ifname, now in reading.interfaces.items():
            points.append(Point(name, "if_oper_up", ifname, ts, 1.0 if now.oper_up else 0.0))
            self._interface_event(out, target, now)
            before = prev.interfaces.get(ifname) if prev is not None else None
            if before is None:
                continue
            self._rates(out, name, ifname, before, now, prev.ts if prev else ts, ts, rebooted)
        return out

    def _interface_event(self, out: PollOutcome, target: Target, now: IfReading) -> None:
        """interface_down when a port in service (admin up, or up when last seen) goes down; up when back.

        A port that was already shut when first seen is not in service and never alerts; one that
        was up and is then shut (by a person or a fault) does, since it carried traffic a moment ago.
        """
        key = (target.name, now.name)
        before = self.if_down.get(key)
        in_service = now.admin_up or before is not None
        down = now.oper_down and in_service
        if not in_service:
            self.if_down.pop(key, None)
            return
        self.if_down[key] = down
        if (before is None and not down) or before == down:
            return
        subject = f"{target.name}:{now.name}"
        why = "admin up" if now.admin_up else "shut down"
        out.events.append(
            Event(
                source="poll",
                kind="interface_down" if down else "interface_up",
                subject=subject,
                device=target.name,
                severity="major",
                summary=f"{subject} is {'down' if down else 'up again'} ({why})",
            )
        )

    @staticmethod
    def _rates(
        out: PollOutcome,
        device: str,
        ifname: str,
        before: IfReading,
        now: IfReading,
        before_ts: float,
        ts: float,
        rebooted: bool,
    ) -> None:
        # A rate above twice the line rate is a broken reading, not traffic.
        ceiling = now.speed_bps * 2 / 8 if now.speed_bps else None
        totals: dict[str, float] = {}
        for direction, old, new in (
            ("in", before.in_octets, now.in_octets),
            ("out", before.out_octets, now.out_octets),
        ):
            if old is None or new is None:
                continue
            wide = now.bits == 64 and before.bits == 64
            got = rate(old, before_ts, new, ts, bits=64 if wide else 32, rebooted=rebooted, ceiling=ceiling)
            if got.value is None:
                out.skipped[got.reason or "unknown"] += 1
                continue
            bps = got.value * 8
            totals[direction] = bps
            out.points.append(Point(device, f"if_{direction}_bps", ifname, ts, bps))
        if totals:
            pct = utilisation(max(totals.values()), now.speed_bps)
            if pct is not None:
                out.points.append(Point(device, "if_util_pct", ifname, ts, pct))
        for counter in _ERROR_COUNTERS:
            old_count, new_count = before.errors.get(counter), now.errors.get(counter)
            if old_count is None or new_count is None:
                continue
            got = rate(old_count, before_ts, new_count, ts, bits=32, rebooted=rebooted)
            if got.value is None:
                out.skipped[got.reason or "unknown"] += 1
                continue
            out.points.append(Point(device, f"if_{counter}_ps", ifname, ts, got.value))


async def poll_round(
    poller: Poller,
    targets: list[Target],
    *,
    snmp_timeout: float = 2.0,
    snmp_retries: int = 1,
    ping_count: int = 3,
    concurrency: int = 256,
    ping: bool = True,
) -> list[PollOutcome]:
    """One round over ``targets``: ICMP availability (when ``ping``), then SNMP for those with credentials.

    Every device has its own timeout; a slow or dead one never delays the others beyond it. A device
    the last ping found down is not asked over SNMP (it would only time out).
    """
    ts = time.time()
    by_address = {t.address: t for t in targets}
    results = await icmp.ping(list(by_address), count=ping_count, interval=0.05, timeout=1.0) if ping else []
    outcomes: dict[str, PollOutcome] = {}
    for result in results:
        target = by_address.get(result.target)
        if target is None or result.value is None:
            continue
        outcomes[target.name] = poller.availability(target, result.value, ts)
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(target: Target) -> None:
        async with limit:
            got = await read_snmp(target, timeout=snmp_timeout, retries=snmp_retries)
        outcome = outcomes.setdefault(target.name, PollOutcome(target.name))
        if not got.ok or got.value is None:
            outcome.failed = got.describe()
            return
        polled = poller.interfaces(target, got.value)
        outcome.points += polled.points
        outcome.events += polled.events
        outcome.skipped += polled.skipped

    await asyncio.gather(*(one(t) for t in targets if t.snmp is not None and poller.device_up.get(t.name, True)))
    return [outcomes[t.name] for t in targets if t.name in outcomes]
