"""Packet captures: read pcap/pcapng (gzip too), flows with Zeek's TCP states, TCP health, DNS, RTP, SNMP.

- :func:`analyze` reads a capture once into a :class:`~.schemas.PcapReport` (``netwarden pcap analyze``);
- :func:`iter_packets` decodes every packet (tests, inspection);
- :mod:`.capture` records one with dumpcap or tcpdump (``netwarden pcap capture``).

See docs/decisions/0025-pcap-analysis.md.
"""

from netwarden.security.pcap.analyze import analyze, iter_packets
from netwarden.security.pcap.reader import PcapFormatError

__all__ = ["PcapFormatError", "analyze", "iter_packets"]
