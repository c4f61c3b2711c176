"""``analyze(path)``: one pass over a capture into a :class:`~.schemas.PcapReport`.

The flow table (:mod:`.flows`) sees every packet; DNS, SNMP and RTP analyzers see only the payloads of their
flows (:class:`_Apps`). The report then adds up flows into protocol mix, services, top talkers and TCP health.
"""

from __future__ import annotations

import functools
import socket
import statistics
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from netwarden.security.pcap import tcpstate
from netwarden.security.pcap.decode import IP_PROTOCOLS, Packet, decode
from netwarden.security.pcap.dns import DnsRecord, DnsTracker
from netwarden.security.pcap.flows import (
    BY,
    F_ACK,
    F_APP,
    F_HIST,
    F_KEY,
    F_LABEL,
    F_ORIG,
    F_PROTO,
    F_RESP,
    F_START,
    F_SYN,
    F_SYNACK,
    LAST,
    PAY,
    PK,
    RS,
    RX,
    ST,
    ZW,
    FlowTable,
    tcp_size,
)
from netwarden.security.pcap.reader import CaptureReader, ReadStatus
from netwarden.security.pcap.rtp import PAYLOAD_NAMES, RtpTracker
from netwarden.security.pcap.schemas import (
    DnsOut,
    DnsQueryOut,
    FlowOut,
    PcapReport,
    ProtocolOut,
    ReadOut,
    RtpOut,
    SnmpMessageOut,
    SnmpOut,
    Spread,
    TalkerOut,
    TcpHealthOut,
    VarbindOut,
)
from netwarden.security.pcap.snmp import DEFAULT_COMMUNITIES, SnmpPdu, SnmpTracker

__all__ = ["analyze", "iter_packets", "zeek_escape"]

SERVICES = {
    20: "ftp-data", 21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 53: "dns", 67: "dhcp", 68: "dhcp", 69: "tftp",
    80: "http", 88: "kerberos", 110: "pop3", 123: "ntp", 137: "netbios-ns", 139: "netbios", 143: "imap",
    161: "snmp", 162: "snmp-trap", 179: "bgp", 389: "ldap", 443: "https", 445: "smb", 465: "smtps", 500: "ike",
    514: "syslog", 587: "submission", 636: "ldaps", 830: "netconf", 853: "dns-over-tls", 993: "imaps",
    995: "pop3s", 1812: "radius", 1813: "radius-acct", 1883: "mqtt", 3306: "mysql", 3389: "rdp", 4500: "ipsec-nat",
    4789: "vxlan", 5060: "sip", 5061: "sips", 5353: "mdns", 5432: "postgresql", 6379: "redis", 6514: "syslog-tls",
    8080: "http-alt", 8443: "https-alt",
}  # fmt: skip


def iter_packets(path: Path) -> Iterator[Packet]:
    """Every packet of a capture, decoded (the general path; for tests and one-off inspection)."""
    with CaptureReader(path) as reader:
        for ts, wire, lt, buf, p, end in reader.records():
            yield decode(ts, wire, lt, buf, p, end)


def zeek_escape(raw: bytes) -> str:
    """Bytes as Zeek prints them: printable ASCII as is, everything else as ``\\xNN``."""
    return "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in raw)


