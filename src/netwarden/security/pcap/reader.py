"""Capture files in, packet records out: classic pcap (micro- and nanosecond, either byte order), pcapng, gzip.

Written for speed (docs/decisions/0025-pcap-analysis.md): the file is read in 1 MiB chunks (memory stays
flat whatever the file size, and a gzip stream reads the same way), each record header is one
``struct.unpack_from`` on the chunk, and a record is handed on as ``(ts_ns, wire_len, linktype, buf, start,
end)``: the packet is ``buf[start:end]``, never copied.

Damage is reported, not raised: a file that ends inside a record, a record whose length cannot be right, or a
gzip stream cut short stops the reading; :attr:`CaptureReader.status` then says how many records were read and
at which byte (of the uncompressed stream) reading stopped, and why. Only a file that is no capture at all
raises :class:`PcapFormatError`.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from netwarden.errors import InvalidInput

__all__ = ["CHUNK", "Buffer", "CaptureReader", "PcapFormat", "PcapFormatError", "ReadStatus", "Record"]

CHUNK: Final = 1 << 20
MAX_RECORD: Final = 16 << 20  # no link layer has frames near this; a larger length means the file is damaged
# (ts_ns, wire length, link type, buffer, start of the packet in it, end); the buffer is reused: take what you
# need from it before asking for the next record.
Buffer = bytes | bytearray
Record = tuple[int, int, int, Buffer, int, int]

_PCAP_MAGIC: Final = {
    b"\xd4\xc3\xb2\xa1": ("<", 1000),  # microseconds, little-endian
    b"\xa1\xb2\xc3\xd4": (">", 1000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),  # nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
_PCAPNG_SHB: Final = b"\x0a\x0d\x0d\x0a"
_GZIP: Final = b"\x1f\x8b"


class PcapFormatError(InvalidInput):
    """The file is not a capture this reader knows (pcap, pcapng, either gzipped)."""

    code = "bad-capture"


@dataclass(frozen=True)
class PcapFormat:
    """A classic pcap file's header: byte order, ns per fraction unit, longest believable record, link type."""

    order: str
    unit: int
    limit: int
    linktype: int
    snaplen: int


@dataclass
class ReadStatus:
    """How the reading went: what the file is, how far it was read, and why it stopped early if it did."""

    format: str  # pcap | pcapng
    compressed: bool
    nanosecond: bool = False
    linktypes: list[int] = field(default_factory=list)
    records: int = 0
    complete: bool = True
    stopped_at: int | None = None  # byte offset (uncompressed) of the record where reading stopped
    error: str | None = None

    def stop(self, offset: int, reason: str) -> None:
        if self.complete:
            self.complete, self.stopped_at, self.error = False, offset, reason


