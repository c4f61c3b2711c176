"""SNMP v2c and v3 client: get, get-next, get-bulk and walks, async, one socket per device.

A :class:`Session` talks to one agent over a connected UDP socket (the kernel drops datagrams
from anyone else, and an ICMP port-unreachable surfaces as ``refused``). Requests are retried
with the same request-id, so a late answer to the first try still counts. Walks use GETBULK on
several columns at once and stop with a ``protocol`` failure when an agent loops, goes backwards
or never ends.

Failures raise :class:`SnmpError` subclasses inside a session; the module-level helpers
(:func:`collect`, :func:`collect_many`) turn them into per-target :class:`TargetResult` values so
one bad agent never stops the others::

    auth = V2c("public")
    async with Session("10.0.0.1", auth) as s:
        system = await s.get(["1.3.6.1.2.1.1.5.0"])
        table = await s.walk_columns(["1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.8"])

Error tree: ``SnmpError`` (NetwardenError) with ``reason`` one of the collect failure reasons:
``SnmpTimeout`` (timeout), ``SnmpRefused`` (refused), ``SnmpAuthError`` (auth_failed),
``SnmpProtocolError`` (protocol: malformed, looping or endless answers, error-status).
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from netwarden.collect import _ber as ber
from netwarden.collect import _usm as usm
from netwarden.collect.records import FailureReason, TargetResult
from netwarden.errors import NetwardenError

__all__ = [
    "END_OF_MIB_VIEW",
    "NO_SUCH_INSTANCE",
    "NO_SUCH_OBJECT",
    "V3",
    "Session",
    "SnmpAuthError",
    "SnmpError",
    "SnmpProtocolError",
    "SnmpRefused",
    "SnmpTimeout",
    "V2c",
    "VarBind",
    "collect",
    "collect_many",
]

T = TypeVar("T")
VarBind = tuple[str, ber.Value]
END_OF_MIB_VIEW = ber.END_OF_MIB_VIEW
NO_SUCH_OBJECT = ber.NO_SUCH_OBJECT
NO_SUCH_INSTANCE = ber.NO_SUCH_INSTANCE

MAX_DATAGRAM: Final = 65507
DEFAULT_MAX_VARBINDS: Final = 250_000  # a walk returning more is treated as endless
_ERROR_STATUS: Final = tuple(
    [
        "noError",
        "tooBig",
        "noSuchName",
        "badValue",
        "readOnly",
        "genErr",
        "noAccess",
        "wrongType",
        "wrongLength",
        "wrongEncoding",
        "wrongValue",
        "noCreation",
        "inconsistentValue",
        "resourceUnavailable",
        "commitFailed",
        "undoFailed",
        "authorizationError",
        "notWritable",
        "inconsistentName",
    ]
)
_ids = itertools.count(int.from_bytes(os.urandom(3), "big"))


class SnmpError(NetwardenError):
    """An SNMP exchange with one agent failed."""

    status_code = 502
    reason: FailureReason = "error"


class SnmpTimeout(SnmpError):
    reason: FailureReason = "timeout"


class SnmpRefused(SnmpError):
    reason: FailureReason = "refused"


class SnmpNoRoute(SnmpError):
    reason: FailureReason = "no_route"


class SnmpAuthError(SnmpError):
    reason: FailureReason = "auth_failed"


class SnmpProtocolError(SnmpError):
    reason: FailureReason = "protocol"


@dataclass(frozen=True)
class V2c:
    community: str

    def __repr__(self) -> str:  # never show the community
        return "V2c(community=***)"


@dataclass(frozen=True)
class V3:
    user: str
    auth_protocol: usm.AuthProtocol | None = None
    auth_password: str = ""
    priv_protocol: usm.PrivProtocol | None = None
    priv_password: str = ""
    context: str = ""

    def __repr__(self) -> str:
        return f"V3(user={self.user!r}, auth={self.auth_protocol}, priv={self.priv_protocol})"


Auth = V2c | V3

# usmStats counters an agent reports (RFC 3414 section 5), by the last two arcs of the OID
_USM_REPORTS: Final = {
    "1.3.6.1.6.3.15.1.1.1.0": ("auth", "the agent does not support this security level"),
    "1.3.6.1.6.3.15.1.1.2.0": ("time", "not in time window"),
    "1.3.6.1.6.3.15.1.1.3.0": ("auth", "unknown SNMPv3 user"),
    "1.3.6.1.6.3.15.1.1.4.0": ("engine", "unknown engine id"),
    "1.3.6.1.6.3.15.1.1.5.0": ("auth", "wrong SNMPv3 authentication key (wrong digest)"),
    "1.3.6.1.6.3.15.1.1.6.0": ("auth", "wrong SNMPv3 privacy key (decryption error)"),
}


class _Channel:
    """A connected non-blocking UDP socket with an inbox; no task per receive."""

    def __init__(self, host: str, port: int) -> None:
        self.loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.inbox: deque[bytes] = deque(maxlen=64)
        self.error: OSError | None = None
        self.waiter: asyncio.Future[None] | None = None
        try:
            self.sock.connect((host, port))
        except OSError as exc:
            self.sock.close()
            raise _os_error(exc) from None
        self.loop.add_reader(self.sock.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            for _ in range(64):
                self.inbox.append(self.sock.recv(MAX_DATAGRAM))
        except BlockingIOError:
            pass
        except OSError as exc:
            self.error = exc
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def send(self, data: bytes) -> None:
        try:
            self.sock.send(data)
        except OSError as exc:
            raise _os_error(exc) from None

    async def receive(self, timeout: float) -> bytes | None:
        """The next datagram, or None when ``timeout`` passes first."""
        if not self.inbox and self.error is None:
            waiter = self.waiter = self.loop.create_future()
            handle = self.loop.call_later(timeout, _wake, waiter)
            try:
                await waiter
            finally:
                handle.cancel()
                self.waiter = None
        if self.error is not None:
            exc, self.error = self.error, None
            raise _os_error(exc)
        return self.inbox.popleft() if self.inbox else None

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _os_error(exc: OSError) -> SnmpError:
    if isinstance(exc, ConnectionRefusedError):
        return SnmpRefused("port unreachable (no SNMP agent listening)")
    if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN):
        return SnmpNoRoute(exc.strerror or "no route")
    return SnmpError(f"socket error: {exc.strerror or exc}")


@dataclass
class _Engine:
    engine_id: bytes = b""
    boots: int = 0
    time: int = 0
    at: float = 0.0  # monotonic time when ``time`` was learned
    keys: usm.UsmKeys | None = None

    def now(self) -> int:
        return self.time + int(time.monotonic() - self.at)


class Session:
    """One agent: address, port, credentials, timeout and retries.

    Args:
        host: IPv4 or IPv6 address.
        auth: :class:`V2c` or :class:`V3`.
        port: UDP port (simulated fleets use 1161).
        timeout: seconds to wait for each answer.
        retries: resends after a timeout (same request-id).
        max_repetitions: rows per GETBULK in walks; halved when the agent says tooBig.
    """

    def __init__(
        self,
        host: str,
        auth: Auth,
        *,
        port: int = 161,
        timeout: float = 2.0,
        retries: int = 1,
        max_repetitions: int = 25,
        max_varbinds: int = DEFAULT_MAX_VARBINDS,
    ) -> None:
        self.host, self.port, self.auth = host, port, auth
        self.timeout, self.retries = timeout, max(0, retries)
        self.max_repetitions = max(1, max_repetitions)
        self.max_varbinds = max_varbinds
        self.requests = 0
        self._channel: _Channel | None = None
        self._engine = _Engine()
        self._salt = int.from_bytes(os.urandom(8), "big")
        if isinstance(auth, V2c):
            self._prefix = ber.encode_int(1) + ber.tlv(ber.OCTET_STRING, auth.community.encode())

    async def __aenter__(self) -> Session:
        self._channel = _Channel(self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    # ------------------------------------------------------------ public operations

    async def get(self, oids: Sequence[str]) -> list[VarBind]:
        return _text(await self._pdu(ber.GET, [ber.encode_oid(o) for o in oids]))

    async def get_next(self, oids: Sequence[str]) -> list[VarBind]:
        return _text(await self._pdu(ber.GET_NEXT, [ber.encode_oid(o) for o in oids]))

    async def get_bulk(self, oids: Sequence[str], non_repeaters: int = 0, max_repetitions: int = 25) -> list[VarBind]:
        raw = [ber.encode_oid(o) for o in oids]
        return _text(await self._pdu(ber.GET_BULK, raw, non_repeaters, max_repetitions))

    async def walk(self, root: str) -> list[VarBind]:
        """Every varbind under ``root``, in order."""
        prefix = ber.encode_oid(root)
        rows = (await self._walk_raw([prefix]))[0]
        return [(ber.decode_oid(prefix + suffix), value) for suffix, value in rows]

    async def walk_columns(self, roots: Sequence[str]) -> dict[str, dict[str, ber.Value]]:
        """Walk several table columns together: ``{root: {index: value}}``.

        ``index`` is the OID suffix under the root in dotted text (``"5"`` for ifDescr.5).
        """
        prefixes = [ber.encode_oid(r) for r in roots]
        found = await self._walk_raw(prefixes)
        return {root: {_suffix(s): v for s, v in rows} for root, rows in zip(roots, found, strict=True)}

    # ------------------------------------------------------------ walking

    async def _walk_raw(self, prefixes: list[bytes]) -> list[list[tuple[bytes, ber.Value]]]:
        results: list[list[tuple[bytes, ber.Value]]] = [[] for _ in prefixes]
        cursors = list(prefixes)
        active = list(range(len(prefixes)))
        reps = self.max_repetitions
        while active:
            try:
                answer = await self._pdu(ber.GET_BULK, [cursors[c] for c in active], 0, reps)
            except _TooBig:
                if reps == 1:
                    raise SnmpProtocolError("the agent says every answer is too big, even one row") from None
                reps = max(1, reps // 2)
                continue
            if not answer:
                raise SnmpProtocolError("the agent answered a walk with no varbinds")
            width = len(active)
            still: list[int] = []
            for col_pos, column in enumerate(active):
                prefix, cursor, out = prefixes[column], cursors[column], results[column]
                size = len(prefix)
                last = cursor
                done = False
                for oid, value in answer[col_pos::width]:
                    if value is END_OF_MIB_VIEW or not oid.startswith(prefix) or len(oid) == size:
                        done = True
                        break
                    if oid == last:
                        raise SnmpProtocolError(f"the agent repeated {ber.decode_oid(oid)} in a walk (loop)")
                    out.append((oid[size:], value))
                    last = oid
                if not done and last == cursor:
                    # No row for this column in a truncated answer: ask again from the same place.
                    still.append(column)
                    continue
                if not done:
                    if _arcs_not_after(last, cursor):
                        raise SnmpProtocolError(
                            "the agent went backwards in a walk "
                            f"({ber.decode_oid(last)} after {ber.decode_oid(cursor)})"
                        )
                    cursors[column] = last
                    still.append(column)
            total = sum(len(r) for r in results)
            if total > self.max_varbinds:
                raise SnmpProtocolError(f"the walk passed {self.max_varbinds} varbinds without ending (endless walk)")
            active = still
        return results

    # ------------------------------------------------------------ one exchange

    async def _pdu(
        self, tag: int, oids: list[bytes], a: int = 0, b: int = 0, *, retry_time: bool = True
    ) -> list[ber.RawVarBind]:
        if self._channel is None:
            raise SnmpError("session is not open (use 'async with Session(...)')")
        request_id = next(_ids) & 0x7FFFFFFF
        body = ber.encode_int(request_id) + ber.encode_int(a) + ber.encode_int(b)
        body += ber.seq(*(ber.seq(ber.tlv(ber.OBJECT_ID, o), b"\x05\x00") for o in oids))
        pdu = ber.tlv(tag, body)
        if isinstance(self.auth, V2c):
            message = ber.seq(self._prefix, pdu)
            data = await self._exchange(message, lambda d: _v2c_response(d, request_id))
            return self._check(data, tag)
        if not self._engine.engine_id:
            await self._discover()
        try:
            answer = await self._exchange_v3(pdu, request_id)
        except _TimeWindow:
            if not retry_time:
                raise SnmpAuthError("the agent keeps saying the request is outside its time window") from None
            return await self._pdu(tag, oids, a, b, retry_time=False)
        return self._check(answer, tag)

    def _check(self, answer: tuple[int, int, list[ber.RawVarBind]], tag: int) -> list[ber.RawVarBind]:
        status, index, varbinds = answer
        if status == 1 and tag == ber.GET_BULK:
            raise _TooBig
        if status:
            name = _ERROR_STATUS[status] if status < len(_ERROR_STATUS) else str(status)
            raise SnmpProtocolError(f"the agent answered error-status {name} (index {index})")
        return varbinds

    async def _exchange(self, message: bytes, accept: Callable[[bytes], T | None]) -> T:
        channel = self._channel
        assert channel is not None
        loop = channel.loop
        for _attempt in range(self.retries + 1):
            channel.send(message)
            self.requests += 1
            deadline = loop.time() + self.timeout
            while (left := deadline - loop.time()) > 0:
                data = await channel.receive(left)
                if data is None:
                    break
                try:
                    parsed = accept(data)
                except ber.BerError as exc:
                    raise SnmpProtocolError(f"malformed answer: {exc}") from None
                if parsed is not None:
                    return parsed
        raise SnmpTimeout(
            f"no SNMP answer in {self.timeout:g} s x {self.retries + 1} (agent down, filtered or wrong community)"
        )

    # ------------------------------------------------------------ SNMPv3

    async def _discover(self) -> None:
        msg_id = next(_ids) & 0x7FFFFFFF
        pdu = ber.tlv(ber.GET, ber.encode_int(msg_id) + b"\x02\x01\x00\x02\x01\x00" + ber.seq())
        message = _v3_message(msg_id, 0x04, b"", 0, 0, b"", b"", b"", ber.seq(ber.tlv(4, b""), ber.tlv(4, b""), pdu))
        engine = await self._exchange(message, lambda d: _v3_engine(d, msg_id))
        if not engine[0]:
            raise SnmpProtocolError("the agent did not say its engine id")
        self._engine = _Engine(engine[0], engine[1], engine[2], time.monotonic())
        auth = self.auth
        assert isinstance(auth, V3)
        if auth.priv_protocol and not auth.auth_protocol:
            raise SnmpAuthError("SNMPv3 privacy needs an authentication protocol")
        self._engine.keys = usm.keys_for(
            auth.auth_protocol,
            auth.auth_password.encode(),
            auth.priv_protocol,
            (auth.priv_password or auth.auth_password).encode(),
            self._engine.engine_id,
        )

    async def _exchange_v3(self, pdu: bytes, request_id: int) -> tuple[int, int, list[ber.RawVarBind]]:
        auth, engine = self.auth, self._engine
        assert isinstance(auth, V3) and engine.keys is not None
        keys = engine.keys
        flags = 0x04 | (0x01 if keys.auth_protocol else 0) | (0x02 if keys.priv_protocol else 0)
        boots, now = engine.boots, engine.now()
        scoped = ber.seq(ber.tlv(4, engine.engine_id), ber.tlv(4, auth.context.encode()), pdu)
        priv_params = b""
        if keys.priv_protocol:
            self._salt += 1
            cipher, priv_params = keys.encrypt(scoped, boots, now, self._salt)
            data = ber.tlv(4, cipher)
        else:
            data = scoped
        msg_id = request_id
        message = _v3_message(
            msg_id, flags, engine.engine_id, boots, now, auth.user.encode(), b"\0" * keys.mac_length, priv_params, data
        )
        if keys.auth_protocol:
            at = message.index(b"\x04" + bytes((keys.mac_length,)) + b"\0" * keys.mac_length) + 2
            message = message[:at] + keys.sign(message) + message[at + keys.mac_length :]
        return await self._exchange(message, lambda d: self._v3_response(d, msg_id))

    def _v3_response(self, data: bytes, msg_id: int) -> tuple[int, int, list[ber.RawVarBind]] | None:
        parsed = _v3_parse(data)
        if parsed.msg_id != msg_id:
            return None
        keys = self._engine.keys
        assert keys is not None
        if parsed.flags & 0x01:
            if not keys.auth_protocol or len(parsed.auth) != keys.mac_length:
                raise SnmpAuthError("the answer is signed with another authentication protocol")
            blank = data[: parsed.auth_at] + b"\0" * keys.mac_length + data[parsed.auth_at + keys.mac_length :]
            if keys.sign(blank) != parsed.auth:
                raise SnmpAuthError("the answer's signature does not match the key (wrong authentication key)")
        scoped = parsed.data
        if parsed.flags & 0x02:
            try:
                scoped = keys.decrypt(parsed.data, parsed.priv, parsed.boots, parsed.time)
            except ValueError as exc:
                raise SnmpAuthError(f"cannot decrypt the answer: {exc}") from None
        i, _end = ber.read_header(scoped, 0, ber.SEQUENCE)
        _ctx_engine, i = ber.read_octets(scoped, i)
        _ctx_name, i = ber.read_octets(scoped, i)
        tag, start, _ = ber.read_tlv(scoped, i)
        _rid, j = ber.read_int(scoped, start)
        status, j = ber.read_int(scoped, j)
        index, j = ber.read_int(scoped, j)
        varbinds = ber.read_varbinds(scoped, j)
        if tag == ber.REPORT:
            self._report(varbinds, parsed)
        if keys.auth_protocol and not parsed.flags & 0x01:
            raise SnmpAuthError("the agent answered without authentication to an authenticated request")
        if tag != ber.RESPONSE:
            raise SnmpProtocolError(f"unexpected PDU 0x{tag:02x} in answer")
        return status, index, varbinds

    def _report(self, varbinds: list[ber.RawVarBind], parsed: _V3Message) -> None:
        oid = ber.decode_oid(varbinds[0][0]) if varbinds else ""
        kind, text = _USM_REPORTS.get(oid, ("other", f"the agent reported {oid or 'an error'}"))
        if kind == "time":
            self._engine.boots, self._engine.time, self._engine.at = parsed.boots, parsed.time, time.monotonic()
            raise _TimeWindow
        if kind == "auth":
            raise SnmpAuthError(text)
        raise SnmpProtocolError(text)


class _TooBig(Exception):
    pass


class _TimeWindow(Exception):
    pass


def _text(varbinds: list[ber.RawVarBind]) -> list[VarBind]:
    return [(ber.decode_oid(oid), value) for oid, value in varbinds]


def _suffix(body: bytes) -> str:
    return ".".join(map(str, body)) if body.isascii() else ".".join(map(str, ber.oid_arcs(body)))


def _arcs_not_after(oid: bytes, than: bytes) -> bool:
    def arcs(body: bytes) -> tuple[int, ...]:
        return ber.oid_arcs(body) if body else ()

    return arcs(oid) <= arcs(than)


def _v2c_response(data: bytes, request_id: int) -> tuple[int, int, list[ber.RawVarBind]] | None:
    i, _ = ber.read_header(data, 0, ber.SEQUENCE)
    _version, i = ber.read_int(data, i)
    _community, i = ber.read_octets(data, i)
    tag, start, _end = ber.read_tlv(data, i)
    rid, j = ber.read_int(data, start)
    if rid != request_id:
        return None  # a late answer to an earlier request
    if tag != ber.RESPONSE:
        raise ber.BerError(f"unexpected PDU 0x{tag:02x} in answer")
    status, j = ber.read_int(data, j)
    index, j = ber.read_int(data, j)
    return status, index, ber.read_varbinds(data, j)


def _v3_message(
    msg_id: int,
    flags: int,
    engine_id: bytes,
    boots: int,
    now: int,
    user: bytes,
    auth: bytes,
    priv: bytes,
    data: bytes,
) -> bytes:
    header = ber.seq(
        ber.encode_int(msg_id), ber.encode_int(MAX_DATAGRAM), ber.tlv(4, bytes((flags,))), ber.encode_int(3)
    )
    params = ber.seq(
        ber.tlv(4, engine_id),
        ber.encode_int(boots),
        ber.encode_int(now),
        ber.tlv(4, user),
        ber.tlv(4, auth),
        ber.tlv(4, priv),
    )
    return ber.seq(ber.encode_int(3), header, ber.tlv(4, params), data)


@dataclass
class _V3Message:
    msg_id: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    auth: bytes
    auth_at: int
    priv: bytes
    data: bytes


def _v3_parse(data: bytes) -> _V3Message:
    i, _ = ber.read_header(data, 0, ber.SEQUENCE)
    version, i = ber.read_int(data, i)
    if version != 3:
        raise ber.BerError(f"SNMP version {version} answer to an SNMPv3 request")
    j, i = ber.read_header(data, i, ber.SEQUENCE)
    msg_id, j = ber.read_int(data, j)
    _max, j = ber.read_int(data, j)
    flags_raw, j = ber.read_octets(data, j)
    p, i = ber.read_header(data, i, ber.OCTET_STRING)
    p, _ = ber.read_header(data, p, ber.SEQUENCE)
    engine_id, p = ber.read_octets(data, p)
    boots, p = ber.read_int(data, p)
    now, p = ber.read_int(data, p)
    _user, p = ber.read_octets(data, p)
    auth_at, p_end = ber.read_header(data, p, ber.OCTET_STRING)
    auth = data[auth_at:p_end]
    priv, _ = ber.read_octets(data, p_end)
    tag = data[i] if i < len(data) else -1
    if tag == ber.OCTET_STRING:
        payload, _ = ber.read_octets(data, i)
    else:
        _s, end = ber.read_header(data, i, ber.SEQUENCE)
        payload = data[i:end]
    flags = flags_raw[0] if flags_raw else 0
    return _V3Message(msg_id, flags, engine_id, boots, now, auth, auth_at, priv, payload)


def _v3_engine(data: bytes, msg_id: int) -> tuple[bytes, int, int] | None:
    parsed = _v3_parse(data)
    if parsed.msg_id != msg_id:
        return None
    return parsed.engine_id, parsed.boots, parsed.time


# ---------------------------------------------------------------- per-target results


async def collect(
    host: str,
    auth: Auth,
    action: Callable[[Session], Awaitable[T]],
    *,
    port: int = 161,
    timeout: float = 2.0,
    retries: int = 1,
    max_repetitions: int = 25,
) -> TargetResult[T]:
    """Run ``action`` in a session with ``host``; any SNMP failure becomes a failed result."""
    started = time.perf_counter()
    session = Session(host, auth, port=port, timeout=timeout, retries=retries, max_repetitions=max_repetitions)
    try:
        async with session:
            value = await action(session)
    except SnmpError as exc:
        return TargetResult.failure(host, exc.reason, str(exc), time.perf_counter() - started, session.requests)
    except NetwardenError as exc:
        return TargetResult.failure(host, "error", str(exc), time.perf_counter() - started, session.requests)
    return TargetResult.success(host, value, time.perf_counter() - started, session.requests)


async def collect_many(
    hosts: Iterable[str],
    auth: Auth,
    action: Callable[[Session], Awaitable[T]],
    *,
    concurrency: int = 256,
    port: int = 161,
    timeout: float = 2.0,
    retries: int = 1,
    max_repetitions: int = 25,
) -> list[TargetResult[T]]:
    """:func:`collect` on many agents, at most ``concurrency`` at a time, results in input order."""
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(host: str) -> TargetResult[T]:
        async with limit:
            return await collect(
                host, auth, action, port=port, timeout=timeout, retries=retries, max_repetitions=max_repetitions
            )

    return list(await asyncio.gather(*(one(h) for h in hosts)))