@functools.lru_cache(maxsize=65536)
def _ip(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def _parts(key: bytes) -> tuple[bytes, bytes, int, int]:
    alen = (len(key) - 4) // 2
    sport, dport = struct.unpack_from("!HH", key, 2 * alen)
    return key[:alen], key[alen : 2 * alen], sport, dport


def _sec(ns: int) -> float:
    return round(ns / 1e9, 6)


class _Apps:
    """Routes flow payloads to the DNS, SNMP and RTP analyzers with the packet's own addresses."""

    def __init__(self) -> None:
        self.dns_tracker = DnsTracker()
        self.snmp_tracker = SnmpTracker()
        self.rtp_tracker = RtpTracker()

    @staticmethod
    def _direction(flow: list[Any], is_orig: bool) -> tuple[bytes, bytes, int, int]:
        src, dst, sport, dport = _parts(flow[F_KEY])
        return (src, dst, sport, dport) if is_orig else (dst, src, dport, sport)

    def dns(self, ts: int, flow: list[Any], is_orig: bool, payload: bytes, over_tcp: bool) -> None:
        src, dst, sport, dport = self._direction(flow, is_orig)
        self.dns_tracker.packet(ts, src, sport, dst, dport, payload, over_tcp)

    def snmp(self, ts: int, flow: list[Any], is_orig: bool, payload: bytes) -> None:
        src, dst, sport, dport = self._direction(flow, is_orig)
        self.snmp_tracker.packet(ts, _ip(src), sport, _ip(dst), dport, is_orig, payload)

    def udp(self, ts: int, flow: list[Any], is_orig: bool, payload: bytes) -> None:
        if len(payload) >= 12 and payload[0] >> 6 == 2:
            src, dst, sport, dport = self._direction(flow, is_orig)
            self.rtp_tracker.packet(ts, src, sport, dst, dport, payload)


def analyze(
    path: Path, *, top: int = 10, fast: bool = True, progress: Callable[[int, int], None] | None = None
) -> PcapReport:
    """Analyze a capture file.

    Args:
        path: pcap or pcapng, optionally gzip-compressed.
        top: how many top talkers, worst TCP flows and DNS names to list.
        fast: use the inline Ethernet/IPv4/TCP path (off only to check the general path).
        progress: called with (bytes of the file read, file size) after each chunk.

    Raises:
        PcapFormatError: the file is not a capture (damage inside a capture is reported, not raised).
    """
    apps = _Apps()
    table = FlowTable(apps, fast=fast)
    with CaptureReader(path, on_chunk=progress) as reader:
        table.run_reader(reader)
        status = reader.status
    apps.dns_tracker.finish()
    flows = table.flows()
    flow_out = [_flow(f) for f in flows]
    non_ip_bytes = sum(v[1] for v in table.non_ip.values())
    total_bytes = sum(f.bytes for f in flow_out) + non_ip_bytes
    starts = [f[F_START] for f in flows] + [v[2] for v in table.non_ip.values()]
    ends = [max(f[F_ORIG][LAST], f[F_RESP][LAST] if f[F_RESP][PK] else 0) for f in flows]
    ends += [v[3] for v in table.non_ip.values()]
    first = min(starts) if starts else None
    last = max(ends) if ends else None
    return PcapReport(
        file=str(path),
        packets=status.records,
        bytes=total_bytes,
        start=_sec(first) if first is not None else None,
        end=_sec(last) if last is not None else None,
        duration=round((last - first) / 1e9, 6) if first is not None and last is not None else 0.0,
        read=_read(status, table),
        flows=flow_out,
        protocols=_protocols(flow_out, table.non_ip),
        services=_services(flow_out),
        top_talkers=_talkers(flows, top),
        tcp=_tcp_health(flows, flow_out, top),
        dns=_dns(apps.dns_tracker, top),
        rtp=_rtp(apps.rtp_tracker),
        snmp=_snmp(apps.snmp_tracker),
    )


def _read(status: ReadStatus, table: FlowTable) -> ReadOut:
    return ReadOut(
        format=status.format,
        compressed=status.compressed,
        linktypes=status.linktypes,
        complete=status.complete,
        stopped_at=status.stopped_at,
        error=status.error,
        malformed_packets=table.malformed,
        malformed_examples=table.malformed_examples,
    )


def _flow(flow: list[Any]) -> FlowOut:
    orig, resp = flow[F_ORIG], flow[F_RESP]
    src, dst, sport, dport = _parts(flow[F_KEY])
    proto = flow[F_PROTO]
    history = "".join(flow[F_HIST])
    if proto == 6:
        orig_size, resp_size = tcp_size(orig), tcp_size(resp)
        state = tcpstate.conn_state(orig[ST], resp[ST], orig_size, resp_size, history)
    else:
        orig_size, resp_size = orig[PAY], resp[PAY]
        state = tcpstate.udp_conn_state(orig[PK], resp[PK]) if proto == 17 else "OTH"
    start = flow[F_START]
    end = max(orig[LAST] if orig[PK] else start, resp[LAST] if resp[PK] else start)
    rtt = None
    if flow[F_ACK] is not None and flow[F_SYN] is not None:
        rtt = round((flow[F_ACK] - flow[F_SYN]) / 1e6, 3)
    service = SERVICES.get(dport) if proto in (6, 17) else None
    if service is None and flow[F_APP]:
        service = flow[F_APP]
    return FlowOut(
        proto=flow[F_LABEL] if proto not in IP_PROTOCOLS or proto in (6, 17) else IP_PROTOCOLS[proto],
        src=_ip(src),
        sport=sport,
        dst=_ip(dst),
        dport=dport,
        packets=orig[PK] + resp[PK],
        bytes=orig[BY] + resp[BY],
        start=_sec(start),
        end=_sec(end),
        duration=round((end - start) / 1e9, 6),
        state=state,
        history=history,
        service=service,
        orig_packets=orig[PK],
        orig_bytes=orig[BY],
        resp_packets=resp[PK],
        resp_bytes=resp[BY],
        orig_payload=orig_size,
        resp_payload=resp_size,
        retransmissions=orig[RX] + resp[RX],
        zero_windows=orig[ZW] + resp[ZW],
        resets=orig[RS] + resp[RS],
        rtt_ms=rtt,
    )


def _protocols(flows: list[FlowOut], non_ip: dict[str, list[int]]) -> list[ProtocolOut]:
    mix: dict[str, list[int]] = {}  # name -> [packets, bytes, flows]
    for f in flows:
        entry = mix.get(f.proto)
        if entry is None:
            entry = mix[f.proto] = [0, 0, 0]
        entry[0] += f.packets
        entry[1] += f.bytes
        entry[2] += 1
    for name, (packets, size, _first, _last) in non_ip.items():
        entry = mix.setdefault(name, [0, 0, 0])
        entry[0] += packets
        entry[1] += size
    out = [ProtocolOut(name=k, packets=v[0], bytes=v[1], flows=v[2]) for k, v in mix.items()]
    return sorted(out, key=lambda p: (-p.bytes, p.name))


def _services(flows: list[FlowOut]) -> list[ProtocolOut]:
    mix: dict[str, list[int]] = {}
    for f in flows:
        if f.proto != "tcp" and f.proto != "udp":
            continue
        name = f"{f.service or 'other'}/{f.proto}"
        entry = mix.get(name)
        if entry is None:
            entry = mix[name] = [0, 0, 0]
        entry[0] += f.packets
        entry[1] += f.bytes
        entry[2] += 1
    out = [ProtocolOut(name=k, packets=v[0], bytes=v[1], flows=v[2]) for k, v in mix.items()]
    return sorted(out, key=lambda p: (-p.bytes, p.name))


def _talkers(flows: list[list[Any]], top: int) -> list[TalkerOut]:
    hosts: dict[bytes, list[int]] = {}  # address -> [sent bytes, received bytes, packets, flows]
    for flow in flows:
        src, dst, _sport, _dport = _parts(flow[F_KEY])
        orig, resp = flow[F_ORIG], flow[F_RESP]
        a = hosts.setdefault(src, [0, 0, 0, 0])
        b = hosts.setdefault(dst, [0, 0, 0, 0])
        a[0] += orig[BY]
        a[1] += resp[BY]
        b[0] += resp[BY]
        b[1] += orig[BY]
        a[2] += orig[PK] + resp[PK]
        b[2] += orig[PK] + resp[PK]
        a[3] += 1
        if dst != src:
            b[3] += 1
    ranked = sorted(hosts.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))[:top]
    return [
        TalkerOut(address=_ip(addr), bytes=v[0] + v[1], packets=v[2], sent=v[0], received=v[1], flows=v[3])
        for addr, v in ranked
    ]


