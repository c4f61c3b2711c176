"""RTP streams in a capture: packets, loss, jitter (RFC 3550) and a MOS estimate from netwarden's E-model.

A UDP datagram between two ports at or above 1024 whose first byte says RTP version 2 (and whose payload type
is not RTCP's) is a candidate; candidates are grouped by direction and SSRC. A group is reported as a stream
when it has at least :data:`MIN_PACKETS` packets and most sequence numbers follow their predecessor, which
keeps random UDP traffic that happens to start with 0x80 out.

- loss: expected packets (highest extended sequence number - first + 1) minus received, in percent;
- jitter: RFC 3550 section 6.4.1 interarrival jitter, in ms. The RTP clock rate comes from the static payload
  type (RFC 3551) or, for dynamic types, from the stream itself (RTP timestamp advance over arrival time,
  rounded to the nearest common rate);
- MOS: :func:`netwarden.monitor.sla.r_factor` and :func:`~netwarden.monitor.sla.mos` (ITU-T G.107) with the
  stream's loss and jitter; a one-way capture cannot see the round trip, so network delay is taken as zero
  and the MOS is an upper bound for that path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from netwarden.monitor.sla import Codec

__all__ = ["MIN_PACKETS", "RtpStream", "RtpTracker"]

MIN_PACKETS: Final = 10
MAX_STREAMS: Final = 10000
_CLOCK_SAMPLE: Final = 32  # packets buffered to learn a dynamic payload type's clock
STATIC_CLOCK: Final = {0: 8000, 3: 8000, 4: 8000, 5: 8000, 6: 16000, 7: 8000, 8: 8000, 9: 8000, 10: 44100}
STATIC_CLOCK_MORE: Final = {11: 44100, 12: 8000, 13: 8000, 14: 90000, 15: 8000, 16: 11025, 17: 22050, 18: 8000}
CLOCKS: Final = (8000, 16000, 22050, 32000, 44100, 48000, 90000)
PAYLOAD_NAMES: Final = {0: "PCMU", 3: "GSM", 4: "G723", 8: "PCMA", 9: "G722", 18: "G729", 13: "CN"}
CODECS: Final[dict[int, Codec]] = {0: "g711", 8: "g711", 18: "g729a"}


@dataclass
class RtpStream:
    src: bytes
    sport: int
    dst: bytes
    dport: int
    ssrc: int
    payload_type: int
    first: int  # ns
    last: int
    packets: int = 0
    bytes: int = 0
    base_seq: int = 0
    max_seq: int = 0  # extended (with wrap-arounds)
    in_order: int = 0  # packets whose sequence number is the previous one + 1
    clock: int = 0
    jitter: float = 0.0  # in seconds
    _prev_arrival: int = 0
    _prev_rtp: int = 0
    _sample: list[tuple[int, int]] = field(default_factory=list)

    def loss_pct(self) -> float:
        expected = self.max_seq - self.base_seq + 1
        lost = max(0, expected - self.packets)
        return 100.0 * lost / expected if expected > 0 else 0.0

    def lost(self) -> int:
        return max(0, self.max_seq - self.base_seq + 1 - self.packets)

    def is_rtp(self) -> bool:
        return self.packets >= MIN_PACKETS and self.in_order >= 0.8 * (self.packets - 1)

    def mos(self) -> tuple[float, float]:
        """(R factor, MOS) for this stream's loss and jitter."""
        # Imported here: the monitor package pulls in the store, which a capture analysis does not need.
        from netwarden.monitor.sla import mos, r_factor

        codec = CODECS.get(self.payload_type, "g711")
        r = r_factor(0.0, self.jitter * 1000, self.loss_pct(), codec)
        return r, mos(r)


class RtpTracker:
    """Groups RTP candidates into streams."""

    def __init__(self) -> None:
        self._streams: dict[tuple[bytes, int, bytes, int, int], RtpStream] = {}

    def packet(self, ts: int, src: bytes, sport: int, dst: bytes, dport: int, payload: bytes) -> None:
        if len(payload) < 12 or payload[0] >> 6 != 2 or sport < 1024 or dport < 1024:
            return
        pt = payload[1] & 0x7F
        if 72 <= pt <= 76:  # RTCP (packet types 200-204 read as marker + payload type)
            return
        seq = payload[2] << 8 | payload[3]
        rtp_ts = int.from_bytes(payload[4:8], "big")
        ssrc = int.from_bytes(payload[8:12], "big")
        key = (src, sport, dst, dport, ssrc)
        stream = self._streams.get(key)
        if stream is None:
            if len(self._streams) >= MAX_STREAMS:
                return
            stream = RtpStream(src, sport, dst, dport, ssrc, pt, ts, ts, base_seq=seq, max_seq=seq)
            stream.clock = STATIC_CLOCK.get(pt) or STATIC_CLOCK_MORE.get(pt, 0)
            self._streams[key] = stream
        else:
            step = (seq - stream.max_seq) & 0xFFFF
            if step == 1:
                stream.in_order += 1
            if 0 < step < 0x8000:  # forward (allowing gaps); wrap-around extends the sequence
                stream.max_seq += step
        stream.packets += 1
        stream.bytes += len(payload)
        stream.last = ts
        if stream.clock:
            self._jitter(stream, ts, rtp_ts)
        else:
            stream._sample.append((ts, rtp_ts))
            if len(stream._sample) >= _CLOCK_SAMPLE:
                self._learn_clock(stream)

    def _jitter(self, stream: RtpStream, ts: int, rtp_ts: int) -> None:
        if stream._prev_arrival:
            ticks = (rtp_ts - stream._prev_rtp) & 0xFFFFFFFF
            if ticks >= 0x80000000:  # an earlier timestamp: a reordered packet
                ticks -= 1 << 32
            transit = (ts - stream._prev_arrival) / 1e9 - ticks / stream.clock
            stream.jitter += (abs(transit) - stream.jitter) / 16
        stream._prev_arrival, stream._prev_rtp = ts, rtp_ts

    def _learn_clock(self, stream: RtpStream) -> None:
        sample = stream._sample
        span_ns = sample[-1][0] - sample[0][0]
        ticks = (sample[-1][1] - sample[0][1]) & 0xFFFFFFFF
        rate = ticks / (span_ns / 1e9) if span_ns > 0 else 8000.0
        stream.clock = min(CLOCKS, key=lambda c: abs(c - rate))
        stream._sample = []
        for ts, rtp_ts in sample:
            self._jitter(stream, ts, rtp_ts)

    def streams(self) -> list[RtpStream]:
        """The candidate groups that look like RTP streams, in order of their first packet."""
        out = []
        for stream in self._streams.values():
            if not stream.clock and stream._sample:
                self._learn_clock(stream)
            if stream.is_rtp():
                out.append(stream)
        out.sort(key=lambda s: s.first)
        return out