class CaptureReader:
    """One capture file, opened and checked; :meth:`records` walks it once.

    Args:
        path: a pcap or pcapng file, optionally gzip-compressed.
        on_chunk: called after each chunk read with (bytes of the file consumed, file size), for progress.

    Raises:
        PcapFormatError: the file cannot be read or is not a capture.
    """

    def __init__(self, path: Path, on_chunk: Callable[[int, int], None] | None = None) -> None:
        self.path = path
        self.on_chunk = on_chunk
        self._size = self.size()
        self._format: PcapFormat | None = None
        try:
            self._raw: io.BufferedIOBase = path.open("rb")
        except OSError as exc:
            raise PcapFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            head = self._raw.read(4)
            compressed = head[:2] == _GZIP
            self._raw.seek(0)
            self._file: io.BufferedIOBase = gzip.GzipFile(fileobj=self._raw, mode="rb") if compressed else self._raw
            try:
                magic = self._file.read(4)
            except (OSError, EOFError, zlib.error):
                raise PcapFormatError(f"{path} is gzip-compressed but cannot be decompressed") from None
            self._chunk = 65536 if compressed else CHUNK  # a cut gzip stream loses at most one chunk
            if magic in _PCAP_MAGIC:
                self.status = ReadStatus("pcap", compressed, nanosecond=_PCAP_MAGIC[magic][1] == 1)
                self._magic = magic
            elif magic == _PCAPNG_SHB:
                self.status = ReadStatus("pcapng", compressed)
                self._magic = magic
            else:
                what = "an empty file" if not magic else f"starts with {magic.hex()}"
                raise PcapFormatError(f"{path} is not a pcap or pcapng capture ({what})")
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "_file", None) is not None and self._file is not self._raw:
            self._file.close()
        self._raw.close()

    def size(self) -> int:
        """Bytes of the file on disk (for progress; compressed size when gzipped)."""
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def position(self) -> int:
        """Bytes of the file on disk consumed so far."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def records(self) -> Iterator[Record]:
        """Every packet record, in file order. Reading stops (and :attr:`status` says why) at damage."""
        if self.status.format == "pcap":
            return self._pcap()
        return self._pcapng()

    # ------------------------------------------------------------ chunks

    def _read_into(self, target: memoryview, offset: int) -> int:
        """Fill ``target`` from the file (as far as it goes); 0 at the end. A broken gzip stream ends it too."""
        try:
            got = self._file.readinto(target)
            if self.on_chunk is not None:
                self.on_chunk(self.position(), self._size)
            return got
        except (EOFError, OSError, zlib.error) as exc:
            self.status.stop(offset, f"the gzip stream is damaged or cut short after byte {offset} ({exc})")
            return 0

    def _window(self, base: int, start: bytes = b"") -> _Window:
        """A buffer over the rest of the file, whose first byte is at file offset ``base``, holding ``start``."""
        return _Window(self, bytearray(self._chunk), base, start)

    # ------------------------------------------------------------ classic pcap

    def pcap_format(self) -> PcapFormat | None:
        """Classic pcap: read the file header (once); None when the file ends inside it."""
        if self._format is not None or not self.status.complete:
            return self._format
        order, unit = _PCAP_MAGIC[self._magic]
        header = self._magic + self._file.read(20)
        if len(header) < 24:
            self.status.stop(len(header), f"the file ends inside the 24-byte pcap header ({len(header)} bytes)")
            return None
        _v1, _v2, _zone, _sig, snaplen, network = struct.unpack(order + "HHiIII", header[4:])
        linktype = network & 0xFFFF
        self.status.linktypes = [linktype]
        limit = max(snaplen, 262144) if snaplen <= MAX_RECORD else MAX_RECORD
        self._format = PcapFormat(order, unit, limit, linktype, snaplen)
        return self._format

    def walk_pcap(self, visit: Callable[[Buffer, int, int], tuple[int, int]]) -> None:
        """Classic pcap, for the fastest consumers: the chunk loop without a call per record.

        ``visit(buf, off, n)`` takes the complete records of ``buf[off:n]`` (a record header is 16 bytes: seconds,
        fraction, captured and wire length in :attr:`PcapFormat.order`) and returns (offset of the first record
        it did not take, records taken). It must stop at a record whose captured length exceeds
        :attr:`PcapFormat.limit`: the damage is then reported here.
        """
        fmt = self.pcap_format()
        if fmt is None:
            return
        unpack = struct.Struct(fmt.order + "IIII").unpack_from
        status = self.status
        window = self._window(24)
        buf = window.buf
        base = n = off = count = 0
        while True:
            more = window.refill(off)
            base, n, off = window.base, window.n, 0
            if not more:
                break
            off, taken = visit(buf, off, n)
            count += taken
            status.records = count
            if off + 16 <= n:
                caplen = unpack(buf, off)[2]
                if caplen > fmt.limit:
                    _oversized(status, count, base + off, caplen, fmt.snaplen)
                    window.close()
                    return
        window.close()
        if n - off:
            _cut_short(status, count, base + off, n - off)

    def _pcap(self) -> Iterator[Record]:
        fmt = self.pcap_format()
        if fmt is None:
            return
        unit, limit, linktype, snaplen = fmt.unit, fmt.limit, fmt.linktype, fmt.snaplen
        unpack = struct.Struct(fmt.order + "IIII").unpack_from
        status = self.status
        window = self._window(24)
        buf = window.buf
        base = n = off = count = 0
        while True:
            more = window.refill(off)
            base, n, off = window.base, window.n, 0
            if not more:
                break
            while off + 16 <= n:
                sec, frac, caplen, wire = unpack(buf, off)
                p = off + 16
                end = p + caplen
                if caplen > limit:
                    status.records = count
                    _oversized(status, count, base + off, caplen, snaplen)
                    return
                if end > n:
                    break
                off = end
                count += 1
                yield sec * 1000000000 + frac * unit, wire, linktype, buf, p, end
            status.records = count
        window.close()
        status.records = count
        if n - off:
            _cut_short(status, count, base + off, n - off)

    # ------------------------------------------------------------ pcapng

    def _pcapng(self) -> Iterator[Record]:
        status = self.status
        ifaces: list[tuple[int, int, int, int, int]] = []  # per interface: linktype, snaplen, mul, shift, div
        head, epb = _NG["<"]
        window = self._window(0, self._magic)
        buf = window.buf
        base, n = window.base, window.n
        off = count = 0
        while True:
            while off + 12 <= n:
                if off + 28 <= n:  # room for an enhanced packet block's fixed fields: read them with the header
                    btype, blen, iface, hi, lo, caplen, wire = epb(buf, off)
                else:
                    btype, blen = head(buf, off)
                    iface = hi = lo = caplen = wire = 0
                if btype == 6 and 32 <= blen <= MAX_RECORD and not blen & 3:
                    if off + blen > n:
                        break
                    p = off + 28
                    if iface >= len(ifaces) or p + caplen > off + blen - 4:
                        status.records = count
                        status.stop(base + off, f"packet block {count + 1} at byte {base + off} is malformed")
                        return
                    off += blen
                    lt, _snap, mul, shift, div = ifaces[iface]
                    ts = (hi << 32 | lo) * mul
                    if shift:
                        ts >>= shift
                    if div != 1:
                        ts //= div
                    count += 1
                    yield ts, wire, lt, buf, p, p + caplen
                    continue
                if btype == 0x0A0D0D0A:  # section header: its byte-order magic sets the order of what follows
                    bom = bytes(buf[off + 8 : off + 12])
                    if bom not in _BOM:
                        status.records = count
                        status.stop(base + off, f"section header at byte {base + off} has no byte-order magic")
                        return
                    head, epb = _NG[_BOM[bom]]
                    btype, blen = head(buf, off)
                if blen < 12 or blen & 3 or blen > MAX_RECORD:
                    status.records = count
                    status.stop(
                        base + off,
                        f"block at byte {base + off} claims a length of {blen} bytes: the file is damaged from there",
                    )
                    return
                if off + blen > n:
                    break
                at = base + off
                p = off + 8
                end = off + blen - 4
                off += blen
                order = "<" if head is _NG["<"][0] else ">"
                if btype == 6 or btype == 2:  # a short enhanced packet block, an obsolete packet block
                    if btype == 6:
                        iface, hi, lo, caplen, wire = struct.unpack_from(order + "IIIII", buf, p)
                    else:
                        iface, _drops, hi, lo, caplen, wire = struct.unpack_from(order + "HHIIII", buf, p)
                    if iface >= len(ifaces) or caplen > end - p - 20:
                        status.records = count
                        status.stop(at, f"packet block {count + 1} at byte {at} is malformed")
                        return
                    lt, _snap, mul, shift, div = ifaces[iface]
                    ts = ((hi << 32 | lo) * mul >> shift) // div
                    count += 1
                    yield ts, wire, lt, buf, p + 20, p + 20 + caplen
                elif btype == 3:  # simple packet block: interface 0, no timestamp
                    if not ifaces:
                        status.records = count
                        status.stop(at, f"simple packet block at byte {at} comes before any interface description")
                        return
                    (wire,) = struct.unpack_from(order + "I", buf, p)
                    lt, snap, _mul, _shift, _div = ifaces[0]
                    caplen = min(wire, snap or wire, end - p - 4)
                    count += 1
                    yield 0, wire, lt, buf, p + 4, p + 4 + caplen
                elif btype == 1:  # interface description
                    ifaces.append(_interface(buf, p, end, order))
                    if ifaces[-1][0] not in status.linktypes:
                        status.linktypes.append(ifaces[-1][0])
                elif btype == 0x0A0D0D0A:  # a new section: interface numbering starts again
                    ifaces = []
            status.records = count
            more = window.refill(off)
            base, n, off = window.base, window.n, 0
            if not more:
                break
        window.close()
        status.records = count
        if n - off:
            status.stop(
                base + off, f"the file ends inside a block at byte {base + off} ({n - off} bytes of it present)"
            )


def _oversized(status: ReadStatus, count: int, at: int, caplen: int, snaplen: int) -> None:
    status.stop(
        at,
        f"packet record {count + 1} at byte {at} claims {caplen} captured bytes (snapshot length {snaplen}): "
        "the file is damaged from there",
    )


def _cut_short(status: ReadStatus, count: int, at: int, present: int) -> None:
    status.stop(at, f"the file ends inside packet record {count + 1} at byte {at} ({present} bytes of it present)")


class _Window:
    """One buffer over a capture file, refilled in place, for the record loops.

    A fresh bytes object per chunk fragments the heap (peak RSS grew by tens of MB on a 500 MB file), so the
    loops read into one buffer: ``buf[:n]`` holds data, ``base`` is the file offset of ``buf[0]``. Records
    are handed out as views into it, valid until the consumer asks for the next record.
    """

    def __init__(self, reader: CaptureReader, buf: bytearray, base: int, start: bytes) -> None:
        self.reader, self.buf, self.base = reader, buf, base
        buf[: len(start)] = start
        self.n = len(start)
        self.view = memoryview(buf)

    def refill(self, consumed: int) -> bool:
        """Drop the ``consumed`` bytes at the front, grow when full (a record larger than the buffer), read
        more; False at the end of the file (or of a damaged gzip stream, which the reader's status then says)."""
        buf, n = self.buf, self.n
        if consumed:
            left = n - consumed
            buf[:left] = buf[consumed:n]
            self.base += consumed
            n = self.n = left
        if n == len(buf):
            self.view.release()
            buf.extend(bytes(len(buf)))
            self.view = memoryview(buf)
        got = self.reader._read_into(self.view[n:], self.base + n)
        self.n += got
        return got > 0

    def close(self) -> None:
        self.view.release()


_BOM: Final = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}
# Per byte order: the block header, and the block header with an enhanced packet block's fixed fields.
_NG: Final = {o: (struct.Struct(o + "II").unpack_from, struct.Struct(o + "IIIIIII").unpack_from) for o in "<>"}


def _interface(buf: Buffer, p: int, end: int, order: str) -> tuple[int, int, int, int, int]:
    """(link type, snapshot length, mul, shift, div): ns = ticks * mul >> shift // div for this interface."""
    linktype, _res, snaplen = struct.unpack_from(order + "HHI", buf, p)
    resol = 6
    i = p + 8
    while i + 4 <= end:
        code, size = struct.unpack_from(order + "HH", buf, i)
        if code == 0:
            break
        if code == 9 and size >= 1:
            resol = buf[i + 4]
        i += 4 + (size + 3) // 4 * 4
    if resol & 0x80:  # ticks of 2**-n seconds
        return linktype, snaplen, 1000000000, resol & 0x7F, 1
    digits = resol & 0x7F
    if digits <= 9:
        return linktype, snaplen, 10 ** (9 - digits), 0, 1
    return linktype, snaplen, 1, 0, 10 ** (digits - 9)