def _spread(values: list[float]) -> Spread | None:
    if not values:
        return None
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return Spread(
        count=len(ordered),
        min=round(ordered[0], 3),
        median=round(statistics.median(ordered), 3),
        p95=round(p95, 3),
        max=round(ordered[-1], 3),
    )


def _tcp_health(flows: list[list[Any]], out: list[FlowOut], top: int) -> TcpHealthOut:
    tcp = [f for f in out if f.proto == "tcp"]
    states: dict[str, int] = {}
    for f in tcp:
        states[f.state] = states.get(f.state, 0) + 1
    rtts = [f.rtt_ms for f in tcp if f.rtt_ms is not None]
    syn_synack = [
        (f[F_SYNACK] - f[F_SYN]) / 1e6
        for f in flows
        if f[F_PROTO] == 6 and f[F_SYNACK] is not None and f[F_SYN] is not None
    ]
    worst = sorted((f for f in tcp if f.retransmissions), key=lambda f: -f.retransmissions)[:top]
    return TcpHealthOut(
        flows=len(tcp),
        states=dict(sorted(states.items())),
        retransmissions=sum(f.retransmissions for f in tcp),
        resets=sum(f.resets for f in tcp),
        zero_windows=sum(f.zero_windows for f in tcp),
        handshakes=len(rtts),
        rtt_ms=_spread(rtts),
        syn_to_synack_ms=_spread(syn_synack),
        worst=worst,
    )


