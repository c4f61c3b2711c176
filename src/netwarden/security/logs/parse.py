"""Syslog messages and log-file lines into :class:`~netwarden.security.logs.model.LogEvent` records.

:func:`parse_message` reads a :class:`~netwarden.security.syslog.SyslogMessage` (from the receiver)
and :func:`parse_line` one line of a log file (a syslog file with or without ``<PRI>``, RFC 5424,
journal short form ``host app[pid]: text``, or vsftpd's own ``Fri Jan 19 12:20:33 2007 [pid 1] ...``).
Every message gives exactly one event: the first rule set of :data:`STEPS` that applies and has a
matching rule decides it; nothing matching gives a ``generic`` event of kind ``other``.

Time: the message's own stamp with its zone (RFC 5424 and RFC 3339 stamps keep their offset). A BSD
stamp (RFC 3164) has neither year nor zone: the year is the receiver's (a stamp more than a month
ahead of the receiver is last year's) and the zone UTC, and ``fields["zone"]`` says ``"assumed"``.
A line without any stamp gets the receiving time (``fields["zone"] = "received"``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from typing import Any, cast

from netwarden.security.logs import firewall, linux, network
from netwarden.security.logs.model import LogEvent, Outcome
from netwarden.security.logs.rules import Rule, RuleSet, address, pick, split_host_port
from netwarden.security.syslog import SEVERITIES, SyslogError, SyslogMessage, parse

__all__ = ["GENERIC", "STEPS", "Lookup", "is_parsed", "parse_line", "parse_lines", "parse_message", "read_line"]

Lookup = Callable[[str], str | None]  # sender address -> inventory device name
MAX_LINE = 65_000  # bytes of a file line read (a syslog frame has at most 64 KiB); the rest is cut
GENERIC = "generic"
STEPS: tuple[RuleSet | str, ...] = (
    *linux.RULESETS,
    *firewall.RULESETS,
    *network.BEFORE_NETWORK,
    "network",  # netwarden.security.network_events.RULES, through network.network_match
    *network.AFTER_NETWORK,
)

_BRACKET_APP = re.compile(r"^\[(?P<app>[\w.-]{1,48})\]:? (?P<rest>.*)$", re.S)
_PAM_APP = re.compile(r"^(?P<app>[\w.-]+)\((?P<module>pam_\w+)\)$")
_JUNOS_TAG = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
# FRR's own file log stamp, kept when the file is forwarded line by line (the lab's frr.log).
_FRR_STAMP = re.compile(
    r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)? (?P<daemon>[A-Z0-9]{2,10}): (?:\[[A-Z0-9]{5}-[A-Z0-9]{5}\] )?"
)
# A kernel-style "kernel:[  970.699396]:" stamp some relays put in front of another program's text.
_KERNEL_STAMP = re.compile(r"^kernel: ?\[ *\d+\.\d+\]:? ?")
_ZONED = re.compile(r"^(?:<\d{1,3}>)?(?:1 )?\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d) ")
_PRI = re.compile(rb"^<\d{1,3}>")
# A BSD stamp without a year (RFC 3164), after an optional PRI and Cisco's sequence number and origin.
_YEARLESS = re.compile(
    r"^(?:<\d{1,3}>)?(?:\d{1,10}: )?(?:[\w.-]{1,64}: )?[*.]?"
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d\d:"
)
_JOURNAL = re.compile(r"^(?P<host>[\w.-]{1,255}) (?P<app>[^\s\[\]:]{1,48})(?:\[(?P<pid>\d{1,10})\])?: (?P<text>.*)$")
_MONTHS = {
    m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}
_CTIME = re.compile(
    r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<mon>" + "|".join(_MONTHS) + r") +(?P<day>\d{1,2})"
    r" (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d) (?P<year>\d{4}) (?P<text>.*)$"
)
# IANA protocol numbers some formats print (Junos protocol-id, Cisco "list 101 permitted 47 ..."), and
# one spelling for ICMPv6 (tcpdump ICMP6, netfilter ICMPv6).
_PROTOCOLS = {"1": "icmp", "6": "tcp", "17": "udp", "47": "gre", "50": "esp", "51": "ah", "58": "icmpv6"}
_PROTOCOLS |= {"89": "ospf", "112": "vrrp", "132": "sctp", "icmp6": "icmpv6", "ipv6-icmp": "icmpv6"}
_CONSUMED = frozenset({"src", "src_hp", "dst", "dst_hp", "sport", "dport", "user", "ruser", "proto", "clock"})


def is_parsed(event: LogEvent) -> bool:
    """Whether a format rule read the event (False: the generic fallback kept it as ``other``)."""
    return event.parser != GENERIC


# ------------------------------------------------------------------ messages


def parse_message(message: SyslogMessage, *, host: str | None = None, lookup: Lookup | None = None) -> LogEvent:
    """The event one received message stands for.

    Args:
        message: the parsed syslog message.
        host: the event's host, when the caller knows it (``logs ingest --host``).
        lookup: sender address -> inventory name; else the message's HOSTNAME, else the sender's address.
    """
    return _parse(message, message.raw, host, lookup)


_PLANS: dict[str, tuple[RuleSet | str, ...]] = {}


def _plan(app: str) -> tuple[RuleSet | str, ...]:
    """The steps that may apply to a program's messages (rule sets keyed on other programs left out)."""
    plan = _PLANS.get(app)
    if plan is None:
        plan = tuple(s for s in STEPS if isinstance(s, str) or app in s.apps or s.needles or s.detect is not None)
        if len(_PLANS) < 4096:  # program names come from senders: bounded
            _PLANS[app] = plan
    return plan


