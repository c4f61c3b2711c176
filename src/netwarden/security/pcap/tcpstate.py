"""Zeek's TCP endpoint states and ``conn_state``, so a flow's state reads like Zeek's conn.log.

Each direction of a TCP flow is an endpoint whose state moves as Zeek's TCP analyzer moves it
(``TCP_Analyzer::UpdateStateMachine``): INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL (data without a SYN),
ESTABLISHED, CLOSED (sent a FIN), RESET (sent a RST). :func:`conn_state` then maps the two endpoint states to
the conn.log code exactly as ``Conn::conn_state`` in Zeek's ``base/protocols/conn/main.zeek`` does:

    S0 attempt, no reply      S1 established          SF normal open and close   REJ rejected
    S2 / S3 orig / resp closed, no reply              RSTO / RSTR orig / resp reset
    RSTOS0 orig SYN then RST  RSTRH resp SYN-ACK then RST                        SH / SHR half-open closed
    OTH anything else (midstream traffic)
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "CLOSED",
    "ESTABLISHED",
    "INACTIVE",
    "PARTIAL",
    "RESET",
    "STATE_NAMES",
    "SYN_ACK_SENT",
    "SYN_SENT",
    "conn_state",
    "udp_conn_state",
]

INACTIVE: Final = 0
SYN_SENT: Final = 1
SYN_ACK_SENT: Final = 2
PARTIAL: Final = 3
ESTABLISHED: Final = 4
CLOSED: Final = 5
RESET: Final = 6
STATE_NAMES: Final = ("INACTIVE", "SYN_SENT", "SYN_ACK_SENT", "PARTIAL", "ESTABLISHED", "CLOSED", "RESET")
_RSTOS0: Final = re.compile(r"\^?S[^HAFGIQ]*R.*")


def conn_state(orig: int, resp: int, orig_size: int, resp_size: int, history: str) -> str:
    """Zeek's conn_state of a TCP connection from its two endpoint states."""
    o_inactive = orig in (INACTIVE, PARTIAL)
    r_inactive = resp in (INACTIVE, PARTIAL)
    if resp == RESET:
        if orig in (SYN_SENT, SYN_ACK_SENT) or (orig == RESET and orig_size == 0 and resp_size == 0):
            return "REJ"
        return "RSTRH" if o_inactive else "RSTR"
    if orig == RESET:
        if r_inactive:
            return "RSTOS0" if _RSTOS0.fullmatch(history) else "OTH"
        return "RSTO"
    if resp == CLOSED and orig == CLOSED:
        return "SF"
    if orig == CLOSED:
        return "SH" if r_inactive else "S2"
    if resp == CLOSED:
        return "SHR" if o_inactive else "S3"
    if orig == SYN_SENT and resp == INACTIVE:
        return "S0"
    if orig == ESTABLISHED and resp == ESTABLISHED:
        return "S1"
    return "OTH"


def udp_conn_state(orig_packets: int, resp_packets: int) -> str:
    """Zeek's conn_state for UDP: SF when both sides sent, S0 only the originator, SHR only the responder."""
    if orig_packets:
        return "SF" if resp_packets else "S0"
    return "SHR" if resp_packets else "OTH"
