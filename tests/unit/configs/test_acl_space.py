"""Header-space sets checked against brute-force enumeration of every point of small domains."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from netwarden.configs.acl.analyze import analyze, compare, permitted, query, verdict
from netwarden.configs.acl.model import (
    V4_ANY,
    V4_BASE,
    Acl,
    Match,
    Packet,
    Rule,
    address_text,
    complement,
    normalize,
    prefix_ranges,
)
from netwarden.configs.acl.space import (
    Box,
    Space,
    disjoint,
    ranges_intersect,
    ranges_overlap,
    ranges_subset,
    ranges_subtract,
    uncovered_point,
)

MAXIMA = (7, 5, 3)  # three fields: 8 x 6 x 4 = 192 points
POINTS = list(itertools.product(*(range(m + 1) for m in MAXIMA)))


def _ranges_of(values: set[int]) -> tuple[tuple[int, int], ...]:
    return normalize([(v, v) for v in values])


def _values(ranges: tuple[tuple[int, int], ...]) -> set[int]:
    return {v for lo, hi in ranges for v in range(lo, hi + 1)}


subsets40 = st.sets(st.integers(0, 40))  # up to 21 ranges: the binary-search paths too


@st.composite
def boxes(draw: st.DrawFn) -> Box:
    return tuple(_ranges_of(draw(st.sets(st.integers(0, m), min_size=1))) for m in MAXIMA)


spaces = st.lists(boxes(), max_size=5).map(lambda bs: Space.of(bs, MAXIMA))


def _points(space: Space) -> set[tuple[int, ...]]:
    return {p for p in POINTS if space.contains(p)}


def _box_points(box: Box) -> set[tuple[int, ...]]:
    return set(itertools.product(*(sorted(_values(f)) for f in box)))


@given(subsets40, subsets40)
def test_range_operations_match_sets(a: set[int], b: set[int]) -> None:
    ra, rb = _ranges_of(a), _ranges_of(b)
    assert _values(ranges_intersect(ra, rb)) == a & b
    assert _values(ranges_subtract(ra, rb)) == a - b
    assert ranges_overlap(ra, rb) == bool(a & b)
    assert ranges_subset(ra, rb) == (a <= b)
    assert _values(complement(ra, 40)) == set(range(41)) - a
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


# --- analysis against brute force ---------------------------------------------------------------------
# Rules constrain src to 4 addresses, proto to {1, 6, 17} and dport to 0..7, so one extra value per
# field (an address, protocol and port no rule names) stands for every other value: enumerating
# these points decides every verdict exactly.

SRCS = [V4_BASE + i for i in range(4)]
PROTOS = [1, 6, 17]
DPORTS = list(range(8))
PACKETS = [
    Packet(address_text(s), "10.9.9.9", p, dport=d)
    for s in [*SRCS, V4_BASE + 99]
    for p in [*PROTOS, 47]
    for d in [*DPORTS, 1000]
]


@st.composite
def rules(draw: st.DrawFn, acl: str = "A") -> tuple[Rule, ...]:
    out = []
    for i in range(draw(st.integers(0, 7))):
        matches = []
        for _ in range(draw(st.integers(0, 2))):
            fields: dict[str, object] = {}
            for name, values in (("src", SRCS), ("proto", PROTOS), ("dport", DPORTS)):
                if draw(st.booleans()):
                    chosen = draw(st.sets(st.sampled_from(values), min_size=1))
                    fields[name] = normalize([(v, v) for v in chosen])
            matches.append(Match(**fields))  # type: ignore[arg-type]
        action = draw(st.sampled_from(["permit", "deny"]))
        out.append(Rule(acl, i + 1, i + 1, f"rule {i + 1}", action, tuple(matches)))
    return tuple(out)


acls = st.builds(lambda rs, default: Acl("A", "test", rs, default), rules(), st.sampled_from(["permit", "deny"]))


def _matches(rule: Rule, packet: Packet) -> bool:
    point = packet.point()
    return Space.from_matches(rule.matches).contains(point)


def _verdict(rs: tuple[Rule, ...], default: str, packet: Packet) -> tuple[str, int | None]:
    for r in rs:
        if _matches(r, packet):
            return r.action, r.index
    return default, None


@settings(max_examples=200, deadline=None)
@given(acls)
def test_analysis_matches_brute_force(acl: Acl) -> None:
    findings = analyze(acl)
    assert [f.rule for f in findings] == list(acl.rules)
    first = {p: _verdict(acl.rules, acl.default_action, p) for p in PACKETS}
    for pos, finding in enumerate(findings):
        rule = finding.rule
        own = [p for p in PACKETS if _matches(rule, p)]
        reached = [p for p in own if first[p][1] == rule.index]
        assert (finding.status in ("unreachable", "redundant")) == (not reached)
        if not reached:
            cover = [r for r in acl.rules if r.index in finding.shadowed_by]
            assert all(r.index < rule.index for r in cover)
            assert all(any(_matches(r, p) for r in cover) for p in own)
            for dropped in cover:  # minimal: no shadowing rule can be left out
                rest = [r for r in cover if r is not dropped]
                assert not all(any(_matches(r, p) for r in rest) for p in own)
            singles = [r for r in acl.rules[:pos] if all(_matches(r, p) for p in own)]
            if singles and own:
                assert len(cover) == 1
            assert finding.different_action == any(r.action != rule.action for r in cover)
            # The contract: another action among the covering rules (or no packet at all) is unreachable.
            assert finding.status == ("unreachable" if finding.different_action or not own else "redundant")
            continue
        without = acl.rules[:pos] + acl.rules[pos + 1 :]
        unchanged = all(_verdict(without, acl.default_action, p)[0] == first[p][0] for p in PACKETS)
        assert finding.removable == unchanged
        clashing = [r for r in acl.rules[:pos] if r.action != rule.action and any(_matches(r, p) for p in own)]
        inside = {r.index for r in clashing if all(_matches(rule, p) for p in PACKETS if _matches(r, p))}
        partial = {r.index for r in clashing} - inside
        assert set(finding.overlaps) == partial and set(finding.generalizes) == inside
        assert finding.status == ("conflict" if partial else "ok")


@settings(max_examples=200, deadline=None)
@given(acls, acls)
def test_query_and_compare_match_brute_force(a: Acl, b: Acl) -> None:
    for p in PACKETS:
        expected_action, expected_index = _verdict(a.rules, a.default_action, p)
        hit = query(a, p)
        assert (hit.index if hit else None) == expected_index
        assert verdict(a, p) == expected_action
        assert permitted(a).contains(p.point()) == (expected_action == "permit")
    shared = Acl("B", "test", a.rules[: len(a.rules) // 2] + b.rules, b.default_action)  # a common prefix
    for other in (b, shared):
        differs = [p for p in PACKETS if verdict(a, p) != verdict(other, p)]
        witness = compare(a, other)
        assert (witness is not None) == bool(differs)
        if witness is not None:
            assert verdict(a, witness) != verdict(other, witness)
    assert compare(a, a) is None


@settings(max_examples=300)
@given(spaces, spaces)
def test_uncovered_point_is_exact(a: Space, b: Space) -> None:
    point = uncovered_point(a.boxes, b.boxes)
    left = _points(a) - _points(b)
    if left:
        assert point in left
    else:
        assert point is None