def _parse(message: SyslogMessage, raw: str, host: str | None, lookup: Lookup | None) -> LogEvent:
    app, text, extra = _normalise(message, raw)
    when, zone = _time(message, raw)
    if zone:
        extra["zone"] = zone
    device = host or _device(message, lookup)
    low = app.lower()
    for step in _plan(low):
        if isinstance(step, str):
            found = network.network_match(text)
            if found is not None:
                name, kind, groups = found
                return _network_event(raw, when, device, app, text, extra, name, kind, groups)
            continue
        if not step.applies(low, text):
            continue
        body = text
        if step.strip is not None and (cut := step.strip.match(body)) is not None:
            body = body[cut.end() :]
        for r in step.rules:
            if r.needle and r.needle not in body:
                continue
            m = r.pattern.search(body)
            if m is not None:
                return _event(r, step.parser, m, message.received, raw, when, device, app, text, extra)
    return LogEvent(time=when, host=device, kind="other", raw=raw, app=app, message=text, parser=GENERIC, fields=extra)


def _normalise(message: SyslogMessage, raw: str) -> tuple[str, str, dict[str, Any]]:
    app, text = message.app, message.text
    extra: dict[str, Any] = {}
    if message.pid:
        extra["pid"] = message.pid
    if raw.startswith("<"):
        extra["severity"] = SEVERITIES[message.severity]
    if not app and (b := _BRACKET_APP.match(text)) is not None:
        app, text = b.group("app"), b.group("rest")  # "[sshd]: User root from ..." (fail2ban's corpus, AIX)
    elif (p := _PAM_APP.match(app)) is not None:
        app, extra["pam_module"] = p.group("app"), p.group("module")  # Linux-PAM < 0.99.2: "vsftpd(pam_unix)"
    if app != "kernel" and text.startswith("kernel") and (k := _KERNEL_STAMP.match(text)) is not None:
        text = text[k.end() :]
    if message.rfc == 5424 and _JUNOS_TAG.match(message.msgid) and not text.startswith(message.msgid):
        text = f"{message.msgid}: {text}"  # Junos structured-data format: the tag is the MSGID
    if (f := _FRR_STAMP.match(text)) is not None:
        extra["daemon"] = f.group("daemon").lower()
        text = text[f.end() :]
    return app, text, extra


def _time(message: SyslogMessage, raw: str) -> tuple[dt.datetime, str | None]:
    if message.time is None:
        return message.received, "received"
    if message.rfc == 5424 or _ZONED.match(raw):
        return message.time, None
    return message.time, "assumed"


