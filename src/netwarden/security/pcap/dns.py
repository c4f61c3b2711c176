"""DNS in a capture: each query with its answer (or none), failures named as an operator names them.

Messages are decoded with dpkt (UDP payloads, and TCP payloads after the RFC 1035 two-byte length, buffered
per direction). A query is matched to its response by client, server, ports and message id. The outcome of a
query is ``ok`` (answers), ``no-answer`` (NOERROR without answer records: the name exists but not that type),
``nxdomain``, ``servfail``, ``refused``, another RCODE in lower case, or ``unanswered`` (no response in the
capture). A payload dpkt cannot decode is counted in ``malformed``.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from struct import error as struct_error
from typing import Any, Final

__all__ = ["DnsRecord", "DnsTracker"]

MAX_RECORDS: Final = 10000  # queries kept in detail; counters go on past it
MAX_TCP_BUFFER: Final = 65536 + 2
RCODES: Final = {
    0: "NOERROR",
    1: "FORMERR",
    2: "SERVFAIL",
    3: "NXDOMAIN",
    4: "NOTIMP",
    5: "REFUSED",
    6: "YXDOMAIN",
    7: "YXRRSET",
    8: "NXRRSET",
    9: "NOTAUTH",
    10: "NOTZONE",
}
QTYPES: Final = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    12: "PTR",
    15: "MX",
    16: "TXT",
    28: "AAAA",
    33: "SRV",
    35: "NAPTR",
    41: "OPT",
    43: "DS",
    46: "RRSIG",
    48: "DNSKEY",
    64: "SVCB",
    65: "HTTPS",
    255: "ANY",
}


@dataclass
class DnsRecord:
    """One query and what became of it."""

    time: int  # ns
    client: str
    client_port: int
    server: str
    server_port: int
    transport: str
    id: int
    query: str
    qtype: str
    status: str = "unanswered"
    rcode: str | None = None
    answers: list[str] = field(default_factory=list)
    rtt_ns: int | None = None


def _ip(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def _answer(rr: Any) -> str:
    kind = QTYPES.get(rr.type, str(rr.type))
    try:
        if rr.type == 1:
            value = socket.inet_ntop(socket.AF_INET, rr.ip)
        elif rr.type == 28:
            value = socket.inet_ntop(socket.AF_INET6, rr.ip6)
        elif rr.type == 5:
            value = rr.cname
        elif rr.type == 12:
            value = rr.ptrname
        elif rr.type == 15:
            value = rr.mxname
        elif rr.type == 2:
            value = rr.nsname
        elif rr.type == 16:
            value = " ".join(t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t) for t in rr.text)
        else:
            value = rr.rdata.hex() if isinstance(rr.rdata, bytes) else str(rr.rdata)
    except (AttributeError, ValueError, OSError):
        value = "?"
    return f"{kind} {value}"


class DnsTracker:
    """Collects DNS queries and responses fed to :meth:`packet`."""

    def __init__(self) -> None:
        self.records: list[DnsRecord] = []
        self.queries = 0
        self.responses = 0
        self.unmatched_responses = 0
        self.malformed = 0
        self.dropped = 0  # queries past MAX_RECORDS (counted, not kept)
        self.status: dict[str, int] = {}
        self._pending: dict[tuple[bytes, int, bytes, int, int], DnsRecord] = {}
        self._tcp: dict[tuple[bytes, int, bytes, int], bytearray] = {}

    def packet(self, ts: int, src: bytes, sport: int, dst: bytes, dport: int, payload: bytes, over_tcp: bool) -> None:
        """One UDP payload, or the payload of one TCP segment (buffered per direction for the length framing)."""
        if not over_tcp:
            self._message(ts, src, sport, dst, dport, payload, "udp")
            return
        buf = self._tcp.setdefault((src, sport, dst, dport), bytearray())
        buf += payload
        for _ in range(64):  # messages in this segment, bounded
            if len(buf) < 2:
                break
            size = int.from_bytes(buf[:2], "big")
            if len(buf) < 2 + size:
                break
            self._message(ts, src, sport, dst, dport, bytes(buf[2 : 2 + size]), "tcp")
            del buf[: 2 + size]
        if len(buf) > MAX_TCP_BUFFER:
            buf.clear()
            self.malformed += 1

    def _message(self, ts: int, src: bytes, sport: int, dst: bytes, dport: int, data: bytes, transport: str) -> None:
        import dpkt  # type: ignore[import-untyped]  # here: most captures need no DNS decoder (0.04 s to load)

        try:
            msg = dpkt.dns.DNS(data)
        except (dpkt.UnpackError, IndexError, ValueError, struct_error):
            self.malformed += 1
            return
        if not msg.qr:  # a query
            key = (src, sport, dst, dport, msg.id)
            if key in self._pending:
                return  # a retransmitted query
            self.queries += 1
            question = msg.qd[0] if msg.qd else None
            rec = DnsRecord(
                ts,
                _ip(src),
                sport,
                _ip(dst),
                dport,
                transport,
                msg.id,
                question.name if question is not None else "",
                QTYPES.get(question.type, str(question.type)) if question is not None else "",
            )
            self._pending[key] = rec
            if len(self.records) < MAX_RECORDS:
                self.records.append(rec)
            else:
                self.dropped += 1
            return
        self.responses += 1
        rec_or_none = self._pending.pop((dst, dport, src, sport, msg.id), None)
        if rec_or_none is None:
            self.unmatched_responses += 1
            return
        rec = rec_or_none
        rcode = RCODES.get(msg.rcode, str(msg.rcode))
        rec.rcode = rcode
        rec.rtt_ns = ts - rec.time
        rec.answers = [_answer(rr) for rr in msg.an]
        if rcode == "NOERROR":
            rec.status = "ok" if msg.an else "no-answer"
        else:
            rec.status = rcode.lower()

    def finish(self) -> None:
        """Count outcomes (call once, after the last packet)."""
        self.status = {}
        for rec in self.records:
            self.status[rec.status] = self.status.get(rec.status, 0) + 1
        if self.dropped:
            self.status["not-kept"] = self.dropped
