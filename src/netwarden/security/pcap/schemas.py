"""What ``netwarden pcap analyze --json`` prints: the scripting contract's keys, then netwarden's extras.

Contract (../shared/DESIGN.md): ``{"packets", "flows": [{"proto", "src", "sport", "dst", "dport", "packets",
"bytes", "start", "end"}], ...}``. Times are UNIX seconds (float, microsecond precision); ``bytes`` are frame
bytes on the wire (as Wireshark's conversation table counts them); a flow's ``src`` is the side Zeek would
call the originator. ICMP flows carry Zeek's ports: the type and the type answering it (or the code).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class FlowOut(BaseModel):
    proto: str
    src: str
    sport: int
    dst: str
    dport: int
    packets: int
    bytes: int
    start: float
    end: float
    duration: float
    state: str = Field(description="Zeek conn.log conn_state: S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH")
    history: str = Field(description="Zeek-style history letters (upper case: originator)")
    service: str | None = None
    orig_packets: int
    orig_bytes: int
    resp_packets: int
    resp_bytes: int
    orig_payload: int = Field(description="TCP/UDP payload bytes sent by the originator (TCP: new data only)")
    resp_payload: int
    retransmissions: int = 0
    zero_windows: int = 0
    resets: int = 0
    rtt_ms: float | None = Field(default=None, description="TCP handshake: SYN to the ACK of the SYN-ACK")


class ProtocolOut(BaseModel):
    name: str
    packets: int
    bytes: int
    flows: int = 0


class TalkerOut(BaseModel):
    address: str
    bytes: int
    packets: int
    sent: int
    received: int
    flows: int


class Spread(BaseModel):
    count: int
    min: float
    median: float
    p95: float
    max: float


class TcpHealthOut(BaseModel):
    flows: int
    states: dict[str, int]
    retransmissions: int
    resets: int
    zero_windows: int
    handshakes: int
    rtt_ms: Spread | None
    syn_to_synack_ms: Spread | None = None
    worst: list[FlowOut] = Field(default_factory=list, description="flows with the most retransmissions")


class DnsQueryOut(BaseModel):
    time: float
    client: str
    client_port: int
    server: str
    server_port: int
    transport: str
    id: int
    query: str
    qtype: str
    status: str = Field(description="ok, no-answer, nxdomain, servfail, refused, ... or unanswered")
    rcode: str | None
    answers: list[str]
    rtt_ms: float | None


class DnsOut(BaseModel):
    queries: int
    responses: int
    unmatched_responses: int
    malformed: int
    outcomes: dict[str, int]
    failures: list[DnsQueryOut]
    top_names: list[dict[str, int | str]]
    records: list[DnsQueryOut]


class RtpOut(BaseModel):
    src: str
    sport: int
    dst: str
    dport: int
    ssrc: str
    payload_type: int
    codec: str | None
    packets: int
    lost: int
    loss_pct: float
    jitter_ms: float
    clock_hz: int
    r_factor: float
    mos: float
    start: float
    end: float


class VarbindOut(BaseModel):
    oid: str
    tag: int
    value: int | str | None = Field(description="numbers as numbers; strings as text with \\xNN escapes")


class SnmpMessageOut(BaseModel):
    time: float
    src: str
    sport: int
    dst: str
    dport: int
    is_orig: bool
    version: str
    pdu: str
    community: str | None = Field(description="shown only when a well-known default; otherwise <redacted>")
    request_id: int | None
    error_status: int | None = None
    error_index: int | None = None
    non_repeaters: int | None = None
    max_repetitions: int | None = None
    enterprise: str | None = None
    agent: str | None = None
    generic_trap: int | None = None
    specific_trap: int | None = None
    time_stamp: int | None = None
    user: str | None = None
    varbinds: list[VarbindOut]


class SnmpOut(BaseModel):
    pdus: int
    malformed: int
    kinds: dict[str, int]
    default_community_agents: list[str] = Field(description="agents seen with community public or private")
    messages: list[SnmpMessageOut]


class ReadOut(BaseModel):
    format: str
    compressed: bool
    linktypes: list[int]
    complete: bool = Field(description="false when the file is truncated or damaged: see stopped_at and error")
    stopped_at: int | None = Field(description="byte offset (uncompressed) of the record where reading stopped")
    error: str | None
    malformed_packets: int = Field(description="records whose headers are cut short or invalid (still counted)")
    malformed_examples: list[str]


class PcapReport(BaseModel):
    file: str
    packets: int
    bytes: int
    start: float | None
    end: float | None
    duration: float
    read: ReadOut
    flows: list[FlowOut]
    protocols: list[ProtocolOut]
    services: list[ProtocolOut]
    top_talkers: list[TalkerOut]
    tcp: TcpHealthOut
    dns: DnsOut
    rtp: list[RtpOut]
    snmp: SnmpOut