def _device(message: SyslogMessage, lookup: Lookup | None) -> str:
    if lookup is not None and message.source:
        try:
            name = lookup(message.source)
        except Exception:  # the inventory being unreachable must not lose the event
            name = None
        if name:
            return name
    return message.host or message.source


def _merge_alternatives(groups: dict[str, str]) -> dict[str, str]:
    """``user2`` counts as ``user`` when ``user`` did not match (see rules.py)."""
    out: dict[str, str] = {}
    for name, value in groups.items():
        base = name.rstrip("0123456789")
        if base != name:
            out.setdefault(base, value)
        else:
            out[name] = value
    return out


def _endpoint(groups: dict[str, str], side: str) -> tuple[str | None, str | None, int | None]:
    """(ip, host name, port) of ``src``/``dst`` or ``src_hp``/``dst_hp``."""
    port: int | None = None
    value = groups.get(side)
    if value is None and (joined := groups.get(f"{side}_hp")) is not None:
        value, port = split_host_port(joined)
    if value is None:
        return None, None, None
    ip, name = address(value)
    return ip, name, port


def _int(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 9:
        return None
    return int(value)


def _event(
    r: Rule,
    parser: str,
    m: re.Match[str],
    received: dt.datetime,
    raw: str,
    when: dt.datetime,
    device: str,
    app: str,
    text: str,
    extra: dict[str, Any],
) -> LogEvent:
    groups = _merge_alternatives({k: v for k, v in m.groupdict().items() if v is not None})
    for key, value in r.defaults.items():
        groups.setdefault(key, value)
    sip, shost, sport_joined = _endpoint(groups, "src")
    dip, dhost, dport_joined = _endpoint(groups, "dst")
    fields = dict(extra)
    fields["rule"] = r.name
    if shost:
        fields["source_host"] = shost
    if dhost:
        fields["dest_host"] = dhost
    for key, value in groups.items():
        if key not in _CONSUMED and not key.endswith("_hp"):
            fields[key] = value
    kind = r.kind if r.kind_by is None else pick(groups.get(r.kind_by[0]), r.kind_by[1], r.kind_by[2]) or r.kind
    outcome = r.outcome
    if r.outcome_by is not None:
        outcome = cast(Outcome | None, pick(groups.get(r.outcome_by[0]), r.outcome_by[1], r.outcome))
    action = r.action
    if r.action_by is not None:
        action = pick(groups.get(r.action_by[0]), r.action_by[1], r.action_by[2])
    user = groups.get("user")
    if user is None:
        user = groups.get("ruser")
    proto = groups.get("proto")
    if proto is not None:
        proto = proto.lower()
        proto = _PROTOCOLS.get(proto, proto)
    if "clock" in groups and fields.get("zone") == "received":
        when = _on_day(groups["clock"], received)
        fields["zone"] = "assumed"
    return LogEvent(
        time=when,
        host=device,
        kind=kind,
        raw=raw,
        app=app,
        message=text,
        source_ip=sip,
        source_port=_int(groups.get("sport")) if "sport" in groups else sport_joined,
        dest_ip=dip,
        dest_port=_int(groups.get("dport")) if "dport" in groups else dport_joined,
        proto=proto,
        user=user,
        action=action,
        outcome=outcome,
        parser=parser,
        fields=fields,
    )


def _network_event(
    raw: str,
    when: dt.datetime,
    device: str,
    app: str,
    text: str,
    extra: dict[str, Any],
    name: str,
    kind: str,
    groups: dict[str, str],
) -> LogEvent:
    fields = {**extra, "rule": name, **{k: v for k, v in groups.items() if k != "user"}}
    peer_ip, _ = address(groups["peer"]) if "peer" in groups else (None, None)
    return LogEvent(
        time=when,
        host=device,
        kind=kind,
        raw=raw,
        app=app,
        message=text,
        dest_ip=peer_ip,
        user=groups.get("user"),
        action="config" if kind == "config-change" else None,
        parser="network",
        fields=fields,
    )


def _on_day(clock: str, received: dt.datetime) -> dt.datetime:
    """A bare ``HH:MM:SS.ffffff`` on the receiving day (UTC), or the day before when that is in the future."""
    h, m, rest = clock.split(":")
    s, _, frac = rest.partition(".")
    day = received.astimezone(dt.UTC)
    when = day.replace(hour=int(h), minute=int(m), second=int(s), microsecond=int(frac[:6].ljust(6, "0")))
    return when - dt.timedelta(days=1) if when > day + dt.timedelta(minutes=5) else when


# ------------------------------------------------------------------ files


def read_line(line: str, received: dt.datetime) -> SyslogMessage:
    """One log-file line as a message (``raw`` is the line as given; no sender address).

    A line without ``<PRI>`` is read as if sent with PRI 13 (user.notice, what ``logger`` uses) and
    keeps no severity; a ``<PRI>`` the receiver refuses is read the same way, as text. A yearless BSD
    stamp more than a day after ``received`` is last year's (a file cannot hold tomorrow's lines; the
    receiver allows a month of clock skew for live messages). A line longer than :data:`MAX_LINE`
    bytes is cut there (:func:`parse_line` notes ``fields["truncated"]``).
    """
    msg, raw = _read(line, received)
    return msg if msg.raw == raw else dataclasses.replace(msg, raw=raw)


def _read(line: str, received: dt.datetime) -> tuple[SyslogMessage, str]:
    """(the message, the line): the message's own ``raw`` may carry the PRI 13 put in front."""
    text = line.rstrip("\r\n")
    data = text.encode("utf-8", errors="replace")
    if len(data) > MAX_LINE:
        data = data[:MAX_LINE]
        text = data.decode("utf-8", errors="ignore")
    msg = None
    if _PRI.match(data):
        with suppress(SyslogError):
            msg = parse(data, "", received)
    if msg is None:
        msg = parse(b"<13>" + data, "", received)
    if msg.time is not None:
        if msg.time > received + dt.timedelta(days=1) and _YEARLESS.match(text):
            # A file holds what was logged before it was read: a yearless stamp ahead of now is last year's.
            with suppress(ValueError):  # 29 February
                msg = dataclasses.replace(msg, time=msg.time.replace(year=msg.time.year - 1))
        return msg, text
    if (c := _CTIME.match(text)) is not None:  # vsftpd.log: "Fri Jan 19 12:20:33 2007 [pid 27202] ..."
        try:
            when = dt.datetime(
                int(c.group("year")), _MONTHS[c.group("mon")], int(c.group("day")),
                int(c.group("h")), int(c.group("m")), int(c.group("s")), tzinfo=dt.UTC,
            )  # fmt: skip
        except ValueError:
            return msg, text
        rest = c.group("text")
        return dataclasses.replace(msg, time=when, app="vsftpd" if rest.startswith("[pid ") else "", text=rest), text
    if not msg.app and (j := _JOURNAL.match(text)) is not None:  # journalctl -o short without the stamp
        journal = dataclasses.replace(
            msg, host=j.group("host"), app=j.group("app"), pid=j.group("pid") or "", text=j.group("text")
        )
        return journal, text
    return msg, text


def parse_line(line: str, *, received: dt.datetime | None = None, host: str | None = None) -> LogEvent:
    """The event of one log-file line (see :func:`read_line` and :func:`parse_message`)."""
    now = received or dt.datetime.now(dt.UTC)
    msg, raw = _read(line, now)
    event = _parse(msg, raw, host, None)
    if len(line) > MAX_LINE // 4 and len(line.rstrip("\r\n").encode("utf-8", errors="replace")) > MAX_LINE:
        return dataclasses.replace(event, fields={**event.fields, "truncated": True})
    return event


def parse_lines(
    lines: Iterable[str], *, received: dt.datetime | None = None, host: str | None = None
) -> Iterator[LogEvent]:
    """Events of the non-blank lines, in order."""
    now = received or dt.datetime.now(dt.UTC)
    for line in lines:
        if line.strip():
            yield parse_line(line, received=now, host=host)
