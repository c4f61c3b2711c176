"""Header-space sets checked against brute-force enumeration of every point of small domains."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from netwarden.configs.acl.model import V4_ANY, Match, Packet, complement, normalize, prefix_ranges
from netwarden.configs.acl.space import (
    Box,
    Space,
    disjoint,
    ranges_intersect,
    ranges_overlap,
    ranges_subset,
    ranges_subtract,
)

MAXIMA = (7, 5, 3)  # three fields: 8 x 6 x 4 = 192 points
POINTS = list(itertools.product(*(range(m + 1) for m in MAXIMA)))


def _ranges_of(values: set[int]) -> tuple[tuple[int, int], ...]:
    return normalize([(v, v) for v in values])


def _values(ranges: tuple[tuple[int, int], ...]) -> set[int]:
    return {v for lo, hi in ranges for v in range(lo, hi + 1)}


subsets15 = st.sets(st.integers(0, 15))


@st.composite
def boxes(draw: st.DrawFn) -> Box:
    return tuple(_ranges_of(draw(st.sets(st.integers(0, m), min_size=1))) for m in MAXIMA)


spaces = st.lists(boxes(), max_size=5).map(lambda bs: Space.of(bs, MAXIMA))


def _points(space: Space) -> set[tuple[int, ...]]:
    return {p for p in POINTS if space.contains(p)}


def _box_points(box: Box) -> set[tuple[int, ...]]:
    return set(itertools.product(*(sorted(_values(f)) for f in box)))


@given(subsets15, subsets15)
def test_range_operations_match_sets(a: set[int], b: set[int]) -> None:
    ra, rb = _ranges_of(a), _ranges_of(b)
    assert _values(ranges_intersect(ra, rb)) == a & b
    assert _values(ranges_subtract(ra, rb)) == a - b
    assert ranges_overlap(ra, rb) == bool(a & b)
    assert ranges_subset(ra, rb) == (a <= b)
    assert _values(complement(ra, 15)) == set(range(16)) - a
    # results stay normalised: sorted, non-overlapping, non-adjacent
    for r in (ranges_intersect(ra, rb), ranges_subtract(ra, rb)):
        assert list(r) == sorted(r)
        assert all(r[i][1] + 1 < r[i + 1][0] for i in range(len(r) - 1))


@settings(max_examples=300)
@given(spaces, spaces)
def test_space_operations_match_enumeration(a: Space, b: Space) -> None:
    pa, pb = _points(a), _points(b)
    assert pa == set().union(*(_box_points(x) for x in a.boxes))
    assert _points(a.intersect(b)) == pa & pb
    assert _points(a.subtract(b)) == pa - pb
    assert _points(a.union(b)) == pa | pb
    assert _points(a.complement()) == set(POINTS) - pa
    assert a.is_empty() == (not pa)
    assert a.subtract(b).is_empty() == (pa <= pb)
    assert a.issubset(b) == (pa <= pb)
    assert a.equals(b) == (pa == pb)
    assert a.overlaps(b) == bool(pa & pb)
    assert a.size() == len(pa)
    witness = a.subtract(b).witness()
    if pa - pb:
        assert witness in pa - pb
    else:
        assert witness is None


@given(st.lists(boxes(), max_size=6))
def test_disjoint_keeps_the_union_and_separates_boxes(bs: list[Box]) -> None:
    parts = disjoint(bs)
    covered = [_box_points(p) for p in parts]
    assert set().union(*covered) == set().union(*(_box_points(b) for b in bs))
    assert sum(len(c) for c in covered) == len(set().union(*covered))


def test_match_space_holds_exactly_its_packets() -> None:
    server = prefix_ranges("host 10.0.0.1")
    web = Space.from_matches([Match(src=V4_ANY, dst=server, proto=((6, 6),), dport=((80, 80), (443, 443)))])
    assert web.contains(Packet("192.0.2.1", "10.0.0.1", 6, dport=443).point())
    assert not web.contains(Packet("192.0.2.1", "10.0.0.1", 6, dport=444).point())
    assert not web.contains(Packet("192.0.2.1", "10.0.0.1", 17, dport=443).point())
    assert not web.contains(Packet("2001:db8::1", "10.0.0.1", 6, dport=443).point())
    assert Space.from_matches([]).is_empty()
    assert Space.from_matches([Match(dport=())]).is_empty()
