"""Network device logs as data: Cisco IOS/IOS-XE/NX-OS and Arista EOS ``%FAC-SEV-MNEMONIC`` messages,
Junos tags, FRR daemons, MikroTik RouterOS.

Interface, routing-neighbour and configuration messages are read by the rules the alert engine
already uses (:data:`netwarden.security.network_events.RULES`), through :func:`network_match`, so one
table says what ``%LINK-3-UPDOWN`` or ``AdjChg`` means for both. The rule sets here add logins, ACL
and firewall-policy logs, and a fallback per vendor that keeps the facility/severity/mnemonic (or
the Junos tag) of every other device message (kind ``device``).

Formats: Cisco IOS Security Configuration Guide (login enhancements: SEC_LOGIN-4-LOGIN_FAILED,
SEC_LOGIN-5-LOGIN_SUCCESS), IOS System Message Guide (SEC-6-IPACCESSLOGP/DP/NP/RP/S,
IPV6_ACL-6-ACCESSLOGP, SSH-5-SSH2_USERAUTH, SYS-5-CONFIG_I), Arista EOS ACL logging
(ACL-6-IPACCESS), Junos System Log Explorer (SSHD_LOGIN_FAILED, UI_LOGIN_EVENT, UI_AUTH_EVENT,
UI_LOGOUT_EVENT, UI_COMMIT, RT_FLOW_SESSION_DENY/CREATE/CLOSE, PFE_FW_SYSLOG_IP), RouterOS logging
topics (``system,error,critical login failure for user admin from 10.0.0.5 via ssh``).
"""

from __future__ import annotations

import re
from typing import Any

from netwarden.security.logs.rules import RuleSet, rule
from netwarden.security.network_events import RULES as NETWORK_RULES
from netwarden.security.network_events import Rule as NetworkRule

_ACL_VERDICT = {"denied": "firewall-deny", "permitted": "firewall-accept"}
_ACL_ACTION = {"denied": "deny", "permitted": "accept"}
_CISCO_GUIDE = "Cisco IOS System Message Guide"

