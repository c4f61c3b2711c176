"""VPN tunnels: WireGuard peers (``wg show all dump``) and IPsec SAs (``swanctl --list-sas``), as points and events.

Both commands run on the VPN gateway over SSH (a Linux shell: platform ``linux``; they need root,
or ``sudo -n`` in front, see :data:`WG_COMMAND`); the parsers take their text and return typed
records, so they are tested on recorded output without any network. A :class:`TunnelWatch`
remembers each tunnel's last state and byte counters, so that a round yields:

- WireGuard, per peer (instance ``wg0:PEERKEY``): ``wg_peer_up`` (1/0),
  ``wg_handshake_age_seconds``, ``wg_rx_bps``, ``wg_tx_bps``. A peer is up while its latest
  handshake is at most :data:`HANDSHAKE_STALE` seconds old: WireGuard re-handshakes every two
  minutes on a live tunnel (REKEY_AFTER_TIME 120 s), so 180 s without one means no traffic
  gets through (the peer is gone, or the path to it). Subject ``r1:wg:wg0:PEERKEY``.
- IPsec, per IKE connection (instance and subject ``r1:ipsec:NAME``): ``ipsec_up`` (1/0); per
  CHILD SA (instance ``NAME:CHILD``): ``ipsec_in_bps``, ``ipsec_out_bps``. A connection is up when
  an IKE SA of that name is ESTABLISHED with at least one CHILD SA INSTALLED: an IKE SA without
  its CHILD SA carries no traffic, and one event per connection (not per SA) keeps it to one alert.
- events on a change only: ``tunnel_down`` / ``tunnel_up``. A tunnel that was up and is gone from
  the output (interface removed, IKE SA deleted or re-connecting) counts as down. A reading that
  failed says nothing about tunnels: no events then.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

from netwarden.alerts.events import Event
from netwarden.collect.records import TargetResult
from netwarden.errors import InvalidInput
from netwarden.monitor.counters import rate
from netwarden.monitor.poller import PollOutcome
from netwarden.monitor.records import Point

if TYPE_CHECKING:
    from netwarden.collect.ssh import SshAuth
    from netwarden.inventory.schemas import CredentialSecret

log = logging.getLogger(__name__)

WG_COMMAND: Final = "wg show all dump"
SWANCTL_COMMAND: Final = "swanctl --list-sas"
HANDSHAKE_STALE: Final = 180.0
CHILD_UP_STATES: Final = frozenset({"INSTALLED", "REKEYING", "REKEYED"})

Kind = Literal["wg", "ipsec"]


class TunnelOutputError(InvalidInput):
    """A command's output is not what ``wg show all dump`` or ``swanctl --list-sas`` prints."""


# ---------------------------------------------------------------- WireGuard


@dataclass(frozen=True)
class WgPeer:
    """One peer line of ``wg show all dump``."""

    interface: str
    public_key: str
    endpoint: str | None
    allowed_ips: tuple[str, ...]
    latest_handshake: int  # UNIX seconds; 0 = never
    rx_bytes: int
    tx_bytes: int
    keepalive: int | None

    def handshake_age(self, now: float) -> float | None:
        """Seconds since the latest handshake, None when there never was one."""
        return max(0.0, now - self.latest_handshake) if self.latest_handshake else None

    def up(self, now: float) -> bool:
        age = self.handshake_age(now)
        return age is not None and age <= HANDSHAKE_STALE


def parse_wg_dump(text: str) -> list[WgPeer]:
    """Peers of every interface in ``wg show all dump`` output.

    Interface lines (name, private key, public key, listen port, fwmark) are read only to know
    the interfaces; the private key is never kept.

    Raises:
        TunnelOutputError: a line that is neither an interface nor a peer line (e.g. ``wg`` could
            not reach an interface for lack of privilege).
    """
    peers: list[WgPeer] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) == 5:
            continue  # an interface line
        if len(fields) != 9:
            raise TunnelOutputError(f"wg dump line {number} is not an interface or peer line: {line[:120]!r}")
        iface, key, _psk, endpoint, allowed, handshake, rx, tx, keepalive = fields
        try:
            peers.append(
                WgPeer(
                    interface=iface,
                    public_key=key,
                    endpoint=None if endpoint == "(none)" else endpoint,
                    allowed_ips=tuple(a for a in allowed.split(",") if a and a != "(none)"),
                    latest_handshake=int(handshake),
                    rx_bytes=int(rx),
                    tx_bytes=int(tx),
                    keepalive=None if keepalive == "off" else int(keepalive),
                )
            )
        except ValueError:
            raise TunnelOutputError(f"wg dump line {number} has a non-numeric counter: {line[:120]!r}") from None
    return peers


