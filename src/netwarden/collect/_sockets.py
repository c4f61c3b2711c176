"""ICMP sockets and packets: open the right kind of socket, build echo requests, read what comes back.

Two kinds of socket send ICMP echo on Linux:

* ``dgram``: ``socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)``, the unprivileged "ping socket". Allowed
  when the caller's group is inside ``net.ipv4.ping_group_range`` (per network namespace). The
  kernel fills in the identifier and the checksum and hands this socket only the replies to it;
  errors (unreachable, ...) arrive on the socket's error queue (``IP_RECVERR``).
* ``raw``: ``SOCK_RAW``, needs CAP_NET_RAW. Sees every ICMP message of the host; a kernel-side
  type filter (``ICMP_FILTER``/``ICMP6_FILTER``) keeps only echo replies and errors, and our
  identifier plus an 8-byte random token in the payload tell our replies from other programs'.

Everything here is pure packet code except :func:`open_icmp_socket`; parsers never raise on
garbage, they return ``None``.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
import struct
from dataclasses import dataclass
from typing import Literal

from netwarden.collect.records import FailureReason
from netwarden.errors import NeedsRoot

log = logging.getLogger(__name__)

IcmpMode = Literal["dgram", "raw"]
ModeChoice = Literal["auto", "dgram", "raw"]

ICMP_ECHO_REPLY, ICMP_UNREACH, ICMP_ECHO, ICMP_TIME_EXCEEDED = 0, 3, 8, 11
ICMP6_UNREACH, ICMP6_TIME_EXCEEDED, ICMP6_ECHO, ICMP6_ECHO_REPLY = 1, 3, 128, 129

_SOL_RAW = 255  # not exported by the socket module
_ICMP_FILTER = 1
_ICMP6_FILTER = 1
_SO_RCVBUFFORCE = 33
_IP_RECVERR = 11
_IPV6_RECVERR = 25
_MSG_ERRQUEUE = 0x2000
_RCVBUF = 4 << 20  # replies to a fast burst queue here while we are busy sending

TOKEN_LEN = 8
_HDR = struct.Struct("!BBHHH")
_ID_SEQ = struct.Struct("!HH")
_EXT_ERR = struct.Struct("=IBBBBII")


@dataclass
class IcmpSocket:
    """One open ICMP socket and how to speak on it."""

    sock: socket.socket
    family: int
    mode: IcmpMode
    ident: int  # the echo identifier on the wire (dgram: chosen by the kernel)

    def close(self) -> None:
        self.sock.close()


def _family_name(family: int) -> str:
    return "IPv4" if family == socket.AF_INET else "IPv6"


def _raw_filter(sock: socket.socket, family: int) -> None:
    """Let the kernel drop every ICMP type but echo reply, unreachable and time exceeded."""
    if family == socket.AF_INET:
        keep = (1 << ICMP_ECHO_REPLY) | (1 << ICMP_UNREACH) | (1 << ICMP_TIME_EXCEEDED)
        sock.setsockopt(_SOL_RAW, _ICMP_FILTER, struct.pack("=I", ~keep & 0xFFFFFFFF))
    else:
        words = [0xFFFFFFFF] * 8  # a set bit blocks that type
        for kind in (ICMP6_ECHO_REPLY, ICMP6_UNREACH, ICMP6_TIME_EXCEEDED):
            words[kind >> 5] &= ~(1 << (kind & 31))
        sock.setsockopt(socket.IPPROTO_ICMPV6, _ICMP6_FILTER, struct.pack("=8I", *words))


def _grow_rcvbuf(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, _RCVBUF)
    except OSError:  # not privileged: as much as net.core.rmem_max allows
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)


def _open(family: int, mode: IcmpMode) -> IcmpSocket:
    proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
    kind = socket.SOCK_DGRAM if mode == "dgram" else socket.SOCK_RAW
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        _grow_rcvbuf(sock)
        if mode == "raw":
            _raw_filter(sock, family)
            ident = int.from_bytes(os.urandom(2), "big")
        else:
            if family == socket.AF_INET:
                sock.setsockopt(socket.IPPROTO_IP, _IP_RECVERR, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IPV6, _IPV6_RECVERR, 1)
            sock.bind(("0.0.0.0", 0) if family == socket.AF_INET else ("::", 0))
            ident = sock.getsockname()[1]
    except BaseException:
        sock.close()
        raise
    return IcmpSocket(sock, family, mode, ident)


def open_icmp_socket(family: int, mode: ModeChoice = "auto") -> IcmpSocket:
    """Open an ICMP socket for ``family``: a ping socket where allowed, a raw socket otherwise.

    Args:
        family: ``socket.AF_INET`` or ``socket.AF_INET6``.
        mode: ``auto`` tries ``dgram`` first (no privilege needed, the kernel filters for us), then ``raw``.

    Raises:
        NeedsRoot: neither kind may be opened; the message says how to allow it.
    """
    order: list[IcmpMode] = ["dgram", "raw"] if mode == "auto" else [mode]
    failures: list[str] = []
    for choice in order:
        try:
            opened = _open(family, choice)
        except PermissionError as exc:
            failures.append(f"{choice}: {exc.strerror or exc}")
            continue
        except OSError as exc:
            if exc.errno in (errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT, errno.EADDRNOTAVAIL):
                failures.append(f"{choice}: {exc.strerror or exc}")
                continue
            raise
        log.info(
            "icmp socket opened", extra={"kv": {"family": _family_name(family), "mode": choice, "id": opened.ident}}
        )
        return opened
    raise NeedsRoot(
        f"cannot open an ICMP socket for {_family_name(family)} ({'; '.join(failures)}): run as root "
        "(CAP_NET_RAW) or allow ping sockets with sysctl net.ipv4.ping_group_range='0 2147483647'"
    )


def available_mode(family: int = socket.AF_INET, mode: ModeChoice = "auto") -> IcmpMode | None:
    """Which kind of ICMP socket this process may open for ``family``, or None."""
    try:
        opened = open_icmp_socket(family, mode)
    except NeedsRoot:
        return None
    opened.close()
    return opened.mode


# ---------------------------------------------------------------- packets


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def echo_request(family: int, ident: int, seq: int, token: bytes) -> bytes:
    """An echo request with ``token`` as payload.

    The checksum is filled in for ICMPv4; for ICMPv6 (it covers a pseudo-header) and for ping
    sockets the kernel computes it.
    """
    kind = ICMP_ECHO if family == socket.AF_INET else ICMP6_ECHO
    head = _HDR.pack(kind, 0, 0, ident & 0xFFFF, seq & 0xFFFF)
    if family == socket.AF_INET:
        head = _HDR.pack(kind, 0, checksum(head + token), ident & 0xFFFF, seq & 0xFFFF)
    return head + token


@dataclass(frozen=True)
class IcmpError:
    """An ICMP error about one of our echo requests: which target, which probe, why."""

    target: str
    seq: int
    reason: FailureReason
    detail: str


_V4_UNREACH = {
    0: ("no_route", "network unreachable"),
    1: ("no_route", "host unreachable"),
    9: ("refused", "network administratively prohibited"),
    10: ("refused", "host administratively prohibited"),
    13: ("refused", "communication administratively prohibited"),
}
_V6_UNREACH = {
    0: ("no_route", "no route to destination"),
    1: ("refused", "communication administratively prohibited"),
    3: ("no_route", "address unreachable"),
    5: ("refused", "source address failed policy"),
    6: ("refused", "reject route to destination"),
}


def _classify(family: int, kind: int, code: int, sender: str) -> tuple[FailureReason, str]:
    if family == socket.AF_INET:
        if kind == ICMP_TIME_EXCEEDED:
            return "no_route", f"time exceeded (routing loop?) reported by {sender}"
        reason, text = _V4_UNREACH.get(code, ("error", f"destination unreachable, code {code}"))
    else:
        if kind == ICMP6_TIME_EXCEEDED:
            return "no_route", f"hop limit exceeded (routing loop?) reported by {sender}"
        reason, text = _V6_UNREACH.get(code, ("error", f"destination unreachable, code {code}"))
    return reason, f"{text} (reported by {sender})"  # type: ignore[return-value]


def parse_raw_error(data: bytes, family: int, ident: int, sender: str) -> IcmpError | None:
    """An ICMP unreachable/time-exceeded read from a raw socket, if it quotes one of our requests.

    ``data`` is what ``recvfrom`` returned: IPv4 header + ICMP for IPv4, ICMPv6 alone for IPv6.
    """
    try:
        if family == socket.AF_INET:
            outer = (data[0] & 0x0F) * 4
            kind, code = data[outer], data[outer + 1]
            if kind not in (ICMP_UNREACH, ICMP_TIME_EXCEEDED):
                return None
            inner = outer + 8
            if data[inner] >> 4 != 4:
                return None
            inner_len = (data[inner] & 0x0F) * 4
            target = socket.inet_ntoa(data[inner + 16 : inner + 20])
            quoted = inner + inner_len
            if data[quoted] != ICMP_ECHO:
                return None
        else:
            kind, code = data[0], data[1]
            if kind not in (ICMP6_UNREACH, ICMP6_TIME_EXCEEDED):
                return None
            inner = 8
            if data[inner] >> 4 != 6 or data[inner + 6] != socket.IPPROTO_ICMPV6:
                return None
            target = socket.inet_ntop(socket.AF_INET6, data[inner + 24 : inner + 40])
            quoted = inner + 40
            if data[quoted] != ICMP6_ECHO:
                return None
        quoted_id, seq = _ID_SEQ.unpack_from(data, quoted + 4)
    except (IndexError, struct.error, ValueError, OSError):
        return None
    if quoted_id != ident:
        return None
    reason, detail = _classify(family, kind, code, sender)
    return IcmpError(target, seq, reason, detail)


def read_error_queue(sock: socket.socket, family: int) -> IcmpError | Literal[False] | None:
    """One entry of a ping socket's error queue; False when the queue is empty.

    The entry's data is the echo request we sent, its address the target, and its
    ``sock_extended_err`` the ICMP type/code (or a local errno) that killed it.
    """
    try:
        data, ancillary, _flags, address = sock.recvmsg(64, 512, _MSG_ERRQUEUE)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return None
    level = socket.IPPROTO_IP if family == socket.AF_INET else socket.IPPROTO_IPV6
    kind_wanted = _IP_RECVERR if family == socket.AF_INET else _IPV6_RECVERR
    for cmsg_level, cmsg_type, cmsg_data in ancillary:
        if cmsg_level != level or cmsg_type != kind_wanted or len(cmsg_data) < _EXT_ERR.size:
            continue
        err_no, origin, kind, code, _pad, _info, _data = _EXT_ERR.unpack_from(cmsg_data)
        sender = _offender(cmsg_data[_EXT_ERR.size :]) or "?"
        if len(data) < 8 or not isinstance(address, tuple):
            return None
        seq = _ID_SEQ.unpack_from(data, 4)[1]
        target = str(address[0])
        if origin in (2, 3):  # SO_EE_ORIGIN_ICMP / ICMP6
            reason, detail = _classify(family, kind, code, sender)
        else:
            reason = _errno_reason(err_no)
            detail = os.strerror(err_no)
        return IcmpError(target, seq, reason, detail)
    return None


def _offender(raw: bytes) -> str | None:
    """The address in the ``struct sockaddr`` that follows ``sock_extended_err``."""
    try:
        fam = int.from_bytes(raw[0:2], "little" if struct.pack("=H", 1)[0] else "big")
        if fam == socket.AF_INET:
            return str(ipaddress.IPv4Address(raw[4:8]))
        if fam == socket.AF_INET6:
            return str(ipaddress.IPv6Address(raw[8:24]))
    except (ValueError, IndexError):
        return None
    return None


def _errno_reason(err_no: int) -> FailureReason:
    if err_no in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN):
        return "no_route"
    if err_no in (errno.EACCES, errno.EPERM, errno.ECONNREFUSED):
        return "refused"
    return "error"


def send_error_reason(exc: OSError) -> tuple[FailureReason, str]:
    """What a failed ``sendto`` means for that target."""
    reason = _errno_reason(exc.errno or 0)
    detail = exc.strerror or str(exc)
    if exc.errno == errno.EACCES:
        detail += " (a broadcast address, or a firewall rejects it)"
    return reason, detail
