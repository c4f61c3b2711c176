"""The flow table: every packet of a capture into flows by 5-tuple, with Zeek's TCP states and TCP health.

Speed (docs/decisions/0025-pcap-analysis.md): the common packet, Ethernet/IPv4/TCP without options in the IP
header and without SYN, FIN or RST, is decoded inline by one ``struct.unpack_from`` that also cuts the flow
key (the 12 bytes of addresses and ports, used as is as the dict key) and only updates counters of its
direction. Everything else goes through :func:`.decode.decode` and the general TCP/UDP/other handlers here.
Tests run a capture both ways (``fast=False``) and compare.

A direction of a flow ("endpoint") is a list, indexed by the constants below, because list items are the
cheapest mutable fields in CPython; both directions' keys point at their own endpoint, and each endpoint
points at its peer and its flow.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any, Final, Protocol

from netwarden.security.pcap import tcpstate as ts_
from netwarden.security.pcap.decode import Packet, decode
from netwarden.security.pcap.reader import Buffer, CaptureReader, PcapFormat, Record

__all__ = ["AppSink", "FlowTable", "tcp_size"]

# Endpoint fields
PK: Final = 0  # packets
BY: Final = 1  # wire bytes
LAST: Final = 2  # time of the last packet (ns)
ST: Final = 3  # Zeek endpoint state (tcpstate)
FAST: Final = 4  # may the inline path handle this endpoint's plain segments?
NXT: Final = 5  # Zeek's last_seq: one past the highest sequence number sent
RX: Final = 6  # retransmissions (Zeek: a segment with data that does not advance last_seq)
ZW: Final = 7  # zero windows advertised
RS: Final = 8  # RST segments sent
PAY: Final = 9  # UDP and other protocols: payload bytes (TCP payload comes from the sequence space: tcp_size)
PEER: Final = 10
FLOW: Final = 11
ORIG: Final = 12  # is this the originator's direction?
START: Final = 13  # initial sequence number (Zeek's start_seq)
PREV: Final = 14  # previous state (Zeek's prev_state)
HA: Final = 15  # history has this endpoint's A (pure ACK)
HD: Final = 16  # history has this endpoint's D (data)
HK: Final = 17  # bits of the SYN/FIN/RST/multi-flag letters this endpoint already has in the history, and FIN_SEEN
_EP_SIZE: Final = 18
FIN_SEEN: Final = 32
# History letter and its kind bit by the SYN/FIN/RST/ACK bits of a segment (Zeek's update_history).
_LETTERS: Final = tuple(
    (("I", 8) if f & 1 and f & 4 else ("Q", 16))
    if bin(f & 7).count("1") > 1
    else ("H", 1)
    if f & 2 and f & 16
    else ("S", 1)
    if f & 2
    else ("F", 2)
    if f & 1
    else ("R", 4)
    if f & 4
    else None
    for f in range(32)
)
_LOG_SCALE: Final = frozenset((1, 10, 100, 1000, 10000, 100000, 1000000))  # Zeek repeats T and W so
_FAST_STATES: Final = frozenset((ts_.PARTIAL, ts_.ESTABLISHED, ts_.CLOSED))

# Flow fields
F_PROTO: Final = 0  # IP protocol number
F_ORIG: Final = 1
F_RESP: Final = 2
F_START: Final = 3
F_KEY: Final = 4  # raw key of the originator's direction: src + dst + sport + dport
F_SYN: Final = 5  # time of the originator's last SYN before the SYN-ACK
F_SYNACK: Final = 6  # time of the responder's first SYN-ACK
F_ACK: Final = 7  # time of the originator's ACK completing the handshake
F_HIST: Final = 8  # Zeek-style history letters
F_APP: Final = 9  # application analyzer: "dns", "snmp" or ""
F_LABEL: Final = 10  # protocol label (tcp, udp, icmp ...)
_FLOW_SIZE: Final = 11

M32: Final = 0xFFFFFFFF
HALF: Final = 0x80000000
BIG_JUMP: Final = 1048576  # Zeek's TOO_LARGE_SEQ_DELTA
# Ports Zeek treats as servers when it must guess who opened a flow it did not see start.
SERVER_PORTS: Final = frozenset(
    (1, 7, 13, 19, 20, 21, 22, 23, 25, 37, 42, 43, 49, 53, 67, 69, 79, 80, 88, 102, 110, 111, 113, 119, 123, 135,
     137, 138, 139, 143, 161, 162, 179, 389, 427, 443, 445, 464, 465, 500, 502, 513, 514, 515, 520, 546, 547,
     554, 587, 593, 631, 636, 646, 853, 860, 873, 902, 989, 990, 993, 995, 1080, 1194, 1433, 1521, 1645, 1701,
     1723, 1812, 1813, 1883, 1900, 2049, 2123, 2152, 2181, 2375, 2376, 3128, 3260, 3306, 3389, 3478, 4500,
     4789, 5060, 5061, 5222, 5353, 5355, 5432, 5671, 5672, 5900, 5938, 6379, 6443, 6514, 6653, 6666, 6667,
     8000, 8008, 8080, 8443, 8888, 9000, 9092, 9200, 9443, 11211, 27017)
)  # fmt: skip
APP_PORTS: Final = {53: "dns", 5353: "dns", 161: "snmp", 162: "snmp"}
# Ethernet (14) + IPv4 without options (20) + TCP fixed header (20), from the Ethernet header on:
# ethertype, version-IHL, total length, fragment field, protocol, key (src dst sport dport), seq,
# (acknowledgment skipped) data offset, flags, window.
_FAST: Final = struct.Struct("!12xHBxH2xHxB2x12sI4xBBH")
_RECORD: Final = {o: struct.Struct(o + "IIII").unpack_from for o in "<>"}  # pcap record headers by byte order
_HEADERS: Final = tuple(20 + (off >> 4) * 4 for off in range(256))  # IPv4 (no options) + TCP header, by data offset


class AppSink(Protocol):
    """Where application payloads go (DNS, SNMP, RTP analyzers); see :mod:`.analyze`."""

    def dns(self, ts: int, flow: list[Any], is_orig: bool, payload: bytes, over_tcp: bool) -> None: ...

    def snmp(self, ts: int, flow: list[Any], is_orig: bool, payload: bytes) -> None: ...

    def udp(self, ts: int, flow: list[Any], is_orig: bool, payload: bytes) -> None: ...


class FlowTable:
    """Flows of one capture, fed with :meth:`run`.

    Args:
        apps: receives the payloads of DNS, SNMP and other UDP packets.
        fast: decode Ethernet/IPv4/TCP inline (turn off to check the general path against it).
    """

    def __init__(self, apps: AppSink, fast: bool = True) -> None:
        self.apps = apps
        self.fast = fast
        self.tcp: dict[bytes, list[Any]] = {}
        self.udp: dict[bytes, list[Any]] = {}
        self.other: dict[bytes, list[Any]] = {}
        self.done: list[list[Any]] = []  # flows closed and replaced by a new one on the same 5-tuple
        self.non_ip: dict[str, list[int]] = {}  # label -> [packets, bytes, first, last] of packets not in IP flows
        self.malformed = 0
        self.malformed_examples: list[str] = []
        self._fmt = PcapFormat("<", 1000, 0, 1, 0)

    # ------------------------------------------------------------ the loop

    def run(self, records: Iterable[Record]) -> None:
        """Account every record (the totals and first/last times come from the records' endpoints)."""
        tcp = self.tcp
        inline = 1 if self.fast else -1  # the link type the inline path takes
        unpack = _FAST.unpack_from
        tcp_new = self._tcp_new
        tcp_slow = self._tcp_slow
        slow = self._slow
        headers = _HEADERS
        for ts, wire, lt, buf, p, end in records:
            if lt == inline and end - p >= 54:
                et, vihl, tot, frag, proto, key, seq, off, flags, win = unpack(buf, p)
                if vihl == 0x45 and et == 0x0800 and proto == 6 and not frag & 0x3FFF:
                    try:
                        ep = tcp[key]
                    except KeyError:
                        ep = tcp_new(key, flags, ts, 4)
                    plen = tot - headers[off]
                    if flags & 7 or not win or not ep[FAST]:
                        at = p + 14 + headers[off]
                        tcp_slow(ep, ts, wire, seq, flags, win, plen, buf, at, min(end, at + max(plen, 0)))
                        continue
                    ep[PK] += 1
                    ep[BY] += wire
                    ep[LAST] = ts
                    if plen > 0:
                        if not ep[HD]:
                            self._history(ep, "D", HD)
                        if seq == ep[NXT]:  # in order: the common case
                            ep[NXT] = (seq + plen) & M32
                        else:
                            self._segment(ep, seq, plen)
                    else:
                        if seq != ep[NXT]:  # rare: a bare segment still moves Zeek's last_seq forward
                            delta = (seq - ep[NXT]) & M32
                            if delta and delta < HALF:
                                ep[NXT] = seq
                        if not ep[HA] and flags & 16:
                            self._history(ep, "A", HA)
                    continue
            slow(ts, wire, lt, buf, p, end)

    def run_reader(self, reader: CaptureReader) -> None:
        """Account every record of a capture: classic pcap through :meth:`_pcap_chunk`, the rest through :meth:`run`."""
        fmt = reader.pcap_format() if reader.status.format == "pcap" and self.fast else None
        if fmt is None:
            self.run(reader.records())
            return
        self._fmt = fmt
        reader.walk_pcap(self._pcap_chunk)

    def _pcap_chunk(self, buf: Buffer, off: int, n: int) -> tuple[int, int]:
        """:meth:`run` over the complete records of one chunk of a classic pcap, walked inline.

        The same packet handling as :meth:`run` (keep the two in step; tests compare pcap with pcapng and
        the inline path with the general one), without a generator round trip per record.
        """
        fmt = self._fmt
        unit, limit, inline = fmt.unit, fmt.limit, fmt.linktype == 1
        record = _RECORD[fmt.order]
        tcp = self.tcp
        unpack = _FAST.unpack_from
        tcp_new = self._tcp_new
        tcp_slow = self._tcp_slow
        slow = self._slow
        headers = _HEADERS
        taken = 0
        lt = fmt.linktype
        while off + 16 <= n:
            sec, frac, caplen, wire = record(buf, off)
            p = off + 16
            end = p + caplen
            if end > n or caplen > limit:
                break
            off = end
            taken += 1
            ts = sec * 1000000000 + frac * unit
            if inline and caplen >= 54:
                et, vihl, tot, frag, proto, key, seq, doff, flags, win = unpack(buf, p)
                if vihl == 0x45 and et == 0x0800 and proto == 6 and not frag & 0x3FFF:
                    try:
                        ep = tcp[key]
                    except KeyError:
                        ep = tcp_new(key, flags, ts, 4)
                    plen = tot - headers[doff]
                    if flags & 7 or not win or not ep[FAST]:
                        at = p + 14 + headers[doff]
                        tcp_slow(ep, ts, wire, seq, flags, win, plen, buf, at, min(end, at + max(plen, 0)))
                        continue
                    ep[PK] += 1
                    ep[BY] += wire
                    ep[LAST] = ts
                    if plen > 0:
                        if not ep[HD]:
                            self._history(ep, "D", HD)
                        if seq == ep[NXT]:  # in order: the common case
                            ep[NXT] = (seq + plen) & M32
                        else:
                            self._segment(ep, seq, plen)
                    else:
                        if seq != ep[NXT]:
                            delta = (seq - ep[NXT]) & M32
                            if delta and delta < HALF:
                                ep[NXT] = seq
                        if not ep[HA] and flags & 16:
                            self._history(ep, "A", HA)
                    continue
            slow(ts, wire, lt, buf, p, end)
        return off, taken

    # ------------------------------------------------------------ general path

    def _slow(self, ts: int, wire: int, lt: int, buf: Buffer, p: int, end: int) -> None:
        pkt = decode(ts, wire, lt, buf, p, end)
        if pkt.error is not None:
            self.malformed += 1
            if len(self.malformed_examples) < 20:
                self.malformed_examples.append(f"{pkt.proto}: {pkt.error}")
        if not pkt.ip_version or pkt.ip_proto is None:
            entry = self.non_ip.get(pkt.proto)
            if entry is None:
                entry = self.non_ip[pkt.proto] = [0, 0, ts, ts]
            entry[0] += 1
            entry[1] += wire
            entry[2] = min(entry[2], ts)
            entry[3] = max(entry[3], ts)
            return
        proto = pkt.ip_proto
        pay_at = pkt.payload_at
        pay_end = min(end, pay_at + pkt.payload_len)
        if proto == 6 and pkt.tcp_flags is not None and not pkt.fragment:
            key = pkt.src_raw + pkt.dst_raw + struct.pack("!HH", pkt.sport, pkt.dport)
            ep = self.tcp.get(key)
            if ep is None:
                ep = self._tcp_new(key, pkt.tcp_flags, ts, len(pkt.src_raw))
            assert pkt.seq is not None and pkt.window is not None
            self._tcp_slow(ep, ts, wire, pkt.seq, pkt.tcp_flags, pkt.window, pkt.payload_len, buf, pay_at, pay_end)
            return
        if proto == 17 and pkt.sport is not None and pkt.dport is not None and not pkt.fragment:
            key = pkt.src_raw + pkt.dst_raw + struct.pack("!HH", pkt.sport, pkt.dport)
            ep = self.udp.get(key)
            if ep is None:
                ep = self._udp_new(key, pkt, ts)
            ep[PK] += 1
            ep[BY] += wire
            ep[LAST] = ts
            ep[PAY] += pkt.payload_len
            if pkt.payload_len and not ep[HD]:
                self._history(ep, "D", HD)
            flow = ep[FLOW]
            app = flow[F_APP]
            if pay_end > pay_at:
                payload = bytes(buf[pay_at:pay_end])
                if app == "dns":
                    self.apps.dns(ts, flow, ep[ORIG], payload, False)
                elif app == "snmp":
                    self.apps.snmp(ts, flow, ep[ORIG], payload)
                else:
                    self.apps.udp(ts, flow, ep[ORIG], payload)
            return
        # ICMP (ports are type and counterpart), fragments, other IP protocols
        sport = pkt.sport or 0
        dport = pkt.dport or 0
        key = bytes((proto,)) + pkt.src_raw + pkt.dst_raw + struct.pack("!HH", sport, dport)
        ep = self.other.get(key)
        if ep is None:
            ep = self._other_new(key, pkt, ts)
        ep[PK] += 1
        ep[BY] += wire
        ep[LAST] = ts
        ep[PAY] += pkt.payload_len

    # ------------------------------------------------------------ new flows

    def _pair(self, proto: int, label: str, ts: int, orig_key: bytes, app: str) -> tuple[list[Any], list[Any]]:
        flow: list[Any] = [None] * _FLOW_SIZE
        orig: list[Any] = [0, 0, ts, ts_.INACTIVE, False, 0, 0, 0, 0, 0, None, flow, True, 0, 0, False, False, 0]
        resp: list[Any] = [0, 0, ts, ts_.INACTIVE, False, 0, 0, 0, 0, 0, orig, flow, False, 0, 0, False, False, 0]
        orig[PEER] = resp
        flow[F_PROTO], flow[F_ORIG], flow[F_RESP], flow[F_START], flow[F_KEY] = proto, orig, resp, ts, orig_key
        flow[F_HIST], flow[F_APP], flow[F_LABEL] = [], app, label
        return orig, resp

    def _tcp_new(self, key: bytes, flags: int, ts: int, alen: int) -> list[Any]:
        """A new TCP flow for a packet with ``key``; returns the endpoint of the packet's direction."""
        sport, dport = struct.unpack_from("!HH", key, 2 * alen)
        rkey = _reverse(key, alen)
        flip = False
        if (not flags & 2 or flags & 16) and sport in SERVER_PORTS:
            # No SYN, or a SYN-ACK: Zeek guesses the responder by its port.
            flip = (not flags & 2 and sport < dport) if dport in SERVER_PORTS else True
        app = "dns" if APP_PORTS.get(sport if flip else dport) == "dns" else ""
        orig, resp = self._pair(6, "tcp", ts, rkey if flip else key, app)
        if flip:
            orig[FLOW][F_HIST].append("^")
            self.tcp[key], self.tcp[rkey] = resp, orig
            return resp
        self.tcp[key], self.tcp[rkey] = orig, resp
        return orig

    def _udp_new(self, key: bytes, pkt: Packet, ts: int) -> list[Any]:
        sport, dport = pkt.sport or 0, pkt.dport or 0
        rkey = _reverse(key, len(pkt.src_raw))
        flip = sport in SERVER_PORTS and dport not in SERVER_PORTS
        app = APP_PORTS.get(dport, "") or APP_PORTS.get(sport, "")
        orig, resp = self._pair(17, "udp", ts, rkey if flip else key, app)
        if flip:
            orig[FLOW][F_HIST].append("^")
            self.udp[key], self.udp[rkey] = resp, orig
            return resp
        self.udp[key], self.udp[rkey] = orig, resp
        return orig

    def _other_new(self, key: bytes, pkt: Packet, ts: int) -> list[Any]:
        body = key[1:]
        orig, resp = self._pair(key[0], pkt.proto, ts, body, "")
        self.other[key], self.other[key[:1] + _reverse(body, len(pkt.src_raw))] = orig, resp
        return orig

    # ------------------------------------------------------------ TCP

    def _history(self, ep: list[Any], letter: str, flag: int | None = None) -> None:
        if flag is not None:
            ep[flag] = True
        ep[FLOW][F_HIST].append(letter if ep[ORIG] else letter.lower())

    def _segment(self, ep: list[Any], seq: int, plen: int) -> None:
        """A data segment that does not start where the last one ended: a gap forward, or a retransmission."""
        nxt = (seq + plen) & M32
        delta = (nxt - ep[NXT]) & M32
        if delta and delta < HALF:
            ep[NXT] = nxt
        else:
            self._retransmission(ep)

    def _retransmission(self, ep: list[Any]) -> None:
        ep[RX] += 1
        if ep[RX] in _LOG_SCALE:
            self._history(ep, "T")

    def _tcp_slow(
        self,
        ep: list[Any],
        ts: int,
        wire: int,
        seq: int,
        flags: int,
        win: int,
        plen: int,
        buf: Buffer,
        pay_at: int,
        pay_end: int,
    ) -> None:
        """A TCP segment the inline path does not take: state machine, handshake, zero windows, DNS over TCP."""
        syn, fin, rst, ackf = flags & 2, flags & 1, flags & 4, flags & 16
        if syn and not ackf and (ep[ST] >= ts_.CLOSED or ep[PEER][ST] >= ts_.CLOSED):
            ep = self._reuse(ep, seq, ts)
        ep[PK] += 1
        ep[BY] += wire
        ep[LAST] = ts
        peer = ep[PEER]
        flow = ep[FLOW]
        is_orig = ep[ORIG]
        if plen < 0:
            plen = 0
        # Zeek's history letters: each kind once per endpoint (Zeek repeats S/F/R on a new sequence number)
        kind = _LETTERS[flags & 0x17]
        if kind is not None:
            if not ep[HK] & kind[1]:
                ep[HK] |= kind[1]
                self._history(ep, kind[0])
            if fin:
                ep[HK] |= FIN_SEEN
        elif plen:
            if not ep[HD]:
                self._history(ep, "D", HD)
        elif ackf and not ep[HA]:
            self._history(ep, "A", HA)
        if rst:
            ep[RS] += 1
        state = ep[ST]
        # Zero window (Zeek's update_window): not on RSTs, nor after the peer's FIN or our own RST
        if not win and not rst and peer[ST] != ts_.CLOSED and state != ts_.RESET:
            ep[ZW] += 1
            if ep[ZW] in _LOG_SCALE:
                self._history(ep, "W")
        # Handshake timing: the last SYN before the SYN-ACK, the first SYN-ACK, the ACK that answers it
        if syn:
            if not ackf:
                if is_orig and flow[F_SYNACK] is None:
                    flow[F_SYN] = ts
            elif not is_orig and flow[F_SYNACK] is None and flow[F_SYN] is not None:
                flow[F_SYNACK] = ts
        elif is_orig and ackf and flow[F_ACK] is None and flow[F_SYNACK] is not None:
            flow[F_ACK] = ts
        # Sequence space (Zeek's init_endpoint and update_last_seq)
        end_seq = (seq + (0 if rst else plen) + (1 if syn else 0) + (1 if fin else 0)) & M32
        if state == ts_.INACTIVE:
            ep[START] = seq if syn else (seq - 1) & M32
            ep[NXT] = end_seq if syn else seq
        elif syn and (
            state == ts_.ESTABLISHED
            or state == ts_.PARTIAL
            or (state in (ts_.SYN_SENT, ts_.SYN_ACK_SENT) and seq != ep[START])
            or (state == ts_.RESET and ep[PREV] == ts_.INACTIVE)
        ):
            ep[START], ep[NXT] = seq, end_seq
        delta = (end_seq - ep[NXT]) & M32
        if delta >= HALF:
            delta -= 1 << 32
        if (syn or rst) and (delta > BIG_JUMP or delta < -BIG_JUMP):
            pass
        elif fin and ep[NXT] == (ep[START] + 1) & M32:
            ep[NXT] = end_seq
        elif state == ts_.RESET:
            pass
        elif delta > 0:
            ep[NXT] = end_seq
        elif plen > 0:
            self._retransmission(ep)
        if syn or fin or rst or state == ts_.INACTIVE:
            _machine(ep, peer, is_orig, syn, fin, rst, ackf, plen)
        # The inline path takes only plain segments of endpoints whose state such segments cannot change
        app = flow[F_APP]
        waiting = flow[F_ACK] is None and flow[F_SYNACK] is not None
        ep[FAST] = ep[ST] in _FAST_STATES and not app and not (waiting and is_orig)
        peer[FAST] = peer[ST] in _FAST_STATES and not app and not (waiting and not is_orig)
        if app == "dns" and pay_end > pay_at:
            self.apps.dns(ts, flow, is_orig, bytes(buf[pay_at:pay_end]), True)

    def _reuse(self, ep: list[Any], seq: int, ts: int) -> list[Any]:
        """A SYN on a 5-tuple whose connection is over starts a new flow (Zeek's connection reuse)."""
        peer = ep[PEER]
        states = (ep[ST], peer[ST])
        if not (ts_.RESET in states or states == (ts_.CLOSED, ts_.CLOSED)):
            return ep
        flow = ep[FLOW]
        orig = flow[F_ORIG]
        if seq == orig[START]:
            return ep  # a retransmitted SYN of this connection
        key = flow[F_KEY]
        alen = (len(key) - 4) // 2
        del self.tcp[key]
        del self.tcp[_reverse(key, alen)]
        self.done.append(flow)
        own_key = key if ep[ORIG] else _reverse(key, alen)
        return self._tcp_new(own_key, 2, ts, alen)

    # ------------------------------------------------------------ results

    def flows(self) -> list[list[Any]]:
        """Every flow once, in order of first packet."""
        seen: set[int] = set()
        out: list[list[Any]] = list(self.done)
        for table in (self.tcp, self.udp, self.other):
            for ep in table.values():
                flow = ep[FLOW]
                if id(flow) not in seen:
                    seen.add(id(flow))
                    out.append(flow)
        out.sort(key=lambda f: f[F_START])
        return out


def _machine(ep: list[Any], peer: list[Any], is_orig: bool, syn: int, fin: int, rst: int, ackf: int, plen: int) -> None:
    """Zeek's TCP_Analyzer::UpdateStateMachine for one segment."""
    state = ep[ST]
    if state == ts_.INACTIVE:
        if syn:
            if is_orig:
                _move(ep, ts_.SYN_ACK_SENT if ackf else ts_.SYN_SENT)
            else:
                if not ackf and peer[ST] == ts_.SYN_ACK_SENT:
                    _move(peer, ts_.ESTABLISHED)  # SYN / SYN-ACK reversal
                if peer[ST] == ts_.SYN_SENT:
                    _move(peer, ts_.ESTABLISHED)
                _move(ep, ts_.ESTABLISHED)
        if fin:
            _move(ep, ts_.CLOSED)
        if rst:
            _move(ep, ts_.RESET)
        if ep[ST] == ts_.INACTIVE:
            orig = ep if is_orig else peer
            if not is_orig and plen == 0 and orig[ST] == ts_.SYN_SENT:
                pass  # an ACK of the SYN before the SYN-ACK: not a partial connection
            elif ackf and peer[ST] == ts_.ESTABLISHED:
                _move(ep, ts_.ESTABLISHED)
            else:
                _move(ep, ts_.PARTIAL)
    elif state in (ts_.SYN_SENT, ts_.SYN_ACK_SENT):
        if fin:
            _move(ep, ts_.CLOSED)
        if rst:
            _move(ep, ts_.RESET)
    elif state in (ts_.ESTABLISHED, ts_.PARTIAL):
        if syn and state == ts_.PARTIAL and peer[ST] == ts_.INACTIVE and not ackf:
            _move(ep, ts_.SYN_SENT)
        if fin and not rst:
            _move(ep, ts_.CLOSED)
            if peer[ST] == ts_.RESET and peer[PREV] == ts_.CLOSED:
                _move(peer, ts_.CLOSED)  # the peer's FIN then RST was a normal close
        if rst:
            _move(ep, ts_.RESET)
    elif state == ts_.CLOSED and rst and peer[ST] != ts_.CLOSED:
        _move(ep, ts_.RESET)


def _move(side: list[Any], new: int) -> None:
    if side[ST] != new:
        side[PREV], side[ST] = side[ST], new


def _reverse(key: bytes, alen: int) -> bytes:
    """The key of the other direction: addresses and ports swapped."""
    ports = 2 * alen
    return key[alen:ports] + key[:alen] + key[ports + 2 : ports + 4] + key[ports : ports + 2]


def tcp_size(ep: list[Any]) -> int:
    """Payload bytes an endpoint sent, from its sequence space as Zeek's TCP_Endpoint::Size counts them."""
    if ep[ST] == ts_.INACTIVE:
        return 0
    size = (ep[NXT] - ep[START]) & M32
    if size > 0:
        size -= 1  # the SYN (or, midstream, the SYN Zeek supposes)
    if ep[HK] & FIN_SEEN and size > 0:
        size -= 1
    return int(size)