# ---------------------------------------------------------------- IPsec (strongSwan swanctl)


@dataclass(frozen=True)
class ChildSa:
    """One CHILD SA of an IKE SA in ``swanctl --list-sas`` output."""

    name: str
    unique_id: int
    state: str
    mode: str = ""
    protocol: str = ""
    spi_in: str = ""
    spi_out: str = ""
    bytes_in: int | None = None
    bytes_out: int | None = None
    packets_in: int | None = None
    packets_out: int | None = None
    local_ts: tuple[str, ...] = ()
    remote_ts: tuple[str, ...] = ()

    @property
    def up(self) -> bool:
        return self.state in CHILD_UP_STATES


@dataclass(frozen=True)
class IkeSa:
    """One IKE SA of ``swanctl --list-sas`` output, with its CHILD SAs."""

    name: str
    unique_id: int
    state: str
    version: str = ""
    local: str = ""
    remote: str = ""
    children: tuple[ChildSa, ...] = ()

    @property
    def up(self) -> bool:
        return self.state == "ESTABLISHED" and any(c.up for c in self.children)


_IKE = re.compile(r"^(?P<name>[^\s:][^:]*): #(?P<id>\d+), (?P<state>[A-Z_]+), (?P<version>IKEv\d)")
_CHILD = re.compile(r"^\s{2}(?P<name>\S[^:]*): #(?P<id>\d+), reqid \d+, (?P<state>[A-Z_]+)(?:, (?P<rest>.*))?$")
_ENDPOINT = re.compile(r"^\s{2}(?P<side>local|remote)\s+'(?P<id>[^']*)' @ (?P<addr>\S+)")
_TRAFFIC = re.compile(
    r"^\s{4}(?P<dir>in|out)\s+(?P<spi>[0-9a-f]+)(?:\s*\([^)]*\))?,\s+(?P<bytes>\d+) bytes,\s+(?P<pkts>\d+) packets"
)
# swanctl's own failures (no daemon, no access to its socket) and the shell's; warnings such as
# "plugin 'x': failed to load" (stderr, merged on a terminal) are not failures and are skipped.
_SWANCTL_ERROR = re.compile(r"^Error: |^connecting to '.*' failed|command not found|Permission denied|^usage:")
_TS = re.compile(r"^\s{4}(?P<side>local|remote)\s+(?P<ts>\S.*)$")


def parse_swanctl_sas(text: str) -> list[IkeSa]:
    """IKE SAs and their CHILD SAs from ``swanctl --list-sas`` (strongSwan 5.x) output.

    Lines the parser does not need (algorithms, timers, plugin warnings) are skipped. Empty output
    means no SA at all. Raises:
        TunnelOutputError: swanctl (or the shell) said it failed: no daemon, no access, no command.
    """
    sas: list[IkeSa] = []
    ike: dict[str, object] | None = None
    children: list[ChildSa] = []
    child: dict[str, object] | None = None

    def close_child() -> None:
        nonlocal child
        if child is not None:
            children.append(ChildSa(**child))  # type: ignore[arg-type]
            child = None

    def close_ike() -> None:
        nonlocal ike, children
        close_child()
        if ike is not None:
            sas.append(IkeSa(**ike, children=tuple(children)))  # type: ignore[arg-type]
        ike, children = None, []

    for line in text.splitlines():
        if not line.strip():
            continue
        if _SWANCTL_ERROR.search(line):
            raise TunnelOutputError(f"swanctl failed: {line.strip()[:160]}")
        if m := _IKE.match(line):
            close_ike()
            ike = {"name": m["name"], "unique_id": int(m["id"]), "state": m["state"], "version": m["version"]}
            continue
        if ike is None:
            continue
        if m := _CHILD.match(line):
            close_child()
            rest = (m["rest"] or "").split(", ")
            child = {
                "name": m["name"],
                "unique_id": int(m["id"]),
                "state": m["state"],
                "mode": rest[0] if rest else "",
                "protocol": rest[1].split(":")[0] if len(rest) > 1 else "",
            }
            continue
        if child is None:
            if m := _ENDPOINT.match(line):
                ike[m["side"]] = m["addr"]
            continue
        if m := _TRAFFIC.match(line):
            side = m["dir"]
            child[f"spi_{side}"] = m["spi"]
            child[f"bytes_{side}"] = int(m["bytes"])
            child[f"packets_{side}"] = int(m["pkts"])
        elif m := _TS.match(line):
            child[f"{m['side']}_ts"] = tuple(m["ts"].split())
    close_ike()
    return sas


