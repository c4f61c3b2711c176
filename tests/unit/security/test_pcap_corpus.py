"""pcap decoding and analysis against the expected outputs shipped beside real captures (../shared/data).

tcpdump (``tcpdump/tests``): each ``.out`` is tcpdump's own decoding of a pcap (``-# -n -tttt``, UTC). For every
numbered packet line we compare what that line states and netwarden decodes: the timestamp to the printed
digits, source/destination addresses and ports, the protocol, and where printed the TCP flags, window and
payload length, the IPv4 TTL/id/total length, the UDP payload length, ICMP echo type/id/sequence, ARP
sender/target, and MAC addresses with the L2 protocol (CDP/LLDP). Packet counts must match, and flows built
from tcpdump's lines (packets per 5-tuple) must equal netwarden's flows. DNS questions and answers printed by
tcpdump must equal netwarden's DNS records. ``print-x.out`` also gives each packet's bytes in hex: they must
equal the bytes the reader hands out.

Zeek (``zeek/testing/btest``): every SNMP PDU in the ``outN`` baselines (event, connection, direction,
community or SNMPv3 user, request id, error or bulk fields, v1 trap header, each varbind's OID, tag and value)
must equal netwarden's decoding, in order; the ICMP events baseline gives conn ids, type, code, length, TTL
and the quoted packet's 5-tuple; ``snmp.log`` gives the SNMPv3 connection's duration.

What each file contributed is printed (``pytest -s``); files not compared are named in docs/decisions/0025.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from netwarden.security.pcap import analyze, iter_packets
from netwarden.security.pcap.analyze import zeek_escape
from netwarden.security.pcap.decode import Packet, decode, mac_text
from netwarden.security.pcap.reader import CaptureReader
from netwarden.security.pcap.snmp import SnmpPdu, decode_message
from tests.support.shared_data import shared_data

DATA = shared_data()
TCPDUMP = DATA / "tcpdump" / "tests"
ZEEK = DATA / "zeek" / "testing" / "btest"
TCP_FLAGS = ((0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"), (0x20, "U"), (0x40, "E"), (0x80, "W"), (0x10, "."))

# (pcap, expected output, what its lines hold)
TCPDUMP_CASES = [
    ("e1000g.pcap", "e1000g.out", "plain"),
    ("dns_udp.pcap", "dns_udp-v.out", "verbose"),
    ("dns_udp.pcap", "dns_udp.out", "plain"),
    ("dns_tcp.pcap", "dns_tcp-v.out", "verbose"),
    ("dns_tcp.pcap", "dns_tcp.out", "plain"),
    ("print-flags.pcap", "print-x.out", "plain"),
    ("tcp-handshake-nano.pcap", "tcp-handshake-micro-tttt.out", "plain"),
    ("tcp-handshake-nano.pcap", "tcp-handshake-nano-tttt.out", "plain"),
    ("bgp-4byte-asn.pcap", "bgp-4byte-asn.out", "verbose"),
    ("OSPFv2_Capture_FINAL.pcapng", "OSPFv2_Capture_FINAL-v.out", "verbose"),
    ("OSPFv2_Capture_FINAL.pcapng", "OSPFv2_Capture_FINAL.out", "plain"),
    ("syslog_udp.pcap", "syslog-v.out", "verbose"),
    ("LLDP_and_CDP.pcap", "lldp_cdp-ev.out", "ethernet"),
    ("3560_CDP.pcap", "cdp-v.out", "plain"),
]
_NUMBERED = re.compile(r"^\s{0,4}(\d+)  (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.(\d+)) (.*)$")
_HEADER_V = re.compile(
    r"^IP \(tos 0x[0-9a-f]+, ttl (\d+), id (\d+), offset \d+, flags \[[^]]*\], proto (\S+) \((\d+)\), length (\d+)"
)
_ENDPOINTS = re.compile(r"(?:^|IP )(\d+\.\d+\.\d+\.\d+)(?:\.(\d+))? > (\d+\.\d+\.\d+\.\d+)(?:\.(\d+))?:")


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"recorded data {path} is missing (../shared/data)")
    return path


def parse_tcpdump(path: Path) -> list[dict[str, Any]]:
    """Numbered packet lines with their continuation lines (tcpdump -#)."""
    packets: list[dict[str, Any]] = []
    for line in path.read_text(errors="replace").splitlines():
        m = _NUMBERED.match(line)
        if m:
            packets.append({"n": int(m.group(1)), "time": m.group(2), "digits": len(m.group(3)), "text": m.group(4),
                            "more": [], "hex": b""})  # fmt: skip
        elif packets and line.strip().startswith("0x") and ":" in line:
            words = line.split(":", 1)[1].split()
            packets[-1]["hex"] += bytes.fromhex("".join(w for w in words if re.fullmatch(r"[0-9a-f]{2,4}", w)))
        elif packets:
            packets[-1]["more"].append(line.strip())
    return packets


def stamp(ts_ns: int, digits: int) -> str:
    """tcpdump -tttt: UTC date and time, fraction truncated to microseconds (or nanoseconds with --nano)."""
    sec, frac = divmod(ts_ns, 1_000_000_000)
    day = dt.datetime.fromtimestamp(sec, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{day}.{frac:09d}"[: 20 + digits]


def flags_text(flags: int) -> str:
    return "".join(letter for bit, letter in TCP_FLAGS if flags & bit)


def compare_packet(exp: dict[str, Any], got: Packet, style: str) -> list[str]:
    """The fields tcpdump printed for this packet that netwarden decodes; returns names of those compared."""
    checked = ["time"]
    assert stamp(got.ts_ns, exp["digits"]) == exp["time"], (exp["n"], stamp(got.ts_ns, exp["digits"]), exp["time"])
    text = exp["text"]
    if style == "ethernet":
        m = re.match(r"([0-9a-f:]{17}) > ([0-9a-f:]{17}), .*?length (\d+): (LLC|LLDP)", text)
        assert m, text
        assert got.src_mac is not None and got.dst_mac is not None
        # 802.3 frames: tcpdump prints the length field; Ethernet II: the frame length
        length = got.ethertype if ", 802.3," in text else got.wire_len
        assert (mac_text(got.src_mac), mac_text(got.dst_mac), length) == (m.group(1), m.group(2), int(m.group(3)))
        assert got.proto == ("cdp" if "pid CDP" in text else "lldp"), (text, got.proto)
        return [*checked, "macs", "length", "protocol"]
    if text.startswith("CDPv2"):
        assert got.proto == "cdp"
        return [*checked, "protocol"]
    if text.startswith("ARP"):
        assert got.proto == "arp" and got.src is not None
        m = re.search(r"Request who-has (\S+) tell (\S+),", text)
        if m:
            assert (got.arp_op, got.dst, got.src) == (1, m.group(1), m.group(2))
        else:
            m = re.search(r"Reply (\S+) is-at", text)
            assert m and (got.arp_op, got.src) == (2, m.group(1))
        return [*checked, "protocol", "arp"]
    line = text
    if style == "verbose":
        head = _HEADER_V.match(text)
        assert head, text
        ttl, ident, proto_name, proto, length = head.groups()
        assert (got.ttl, got.ip_id, got.ip_proto, got.ip_len) == (int(ttl), int(ident), int(proto), int(length))
        checked += ["ttl", "ip id", "ip proto", "ip length"]
        line = exp["more"][0]
    m = _ENDPOINTS.search(line)
    assert m, line
    src, sport, dst, dport = m.groups()
    assert (got.src, got.dst) == (src, dst), (exp["n"], got.src, got.dst, line)
    checked.append("addresses")
    if sport is not None:
        assert (got.sport, got.dport) == (int(sport), int(dport)), (exp["n"], line)
        checked.append("ports")
    rest = line[m.end() :]
    if "Flags [" in rest:
        fm = re.search(r"Flags \[([^]]*)\]", rest)
        assert fm and got.proto == "tcp" and got.tcp_flags is not None
        assert flags_text(got.tcp_flags) == fm.group(1), (exp["n"], flags_text(got.tcp_flags), fm.group(1))
        win = re.search(r"win (\d+)", rest)
        plen = re.search(r"length (\d+)", rest)
        assert win and plen
        assert (got.window, got.payload_len) == (int(win.group(1)), int(plen.group(1)))
        checked += ["protocol", "tcp flags", "window", "payload length"]
    elif re.match(r" tcp (\d+)$", rest):
        assert got.proto == "tcp" and got.payload_len == int(rest.split()[-1])
        checked += ["protocol", "payload length"]
    elif "ICMP echo" in rest:
        em = re.search(r"ICMP echo (request|reply), id (\d+), seq (\d+), length (\d+)", rest)
        assert em and got.proto == "icmp"
        assert got.icmp_type == (8 if em.group(1) == "request" else 0)
        assert got.payload_len + 8 == int(em.group(4))
        checked += ["protocol", "icmp type", "icmp length"]
    elif "OSPFv2" in rest:
        assert got.proto == "ospf"
        checked.append("protocol")
    elif "SYSLOG" in rest:
        sm = re.search(r"SYSLOG, length: (\d+)", rest)
        assert sm and got.proto == "udp" and got.payload_len == int(sm.group(1))
        checked += ["protocol", "udp length"]
    elif got.dport == 53 or got.sport == 53:
        assert got.proto == ("udp" if style != "verbose" or proto_name == "UDP" else "tcp")
        checked.append("protocol")
    if exp["hex"]:
        assert got.ip_version == 4
        checked.append("bytes")
    return checked


@pytest.mark.parametrize(("pcap", "out", "style"), TCPDUMP_CASES, ids=[c[1] for c in TCPDUMP_CASES])
def test_packets_agree_with_tcpdump(pcap: str, out: str, style: str) -> None:
    expected = parse_tcpdump(need(TCPDUMP / out))
    got = list(iter_packets(need(TCPDUMP / pcap)))
    assert len(got) == len(expected), (len(got), len(expected))
    assert [e["n"] for e in expected] == list(range(1, len(got) + 1))
    fields: Counter[str] = Counter()
    for exp, pkt in zip(expected, got, strict=True):
        fields.update(compare_packet(exp, pkt, style))
    if any(e["hex"] for e in expected):
        with CaptureReader(TCPDUMP / pcap) as reader:
            for exp, (_ts, _wire, lt, buf, p, end) in zip(expected, reader.records(), strict=True):
                assert lt == 1 and buf[p + 14 : end][: len(exp["hex"])] == exp["hex"]
    print(f"\n{pcap} vs {out}: {len(got)} packets; compared {dict(fields)}")


def tcpdump_flows(expected: list[dict[str, Any]], style: str) -> Counter[tuple[Any, ...]]:
    """Packets per unordered (address, port) pair, from tcpdump's lines."""
    flows: Counter[tuple[Any, ...]] = Counter()
    for exp in expected:
        line = exp["more"][0] if style == "verbose" and exp["more"] else exp["text"]
        m = _ENDPOINTS.search(line)
        if not m or m.group(2) is None:
            continue
        a, b = (m.group(1), int(m.group(2))), (m.group(3), int(m.group(4)))
        flows[tuple(sorted((a, b)))] += 1
    return flows


@pytest.mark.parametrize(
    ("pcap", "out", "style"),
    [c for c in TCPDUMP_CASES if c[0] in ("bgp-4byte-asn.pcap", "dns_tcp.pcap", "syslog_udp.pcap", "print-flags.pcap")],
    ids=str,
)
def test_flows_agree_with_tcpdump(pcap: str, out: str, style: str) -> None:
    expected = tcpdump_flows(parse_tcpdump(need(TCPDUMP / out)), style)
    report = analyze(need(TCPDUMP / pcap))
    got = Counter(
        {
            tuple(sorted(((f.src, f.sport), (f.dst, f.dport)))): f.packets
            for f in report.flows
            if f.proto in ("tcp", "udp")
        }
    )
    assert got == expected
    print(f"\n{pcap}: {len(got)} flows, packets per flow equal to {out}")


def test_both_decoding_paths_and_both_file_formats_agree(tmp_path: Path) -> None:
    """The inline Ethernet/IPv4/TCP path equals the general decoder; pcapng (editcap) equals pcap."""
    for name in ("bgp-4byte-asn.pcap", "dns_tcp.pcap", "print-flags.pcap", "syslog_udp.pcap"):
        source = need(TCPDUMP / name)
        fast, slow = analyze(source), analyze(source, fast=False)
        assert fast.model_dump(exclude={"read"}) == slow.model_dump(exclude={"read"})
        converted = tmp_path / f"{name}.pcapng"
        done = subprocess.run(["editcap", "-F", "pcapng", str(source), str(converted)], capture_output=True)
        if done.returncode != 0:
            pytest.skip("editcap is not installed (wireshark-common)")
        ng = analyze(converted)
        assert ng.read.format == "pcapng"
        assert ng.model_dump(exclude={"read", "file"}) == fast.model_dump(exclude={"read", "file"})


def test_conn_states_of_the_corpus() -> None:
    """Zeek's conn_state for flows whose packets tcpdump shows (see the .out files for the flags)."""
    bgp = analyze(need(TCPDUMP / "bgp-4byte-asn.pcap"))
    states = Counter(f.state for f in bgp.flows)
    # Two BGP sessions that stay up, and every refused connection attempt answered by an RST/ACK.
    refused = sum(1 for f in bgp.flows if f.history == "Sr")
    assert states["REJ"] == refused > 0 and states["S1"] >= 2
    assert {f.state for f in analyze(need(TCPDUMP / "dns_tcp.pcap")).flows} == {"SF"}
    assert {f.state for f in analyze(need(TCPDUMP / "print-flags.pcap")).flows} == {"SF"}
    hs = analyze(need(TCPDUMP / "tcp-handshake-nano.pcap"))
    assert [f.state for f in hs.flows] == ["S1"] and hs.tcp.handshakes == 1
    # SYN 17:16:09.924505488, ACK 17:16:10.052115157 (tcp-handshake-nano-tttt.out)
    assert hs.flows[0].rtt_ms == pytest.approx(127.609669, abs=0.001)


def test_dns_agrees_with_tcpdump() -> None:
    for pcap, transport in (("dns_udp.pcap", "udp"), ("dns_tcp.pcap", "tcp")):
        report = analyze(need(TCPDUMP / pcap))
        text = (TCPDUMP / pcap.replace(".pcap", ".out")).read_text()
        q = re.search(r"(\d+)\+ \[1au\] (\w+)\? (\S+)\. ", text)
        a = re.search(r"(\d+)\*- 2/2/5 (?:www\.tcpdump\.org\. )?A (\S+), (?:www\.tcpdump\.org\. )?A (\S+) ", text)
        assert q and a
        [rec] = report.dns.records
        assert (rec.id, rec.qtype, rec.query, rec.transport) == (int(q.group(1)), q.group(2), q.group(3), transport)
        assert rec.status == "ok" and rec.answers == [f"A {a.group(2)}", f"A {a.group(3)}"]
        assert rec.client == "192.168.1.11" and rec.server == "209.87.249.18"


# ---------------------------------------------------------------- Zeek baselines


def parse_zeek_snmp(path: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for raw in path.read_text().splitlines():
        if raw.startswith("#") or not raw.strip():
            continue
        line = raw.strip()
        if not raw.startswith(" "):
            events.append({"event": line, "fields": {}, "varbinds": []})
            continue
        ev = events[-1]
        if line.startswith("[orig_h="):
            m = re.match(r"\[orig_h=(\S+), orig_p=(\d+)/udp, resp_h=(\S+), resp_p=(\d+)/udp", line)
            assert m
            ev["conn"] = (m.group(1), int(m.group(2)), m.group(3), int(m.group(4)))
        elif line.startswith("is_orig:"):
            ev["is_orig"] = line.endswith("T")
        elif line.startswith("[community="):
            ev["community"] = line[len("[community=") : -1]
        elif line.startswith("[id="):
            ev["v3_id"] = int(re.match(r"\[id=(\d+)", line).group(1))  # type: ignore[union-attr]
            ev["user"] = re.search(r"UserName=([^,\]]*)", line).group(1)  # type: ignore[union-attr]
        elif line.startswith("oid:"):
            ev["varbinds"].append([line.split(": ", 1)[1]])
        elif line.startswith("value (tag="):
            m = re.match(r"value \(tag=0x([0-9a-f]+)\): ?(.*)$", raw.strip())
            assert m
            ev["varbinds"][-1] += [int(m.group(1), 16), m.group(2)]
        else:
            key, _, value = line.partition(":")
            ev["fields"][key.strip()] = value.strip()
    return events


ZEEK_SNMP = [
    ("snmpv1_get.pcap", "scripts.base.protocols.snmp.v1/out1"),
    ("snmpv1_get_short.pcap", "scripts.base.protocols.snmp.v1/out2"),
    ("snmpv1_set.pcap", "scripts.base.protocols.snmp.v1/out3"),
    ("snmpv1_trap.pcap", "scripts.base.protocols.snmp.v1/out4"),
    ("snmpv2_get.pcap", "scripts.base.protocols.snmp.v2/out1"),
    ("snmpv2_get_bulk.pcap", "scripts.base.protocols.snmp.v2/out2"),
    ("snmpv2_get_next.pcap", "scripts.base.protocols.snmp.v2/out3"),
    ("snmpv3_get_next.pcap", "scripts.base.protocols.snmp.v3/out1"),
]
_ZEEK_FIELDS = {
    "request_id": "request_id",
    "error_stat": "error_status",
    "error_idx": "error_index",
    "non_repeaters": "non_repeaters",
    "max_repetitions": "max_repetitions",
    "enterprise": "enterprise",
    "agent": "agent",
    "generic_trap": "generic_trap",
    "specific_trap": "specific_trap",
    "time_stamp": "time_stamp",
}


def zeek_value(tag: int, value: int | str | None) -> str:
    names = {0x05: "<unspecified>", 0x80: "<no such object>", 0x81: "<no such instance>", 0x82: "<end of mib view>"}
    if tag in names:
        return names[tag]
    return "" if value is None else str(value)


# Zeek's btest script (testing/scripts/snmp-test.zeek) prints "snmp_get_request" for its snmp_get_next_request
# event and "snmp_trapv2" for snmp_trapV2; netwarden names the PDUs by their own type.
_ZEEK_PRINTS = {"get_next_request": "snmp_get_request", "trapV2": "snmp_trapv2"}


def raw_snmp(path: Path) -> list[SnmpPdu]:
    """Every SNMP message of a capture, decoded straight from its UDP payload (communities not redacted)."""
    out = []
    with CaptureReader(path) as reader:
        for ts, wire, lt, buf, p, end in reader.records():
            pkt = decode(ts, wire, lt, buf, p, end)
            if pkt.proto == "udp" and {pkt.sport, pkt.dport} & {161, 162}:
                out.append(decode_message(bytes(buf[pkt.payload_at : pkt.payload_at + pkt.payload_len])))
    return out


@pytest.mark.parametrize(("pcap", "baseline"), ZEEK_SNMP, ids=[c[0] for c in ZEEK_SNMP])
def test_snmp_pdus_agree_with_zeek(pcap: str, baseline: str) -> None:
    expected = parse_zeek_snmp(need(ZEEK / "Baseline" / baseline))
    path = need(ZEEK / "Traces" / "snmp" / pcap)
    report = analyze(path)
    got = report.snmp.messages
    raw = raw_snmp(path)
    assert report.snmp.malformed == 0
    assert len(got) == len(expected) == len(raw)
    varbinds = 0
    for exp, msg, pdu in zip(expected, got, raw, strict=True):
        assert exp["event"] == _ZEEK_PRINTS.get(msg.pdu, f"snmp_{msg.pdu}")
        orig = (msg.src, msg.sport, msg.dst, msg.dport) if msg.is_orig else (msg.dst, msg.dport, msg.src, msg.sport)
        assert (exp["conn"], exp["is_orig"]) == (orig, msg.is_orig)
        if "community" in exp:
            assert pdu.community is not None and zeek_escape(pdu.community) == exp["community"]
            shown = exp["community"] if exp["community"] in ("public", "private") else "<redacted>"
            assert msg.community == shown
        else:
            assert msg.user == exp["user"] and msg.version == "v3"
        for zeek_name, ours in _ZEEK_FIELDS.items():
            if zeek_name in exp["fields"]:
                assert str(getattr(msg, ours)) == exp["fields"][zeek_name], (zeek_name, msg)
        mine = [[v.oid, v.tag, zeek_value(v.tag, v.value)] for v in msg.varbinds]
        assert mine == exp["varbinds"]
        varbinds += len(mine)
    print(f"\n{pcap}: {len(got)} PDUs and {varbinds} varbinds equal to Zeek's {baseline}")


def test_snmpv3_connection_agrees_with_zeek_log() -> None:
    log = need(ZEEK / "Baseline" / "scripts.base.protocols.snmp.v3" / "snmp.log").read_text().splitlines()
    fields = next(line for line in log if line.startswith("#fields")).split("\t")[1:]
    row = dict(zip(fields, next(line for line in log if not line.startswith("#")).split("\t"), strict=True))
    report = analyze(need(ZEEK / "Traces" / "snmp" / "snmpv3_get_next.pcap"))
    [flow] = report.flows
    assert (flow.src, flow.sport, flow.dst, flow.dport) == (
        row["id.orig_h"], int(row["id.orig_p"]), row["id.resp_h"], int(row["id.resp_p"])
    )  # fmt: skip
    assert flow.duration == pytest.approx(float(row["duration"]), abs=1e-6)
    assert {m.version for m in report.snmp.messages} == {"v" + row["version"]}


def test_default_community_is_reported_and_others_redacted() -> None:
    report = analyze(need(ZEEK / "Traces" / "snmp" / "snmpv1_get.pcap"))
    assert report.snmp.default_community_agents == ["172.31.19.73"]
    pdu = report.snmp.messages[0]
    assert zeek_escape(b"\x08\x007") == "\\x08\\x007"
    assert pdu.community == "public"


def parse_zeek_icmp(text: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for line in text.splitlines():
        line = line.strip()
        if re.match(r"icmp_\w+ \(", line):
            blocks.append({})
        elif line.startswith("conn_id:"):
            m = re.match(r"conn_id: \[orig_h=(\S+), orig_p=(\d+)/icmp, resp_h=(\S+), resp_p=(\d+)/icmp", line)
            assert m
            blocks[-1]["conn"] = (m.group(1), int(m.group(2)), m.group(3), int(m.group(4)))
        elif line.startswith("icmp_info:"):
            m = re.search(r"itype=(\d+), icode=(\d+), len=(\d+), ttl=(\d+)", line)
            assert m
            blocks[-1]["info"] = tuple(int(g) for g in m.groups())
        elif line.startswith("icmp_context:"):
            m = re.search(r"\[id=\[orig_h=(\S+), orig_p=(\d+)/udp, resp_h=(\S+), resp_p=(\d+)/udp", line)
            assert m
            blocks[-1]["inner"] = (m.group(1), int(m.group(2)), m.group(3), int(m.group(4)))
    return blocks


def test_icmp_agrees_with_zeek() -> None:
    blocks = parse_zeek_icmp(need(ZEEK / "Baseline" / "core.icmp.icmp-events" / "output").read_text())
    folder = need(ZEEK / "Traces" / "icmp")
    packets: list[Packet] = []
    conns: set[tuple[str, int, str, int]] = set()
    for name in ("icmp-destunreach-udp.pcap", "icmp-timeexceeded.pcap", "icmp-ping.pcap"):
        packets += list(iter_packets(folder / name))
        conns |= {(f.src, f.sport, f.dst, f.dport) for f in analyze(folder / name).flows}
    assert len(blocks) == len(packets) == 6
    for block, pkt in zip(blocks, packets, strict=True):
        assert block["conn"] in conns
        assert (pkt.icmp_type, pkt.icmp_code, pkt.payload_len, pkt.ttl) == block["info"]
        if "inner" in block:
            quoted = _quoted(pkt, folder)
            assert (quoted.src, quoted.sport, quoted.dst, quoted.dport) == block["inner"]
    print(f"\nICMP: {len(packets)} messages, conn ids, type, code, length, TTL and quoted 5-tuples equal to Zeek's")


def _quoted(pkt: Packet, folder: Path) -> Packet:
    """The IPv4 packet an ICMP error quotes, decoded as raw IP."""
    for name in ("icmp-destunreach-udp.pcap", "icmp-timeexceeded.pcap"):
        with CaptureReader(folder / name) as reader:
            for ts, wire, lt, buf, p, end in reader.records():
                outer = decode(ts, wire, lt, buf, p, end)
                if outer.ts_ns == pkt.ts_ns:
                    return decode(0, end - outer.payload_at, 228, buf, outer.payload_at, end)
    raise AssertionError("quoted packet not found")
