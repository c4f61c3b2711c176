"""pcap analysis on captures written here packet by packet: Zeek states, TCP health, DNS, RTP, damaged files.

The captures are classic pcap files of Ethernet/IPv4 frames built with ``struct`` (and DNS messages with dpkt),
so each test states exactly which packets went over the wire and what Zeek's rules make of them.
"""

from __future__ import annotations

import gzip
import json
import random
import struct
from pathlib import Path

import dpkt  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netwarden.cli.main import main
from netwarden.monitor.sla import mos, r_factor
from netwarden.security.pcap import PcapFormatError, analyze
from netwarden.security.pcap.schemas import FlowOut, PcapReport
from tests.support.shared_data import shared_data

TCPDUMP = shared_data() / "tcpdump" / "tests"
SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
T0 = 1_700_000_000.0


class Capture:
    """A classic pcap written frame by frame (microsecond timestamps)."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, bytes]] = []
        self.now = T0

    def at(self, seconds: float) -> Capture:
        self.now = T0 + seconds
        return self

    def ip(self, src: str, dst: str, proto: int, body: bytes) -> None:
        header = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), len(self.frames), 0x4000, 64, proto, 0,
            bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))),
        )  # fmt: skip
        frame = bytes.fromhex("020000000001020000000002") + b"\x08\x00" + header + body
        self.frames.append((self.now, frame))
        self.now += 0.001

    def tcp(self, src: str, sp: int, dst: str, dp: int, seq: int, ack: int, flags: int, data: bytes = b"",
            win: int = 1000) -> None:  # fmt: skip
        self.ip(src, dst, 6, struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 0x50, flags, win, 0, 0) + data)

    def udp(self, src: str, sp: int, dst: str, dp: int, data: bytes) -> None:
        self.ip(src, dst, 17, struct.pack("!HHHH", sp, dp, 8 + len(data), 0) + data)

    def write(self, path: Path, order: str = "<", nano: bool = False) -> Path:
        magic = 0xA1B23C4D if nano else 0xA1B2C3D4
        out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)]
        for when, frame in self.frames:
            sec = int(when)
            frac = round((when - sec) * 1e6) * (1000 if nano else 1)
            out.append(struct.pack(order + "IIII", sec, frac, len(frame), len(frame)) + frame)
        path.write_bytes(b"".join(out))
        return path


C, S = "10.0.0.1", "10.0.0.2"


def handshake(cap: Capture, cp: int, sp: int = 80) -> None:
    cap.tcp(C, cp, S, sp, 100, 0, SYN)
    cap.tcp(S, sp, C, cp, 500, 101, SYN | ACK)
    cap.tcp(C, cp, S, sp, 101, 501, ACK)


def flow(report: PcapReport, sport: int) -> FlowOut:
    return next(f for f in report.flows if sport in (f.sport, f.dport) and f.proto == "tcp")


def test_zeek_conn_states(tmp_path: Path) -> None:
    cap = Capture()
    cap.tcp(C, 1001, S, 80, 100, 0, SYN)  # S0: attempt, no reply
    cap.tcp(C, 1002, S, 80, 100, 0, SYN)  # REJ: refused
    cap.tcp(S, 80, C, 1002, 0, 101, RST | ACK)
    handshake(cap, 1003)  # SF: open, data, both close
    cap.tcp(C, 1003, S, 80, 101, 501, PSH | ACK, b"GET /")
    cap.tcp(S, 80, C, 1003, 501, 106, FIN | ACK)
    cap.tcp(C, 1003, S, 80, 106, 502, FIN | ACK)
    cap.tcp(S, 80, C, 1003, 502, 107, ACK)
    handshake(cap, 1004)  # S1: established, still open
    handshake(cap, 1005)  # RSTO: the originator resets
    cap.tcp(C, 1005, S, 80, 101, 501, RST | ACK)
    handshake(cap, 1006)  # RSTR: the responder resets
    cap.tcp(S, 80, C, 1006, 501, 101, RST | ACK)
    cap.tcp(C, 1007, S, 80, 100, 0, SYN)  # SH: SYN then FIN, no answer
    cap.tcp(C, 1007, S, 80, 101, 0, FIN)
    cap.tcp(C, 1008, S, 80, 100, 0, SYN)  # RSTOS0: SYN then RST from the originator
    cap.tcp(C, 1008, S, 80, 101, 0, RST)
    cap.tcp(C, 1009, S, 80, 100, 1, PSH | ACK, b"x")  # OTH: midstream both ways
    cap.tcp(S, 80, C, 1009, 1, 101, PSH | ACK, b"y")
    handshake(cap, 1010)  # S2: the originator closes, no reply
    cap.tcp(C, 1010, S, 80, 101, 501, FIN | ACK)
    handshake(cap, 1011)  # S3: the responder closes, no reply
    cap.tcp(S, 80, C, 1011, 501, 101, FIN | ACK)
    cap.tcp(S, 80, C, 1012, 500, 101, SYN | ACK)  # SHR: SYN-ACK then FIN, no SYN seen (flipped)
    cap.tcp(S, 80, C, 1012, 501, 101, FIN | ACK)
    cap.tcp(S, 80, C, 1013, 500, 101, SYN | ACK)  # RSTRH: SYN-ACK then RST, no SYN seen
    cap.tcp(S, 80, C, 1013, 501, 101, RST)
    report = analyze(cap.write(tmp_path / "states.pcap"))
    expected = {1001: "S0", 1002: "REJ", 1003: "SF", 1004: "S1", 1005: "RSTO", 1006: "RSTR", 1007: "SH",
                1008: "RSTOS0", 1009: "OTH", 1010: "S2", 1011: "S3", 1012: "SHR", 1013: "RSTRH"}  # fmt: skip
    assert {port: flow(report, port).state for port in expected} == expected
    sf = flow(report, 1003)
    assert (sf.src, sf.sport, sf.dst, sf.dport, sf.history) == (C, 1003, S, 80, "ShADfFa")
    assert (sf.orig_packets, sf.resp_packets, sf.orig_payload, sf.resp_payload) == (4, 3, 5, 0)
    shr = flow(report, 1012)
    assert (shr.src, shr.sport) == (C, 1012) and shr.history.startswith("^")  # Zeek flips to the client
    assert report.tcp.states["SF"] == 1 and report.tcp.flows == 13


def test_tcp_health(tmp_path: Path) -> None:
    cap = Capture()
    cap.at(0).tcp(C, 2000, S, 443, 100, 0, SYN)
    cap.at(0.010).tcp(S, 443, C, 2000, 500, 101, SYN | ACK)
    cap.at(0.030).tcp(C, 2000, S, 443, 101, 501, ACK)
    cap.tcp(C, 2000, S, 443, 101, 501, PSH | ACK, b"a" * 100)
    cap.tcp(C, 2000, S, 443, 101, 501, PSH | ACK, b"a" * 100)  # the same segment again
    cap.tcp(S, 443, C, 2000, 501, 201, ACK, win=0)  # the server's window is full
    cap.tcp(S, 443, C, 2000, 501, 201, ACK, win=0)
    cap.tcp(S, 443, C, 2000, 501, 201, ACK, win=4096)
    cap.tcp(C, 2000, S, 443, 201, 501, PSH | ACK, b"b" * 50)
    report = analyze(cap.write(tmp_path / "health.pcap"))
    f = flow(report, 2000)
    assert (f.retransmissions, f.zero_windows, f.resets) == (1, 2, 0)
    assert f.rtt_ms == pytest.approx(30.0, abs=0.01)
    assert report.tcp.syn_to_synack_ms is not None and report.tcp.syn_to_synack_ms.median == pytest.approx(10.0)
    assert f.orig_payload == 150 and "T" in f.history and "w" in f.history
    assert report.tcp.worst == [f]


def test_port_reuse_is_a_new_connection(tmp_path: Path) -> None:
    cap = Capture()
    for isn in (100, 9000):
        cap.tcp(C, 3000, S, 80, isn, 0, SYN)
        cap.tcp(S, 80, C, 3000, 500, isn + 1, SYN | ACK)
        cap.tcp(C, 3000, S, 80, isn + 1, 501, ACK)
        cap.tcp(C, 3000, S, 80, isn + 1, 501, FIN | ACK)
        cap.tcp(S, 80, C, 3000, 501, isn + 2, FIN | ACK)
        cap.tcp(C, 3000, S, 80, isn + 2, 502, ACK)
    report = analyze(cap.write(tmp_path / "reuse.pcap"))
    assert [(f.state, f.packets) for f in report.flows] == [("SF", 6), ("SF", 6)]


def mixed(seed: int) -> Capture:
    """Random TCP and UDP traffic (handshakes, data, losses, resets, midstream starts)."""
    rng = random.Random(seed)
    cap = Capture()
    for _ in range(600):
        port = rng.randrange(1024, 1060)
        if rng.random() < 0.2:
            cap.udp(C, port, S, rng.choice([53, 5000, 161]), bytes(rng.randrange(0, 40)))
            continue
        flags = rng.choice([SYN, SYN | ACK, ACK, PSH | ACK, FIN | ACK, RST, RST | ACK, ACK])
        data = bytes(rng.randrange(0, 3) * 10)
        if rng.random() < 0.5:
            cap.tcp(C, port, S, 80, rng.randrange(0, 300), rng.randrange(0, 300), flags, data, rng.choice([0, 100]))
        else:
            cap.tcp(S, 80, C, port, rng.randrange(0, 300), rng.randrange(0, 300), flags, data, rng.choice([0, 100]))
    return cap


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_inline_path_equals_general_path(tmp_path: Path, seed: int) -> None:
    path = mixed(seed).write(tmp_path / "mixed.pcap")
    assert analyze(path).model_dump() == analyze(path, fast=False).model_dump()


def test_byte_orders_resolutions_and_gzip_agree(tmp_path: Path) -> None:
    cap = mixed(4)
    plain = analyze(cap.write(tmp_path / "le.pcap")).model_dump(exclude={"file", "read"})
    assert analyze(cap.write(tmp_path / "be.pcap", order=">")).model_dump(exclude={"file", "read"}) == plain
    assert analyze(cap.write(tmp_path / "ns.pcap", nano=True)).model_dump(exclude={"file", "read"}) == plain
    zipped = tmp_path / "le.pcap.gz"
    zipped.write_bytes(gzip.compress((tmp_path / "le.pcap").read_bytes()))
    report = analyze(zipped)
    assert report.read.compressed and report.model_dump(exclude={"file", "read"}) == plain


def dns_message(qid: int, name: str, rcode: int = 0, answers: int = 0, response: bool = True) -> bytes:
    msg = dpkt.dns.DNS(id=qid, qr=int(response), rcode=rcode, opcode=0)
    msg.qd = [dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_A, cls=dpkt.dns.DNS_IN)]
    msg.an = [
        dpkt.dns.DNS.RR(name=name, type=dpkt.dns.DNS_A, cls=dpkt.dns.DNS_IN, ttl=60, ip=bytes((192, 0, 2, i + 1)))
        for i in range(answers)
    ]
    return bytes(msg)


def test_dns_outcomes(tmp_path: Path) -> None:
    cap = Capture()
    cases = [("ok.lab", 0, 2), ("missing.lab", 3, 0), ("broken.lab", 2, 0), ("empty.lab", 0, 0)]
    for i, (name, rcode, answers) in enumerate(cases):
        cap.udp(C, 4000 + i, S, 53, dns_message(i, name, response=False))
        cap.udp(S, 53, C, 4000 + i, dns_message(i, name, rcode, answers))
    cap.udp(C, 4100, S, 53, dns_message(99, "lost.lab", response=False))
    cap.udp(C, 4101, S, 53, b"\x00\x01garbage")
    report = analyze(cap.write(tmp_path / "dns.pcap")).dns
    assert report.queries == 5 and report.responses == 4 and report.malformed == 1
    assert report.outcomes == {"no-answer": 1, "nxdomain": 1, "ok": 1, "servfail": 1, "unanswered": 1}
    assert {q.query: q.status for q in report.failures} == {
        "missing.lab": "nxdomain", "broken.lab": "servfail", "empty.lab": "no-answer", "lost.lab": "unanswered",
    }  # fmt: skip
    ok = next(q for q in report.records if q.query == "ok.lab")
    assert ok.answers == ["A 192.0.2.1", "A 192.0.2.2"] and ok.rtt_ms == pytest.approx(1.0)


def rtp(cap: Capture, sport: int, ssrc: int, count: int, lost: set[int], wobble: float, seed: int) -> None:
    rng = random.Random(seed)
    for i in range(count):
        if i in lost:
            continue
        cap.at(10 + i * 0.020 + rng.uniform(0, wobble))
        header = struct.pack("!BBHII", 0x80, 0, (60000 + i) & 0xFFFF, 1000 + 160 * i, ssrc)
        cap.udp(C, sport, S, 30000, header + bytes(160))


def test_rtp_streams_loss_jitter_mos(tmp_path: Path) -> None:
    cap = Capture()
    rtp(cap, 20000, 0xAAAA, 100, {10, 50}, 0.0, 1)
    clean = analyze(cap.write(tmp_path / "clean.pcap")).rtp
    cap = Capture()
    rtp(cap, 20002, 0xBBBB, 200, set(), 0.030, 2)
    for i in range(50):  # UDP that starts like RTP but is not a stream
        cap.udp(C, 40000, S, 40001, bytes([0x80, 0]) + random.Random(i).randbytes(30))
    shaky = analyze(cap.write(tmp_path / "shaky.pcap")).rtp
    [a] = clean
    [b] = shaky
    assert (a.packets, a.lost, a.codec, a.clock_hz, a.ssrc) == (98, 2, "PCMU", 8000, "0x0000aaaa")
    assert a.loss_pct == pytest.approx(2.0) and a.jitter_ms < 0.5  # the sequence wrapped past 65535 too
    assert a.mos == round(mos(r_factor(0.0, a.jitter_ms, a.loss_pct, "g711")), 2)
    # Jitter costs the E-model little (a jitter buffer of twice the jitter adds delay), but it shows in R.
    assert b.jitter_ms > 3 and b.lost == 0 and b.r_factor < round(r_factor(0.0, 0.0, 0.0, "g711"), 1)


def test_truncated_capture_is_reported(tmp_path: Path) -> None:
    data = (TCPDUMP / "bgp-4byte-asn.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:3000])
    report = analyze(cut)
    assert not report.read.complete and report.packets == 32
    assert report.read.stopped_at == 2920 and "ends inside packet record 33" in (report.read.error or "")
    assert sum(f.packets for f in report.flows) + sum(
        p.packets for p in report.protocols if p.name == "arp"
    ) == 32  # fmt: skip


def test_damaged_record_length_stops_reading(tmp_path: Path) -> None:
    data = bytearray((TCPDUMP / "dns_tcp.pcap").read_bytes())
    first_len = struct.unpack_from("<I", data, 24 + 8)[0]
    second = 24 + 16 + first_len
    struct.pack_into("<I", data, second + 8, 0x7FFFFFFF)
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(bytes(data))
    report = analyze(bad)
    assert report.packets == 1 and not report.read.complete and report.read.stopped_at == second
    assert "claims" in (report.read.error or "")


def test_truncated_gzip_and_pcapng(tmp_path: Path) -> None:
    zipped = gzip.compress((TCPDUMP / "bgp-4byte-asn.pcap").read_bytes())
    part = tmp_path / "part.pcap.gz"
    part.write_bytes(zipped[: len(zipped) // 2])
    report = analyze(part)
    assert not report.read.complete and report.read.compressed and "gzip" in (report.read.error or "")
    ng = (TCPDUMP / "OSPFv2_Capture_FINAL.pcapng").read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(ng[: len(ng) - 100])
    report = analyze(cut)
    assert not report.read.complete and 0 < report.packets < 30


@pytest.mark.parametrize("content", [b"", b"hello world, no capture here\n", b"\x1f\x8bnot really gzip"])
def test_not_a_capture_is_one_line_error(tmp_path: Path, content: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(PcapFormatError):
        analyze(path)
    assert main(["pcap", "analyze", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "capture" in err


def test_json_keeps_the_scripting_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pcap", "analyze", str(TCPDUMP / "dns_tcp.pcap"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["packets"] == 11
    [f] = out["flows"]
    contract = {"proto", "src", "sport", "dst", "dport", "packets", "bytes", "start", "end"}
    assert contract <= f.keys()
    assert (f["proto"], f["src"], f["sport"], f["dst"], f["dport"], f["packets"]) == (
        "tcp", "192.168.1.11", 33779, "209.87.249.18", 53, 11
    )  # fmt: skip
    assert f["start"] == 1591780863.720289 and f["end"] > f["start"]


CORPUS = sorted(p for p in TCPDUMP.glob("*.pcap*")) if TCPDUMP.exists() else []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    which=st.integers(min_value=0, max_value=max(len(CORPUS) - 1, 0)),
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), max_size=12),
    cut=st.integers(min_value=0, max_value=100),
)
def test_fuzzed_captures_never_crash(tmp_path: Path, which: int, edits: list[tuple[int, int]], cut: int) -> None:
    if not CORPUS:
        pytest.skip("../shared/data/tcpdump is missing")
    data = bytearray(CORPUS[which].read_bytes())
    for at, value in edits:
        data[at % len(data)] = value
    data = data[: max(1, len(data) * cut // 100)] if cut < 100 else data
    path = tmp_path / "fuzz.bin"
    path.write_bytes(bytes(data))
    try:
        report = analyze(path)
    except PcapFormatError:
        return
    assert report.packets >= 0 and (report.read.complete or report.read.error)


@pytest.mark.parametrize("path", sorted(TCPDUMP.glob("*.pcap*")), ids=lambda p: p.name)
def test_a_tiny_read_buffer_gives_the_same_report(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record loops refill one buffer in place and grow it for a record larger than it: with 64 bytes
    every record crosses a refill and most need a growth, and the report must not change."""
    whole = analyze(path)
    monkeypatch.setattr("netwarden.security.pcap.reader.CHUNK", 64)
    tiny = analyze(path)
    assert tiny.read.complete and tiny == whole
