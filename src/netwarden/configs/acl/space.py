"""Exact sets of packets: unions of boxes over the header space.

A *box* is a product of per-field range unions (one :data:`~netwarden.configs.acl.model.Ranges` per field,
each non-empty and normalised), so a :class:`~netwarden.configs.acl.model.Match` is exactly one box. A
:class:`Space` is a finite union of boxes. Every operation is exact: no sampling, no approximation.

Subtracting box ``b`` from box ``a`` yields at most one box per field (``a`` restricted to ``b`` on the
fields before it and to ``a \\ b`` on that field), so the pieces stay disjoint and their number grows only
where the boxes really overlap.

The functions work on any number of fields (the tests use small domains); :class:`Space` fixes the nine
fields of :data:`~netwarden.configs.acl.model.FIELDS`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from netwarden.configs.acl.model import FIELD_MAX, FIELDS, Match, Ranges, normalize

Box = tuple[Ranges, ...]
"""One range union per field, each non-empty."""

HEADER_MAX: tuple[int, ...] = tuple(FIELD_MAX[f] for f in FIELDS)


def _range_hi(r: tuple[int, int]) -> int:
    return r[1]


# --- range unions ------------------------------------------------------------------------------------


def ranges_intersect(a: Ranges, b: Ranges) -> Ranges:
    """The intersection of two normalised range unions."""
    if len(a) == 1 and len(b) == 1:
        lo = a[0][0] if a[0][0] > b[0][0] else b[0][0]
        hi = a[0][1] if a[0][1] < b[0][1] else b[0][1]
        return ((lo, hi),) if lo <= hi else ()
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def ranges_overlap(a: Ranges, b: Ranges) -> bool:
    """Whether two normalised range unions share a value."""
    if len(b) == 1:
        if len(a) == 1:
            return a[0][0] <= b[0][1] and b[0][0] <= a[0][1]
        if len(a) > 8:  # long unions (hosts cut out of a block): binary search
            lo, hi = b[0]
            i = bisect_left(a, lo, key=_range_hi)
            return i < len(a) and a[i][0] <= hi
    elif len(a) == 1 and len(b) > 8:
        return ranges_overlap(b, a)
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i][0] <= b[j][1] and b[j][0] <= a[i][1]:
            return True
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return False


def ranges_subtract(a: Ranges, b: Ranges) -> Ranges:
    """Values of ``a`` not in ``b`` (both normalised)."""
    out: list[tuple[int, int]] = []
    j = 0
    for lo, hi in a:
        cur = lo
        while j < len(b) and b[j][1] < cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] <= hi:
            if b[k][0] > cur:
                out.append((cur, b[k][0] - 1))
            cur = max(cur, b[k][1] + 1)
            if cur > hi:
                break
            k += 1
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


def ranges_subset(a: Ranges, b: Ranges) -> bool:
    """Whether every value of ``a`` is in ``b``."""
    if not a:
        return True
    if len(b) == 1:
        return b[0][0] <= a[0][0] and a[-1][1] <= b[0][1]
    if len(a) == 1 and len(b) > 8:
        lo, hi = a[0]
        i = bisect_left(b, lo, key=_range_hi)
        return i < len(b) and b[i][0] <= lo and hi <= b[i][1]
    return not ranges_subtract(a, b)


def ranges_size(a: Ranges) -> int:
    return sum(hi - lo + 1 for lo, hi in a)


# --- boxes ---------------------------------------------------------------------------------------------


def box_overlap(a: Box, b: Box) -> bool:
    for fa, fb in zip(a, b, strict=True):
        if fa is fb:
            continue
        if len(fa) == 1 and len(fb) == 1:
            if fa[0][1] < fb[0][0] or fb[0][1] < fa[0][0]:
                return False
        elif not ranges_overlap(fa, fb):
            return False
    return True


def box_intersect(a: Box, b: Box) -> Box | None:
    out: list[Ranges] = []
    for fa, fb in zip(a, b, strict=True):
        if fa is fb:
            out.append(fa)
            continue
        both = ranges_intersect(fa, fb)
        if not both:
            return None
        out.append(both)
    return tuple(out)


def box_subset(a: Box, b: Box) -> bool:
    return all(fa is fb or ranges_subset(fa, fb) for fa, fb in zip(a, b, strict=True))


def box_subtract(a: Box, b: Box) -> list[Box]:
    """``a \\ b`` as disjoint boxes (at most one per field)."""
    if not box_overlap(a, b):
        return [a]
    pieces: list[Box] = []
    cur = list(a)
    for f, fb in enumerate(b):
        fa = cur[f]
        if fa is fb:
            continue
        rest = ranges_subtract(fa, fb)
        if rest:
            cur[f] = rest
            pieces.append(tuple(cur))
            cur[f] = ranges_intersect(fa, fb)
    return pieces


def box_size(a: Box) -> int:
    size = 1
    for f in a:
        size *= ranges_size(f)
    return size


def boxes_subtract(pieces: Iterable[Box], b: Box) -> list[Box]:
    out: list[Box] = []
    for p in pieces:
        if box_overlap(p, b):
            out.extend(box_subtract(p, b))
        else:
            out.append(p)
    return out


def boxes_subtract_all(pieces: Iterable[Box], others: Iterable[Box]) -> list[Box]:
    """``pieces`` minus the union of ``others``; stops early once nothing is left."""
    out = list(pieces)
    for b in others:
        if not out:
            break
        out = boxes_subtract(out, b)
    return out


def disjoint(boxes: Sequence[Box]) -> list[Box]:
    """The same union as pairwise disjoint boxes."""
    out: list[Box] = []
    for b in boxes:
        out.extend(boxes_subtract_all([b], out))
    return out


def full_box(maxima: Sequence[int]) -> Box:
    return tuple(((0, m),) for m in maxima)


def match_box(match: Match) -> Box | None:
    """A :class:`Match` as a box over :data:`FIELDS`; None when some field is empty."""
    out: list[Ranges] = []
    for name, full in zip(FIELDS, _FULL_HEADER, strict=True):
        value: Ranges | None = getattr(match, name)
        if value is None:
            out.append(full)
            continue
        value = normalize(value)
        if not value:
            return None
        out.append(full if value == full else value)
    return tuple(out)


_FULL_HEADER: Box = full_box(HEADER_MAX)


# --- spaces ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Space:
    """A finite union of boxes (not necessarily disjoint) over ``len(maxima)`` fields."""

    boxes: tuple[Box, ...]
    maxima: tuple[int, ...] = HEADER_MAX

    @classmethod
    def empty(cls, maxima: Sequence[int] = HEADER_MAX) -> Space:
        return cls((), tuple(maxima))

    @classmethod
    def full(cls, maxima: Sequence[int] = HEADER_MAX) -> Space:
        return cls((full_box(maxima),), tuple(maxima))

    @classmethod
    def of(cls, boxes: Iterable[Box], maxima: Sequence[int] = HEADER_MAX) -> Space:
        return cls(tuple(boxes), tuple(maxima))

    @classmethod
    def from_matches(cls, matches: Iterable[Match]) -> Space:
        return cls(tuple(b for b in (match_box(m) for m in matches) if b is not None))

    def is_empty(self) -> bool:
        return not self.boxes

    def union(self, other: Space) -> Space:
        return Space(self.boxes + other.boxes, self.maxima)

    def intersect(self, other: Space) -> Space:
        out: list[Box] = []
        for a in self.boxes:
            for b in other.boxes:
                both = box_intersect(a, b)
                if both is not None:
                    out.append(both)
        return Space(tuple(out), self.maxima)

    def subtract(self, other: Space) -> Space:
        return Space(tuple(boxes_subtract_all(self.boxes, other.boxes)), self.maxima)

    def complement(self) -> Space:
        return Space.full(self.maxima).subtract(self)

    def issubset(self, other: Space) -> bool:
        return self.subtract(other).is_empty()

    def equals(self, other: Space) -> bool:
        return self.issubset(other) and other.issubset(self)

    def overlaps(self, other: Space) -> bool:
        return any(box_overlap(a, b) for a in self.boxes for b in other.boxes)

    def contains(self, point: Sequence[int]) -> bool:
        return any(
            all(any(lo <= v <= hi for lo, hi in field) for v, field in zip(point, box, strict=True))
            for box in self.boxes
        )

    def witness(self) -> tuple[int, ...] | None:
        """One point of the space (the lowest corner of its first box), None when empty."""
        if not self.boxes:
            return None
        return tuple(field[0][0] for field in self.boxes[0])

    def size(self) -> int:
        """The number of points (exact; disjoints the boxes first)."""
        return sum(box_size(b) for b in disjoint(self.boxes))


def uncovered_point(pieces: Sequence[Box], blockers: Sequence[Box]) -> tuple[int, ...] | None:
    """A point of ``pieces`` in none of ``blockers``, or None when the blockers cover every piece.

    Depth-first over parts of the pieces, each carrying only the blockers that still meet it. At each part,
    blockers that cut it on a single field (a list of denied hosts, say) are removed together as one
    range union on that field; the first remaining blocker then splits the part (at most one part per
    field). A reachable region is found without building the whole difference, and the work follows the
    overlaps rather than (pieces x blockers).
    """
    stack: list[tuple[Box, Sequence[Box]]] = [(p, blockers) for p in reversed(pieces)]
    width = len(pieces[0]) if pieces else 0
    while stack:
        box, others = stack.pop()
        relevant: list[Box] = []
        single: dict[int, list[tuple[int, int]]] = {}
        covered = False
        for other in others:
            # one pass over the fields: does `other` meet the part, and on how many fields does it cut it?
            cut = -1
            for f in range(width):
                a = box[f]
                b = other[f]
                if a is b:
                    continue
                if len(a) == 1 and len(b) == 1:
                    alo, ahi = a[0]
                    blo, bhi = b[0]
                    if ahi < blo or bhi < alo:
                        cut = -3
                        break
                    if blo <= alo and ahi <= bhi:
                        continue
                elif not ranges_overlap(a, b):
                    cut = -3
                    break
                elif ranges_subset(a, b):
                    continue
                cut = f if cut == -1 else -2
            if cut == -3:
                continue  # disjoint
            if cut == -1:
                covered = True
                break
            if cut >= 0:
                single.setdefault(cut, []).extend(other[cut])
            else:
                relevant.append(other)
        if covered:
            continue
        if single:
            shrunk = list(box)
            for f, ranges in single.items():
                shrunk[f] = ranges_subtract(box[f], normalize(ranges))
                if not shrunk[f]:
                    covered = True
                    break
            if covered:
                continue
            box = tuple(shrunk)
            relevant = [o for o in relevant if box_overlap(box, o)]
        if not relevant:
            return tuple(field[0][0] for field in box)
        pivot, rest = relevant[0], relevant[1:]
        stack.extend((part, rest) for part in box_subtract(box, pivot))
    return None