CISCO = RuleSet(
    parser="cisco",
    needles=("%SEC", "%SSH-", "%IPV6_ACL", "%ACL-"),
    rules=(
        rule(
            "cisco.login-failed",
            "auth-failure",
            r"%SEC_LOGIN-4-LOGIN_FAILED: Login failed \[user: (?P<user>[^\]]*)\] \[Source: (?P<src>{HOST})\]"
            r" \[localport: (?P<dport>\d+)\](?: \[Reason: (?P<reason>[^\]]*)\])?",
            needle="LOGIN_FAILED",
            action="login",
            outcome="failure",
            origin="Cisco IOS login enhancements (login on-failure log), SEC_LOGIN-4-LOGIN_FAILED",
        ),
        rule(
            "cisco.login-success",
            "auth-success",
            r"%SEC_LOGIN-5-LOGIN_SUCCESS: Login Success \[user: (?P<user>[^\]]*)\] \[Source: (?P<src>{HOST})\]"
            r" \[localport: (?P<dport>\d+)\]",
            needle="LOGIN_SUCCESS",
            action="login",
            outcome="success",
            origin="Cisco IOS login enhancements (login on-success log), SEC_LOGIN-5-LOGIN_SUCCESS",
        ),
        rule(
            "cisco.ssh-userauth",
            "auth-failure",
            r"%SSH-5-SSH2_USERAUTH: User '(?P<user>[^']*)' authentication for SSH2 Session from (?P<src>{HOST})"
            r" \(tty = [^)]*\) using crypto cipher '[^']*', hmac '[^']*' (?P<result>Succeeded|Failed)",
            needle="SSH2_USERAUTH",
            action="login",
            kind_by=("result", {"succeeded": "auth-success", "failed": "auth-failure"}, "auth-failure"),
            outcome_by=("result", {"succeeded": "success", "failed": "failure"}),
            origin=_CISCO_GUIDE + ", SSH-5-SSH2_USERAUTH",
        ),
        rule(
            "cisco.acl",
            "firewall-deny",
            r"%(?:SEC-6-IPACCESSLOG(?:P|RP|NP)|IPV6_ACL-6-ACCESSLOGP?): list (?P<acl>[^\s/]+)(?:/(?P<seq>\d+))?"
            r" (?P<verdict>denied|permitted) (?P<proto>\w+) (?P<src>[0-9A-Fa-f:.]+)(?:\((?P<sport>\d+)\))?"
            r"(?: \((?P<iface>[^)]*)\))? -> (?P<dst>[0-9A-Fa-f:.]+)(?:\((?P<dport>\d+)\))?,? (?P<packets>\d+) packets?",
            needle="list ",
            kind_by=("verdict", _ACL_VERDICT, "firewall-deny"),
            action_by=("verdict", _ACL_ACTION, "deny"),
            origin=_CISCO_GUIDE + ", SEC-6-IPACCESSLOGP/RP/NP and IPV6_ACL-6-ACCESSLOGP",
        ),
        rule(
            "cisco.acl",
            "firewall-deny",
            r"%SEC-6-IPACCESSLOGDP: list (?P<acl>\S+) (?P<verdict>denied|permitted) (?P<proto>icmp)"
            r" (?P<src>[0-9.]+)(?: \((?P<iface>[^)]*)\))? -> (?P<dst>[0-9.]+) \((?P<icmp>\d+/\d+)\),"
            r" (?P<packets>\d+) packets?",
            needle="IPACCESSLOGDP",
            kind_by=("verdict", _ACL_VERDICT, "firewall-deny"),
            action_by=("verdict", _ACL_ACTION, "deny"),
            origin=_CISCO_GUIDE + ", SEC-6-IPACCESSLOGDP (ICMP type/code)",
        ),
        rule(
            "cisco.acl",
            "firewall-deny",
            r"%SEC-6-IPACCESSLOGS: list (?P<acl>\S+) (?P<verdict>denied|permitted) (?P<src>[0-9.]+)"
            r"(?: \((?P<iface>[^)]*)\))? (?P<packets>\d+) packets?",
            needle="IPACCESSLOGS",
            kind_by=("verdict", _ACL_VERDICT, "firewall-deny"),
            action_by=("verdict", _ACL_ACTION, "deny"),
            origin=_CISCO_GUIDE + ", SEC-6-IPACCESSLOGS (standard ACL: the source only)",
        ),
        rule(
            "arista.acl",
            "firewall-deny",
            r"%ACL-6-IPACCESS: list (?P<acl>\S+) (?P<iface>\S+) (?P<verdict>denied|permitted) (?P<proto>\w+)"
            r" (?P<src>[0-9A-Fa-f:.]+)(?:\((?P<sport>\d+)\))? -> (?P<dst>[0-9A-Fa-f:.]+)(?:\((?P<dport>\d+)\))?",
            needle="IPACCESS",
            kind_by=("verdict", _ACL_VERDICT, "firewall-deny"),
            action_by=("verdict", _ACL_ACTION, "deny"),
            origin="Arista EOS ACL logging, ACL-6-IPACCESS",
        ),
    ),
)

