"""Firewall logs as data: netfilter LOG lines (iptables, nftables ``log``) and packets read off NFLOG.

netfilter's LOG target and nftables' ``log`` statement write through the kernel (nf_log_syslog.c):
``<prefix>IN=eth0 OUT= MAC=... SRC=a DST=b LEN=60 ... PROTO=TCP SPT=1 DPT=2 ...``. The verdict is not
part of the line; rule sets put it in the prefix (``[UFW BLOCK]``, ``nft drop: ``), so a prefix
naming an accept is an accept and anything else a deny (logging is nearly always log-then-drop).

``log group N`` sends packets to NFLOG instead; the lab reads them with ``tcpdump -i nflog:N -n -l``
(src/netwarden/lab/firewall.py), which prints the packet and neither the prefix nor the verdict:
``15:38:29.826535 IP 10.0.0.1.44612 > 10.1.10.2.22: Flags [S], seq ...``. Those lines are read as
denies (the lab's drop rules log to group 1, ``... log group 1 counter drop``), except those forwarded as
``nftables-accept``: the lab's accept rules log to group 2, read into their own file. tcpdump's
clock has no date: the message's own stamp is used when it has one, else the receiving day.
"""

from __future__ import annotations

import re

from netwarden.security.logs.rules import RuleSet, rule

_VERDICT = {
    "block": "firewall-deny",
    "drop": "firewall-deny",
    "deny": "firewall-deny",
    "reject": "firewall-deny",
    "accept": "firewall-accept",
    "allow": "firewall-accept",
    "pass": "firewall-accept",
    "audit": "firewall-accept",  # ufw's [UFW AUDIT]: a new connection it lets through, logged for audit
}
_ACTION = {
    "block": "deny",
    "drop": "deny",
    "deny": "deny",
    "reject": "reject",
    "accept": "accept",
    "allow": "accept",
    "pass": "accept",
    "audit": "accept",
}

NETFILTER = RuleSet(
    parser="netfilter",
    needles=("IN=",),
    rules=(
        rule(
            "netfilter.log",
            "firewall-deny",
            r"^(?:\[\s*\d+\.\d+\]\s*)?(?P<prefix>(?:(?!IN=).)*?)\s*IN=(?P<in>\S*) OUT=(?P<out>\S*) (?:.*? )?"
            r"SRC=(?P<src>\S+) DST=(?P<dst>\S+) .*?PROTO=(?P<proto>\w+)"
            r"(?:.*? SPT=(?P<sport>\d+) DPT=(?P<dport>\d+))?(?:.*? TYPE=(?P<icmp_type>\d+) CODE=(?P<icmp_code>\d+))?",
            needle=" SRC=",
            kind_by=("prefix", _VERDICT, "firewall-deny"),
            action_by=("prefix", _ACTION, "deny"),
            origin="Linux net/netfilter/nf_log_syslog.c (iptables LOG, ip6tables LOG, nftables log)",
        ),
    ),
)

_CLOCK = r"^(?P<clock>\d\d:\d\d:\d\d\.\d+) "
_V4 = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"
_V6 = r"[0-9A-Fa-f:]*:[0-9A-Fa-f:]*"
_TCPDUMP = "tcpdump -n on an nflog interface (print-ip.c, print-tcp.c, print-udp.c), as the lab writes log/nft.log"


def _nflog(parser: str, kind: str, action: str, apps: frozenset[str], detect: re.Pattern[str] | None) -> RuleSet:
    """tcpdump's lines for packets one NFLOG group received; the group (so the file, so the app) says the verdict."""
    return RuleSet(
        parser=parser,
        apps=apps,
        detect=detect,
        rules=tuple(
            r
            for fam, addr in (("IP", _V4), ("IP6", _V6))
            for r in (
                rule(
                    f"{parser}.tcp",
                    kind,
                    _CLOCK + fam + rf" (?P<src>{addr})\.(?P<sport>\d+) > (?P<dst>{addr})\.(?P<dport>\d+): "
                    r"Flags \[(?P<flags>[^\]]*)\]",
                    needle=fam + " ",
                    action=action,
                    defaults={"proto": "tcp"},
                    origin=_TCPDUMP,
                ),
                rule(
                    f"{parser}.icmp",
                    kind,
                    _CLOCK + fam + rf" (?P<src>{addr}) > (?P<dst>{addr}): (?P<proto>ICMP6?),? (?P<info>.*)$",
                    needle="ICMP",
                    action=action,
                    origin=_TCPDUMP,
                ),
                rule(
                    f"{parser}.udp",
                    kind,
                    # tcpdump prints "Flags [...]" for every TCP segment: ports without them are UDP (or SCTP/DCCP,
                    # which tcpdump names).
                    _CLOCK + fam + rf" (?P<src>{addr})\.(?P<sport>\d+) > (?P<dst>{addr})\.(?P<dport>\d+): "
                    r"(?:(?P<proto>sctp|SCTP|dccp|DCCP)\b)?(?P<info>.*)$",
                    needle=fam + " ",
                    action=action,
                    defaults={"proto": "udp"},
                    origin=_TCPDUMP,
                ),
                rule(
                    f"{parser}.other",
                    kind,
                    _CLOCK + fam + rf" (?P<src>{addr}) > (?P<dst>{addr}): (?P<info>.*)$",
                    needle=fam + " ",
                    action=action,
                    origin=_TCPDUMP,
                ),
            )
        ),
    )


# The lab's firewall logs accepted new connections to NFLOG group 2, forwarded as app "nftables-accept";
# everything else read off NFLOG comes from drop rules.
NFLOG_ACCEPT = _nflog("nflog-accept", "firewall-accept", "accept", frozenset({"nftables-accept"}), None)
NFLOG = _nflog(
    "nflog", "firewall-deny", "deny", frozenset({"nftables", "nflog", "tcpdump"}), re.compile(_CLOCK + r"IP6? ")
)

RULESETS = (NETFILTER, NFLOG_ACCEPT, NFLOG)
