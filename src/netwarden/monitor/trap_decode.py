"""Decoding SNMP notifications: v1 Trap-PDU, v2c/v3 SNMPv2-Trap and InformRequest, with USM for v3.

:meth:`TrapDecoder.decode` takes one datagram and returns a :class:`Decoded` (the :class:`Trap`, and
the answer to send back for informs and SNMPv3 discovery), or raises :class:`TrapError` whose
``reason`` the receiver counts; malformed bytes never raise anything else. It reuses the client's
BER codec (``collect._ber``) and key localisation (``collect._usm``).

SNMPv3 (RFC 3414): for traps the sender is the authoritative engine, so keys are localised with
the engine ID the message carries; informs are addressed to this receiver's own engine, which
answers engine-ID discovery and time-window reports like any authoritative engine. Traps are not
checked against a time window (see docs/decisions/0014-trap-receiver.md).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from netwarden.collect import _ber as ber
from netwarden.collect import _usm as usm
from netwarden.collect import snmp
from netwarden.errors import InvalidInput

__all__ = ["Decoded", "Trap", "TrapDecoder", "TrapError"]

TRAP_V1: Final = 0xA4
INFORM: Final = 0xA6
TRAP_V2: Final = 0xA7
SYS_UPTIME: Final = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID: Final = "1.3.6.1.6.3.1.1.4.1.0"
SNMP_TRAP_ADDRESS: Final = "1.3.6.1.6.3.18.1.3.0"  # set by proxies: the original sender
GENERIC: Final = "1.3.6.1.6.3.1.1.5."  # generic traps 0..5 become GENERIC + (n + 1) (RFC 3584)
_USM_STATS: Final = "1.3.6.1.6.3.15.1.1."  # .2 notInTimeWindows, .4 unknownEngineIDs
_TIME_WINDOW: Final = 150  # seconds, RFC 3414 section 3.2 step 7
_ZERO_STATUS: Final = b"\x02\x01\x00\x02\x01\x00"  # error-status 0, error-index 0


class TrapError(InvalidInput):
    """A datagram that is not a notification this receiver accepts; ``reason`` names why (for the counters)."""

    code = "bad-trap"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Trap:
    """One decoded notification, in SNMPv2 form (v1 traps are translated as in RFC 3584 section 3.1)."""

    version: str  # v1, v2c or v3
    sender: str  # source address of the datagram
    oid: str  # snmpTrapOID
    uptime: int | None  # sysUpTime in hundredths of a second
    varbinds: tuple[tuple[str, ber.Value], ...]  # without sysUpTime.0 and snmpTrapOID.0
    agent: str | None = None  # v1 agent-addr, or snmpTrapAddress.0 from a proxy
    user: str = ""  # SNMPv3 user (not a secret)
    inform: bool = False
    request_id: int = 0  # an inform's request-id: a resent inform repeats it


@dataclass(frozen=True, slots=True)
class Decoded:
    """A trap (None for an SNMPv3 discovery probe) and the datagram to send back, if any."""

    trap: Trap | None
    reply: bytes | None = None


class TrapDecoder:
    """Decodes datagrams for a set of communities and SNMPv3 users.

    Args:
        communities: v1/v2c communities accepted.
        users: SNMPv3 users (several credentials may share a user name: each is tried).
        engine_id: this receiver's engine ID (for informs); random when not given.
    """

    def __init__(
        self, communities: Iterable[str] = (), users: Iterable[snmp.V3] = (), engine_id: bytes | None = None
    ) -> None:
        self.communities = frozenset(c.encode() for c in communities)
        self.users: dict[bytes, list[snmp.V3]] = {}
        for user in users:
            if user.priv_protocol and not user.auth_protocol:
                raise InvalidInput(f"SNMPv3 user {user.user!r}: privacy needs an authentication protocol")
            self.users.setdefault(user.user.encode(), []).append(user)
        # RFC 3411 SnmpEngineID: enterprise (net-snmp's 8072) with the high bit, format 5 (octets), random.
        self.engine_id = engine_id or b"\x80\x00\x1f\x88\x05" + os.urandom(8)
        self.boots = 1
        self._started = time.monotonic()
        self._salt = int.from_bytes(os.urandom(8), "big")
        self._reports = {2: 0, 4: 0}

    def engine_time(self) -> int:
        return int(time.monotonic() - self._started)

    def decode(self, data: bytes, sender: str) -> Decoded:
        """Decode one datagram; raises :class:`TrapError` (with a ``reason``) and nothing else."""
        try:
            i, _ = ber.read_header(data, 0, ber.SEQUENCE)
            version, i = ber.read_int(data, i)
            if version in (0, 1):
                return self._community(data, i, version, sender)
            if version == 3:
                return self._v3(data, sender)
        except ber.BerError as exc:
            raise TrapError("malformed", f"malformed SNMP message from {sender}: {exc}") from None
        raise TrapError("bad_version", f"SNMP version field {version} from {sender} (expected 0, 1 or 3)")

    # ------------------------------------------------------------ v1 and v2c

    def _community(self, data: bytes, i: int, version: int, sender: str) -> Decoded:
        community, i = ber.read_octets(data, i)
        if community not in self.communities:
            raise TrapError("unknown_community", f"trap from {sender} with a community not accepted here")
        tag = data[i] if i < len(data) else -1
        if version == 0:
            if tag != TRAP_V1:
                raise TrapError("not_a_notification", f"SNMPv1 PDU 0x{tag & 0xFF:02x} from {sender} is not a Trap")
            return Decoded(_v1_trap(data, i, sender))
        tag, rid, varbinds, raw = _read_pdu(data, i)
        trap = _v2_trap(tag, rid, varbinds, sender, "v2c")
        if not trap.inform:
            return Decoded(trap)
        pdu = ber.tlv(ber.RESPONSE, ber.encode_int(rid) + _ZERO_STATUS + raw)
        return Decoded(trap, ber.seq(ber.encode_int(1), ber.tlv(ber.OCTET_STRING, community), pdu))

    # ------------------------------------------------------------ v3

    def _v3(self, data: bytes, sender: str) -> Decoded:
        m = _parse_v3(data)
        if m.model != 3:
            raise TrapError("unsupported_security_model", f"SNMPv3 security model {m.model} from {sender} (not USM)")
        auth_flag, priv_flag = bool(m.flags & 1), bool(m.flags & 2)
        if priv_flag and not auth_flag:
            raise TrapError("malformed", f"SNMPv3 message from {sender} asks for privacy without authentication")
        if not m.engine_id or not m.user:
            if auth_flag or not m.flags & 4:
                raise TrapError("unknown_engine", f"SNMPv3 message from {sender} names no engine or user")
            scoped, _ = ber.read_header(data, m.data_at, ber.SEQUENCE)
            rid = _read_pdu(data, _skip_context(data, scoped))[1]
            return Decoded(None, self._report(m, rid, 4))
        candidates = self.users.get(m.user)
        if not candidates:
            raise TrapError("unknown_user", f"SNMPv3 trap from {sender} for unknown user {_text(m.user)!r}")
        keys = self._authenticate(candidates, m, data, sender) if auth_flag else None
        if keys is None and any(c.auth_protocol for c in candidates):
            raise TrapError(
                "unauthenticated", f"SNMPv3 trap from {sender}: user {_text(m.user)!r} needs authentication"
            )
        if priv_flag:
            assert keys is not None
            if not keys.priv_protocol:
                raise TrapError(
                    "bad_priv", f"SNMPv3 trap from {sender} is encrypted; user {_text(m.user)!r} has no privacy key"
                )
            cipher, _ = ber.read_octets(data, m.data_at)
            try:
                scoped_bytes = keys.decrypt(cipher, m.priv, m.boots, m.time)
                start, _ = ber.read_header(scoped_bytes, 0, ber.SEQUENCE)
                context_end = _skip_context(scoped_bytes, start)
                tag, rid, varbinds, raw = _read_pdu(scoped_bytes, context_end)
            except (ValueError, ber.BerError) as exc:
                raise TrapError(
                    "decrypt_failed",
                    f"SNMPv3 trap from {sender} cannot be decrypted ({exc}): wrong privacy key or protocol",
                ) from None
            context = scoped_bytes[start:context_end]
        else:
            start, _ = ber.read_header(data, m.data_at, ber.SEQUENCE)
            context_end = _skip_context(data, start)
            tag, rid, varbinds, raw = _read_pdu(data, context_end)
            context = data[start:context_end]
        trap = _v2_trap(tag, rid, varbinds, sender, "v3", _text(m.user))
        if not trap.inform:
            return Decoded(trap)
        # An inform is addressed to this engine: discovery first, then the time window (RFC 3414 3.2).
        if m.engine_id != self.engine_id:
            return Decoded(None, self._report(m, rid, 4))
        if keys is not None and (m.boots != self.boots or abs(m.time - self.engine_time()) > _TIME_WINDOW):
            return Decoded(None, self._report(m, rid, 2, keys))
        pdu = ber.tlv(ber.RESPONSE, ber.encode_int(rid) + _ZERO_STATUS + raw)
        return Decoded(trap, self._wrap(m, ber.seq(context, pdu), keys, m.flags & 3))

    def _authenticate(self, candidates: list[snmp.V3], m: _V3, data: bytes, sender: str) -> usm.UsmKeys:
        size = len(m.auth)
        blank = data[: m.auth_at] + bytes(size) + data[m.auth_at + size :]
        for user in candidates:
            if not user.auth_protocol:
                continue
            keys = usm.keys_for(
                user.auth_protocol,
                user.auth_password.encode(),
                user.priv_protocol,
                (user.priv_password or user.auth_password).encode(),
                m.engine_id,
            )
            if size == keys.mac_length and hmac.compare_digest(keys.sign(blank), m.auth):
                return keys
        raise TrapError(
            "bad_auth",
            f"SNMPv3 trap from {sender} for user {_text(m.user)!r} fails authentication (wrong key or protocol)",
        )

    def _report(self, m: _V3, rid: int, which: int, keys: usm.UsmKeys | None = None) -> bytes:
        self._reports[which] += 1
        varbind = (ber.encode_oid(f"{_USM_STATS}{which}.0"), ber.encode_int(self._reports[which], ber.COUNTER32))
        pdu = ber.tlv(ber.REPORT, ber.encode_int(rid) + _ZERO_STATUS + ber.encode_varbinds([varbind]))
        scoped = ber.seq(ber.tlv(4, self.engine_id), ber.tlv(4, b""), pdu)
        return self._wrap(m, scoped, keys, 1 if keys is not None else 0)

    def _wrap(self, m: _V3, scoped: bytes, keys: usm.UsmKeys | None, flags: int) -> bytes:
        """An SNMPv3 message from this engine to the sender of ``m``, encrypted and signed as ``flags`` says."""
        boots, now = self.boots, self.engine_time()
        priv_params = b""
        data = scoped
        if keys is not None and flags & 2:
            self._salt += 1
            cipher, priv_params = keys.encrypt(scoped, boots, now, self._salt)
            data = ber.tlv(4, cipher)
        mac = keys.mac_length if keys is not None and flags & 1 else 0
        message = snmp._v3_message(m.msg_id, flags, self.engine_id, boots, now, m.user, bytes(mac), priv_params, data)
        if keys is not None and mac:
            at = message.index(b"\x04" + bytes((mac,)) + bytes(mac)) + 2
            message = message[:at] + keys.sign(message) + message[at + mac :]
        return message


@dataclass(frozen=True, slots=True)
class _V3:
    msg_id: int
    flags: int
    model: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth: bytes
    auth_at: int
    priv: bytes
    data_at: int


def _parse_v3(data: bytes) -> _V3:
    i, _ = ber.read_header(data, 0, ber.SEQUENCE)
    _version, i = ber.read_int(data, i)
    h, i = ber.read_header(data, i, ber.SEQUENCE)
    msg_id, h = ber.read_int(data, h)
    _max_size, h = ber.read_int(data, h)
    flags, h = ber.read_octets(data, h)
    model, h = ber.read_int(data, h)
    if len(flags) != 1:
        raise ber.BerError("msgFlags is not one byte")
    p, i = ber.read_header(data, i, ber.OCTET_STRING)
    p, _ = ber.read_header(data, p, ber.SEQUENCE)
    engine_id, p = ber.read_octets(data, p)
    boots, p = ber.read_int(data, p)
    now, p = ber.read_int(data, p)
    user, p = ber.read_octets(data, p)
    auth_at, p = ber.read_header(data, p, ber.OCTET_STRING)
    auth = data[auth_at:p]
    priv, _ = ber.read_octets(data, p)
    return _V3(msg_id, flags[0], model, engine_id, boots, now, user, auth, auth_at, priv, i)


def _skip_context(buf: bytes, i: int) -> int:
    """Past contextEngineID and contextName of a scoped PDU starting its content at ``i``."""
    _engine, i = ber.read_octets(buf, i)
    _name, i = ber.read_octets(buf, i)
    return i


def _read_pdu(buf: bytes, i: int) -> tuple[int, int, list[ber.RawVarBind], bytes]:
    """(tag, request-id, varbinds, encoded varbind list) of an SNMPv2 PDU at ``i``."""
    tag, start, _end = ber.read_tlv(buf, i)
    rid, j = ber.read_int(buf, start)
    _status, j = ber.read_int(buf, j)
    _index, j = ber.read_int(buf, j)
    _s, end = ber.read_header(buf, j, ber.SEQUENCE)
    return tag, rid, ber.read_varbinds(buf, j), buf[j:end]


def _v1_trap(data: bytes, i: int, sender: str) -> Trap:
    start, _ = ber.read_header(data, i, TRAP_V1)
    body, j = ber.read_header(data, start, ber.OBJECT_ID)
    enterprise = ber.decode_oid(data[body:j])
    a, j = ber.read_header(data, j, ber.IP_ADDRESS)
    if j - a != 4:
        raise ber.BerError("agent-addr is not 4 bytes")
    agent = ".".join(str(b) for b in data[a:j])
    generic, j = ber.read_int(data, j)
    specific, j = ber.read_int(data, j)
    t, j = ber.read_header(data, j, ber.TIMETICKS)
    uptime = int.from_bytes(data[t:j], "big")
    varbinds = ber.read_varbinds(data, j)
    if not 0 <= generic <= 6:
        raise TrapError("malformed", f"SNMPv1 trap from {sender} with generic-trap {generic}")
    oid = f"{GENERIC}{generic + 1}" if generic < 6 else f"{enterprise}.0.{specific}"
    pairs = tuple((ber.decode_oid(o), v) for o, v in varbinds)
    return Trap("v1", sender, oid, uptime, pairs, agent if agent != "0.0.0.0" else None)


def _v2_trap(tag: int, rid: int, varbinds: list[ber.RawVarBind], sender: str, version: str, user: str = "") -> Trap:
    if tag not in (TRAP_V2, INFORM):
        raise TrapError("not_a_notification", f"PDU 0x{tag:02x} from {sender} is not a trap or an inform")
    pairs = [(ber.decode_oid(o), v) for o, v in varbinds]
    values = dict(pairs)
    oid = values.get(SNMP_TRAP_OID)
    if not isinstance(oid, str):
        raise TrapError("malformed", f"notification from {sender} without snmpTrapOID.0")
    uptime = values.get(SYS_UPTIME)
    agent = values.get(SNMP_TRAP_ADDRESS)
    rest = tuple((o, v) for o, v in pairs if o not in (SYS_UPTIME, SNMP_TRAP_OID))
    return Trap(
        version,
        sender,
        oid,
        uptime if isinstance(uptime, int) else None,
        rest,
        agent if isinstance(agent, str) else None,
        user,
        tag == INFORM,
        rid,
    )


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")