_JUNOS = "Junos System Log Explorer"
_FLOW = r"(?P<src>[0-9A-Fa-f:.]+)/(?P<sport>\d+)->(?P<dst>[0-9A-Fa-f:.]+)/(?P<dport>\d+)"
JUNOS = RuleSet(
    parser="junos",
    detect=re.compile(r"\b(?:SSHD|LOGIN|UI|RT|PFE)_[A-Z0-9_]+: "),
    rules=(
        rule(
            "junos.sshd-login-failed",
            "auth-failure",
            r"\bSSHD_LOGIN_FAILED: Login failed for user '(?P<user>[^']*)' from host '(?P<src>{HOST})'",
            needle="SSHD_LOGIN_FAILED",
            action="login",
            outcome="failure",
            origin=_JUNOS + ", SSHD_LOGIN_FAILED",
        ),
        rule(
            "junos.login-failed",
            "auth-failure",
            r"\bLOGIN_FAILED: Login failed for user (?P<user>\S+) from host (?P<src>\S+)",
            needle="LOGIN_FAILED",
            action="login",
            outcome="failure",
            origin=_JUNOS + ", LOGIN_FAILED (login)",
        ),
        rule(
            "junos.login",
            "auth-success",
            r"\bUI_LOGIN_EVENT: User '(?P<user>[^']*)' login, class '(?P<class>[^']*)'(?: \[\d+\])?"
            r"(?:, ssh-connection '(?P<src>\S+) (?P<sport>\d+) (?P<dst>\S+) (?P<dport>\d+)')?",
            needle="UI_LOGIN_EVENT",
            action="login",
            outcome="success",
            origin=_JUNOS + ", UI_LOGIN_EVENT (mgd)",
        ),
        rule(
            "junos.auth",
            "auth-success",
            r"\bUI_AUTH_EVENT: Authenticated user '(?P<user>[^']*)'(?: assigned to class '(?P<class>[^']*)')?"
            r"(?: at permission level '(?P<level>[^']*)')?",
            needle="UI_AUTH_EVENT",
            action="login",
            outcome="success",
            origin=_JUNOS + ", UI_AUTH_EVENT (mgd)",
        ),
        rule(
            "junos.logout",
            "session-close",
            r"\bUI_LOGOUT_EVENT: User '(?P<user>[^']*)' logout",
            needle="UI_LOGOUT_EVENT",
            action="logout",
            origin=_JUNOS + ", UI_LOGOUT_EVENT (mgd)",
        ),
        rule(
            "junos.flow-deny",
            "firewall-deny",
            r"\bRT_FLOW_SESSION_DENY(?:_LS)?: session denied " + _FLOW + r"(?: 0x\w+)? (?P<service>\S+)"
            r" (?P<proto>\d+)\(\d+\) (?P<policy>\S+) (?P<from_zone>\S+) (?P<to_zone>\S+)",
            needle="RT_FLOW_SESSION_DENY",
            action="deny",
            origin=_JUNOS + ", RT_FLOW_SESSION_DENY (SRX security policy)",
        ),
        rule(
            "junos.flow-create",
            "firewall-accept",
            r"\bRT_FLOW_SESSION_CREATE(?:_LS)?: session created " + _FLOW + r"(?: 0x\w+)? (?P<service>\S+)",
            needle="RT_FLOW_SESSION_CREATE",
            action="accept",
            origin=_JUNOS + ", RT_FLOW_SESSION_CREATE",
        ),
        rule(
            "junos.flow-close",
            "device",
            r"\bRT_FLOW_SESSION_CLOSE(?:_LS)?: session closed (?P<reason>[^:]*): " + _FLOW + r"(?: 0x\w+)?"
            r" (?P<service>\S+)",
            needle="RT_FLOW_SESSION_CLOSE",
            action="close",
            origin=_JUNOS + ", RT_FLOW_SESSION_CLOSE",
        ),
        rule(
            "junos.pfe-firewall",
            "firewall-deny",
            r"\bPFE_FW_SYSLOG_(?:ETH_)?IP6?(?:_GEN)?: FW: (?P<iface>\S+)\s+(?P<verdict>[ADR])\s+(?P<proto>\w+)\s+"
            r"(?P<src>[0-9A-Fa-f:.]+)\s+(?P<dst>[0-9A-Fa-f:.]+)\s+(?P<sport>\d+)\s+(?P<dport>\d+)\s+"
            r"\((?P<packets>\d+) packets?\)",
            needle="PFE_FW_SYSLOG",
            kind_by=("verdict", {"a": "firewall-accept", "d": "firewall-deny", "r": "firewall-deny"}, "firewall-deny"),
            action_by=("verdict", {"a": "accept", "d": "discard", "r": "reject"}, "discard"),
            origin=_JUNOS + ", PFE_FW_SYSLOG_IP (firewall filter 'then syslog': A accept, D discard, R reject)",
        ),
    ),
)

