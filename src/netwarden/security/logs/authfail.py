"""Authentication failures, decided per connection: which log events are one more failed attempt
by whom, against a service (sshd, dropbear, vsftpd, PAM, RouterOS).

A single line is not always enough. OpenSSH logs one failed password twice (a PAM line, then its own
``Failed password``), says ``Disconnecting: Too many authentication failures`` without the address
(that is on the connection's other lines, same process id), and a client that tries several user
names and then gets in with one has still failed for the others. So :class:`AuthFailures` follows
each connection (host, program, process id) and gives each event a role from its service's table:

- ``fail``: one failed attempt; with no address yet known for the connection it waits (``pending``)
  for the next line that names one;
- ``helper``: no failure by itself (an address, a PAM line sshd repeats, a close) but it completes a
  pending failure, and a PAM-style failure counts once the connection has tried a second user name;
- ``gained``: a successful login, a failure when the connection tried other user names before;
- ``forget`` (with any of them): the connection ends after this line (kept while a failure waits).

Modes widen what counts, as fail2ban's sshd filter does: ``normal`` counts failed credentials,
``ddos`` adds connections dropped before authentication (no identification string, banner or key
exchange garbage, a preauth close), ``extra`` adds failed algorithm negotiation and a preauth
disconnect naming the user, ``aggressive`` all of them. Tested against fail2ban's own annotated
corpus (tests/unit/security/test_log_parsers_corpus.py; decision 0026 has the figures).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from netwarden.errors import InvalidInput
from netwarden.security.logs.model import LogEvent

__all__ = ["MODES", "SERVICES", "AuthFailure", "AuthFailures", "Mode", "Service"]

Mode = Literal["normal", "ddos", "extra", "aggressive"]
MODES: tuple[Mode, ...] = ("normal", "ddos", "extra", "aggressive")
Role = Literal["fail", "helper", "gained", "ignore"]
_ATTEMPT_KINDS = frozenset({"auth-failure", "auth-invalid-user", "auth-success"})


@dataclass(frozen=True)
class AuthFailure:
    """One flagged event: who failed (``host``: the address, or the name the line gave), as which users."""

    event: LogEvent
    host: str
    user: str | None
    users: tuple[str, ...]
    attempts: int


@dataclass(frozen=True)
class Service:
    """What counts for one service.

    ``apps``: the programs whose events it reads (empty: any). ``roles``: rule key -> (role, forget)
    in normal mode; ``modes``: what each other mode adds or changes. Events of a rule with no role
    are failures when their kind is in ``fail_kinds``, else ignored. ``key`` refines a rule name
    where one format plays two parts (a preauth close, publickey for a valid user).
    """

    name: str
    apps: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()  # only events of these rule-name prefixes (empty: any)
    roles: Mapping[str, tuple[Role, bool]] = field(default_factory=dict)
    modes: Mapping[str, Mapping[str, tuple[Role, bool]]] = field(default_factory=dict)
    fail_kinds: frozenset[str] = frozenset({"auth-failure", "auth-invalid-user"})
    key: Callable[[LogEvent], str] | None = None

    def accepts(self, event: LogEvent) -> bool:
        if self.apps and event.app.lower() not in self.apps:
            return False
        name = str(event.fields.get("rule", ""))
        return not self.rules or any(name.startswith(p) for p in self.rules)

    def role(self, event: LogEvent, mode: Mode) -> tuple[Role, bool]:
        name = self.key(event) if self.key else str(event.fields.get("rule", ""))
        for table in (self.modes.get(mode, {}), self.roles):
            if name in table:
                return table[name]
        return ("fail", False) if event.kind in self.fail_kinds else ("ignore", False)


def _sshd_key(event: LogEvent) -> str:
    name = str(event.fields.get("rule", ""))
    f = event.fields
    if name == "sshd.failed" and f.get("method") == "publickey" and not f.get("invalid"):
        return "sshd.failed:publickey"  # a client offering its keys one by one: not an attack by itself
    if name == "sshd.closed" and f.get("preauth"):
        return (
            "sshd.closed:preauth-user" if f.get("how") == "Disconnected" and f.get("uclass") else "sshd.closed:preauth"
        )
    return name


Entry = tuple[Role, bool]  # (role, forget)
_FAIL: Entry = ("fail", False)
_FAIL_END: Entry = ("fail", True)
_HELP: Entry = ("helper", False)
_HELP_END: Entry = ("helper", True)
_IGNORE: Entry = ("ignore", False)


def _all(entry: Entry, *names: str) -> dict[str, Entry]:
    return dict.fromkeys(names, entry)


_SSHD_NORMAL: dict[str, Entry] = {
    **_all(_FAIL, "sshd.failed", "sshd.pam-error", "sshd.unknown-user", "sshd.root-refused", "sshd.invalid-user"),
    **_all(_FAIL, "sshd.not-allowed", "sshd.locked", "sshd.refused-connect", "sshd.max-attempts", "sshd.too-many"),
    **_all(_FAIL_END, "sshd.change-user", "sshd.disconnect-auth-fail"),
    # sshd logs the PAM verdict and then its own line for the same attempt: the PAM line alone is no failure.
    **_all(_HELP, "pam.auth-failure", "pam.more-failures", "sshd.failed:publickey", "sshd.connection-from"),
    **_all(_HELP, "sshd.ltype"),
    **_all(_HELP_END, "sshd.disconnect-bye", "sshd.closed", "sshd.closed:preauth", "sshd.closed:preauth-user"),
    **_all(_HELP_END, "sshd.no-auth-methods"),
    "sshd.accepted": ("gained", True),
    **_all(_IGNORE, "sshd.userauth-invalid", "sshd.disconnect-too-many", "sshd.kex-other", "sshd.no-ident"),
    **_all(_IGNORE, "sshd.bad-version", "sshd.kex-ident", "sshd.banner-invalid", "sshd.dispatch-fatal"),
    **_all(_IGNORE, "sshd.auth-timeout", "sshd.negotiate", "sshd.read-reset"),
}
_SSHD_DDOS: dict[str, Entry] = {
    **_all(_FAIL, "sshd.no-ident", "sshd.bad-version", "sshd.kex-ident", "sshd.banner-invalid"),
    **_all(_FAIL, "sshd.dispatch-fatal", "sshd.auth-timeout"),
    **_all(_FAIL_END, "sshd.read-reset", "sshd.closed:preauth", "sshd.closed:preauth-user"),
}
_SSHD_EXTRA: dict[str, Entry] = {
    **_all(_FAIL_END, "sshd.no-auth-methods", "sshd.closed:preauth-user"),
    **_all(_FAIL, "sshd.negotiate"),
}

SERVICES: dict[str, Service] = {
    "sshd": Service(
        name="sshd",
        apps=frozenset({"sshd", "sshd-session", "sshd-auth"}),
        roles=_SSHD_NORMAL,
        modes={"ddos": _SSHD_DDOS, "extra": _SSHD_EXTRA, "aggressive": {**_SSHD_DDOS, **_SSHD_EXTRA}},
        fail_kinds=frozenset(),
        key=_sshd_key,
    ),
    "dropbear": Service(name="dropbear", apps=frozenset({"dropbear"})),
    "vsftpd": Service(name="vsftpd", apps=frozenset({"vsftpd"})),
    "pam-generic": Service(name="pam-generic", rules=frozenset({"pam."})),
    "routeros-auth": Service(name="routeros-auth", rules=frozenset({"routeros."})),
}


@dataclass
class _Connection:
    host: str | None = None
    users: list[str] = field(default_factory=list)
    pending: bool = False
    attempts: int = 0


class AuthFailures:
    """Flags the events that are authentication failures of one service, connection by connection.

    Args:
        service: a name of :data:`SERVICES` or a :class:`Service`.
        mode: normal, ddos, extra or aggressive (see the module's description).
        max_connections: connections followed at once; the least recently seen are dropped beyond it.
    """

    def __init__(self, service: str | Service = "sshd", mode: Mode = "normal", max_connections: int = 10_000) -> None:
        if isinstance(service, str):
            if service not in SERVICES:
                raise InvalidInput(f"unknown service {service!r}: use one of {', '.join(SERVICES)}")
            service = SERVICES[service]
        if mode not in MODES:
            raise InvalidInput(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        self.service, self.mode, self.max_connections = service, mode, max_connections
        self._connections: OrderedDict[tuple[str, str, str], _Connection] = OrderedDict()

    def feed(self, event: LogEvent) -> AuthFailure | None:
        """The failure this event adds, or None (not this service's, no failure, or one still waiting)."""
        if not self.service.accepts(event):
            return None
        role, forget = self.service.role(event, self.mode)
        if role == "ignore":
            return None
        key = (event.host, event.app.lower(), str(event.fields.get("pid", "")))
        conn = self._connections.pop(key, None) or _Connection()
        host = event.source_ip or event.fields.get("source_host")
        if host:
            conn.host = str(host)
        if event.user is not None and event.user not in conn.users:
            conn.users.append(event.user)
        attempt = event.kind in _ATTEMPT_KINDS
        conn.attempts += 1 if attempt or role == "fail" else 0
        flagged = False
        if role == "fail":
            flagged, conn.pending = conn.host is not None, conn.host is None
        elif conn.pending and conn.host is not None:
            flagged, conn.pending = True, False
        elif (role == "gained" or (role == "helper" and attempt)) and len(conn.users) > 1:
            flagged = True  # several user names tried on one connection
        if not (forget and not conn.pending):
            self._connections[key] = conn
            while len(self._connections) > self.max_connections:
                self._connections.popitem(last=False)
        if not flagged or conn.host is None:
            return None
        return AuthFailure(
            event=event,
            host=conn.host,
            user=event.user if event.user is not None else (conn.users[-1] if conn.users else None),
            users=tuple(conn.users),
            attempts=conn.attempts,
        )
