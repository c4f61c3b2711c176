"""Built-in rules over authentication logs: brute force, password spraying, login after failures,
privilege escalation.

Failures are the ``auth-failure`` and ``auth-invalid-user`` events. sshd often logs one attempt
twice or three times ("Invalid user admin from A port P", "User root from A not allowed because not
listed in AllowUsers", then "Failed password for invalid user admin from A port P"): an
``auth-invalid-user`` line is counted as an attempt only when no ``auth-failure`` line of the same
source port exists, and a failure line without a port only when the source's failures carry none,
so ``count`` is attempts, not lines; every line stays evidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from netwarden.security.detect.bursts import bursts, group_by, listed, span_seconds
from netwarden.security.detect.context import DetectContext
from netwarden.security.detect.model import Detection, RuleSettings
from netwarden.security.logs.model import LogEvent

__all__ = [
    "brute_force",
    "login_after_failures",
    "password_spraying",
    "privilege_escalation",
    "service_of",
]

FAILURE_KINDS = frozenset({"auth-failure", "auth-invalid-user"})
_VPN_APPS = frozenset({"openvpn", "charon", "strongswan", "pluto", "ipsec", "ocserv", "racoon", "xl2tpd", "pppd"})
_SSH_APPS = frozenset({"sshd", "dropbear", "sshd-session"})


def service_of(event: LogEvent) -> str:
    """ssh, vpn, or the app's name ('login' when none): what the attempts were against."""
    app = event.app.lower()
    if app in _SSH_APPS or "ssh" in event.parser.lower():
        return "ssh"
    if app in _VPN_APPS or "vpn" in app:
        return "vpn"
    return app or "login"


def _attempts(events: Sequence[LogEvent]) -> set[int]:
    """ids of the failure events that count as attempts (see the module docstring).

    Where a source's failures carry ports (one connection each), a failure line without a port
    (sshd's "User root from A not allowed because not listed in AllowUsers") is the same attempt as
    the ported line that follows it, so only ported lines count.
    """
    failed_ports = {(e.host, e.source_ip, e.source_port) for e in events if e.kind == "auth-failure" and e.source_port}
    ported = {(host, src) for host, src, _ in failed_ports}
    counted = set()
    for e in events:
        paired = e.kind == "auth-invalid-user" and (e.host, e.source_ip, e.source_port) in failed_ports
        if not paired and (e.source_port or (e.host, e.source_ip) not in ported):
            counted.add(id(e))
    return counted


def _users(events: Sequence[LogEvent]) -> list[str]:
    return sorted({e.user for e in events if e.user})


def _one(values: list[str]) -> str | None:
    return values[0] if len(values) == 1 else None


def brute_force(events: Sequence[LogEvent], cfg: RuleSettings, ctx: DetectContext) -> list[Detection]:
    """``threshold`` failed logins from one source to one host within ``window_seconds``."""
    failures = [e for e in events if e.kind in FAILURE_KINDS and e.source_ip]
    counted = _attempts(failures)
    out = []
    for (host, src), group in group_by(failures, lambda e: (e.host, e.source_ip)).items():
        for run in bursts(group, cfg.threshold, cfg.window, counted=lambda e: id(e) in counted):
            users = _users(run)
            service = service_of(run[0])
            attempts = sum(1 for e in run if id(e) in counted)
            label = {"ssh": "SSH", "vpn": "VPN"}.get(service, service)
            out.append(
                Detection(
                    rule="brute-force",
                    host=host,
                    source_ip=src,
                    user=_one(users),
                    target=host,
                    first=run[0].time,
                    last=run[-1].time,
                    count=attempts,
                    events=run,
                    severity="major",
                    users=users,
                    summary=f"{label} brute force: {attempts} failed logins from {src} to {host}"
                    f" as {listed(users) or 'unknown users'} in {span_seconds(run):.0f} s",
                    details={"service": service, "attempts": attempts},
                )
            )
    return out


def password_spraying(events: Sequence[LogEvent], cfg: RuleSettings, ctx: DetectContext) -> list[Detection]:
    """Failed logins from one source for ``threshold`` distinct users within ``window_seconds`` (any hosts)."""
    failures = [e for e in events if e.kind in FAILURE_KINDS and e.source_ip]
    counted = _attempts(failures)
    out = []
    for src, group in group_by(failures, lambda e: e.source_ip).items():
        for run in bursts(
            group, cfg.threshold, cfg.window, distinct=lambda e: e.user, counted=lambda e: id(e) in counted
        ):
            users = _users(run)
            hosts = sorted({e.host for e in run})
            attempts = sum(1 for e in run if id(e) in counted)
            out.append(
                Detection(
                    rule="password-spraying",
                    host=hosts[0] if len(hosts) == 1 else ",".join(hosts),
                    source_ip=src,
                    user=None,
                    target=hosts[0] if len(hosts) == 1 else None,
                    first=run[0].time,
                    last=run[-1].time,
                    count=attempts,
                    events=run,
                    severity="major",
                    users=users,
                    summary=f"password spraying: {src} tried {len(users)} users ({listed(users)})"
                    f" on {listed(hosts, 3)} with {attempts} failed logins",
                    details={"hosts": hosts, "distinct_users": len(users), "service": service_of(run[0])},
                )
            )
    return out


