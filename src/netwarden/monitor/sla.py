"""SLA probes between chosen points: latency, jitter, loss, and for voice paths a MOS estimate.

A probe runs ``ping`` on the source device over SSH (the path a user's traffic takes starts
there, not at the netwarden server) and reads every reply's round-trip time.

**MOS from the ITU-T G.107 E-model**, in the simplified form used for network planning
(G.107 with default values for everything the network does not set, as in G.108 and Cole &
Rosenbluth, "Voice over IP performance monitoring", 2001):

    d        = RTT/2 + 2 x jitter + codec delay         one-way mouth-to-ear delay in ms
                                                        (jitter buffer of twice the jitter)
    Id       = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)  delay impairment; H(x) = 1 if x > 0 else 0
    Ie_eff   = Ie + (95 - Ie) x Ppl / (Ppl + Bpl)       equipment impairment with random loss Ppl (%)
    R        = 93.2 - Id - Ie_eff                       clamped to 0..100
    MOS      = 1 + 0.035 R + 7e-6 R (R - 60) (100 - R)  (at least 1.0; 4.5 for R >= 100)

Codec constants (G.113 Appendix I): G.711 Ie 0, Bpl 4.3 (25.1 with packet-loss concealment),
codec delay 0.125 ms frame + 10 ms packetisation; G.729a Ie 11, Bpl 19, delay 25 ms.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel
from sqlalchemy.orm import Session

from netwarden.access.schemas import Actor
from netwarden.context import Context
from netwarden.errors import InvalidInput, NetwardenError
from netwarden.monitor.records import Point

Codec = Literal["g711", "g711-plc", "g729a"]


@dataclass(frozen=True)
class CodecSpec:
    ie: float
    bpl: float
    delay_ms: float


CODECS: dict[str, CodecSpec] = {
    "g711": CodecSpec(0.0, 4.3, 10.125),
    "g711-plc": CodecSpec(0.0, 25.1, 10.125),
    "g729a": CodecSpec(11.0, 19.0, 25.0),
}
PING_COMMANDS = {
    "linux": "ping -n -c {count} -i 0.2 -W 1 {ip}",
    "frr": "ping {ip}",  # vtysh runs the system ping with its defaults (5 requests)
}
_TIME = re.compile(r"icmp_seq=(\d+).*?time[=<]([\d.]+)\s*ms")
_SENT = re.compile(r"(\d+) packets transmitted")


class SlaProbeFailed(NetwardenError):
    status_code = 502


def r_factor(rtt_ms: float, jitter_ms: float, loss_pct: float, codec: Codec = "g711") -> float:
    """The E-model transmission rating R (0..100) for a path with these figures."""
    spec = CODECS[codec]
    d = rtt_ms / 2 + 2 * jitter_ms + spec.delay_ms
    delay_impairment = 0.024 * d + (0.11 * (d - 177.3) if d > 177.3 else 0.0)
    loss = max(0.0, min(100.0, loss_pct))
    equipment = spec.ie + (95 - spec.ie) * loss / (loss + spec.bpl)
    return max(0.0, min(100.0, 93.2 - delay_impairment - equipment))


def mos(r: float) -> float:
    """Mean opinion score (1..4.5) from R."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    # The cubic dips below 1 for R under about 6.5; G.107 floors MOS at 1.
    return max(1.0, 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r))


class SlaResult(BaseModel):
    """What ``netwarden sla probe --json`` prints."""

    source: str
    destination: str
    sent: int
    received: int
    loss_pct: float
    rtt_avg_ms: float | None
    jitter_ms: float | None
    r_factor: float
    mos: float
    codec: str

    def points(self, ts: float) -> list[Point]:
        out = [Point(self.source, "sla_loss_pct", self.destination, ts, self.loss_pct)]
        out.append(Point(self.source, "sla_mos", self.destination, ts, self.mos))
        if self.rtt_avg_ms is not None:
            out.append(Point(self.source, "sla_rtt_ms", self.destination, ts, self.rtt_avg_ms))
        if self.jitter_ms is not None:
            out.append(Point(self.source, "sla_jitter_ms", self.destination, ts, self.jitter_ms))
        return out


def from_ping_output(text: str, source: str, destination: str, codec: Codec = "g711") -> SlaResult:
    """Read iputils/BusyBox ping output: each reply's time, and how many requests were sent."""
    replies: dict[int, float] = {}
    for seq, ms in _TIME.findall(text):
        replies.setdefault(int(seq), float(ms))
    sent_match = _SENT.search(text)
    if sent_match is None:
        raise SlaProbeFailed(f"no ping summary in the output of {source} (did ping run?)")
    sent = int(sent_match.group(1))
    if sent <= 0:
        raise SlaProbeFailed(f"ping on {source} sent nothing")
    rtts = [replies[k] for k in sorted(replies)]
    loss = 100.0 * (sent - len(rtts)) / sent
    avg = sum(rtts) / len(rtts) if rtts else None
    jitter = sum(abs(a - b) for a, b in itertools.pairwise(rtts)) / (len(rtts) - 1) if len(rtts) > 1 else None
    r = r_factor(avg if avg is not None else 0.0, jitter or 0.0, loss, codec) if rtts else 0.0
    return SlaResult(
        source=source,
        destination=destination,
        sent=sent,
        received=len(rtts),
        loss_pct=round(loss, 2),
        rtt_avg_ms=round(avg, 3) if avg is not None else None,
        jitter_ms=round(jitter, 3) if jitter is not None else None,
        r_factor=round(r, 2),
        mos=round(mos(r), 2),
        codec=codec,
    )


async def probe(
    ctx: Context,
    actor: Actor,
    source: str,
    destination: str,
    credential: str,
    *,
    count: int = 20,
    codec: Codec = "g711",
    store: bool = True,
) -> SlaResult:
    """Ping ``destination`` (address or device name) from ``source`` over SSH; store the points."""
    import time

    from netwarden.access.schemas import Role
    from netwarden.access.service import require
    from netwarden.collect import ssh
    from netwarden.inventory import service
    from netwarden.inventory.credentials import reveal_credential

    require(actor, Role.operator, "run SLA probes")
    if not 1 <= count <= 1000:
        raise InvalidInput(f"count must be 1..1000, not {count}")
    if codec not in CODECS:
        raise InvalidInput(f"unknown codec {codec!r}: use {', '.join(CODECS)}")
    with ctx.db() as db:
        src = service.get_device(db, source)
        ip = _address(db, destination)
        cred = reveal_credential(db, actor, ctx.vault, credential)
        platform, target = src.platform, src.mgmt_ip
    command = PING_COMMANDS.get(platform)
    if command is None or target is None:
        raise InvalidInput(f"cannot probe from {source}: no CLI ping for {platform} or no management IP")
    result = await ssh.run_commands(target, cred, platform, [command.format(ip=ip, count=count)], timeout=60.0)
    if not result.ok or result.value is None:
        raise SlaProbeFailed(f"ping on {source} failed: {result.describe()}")
    out = from_ping_output(next(iter(result.value.values()), ""), source, destination, codec)
    if store:
        from netwarden.monitor import metrics

        with ctx.db() as db:
            metrics.write(db, out.points(time.time()))
    return out


def _address(db: Session, destination: str) -> str:
    """An IP address as given, or a device's first data-plane address (the path traffic takes)."""
    from netwarden.discover.topology import destination_ip

    return str(destination_ip(db, destination))