# ---------------------------------------------------------------- reading over SSH


@dataclass
class TunnelReading:
    """One reading of a gateway: ``None`` for a part not asked or that failed (with why in ``errors``)."""

    ts: float
    wireguard: list[WgPeer] | None = None
    ipsec: list[IkeSa] | None = None
    errors: dict[str, str] = field(default_factory=dict)


def reading_from(
    outputs: dict[str, str], ts: float, wg_command: str | None = WG_COMMAND, ipsec_command: str | None = SWANCTL_COMMAND
) -> TunnelReading:
    """Parse the outputs of the tunnel commands (keyed by command, as ``ssh.run_commands`` returns them)."""
    reading = TunnelReading(ts=ts)
    if wg_command is not None and wg_command in outputs:
        try:
            reading.wireguard = parse_wg_dump(outputs[wg_command])
        except TunnelOutputError as exc:
            reading.errors["wg"] = str(exc)
    if ipsec_command is not None and ipsec_command in outputs:
        try:
            reading.ipsec = parse_swanctl_sas(outputs[ipsec_command])
        except TunnelOutputError as exc:
            reading.errors["ipsec"] = str(exc)
    return reading


async def read_tunnels(
    address: str,
    auth: SshAuth | CredentialSecret,
    *,
    platform: str = "linux",
    wg_command: str | None = WG_COMMAND,
    ipsec_command: str | None = SWANCTL_COMMAND,
    timeout: float = 20.0,
) -> TargetResult[TunnelReading]:
    """Run the tunnel commands on ``address`` over SSH and parse them.

    Args:
        address: the gateway's management address.
        auth: an :class:`~netwarden.collect.ssh.SshAuth` or a stored ``ssh`` credential.
        platform: a platform with a shell (``linux``).
        wg_command, ipsec_command: the commands (None to skip one; prefix ``sudo -n`` where the login is not root).
        timeout: for the whole SSH session.
    """
    from netwarden.collect import ssh
    from netwarden.collect.platforms import get_platform

    commands = [c for c in (wg_command, ipsec_command) if c]
    if not commands:
        raise InvalidInput("read_tunnels needs a WireGuard or an IPsec command")
    got = await ssh.run_commands(address, auth, platform, commands, timeout=timeout)
    if not got.ok or got.value is None:
        return TargetResult.failure(address, got.reason or "error", got.detail, got.elapsed, got.attempts)
    outputs = dict(got.value)
    failed = ssh.failed_commands(get_platform(platform), outputs)
    for command in failed:
        outputs.pop(command)
    reading = reading_from(outputs, time.time(), wg_command, ipsec_command)
    for command, why in failed.items():
        reading.errors["wg" if command == wg_command else "ipsec"] = why
    return TargetResult.success(address, reading, got.elapsed, got.attempts)


# ---------------------------------------------------------------- readings -> points and events