ROUTEROS = RuleSet(
    parser="routeros",
    needles=("login failure for user ", " logged in from ", " logged out from "),
    strip=re.compile(r"^(?:[a-z]+(?:,[a-z]+)+ )?"),  # the logging topics: "system,error,critical "
    rules=(
        rule(
            "routeros.login-failure",
            "auth-failure",
            r"^login failure for user (?P<user>.*) from (?P<src>{HOST}) via (?P<via>\S+)\s*$",
            needle="login failure",
            action="login",
            outcome="failure",
            origin="MikroTik RouterOS system,error,critical log",
        ),
        rule(
            "routeros.login",
            "auth-success",
            r"^user (?P<user>.*) logged in from (?P<src>{HOST}) via (?P<via>\S+)\s*$",
            needle="logged in",
            action="login",
            outcome="success",
            origin="MikroTik RouterOS system,info,account log",
        ),
        rule(
            "routeros.logout",
            "session-close",
            r"^user (?P<user>.*) logged out from (?P<src>{HOST}) via (?P<via>\S+)\s*$",
            needle="logged out",
            action="logout",
            origin="MikroTik RouterOS system,info,account log",
        ),
    ),
)

# Fallbacks after the network rules: a device message in a known shape, of no kind of its own.
DEVICE = RuleSet(
    parser="device",
    detect=re.compile(r"%[A-Z][A-Z0-9_]*-[0-7]-[A-Z0-9_]+:|^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+: "),
    rules=(
        rule(
            "cisco.message",
            "device",
            r"%(?P<facility>[A-Z][A-Z0-9_]*)-(?P<severity>[0-7])-(?P<mnemonic>[A-Z0-9_]+): ",
            origin="Cisco IOS/NX-OS and Arista EOS message format %FACILITY-SEVERITY-MNEMONIC",
        ),
        rule(
            "junos.message",
            "device",
            r"^(?P<tag>[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+): ",
            origin="Junos system log tag (TAG: message)",
        ),
    ),
)

FRR_APPS = frozenset(
    {"frr", "zebra", "bgpd", "ospfd", "ospf6d", "isisd", "ripd", "ripngd", "staticd", "watchfrr", "pimd", "ldpd"}
    | {"bfdd", "pathd", "vrrpd", "vtysh", "mgmtd"}
)
FRR = RuleSet(
    parser="frr",
    apps=FRR_APPS,
    rules=(rule("frr.message", "device", r"^(?P<body>.)", origin="FRR daemon log (lib/zlog.c)"),),
)

_ABOUT_KIND = {
    ("interface", "up"): "interface-up",
    ("interface", "down"): "interface-down",
    ("bgp", "up"): "neighbor-up",
    ("bgp", "down"): "neighbor-down",
    ("ospf", "up"): "neighbor-up",
    ("ospf", "down"): "neighbor-down",
}


def _direction(r: NetworkRule, groups: dict[str, Any]) -> str | None:
    if groups.get("state") is not None:
        return r.states.get(str(groups["state"]).lower())
    old, new = str(groups.get("old") or "").lower(), str(groups.get("new") or "").lower()
    if new in r.up_states and old not in r.up_states:
        return "up"
    if old in r.up_states and new not in r.up_states:
        return "down"
    return None


def network_match(text: str) -> tuple[str, str, dict[str, str]] | None:
    """(rule name, kind, groups) of the first alert-engine network rule matching ``text``, else None.

    A neighbour moving between two states that are neither up nor down (2-Way -> Init) is ``device``.
    """
    for r in NETWORK_RULES:
        if r.needle not in text:
            continue
        m = r.pattern.search(text)
        if m is None:
            continue
        groups = {k: v for k, v in m.groupdict().items() if v is not None}
        if r.about == "config":
            return f"net.{r.name}", "config-change", groups
        direction = _direction(r, groups)
        kind = _ABOUT_KIND.get((r.about, direction), "device") if direction else "device"
        return f"net.{r.name}", kind, groups
    return None


BEFORE_NETWORK = (CISCO, JUNOS, ROUTEROS)
AFTER_NETWORK = (DEVICE, FRR)