def login_after_failures(events: Sequence[LogEvent], cfg: RuleSettings, ctx: DetectContext) -> list[Detection]:
    """A successful login from a source that failed ``threshold`` times on that host in the window before it."""
    relevant = [e for e in events if e.source_ip and (e.kind in FAILURE_KINDS or e.kind == "auth-success")]
    out = []
    for (host, src), group in group_by(relevant, lambda e: (e.host, e.source_ip)).items():
        if len(group) <= cfg.threshold or not any(e.kind == "auth-success" for e in group):
            continue
        counted = _attempts(group)
        recent: list[LogEvent] = []  # failures within the window before the current event
        for e in group:
            recent = [f for f in recent if e.time - f.time <= cfg.window]
            if e.kind != "auth-success":
                recent.append(e)
                continue
            attempts = sum(1 for f in recent if id(f) in counted)
            if attempts >= cfg.threshold:
                run = [*recent, e]
                users = _users(recent)
                out.append(
                    Detection(
                        rule="login-after-failures",
                        host=host,
                        source_ip=src,
                        user=e.user,
                        target=host,
                        first=run[0].time,
                        last=e.time,
                        count=attempts + 1,
                        events=run,
                        severity="critical",
                        users=sorted({*users, *([e.user] if e.user else [])}),
                        summary=f"successful login as {e.user or 'unknown user'} from {src} to {host}"
                        f" after {attempts} failed attempts",
                        details={"failures": attempts, "service": service_of(e)},
                    )
                )
            recent = []  # the success ends this run of failures
    return out


# ---------------------------------------------------------------- privilege escalation

# sudo: "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh", with a reason before TTY on refusals
_SUDO = re.compile(r"^\s*(?P<user>[^\s:]+) : (?:(?P<reason>[^;]*?) ; )?(?:TTY=[^;]*; )?.*?USER=(?P<target>[^\s;]+)")
_SUDO_REFUSED = re.compile(r"incorrect password|NOT in sudoers|not allowed|authentication failure", re.IGNORECASE)
_PAM_FAIL = re.compile(r"pam_\w+\((?P<svc>sudo|su|su-l):auth\): authentication failure;")
_RUSER = re.compile(r"\bruser=(\S+)")
_PAM_USER = re.compile(r"\buser=(\S+)")
_PAM_OPEN = re.compile(
    r"pam_\w+\((?P<svc>su|su-l):session\): session opened for user (?P<target>[^\s(]+).*? by (?P<user>[^\s(]+)"
)
_SU_OK = re.compile(r"Successful su for (?P<target>\S+) by (?P<user>\S+)")
_SU_FAIL = re.compile(r"FAILED SU \(to (?P<target>[^)]+)\) (?P<user>\S+)")
_ESCALATION_APPS = frozenset({"sudo", "su", "su-l"})


def escalation(event: LogEvent) -> tuple[str, str, bool] | None:
    """(user, target user, failed) of a sudo/su line, or None when it is no escalation attempt."""
    text = event.message or event.raw
    if not (event.kind == "sudo" or event.app.lower() in _ESCALATION_APPS or "(su" in text):
        return None
    if m := _PAM_FAIL.search(text):
        ruser, named = _RUSER.search(text), _PAM_USER.search(text)
        caller = ruser.group(1) if ruser else None
        account = named.group(1) if named else None
        if m.group("svc") == "sudo":  # sudo asks for the caller's own password: user= is the caller
            return account or caller or event.user or "?", "root", True
        return caller or event.user or "?", account or "root", True
    if m := _SU_FAIL.search(text):
        return m.group("user"), m.group("target"), True
    if m := _SU_OK.search(text) or _PAM_OPEN.search(text):
        return m.group("user"), m.group("target"), False
    if m := _SUDO.search(text):
        refused = bool(m.group("reason") and _SUDO_REFUSED.search(m.group("reason")))
        return m.group("user"), m.group("target"), refused or event.outcome == "failure"
    if event.kind == "sudo" and event.user:
        target = str(event.fields.get("target_user") or event.fields.get("run_as") or "root")
        return event.user, target, event.outcome == "failure"
    return None


def privilege_escalation(events: Sequence[LogEvent], cfg: RuleSettings, ctx: DetectContext) -> list[Detection]:
    """sudo/su to root by a user not in ``allow``, and failed sudo/su attempts (``threshold`` in the window)."""
    hits: list[tuple[LogEvent, str, str, bool]] = []
    for e in events:
        seen = escalation(e)
        if seen is None:
            continue
        user, target, failed = seen
        if failed or (target == "root" and user not in cfg.allow and user != "root"):
            hits.append((e, user, target, failed))
    how = {id(e): (user, target, failed) for e, user, target, failed in hits}
    out = []
    for (host, user), group in group_by((h[0] for h in hits), lambda e: (e.host, how[id(e)][0])).items():
        for run in bursts(group, cfg.threshold, cfg.window):
            failures = sum(1 for e in run if how[id(e)][2])
            successes = len(run) - failures
            targets = sorted({how[id(e)][1] for e in run})
            what = []
            if successes:
                what.append(f"became {listed(targets)} {successes} time(s) without being allowed")
            if failures:
                what.append(f"failed {failures} sudo/su attempt(s)")
            out.append(
                Detection(
                    rule="privilege-escalation",
                    host=host,
                    source_ip=next((e.source_ip for e in run if e.source_ip), None),
                    user=user,
                    target=host,
                    first=run[0].time,
                    last=run[-1].time,
                    count=len(run),
                    events=run,
                    severity="major" if successes else "minor",
                    users=[user],
                    summary=f"privilege escalation on {host}: {user} " + " and ".join(what),
                    details={"targets": targets, "failures": failures, "successes": successes},
                )
            )
    return out