class TunnelWatch:
    """Turns tunnel readings into points and change events; remembers states and byte counters."""

    def __init__(self) -> None:
        self.up: dict[tuple[str, Kind, str], bool] = {}  # (device, kind, tunnel id) -> last state
        self.counters: dict[
            tuple[str, str, str], tuple[float, str, int]
        ] = {}  # (device, metric, instance) -> ts, life, value

    def observe(self, device: str, reading: TunnelReading) -> PollOutcome:
        """Points and ``tunnel_down``/``tunnel_up`` events from one reading of ``device``."""
        out = PollOutcome(device)
        if reading.errors:
            out.failed = "; ".join(f"{k}: {v}" for k, v in sorted(reading.errors.items()))
        if reading.wireguard is not None:
            self._wireguard(out, device, reading.wireguard, reading.ts)
        if reading.ipsec is not None:
            self._ipsec(out, device, reading.ipsec, reading.ts)
        return out

    def _wireguard(self, out: PollOutcome, device: str, peers: list[WgPeer], ts: float) -> None:
        seen: set[tuple[str, Kind, str]] = set()
        for peer in peers:
            tunnel = f"{peer.interface}:{peer.public_key}"
            key: tuple[str, Kind, str] = (device, "wg", tunnel)
            seen.add(key)
            up = peer.up(ts)
            age = peer.handshake_age(ts)
            out.points.append(Point(device, "wg_peer_up", tunnel, ts, 1.0 if up else 0.0))
            if age is not None:
                out.points.append(Point(device, "wg_handshake_age_seconds", tunnel, ts, round(age, 1)))
            life = f"{peer.endpoint}"
            self._rate(out, device, "wg_rx_bps", tunnel, ts, life, peer.rx_bytes)
            self._rate(out, device, "wg_tx_bps", tunnel, ts, life, peer.tx_bytes)
            why = "latest handshake " + (f"{age:.0f} s ago" if age is not None else "never")
            self._decide(out, key, up, why)
        self._vanished(out, device, "wg", seen)

    def _ipsec(self, out: PollOutcome, device: str, sas: list[IkeSa], ts: float) -> None:
        by_name: dict[str, list[IkeSa]] = {}
        for sa in sas:
            by_name.setdefault(sa.name, []).append(sa)
        seen: set[tuple[str, Kind, str]] = set()
        for name, group in by_name.items():
            key: tuple[str, Kind, str] = (device, "ipsec", name)
            seen.add(key)
            up = any(sa.up for sa in group)
            out.points.append(Point(device, "ipsec_up", name, ts, 1.0 if up else 0.0))
            for sa in group:
                for child in sa.children:
                    instance = f"{name}:{child.name}"
                    # A rekeyed CHILD SA has new SPIs and counters from zero: a new counter life.
                    if child.bytes_in is not None:
                        self._rate(out, device, "ipsec_in_bps", instance, ts, child.spi_in, child.bytes_in)
                    if child.bytes_out is not None:
                        self._rate(out, device, "ipsec_out_bps", instance, ts, child.spi_out, child.bytes_out)
            states = ", ".join(
                f"IKE {sa.state}"
                + (f" / {', '.join(f'{c.name} {c.state}' for c in sa.children)}" if sa.children else " / no CHILD SA")
                for sa in group
            )
            self._decide(out, key, up, states)
        self._vanished(out, device, "ipsec", seen)

    def _rate(
        self, out: PollOutcome, device: str, metric: str, instance: str, ts: float, life: str, value: int
    ) -> None:
        key = (device, metric, instance)
        before = self.counters.get(key)
        self.counters[key] = (ts, life, value)
        if before is None:
            return
        old_ts, old_life, old_value = before
        got = rate(old_value, old_ts, value, ts, bits=64, rebooted=old_life != life)
        if got.value is None:
            out.skipped[got.reason or "unknown"] += 1
            return
        out.points.append(Point(device, metric, instance, ts, got.value * 8))

    def _vanished(self, out: PollOutcome, device: str, kind: Kind, seen: set[tuple[str, Kind, str]]) -> None:
        for key in [k for k in self.up if k[0] == device and k[1] == kind and k not in seen]:
            if self.up[key]:
                self._decide(out, key, False, "gone from the output")
            if kind == "wg":
                # A removed peer's counters would make a false rate if it came back with the same key.
                for metric in ("wg_rx_bps", "wg_tx_bps"):
                    self.counters.pop((device, metric, key[2]), None)

    def _decide(self, out: PollOutcome, key: tuple[str, Kind, str], up: bool, why: str) -> None:
        before = self.up.get(key)
        self.up[key] = up
        if before == up or (before is None and up):
            return
        device, kind, tunnel = key
        subject = f"{device}:{kind}:{tunnel}"
        what = "WireGuard peer" if kind == "wg" else "IPsec connection"
        log.info("tunnel changed subject=%s up=%s why=%s", subject, up, why)
        out.events.append(
            Event(
                source="poll",
                kind="tunnel_up" if up else "tunnel_down",
                subject=subject,
                device=device,
                severity="major",
                summary=f"{what} {tunnel} on {device} is {'up' if up else 'down'}: {why}",
            )
        )

    def forget(self, devices: Sequence[str]) -> None:
        """Drop what is remembered of devices removed from monitoring."""
        gone = set(devices)
        for key in [k for k in self.up if k[0] in gone]:
            del self.up[key]
        for ckey in [k for k in self.counters if k[0] in gone]:
            del self.counters[ckey]