def _query(rec: DnsRecord) -> DnsQueryOut:
    return DnsQueryOut(
        time=_sec(rec.time),
        client=rec.client,
        client_port=rec.client_port,
        server=rec.server,
        server_port=rec.server_port,
        transport=rec.transport,
        id=rec.id,
        query=rec.query,
        qtype=rec.qtype,
        status=rec.status,
        rcode=rec.rcode,
        answers=rec.answers,
        rtt_ms=round(rec.rtt_ns / 1e6, 3) if rec.rtt_ns is not None else None,
    )


def _dns(tracker: DnsTracker, top: int) -> DnsOut:
    records = [_query(r) for r in tracker.records]
    names: dict[str, int] = {}
    for r in tracker.records:
        names[r.query] = names.get(r.query, 0) + 1
    ranked = sorted(names.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return DnsOut(
        queries=tracker.queries,
        responses=tracker.responses,
        unmatched_responses=tracker.unmatched_responses,
        malformed=tracker.malformed,
        outcomes=dict(sorted(tracker.status.items())),
        failures=[q for q in records if q.status != "ok"],
        top_names=[{"name": n, "queries": c} for n, c in ranked],
        records=records,
    )


def _rtp(tracker: RtpTracker) -> list[RtpOut]:
    out = []
    for s in tracker.streams():
        r, score = s.mos()
        out.append(
            RtpOut(
                src=_ip(s.src),
                sport=s.sport,
                dst=_ip(s.dst),
                dport=s.dport,
                ssrc=f"0x{s.ssrc:08x}",
                payload_type=s.payload_type,
                codec=PAYLOAD_NAMES.get(s.payload_type),
                packets=s.packets,
                lost=s.lost(),
                loss_pct=round(s.loss_pct(), 3),
                jitter_ms=round(s.jitter * 1000, 3),
                clock_hz=s.clock,
                r_factor=round(r, 1),
                mos=round(score, 2),
                start=_sec(s.first),
                end=_sec(s.last),
            )
        )
    return out


def _value(value: int | bytes | str | None) -> int | str | None:
    return zeek_escape(value) if isinstance(value, bytes) else value


def _message(p: SnmpPdu) -> SnmpMessageOut:
    community = None
    if p.community is not None:
        community = p.community.decode() if p.community in DEFAULT_COMMUNITIES else "<redacted>"
    return SnmpMessageOut(
        time=_sec(p.time),
        src=p.src,
        sport=p.sport,
        dst=p.dst,
        dport=p.dport,
        is_orig=p.is_orig,
        version=p.version,
        pdu=p.pdu,
        community=community,
        request_id=p.request_id,
        error_status=p.error_status,
        error_index=p.error_index,
        non_repeaters=p.non_repeaters,
        max_repetitions=p.max_repetitions,
        enterprise=p.enterprise,
        agent=p.agent,
        generic_trap=p.generic_trap,
        specific_trap=p.specific_trap,
        time_stamp=p.time_stamp,
        user=zeek_escape(p.user) if p.user is not None else None,
        varbinds=[VarbindOut(oid=v.oid, tag=v.tag, value=_value(v.value)) for v in p.varbinds],
    )


def _snmp(tracker: SnmpTracker) -> SnmpOut:
    return SnmpOut(
        pdus=tracker.count,
        malformed=tracker.malformed,
        kinds=dict(sorted(tracker.kinds.items())),
        default_community_agents=sorted(tracker.default_communities),
        messages=[_message(p) for p in tracker.pdus],
    )
