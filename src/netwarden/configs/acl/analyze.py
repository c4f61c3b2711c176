"""Per-rule reachability, packet queries and equivalence of ACLs, exact over the header space.

Statuses (one per rule, first that applies), as the scripting contract of DESIGN.md defines them:

``unreachable``
    No packet reaches the rule and the rules that take its packets include one with the other action:
    the rule never does what it says (Batfish's filterLineReachability "unreachable" with "different
    action"). ``shadowed_by`` names a minimal set of earlier rules that together cover it (a single
    covering rule when one exists); ``different_action`` is true. A rule that matches nothing at all is
    unreachable with no shadowing rules.
``redundant``
    No packet reaches the rule and every covering rule has the same action: it can go (Batfish reports
    it unreachable too, with "different action" false). ``shadowed_by`` names the covering rules.
``conflict``
    Reachable, but its match space partly overlaps an earlier rule with the other action that it does not
    contain (``overlaps``): the two rules disagree on a set of packets and the order decides, which is
    usually a mistake. An earlier exception wholly inside a broader later rule (deny a host, then permit
    its subnet; deny some ports, then permit any) is the ordinary way to write an ACL: not a conflict; those
    rules are listed in ``generalizes``.
``ok``
    None of the above. A reachable rule whose removal would change no packet's verdict (say an explicit
    final ``deny ip any any`` in front of the implicit deny) stays ``ok`` with ``removable`` true and
    ``covered_by_later`` naming the later rules that would decide its packets.

Speed: every match box is indexed per field with prefix/suffix bitsets (Python ints), so the rules
that meet a rule on every field come out of a few big-int ANDs instead of a pairwise scan; only those
enter the exact covering check (:func:`~netwarden.configs.acl.space.uncovered_point`), which looks for
one uncovered packet depth-first rather than building whole differences.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from netwarden.configs.acl.model import Acl, Action, Packet, Rule
from netwarden.configs.acl.space import (
    HEADER_MAX,
    Box,
    Space,
    box_intersect,
    box_overlap,
    box_subset,
    boxes_subtract_all,
    disjoint,
    full_box,
    match_box,
    uncovered_point,
)

Status = Literal["ok", "unreachable", "redundant", "conflict"]


@dataclass(frozen=True)
class Finding:
    rule: Rule
    status: Status
    shadowed_by: tuple[int, ...] = ()
    """Unreachable or redundant: indices of earlier rules that together cover the rule."""
    different_action: bool = False
    """Some shadowing rule has the other action (then the status is unreachable)."""
    overlaps: tuple[int, ...] = ()
    """Conflict: earlier rules with the other action that partly overlap this rule's match space."""
    generalizes: tuple[int, ...] = ()
    """Earlier rules with the other action wholly inside this rule (exceptions carved out before it)."""
    removable: bool = False
    """Reachable, but removing it changes no packet's verdict."""
    covered_by_later: tuple[int, ...] = ()
    """Removable: later rules (none: the default action) that would decide this rule's packets."""


@dataclass
class _FieldIndex:
    """Which boxes overlap ``[lo, hi]`` on one field: (boxes starting at or before hi) & (ending at or after lo)."""

    starts: list[int]
    start_bits: list[int]  # start_bits[k]: boxes among the first k by start
    ends: list[int]
    end_bits: list[int]  # end_bits[k]: boxes from the k-th by end onwards

    @classmethod
    def build(cls, hulls: Sequence[tuple[int, int]]) -> _FieldIndex:
        by_start = sorted(range(len(hulls)), key=lambda e: hulls[e][0])
        by_end = sorted(range(len(hulls)), key=lambda e: hulls[e][1])
        start_bits = [0]
        acc = 0
        for e in by_start:
            acc |= 1 << e
            start_bits.append(acc)
        end_bits = [0] * (len(hulls) + 1)
        acc = 0
        for k in range(len(hulls) - 1, -1, -1):
            acc |= 1 << by_end[k]
            end_bits[k] = acc
        return cls(
            starts=[hulls[e][0] for e in by_start],
            start_bits=start_bits,
            ends=[hulls[e][1] for e in by_end],
            end_bits=end_bits,
        )

    def overlapping(self, lo: int, hi: int) -> int:
        return self.start_bits[bisect_right(self.starts, hi)] & self.end_bits[bisect_left(self.ends, lo)]

    def containing(self, lo: int, hi: int) -> int:
        return self.start_bits[bisect_right(self.starts, lo)] & self.end_bits[bisect_left(self.ends, hi)]

    def within(self, lo: int, hi: int) -> int:
        """Boxes whose hull lies inside ``[lo, hi]``: not starting before lo, not ending after hi."""
        everything = self.start_bits[-1]
        return everything & ~self.start_bits[bisect_left(self.starts, lo)] & ~self.end_bits[bisect_right(self.ends, hi)]


@dataclass
class _Index:
    boxes: list[Box]
    owner: list[int]  # box -> rule position (0-based)
    first_box: list[int]  # rule position -> its first box number (boxes are numbered in rule order)
    fields: list[tuple[int, _FieldIndex]] = field(default_factory=list)
    simple: list[bool] = field(default_factory=list)  # box -> every field a single range

    @classmethod
    def build(cls, rules: Sequence[Rule]) -> _Index:
        boxes: list[Box] = []
        owner: list[int] = []
        first_box: list[int] = []
        for pos, rule in enumerate(rules):
            first_box.append(len(boxes))
            for match in rule.matches:
                box = match_box(match)
                if box is not None:
                    boxes.append(box)
                    owner.append(pos)
        first_box.append(len(boxes))
        index = cls(boxes, owner, first_box)
        index.simple = [_simple(b) for b in boxes]
        full = full_box(HEADER_MAX)
        for f in range(len(HEADER_MAX)):
            if all(b[f] == full[f] for b in boxes):
                continue  # a field no rule constrains cannot prune anything
            index.fields.append((f, _FieldIndex.build([(b[f][0][0], b[f][-1][1]) for b in boxes])))
        return index

    def candidates(self, box: Box) -> int:
        """Bitset of boxes whose per-field hulls meet ``box``'s on every indexed field."""
        bits = (1 << len(self.boxes)) - 1
        for f, fi in self.fields:
            ranges = box[f]
            bits &= fi.overlapping(ranges[0][0], ranges[-1][1])
            if not bits:
                return 0
        return bits

    def covered_by_one(self, box: Box, mask: int) -> bool:
        """Whether one box among those in ``mask`` contains ``box`` (hulls through the index, then exact)."""
        bits = mask
        for f, fi in self.fields:
            ranges = box[f]
            bits &= fi.containing(ranges[0][0], ranges[-1][1])
            if not bits:
                return False
        return any(self.simple[e] or box_subset(box, self.boxes[e]) for e in _bits(bits))

    def inside(self, box: Box) -> int:
        """Bitset of boxes whose per-field hulls lie inside ``box``'s on every indexed field."""
        bits = (1 << len(self.boxes)) - 1
        for f, fi in self.fields:
            ranges = box[f]
            bits &= fi.within(ranges[0][0], ranges[-1][1])
            if not bits:
                return 0
        return bits

    def single_simple(self, pos: int) -> bool:
        first = self.first_box[pos]
        return self.first_box[pos + 1] == first + 1 and self.simple[first]

    def rule_boxes(self, pos: int) -> list[Box]:
        return self.boxes[self.first_box[pos] : self.first_box[pos + 1]]


def _bits(value: int) -> Iterator[int]:
    while value:
        low = value & -value
        yield low.bit_length() - 1
        value ^= low


def _meeting(index: _Index, boxes: Sequence[Box], mask: int) -> list[int]:
    """Positions (sorted) of the rules among the boxes in ``mask`` that may meet ``boxes``: every rule that
    does, plus possibly some whose multi-range fields only meet on their hull (callers that report the
    rules check with :func:`_meets`; covering checks filter blockers themselves)."""
    bits = 0
    for box in boxes:
        bits |= index.candidates(box)
    bits &= mask
    found: list[int] = []
    last = -1
    for e in _bits(bits):  # ascending box numbers: owners come in rule order
        owner = index.owner[e]
        if owner != last:
            found.append(owner)
            last = owner
    return found


def _meets(index: _Index, pos: int, boxes: Sequence[Box], simple: bool) -> bool:
    """Exact: does rule ``pos`` meet ``boxes``? ``simple``: ``boxes`` is one box of single ranges, and then
    a rule :func:`_meeting` found with one such box too needs no check (the index was exact)."""
    first = index.first_box[pos]
    if simple and index.first_box[pos + 1] == first + 1 and index.simple[first]:
        return True
    return any(box_overlap(a, b) for a in index.rule_boxes(pos) for b in boxes)


def _probes(box: Box, seed: int, count: int = 6) -> Iterator[tuple[int, ...]]:
    """A few points of ``box``: its lowest and highest corners, its middle, then seeded random points."""
    yield tuple(f[0][0] for f in box)
    yield tuple(f[-1][1] for f in box)
    yield tuple((f[0][0] + f[0][1]) // 2 for f in box)
    rng = random.Random(seed)
    for _ in range(count - 3):
        point = []
        for f in box:
            lo, hi = f[rng.randrange(len(f))]
            point.append(rng.randint(lo, hi))
        yield tuple(point)


def _simple(box: Box) -> bool:
    return all(len(ranges) == 1 for ranges in box)


def _first_containing(index: _Index, point: tuple[int, ...], mask: int) -> int | None:
    """The first rule (position) among the boxes in ``mask`` that matches ``point``."""
    bits = index.candidates(tuple(((v, v),) for v in point)) & mask
    for e in _bits(bits):
        box = index.boxes[e]
        if all(any(lo <= v <= hi for lo, hi in ranges) for v, ranges in zip(point, box, strict=True)):
            return index.owner[e]
    return None


def _earlier_mask(index: _Index, pos: int) -> int:
    return (1 << index.first_box[pos]) - 1


def _later_mask(index: _Index, pos: int) -> int:
    return ((1 << len(index.boxes)) - 1) & ~((1 << index.first_box[pos + 1]) - 1)


def _all_mask(index: _Index) -> int:
    return (1 << len(index.boxes)) - 1


def _boxes_of(index: _Index, positions: Sequence[int]) -> list[Box]:
    return [b for pos in positions for b in index.rule_boxes(pos)]


def _pairwise(a: Sequence[Box], b: Sequence[Box]) -> list[Box]:
    out: list[Box] = []
    for x in a:
        for y in b:
            both = box_intersect(x, y)
            if both is not None:
                out.append(both)
    return out


def _minimal_cover(own: list[Box], candidates: Sequence[int], index: _Index) -> list[int]:
    """Earlier rules covering ``own``: the first rule that covers it alone when there is one; else the
    shortest run of candidates from the first that covers it (binary search), pruned latest first until
    no chosen rule can be dropped."""
    for pos in candidates:
        if uncovered_point(own, index.rule_boxes(pos)) is None:
            return [pos]
    lo, hi = 1, len(candidates)  # candidates[:hi] covers (the caller checked); find the shortest prefix
    while lo < hi:
        mid = (lo + hi) // 2
        if uncovered_point(own, _boxes_of(index, candidates[:mid])) is None:
            hi = mid
        else:
            lo = mid + 1
    chosen = list(candidates[:hi])
    for pos in reversed(chosen[:-1]):  # the last one of the shortest prefix is needed by construction
        others = [c for c in chosen if c != pos]
        if uncovered_point(own, _boxes_of(index, others)) is None:
            chosen = others
    return chosen


def analyze(acl: Acl) -> list[Finding]:
    """One finding per rule, in rule order (see the module docstring for the statuses)."""
    rules = acl.rules
    index = _Index.build(rules)
    findings: list[Finding] = []
    for pos, rule in enumerate(rules):
        own = index.rule_boxes(pos)
        if not own:
            findings.append(Finding(rule, "unreachable"))
            continue
        earlier_mask = _earlier_mask(index, pos)
        earlier = _meeting(index, own, earlier_mask)
        earlier_boxes = _boxes_of(index, earlier)
        # a cheap probe usually proves the rule reachable; the exact covering check decides otherwise
        reaching = next(
            (p for box in own for p in _probes(box, pos) if _first_containing(index, p, earlier_mask) is None), None
        )
        if reaching is None:
            reaching = uncovered_point(own, earlier_boxes)
        if reaching is None:
            cover = _minimal_cover(own, earlier, index)
            different = any(rules[c].action != rule.action for c in cover)
            findings.append(
                Finding(
                    rule,
                    "unreachable" if different else "redundant",
                    shadowed_by=tuple(rules[c].index for c in cover),
                    different_action=different,
                )
            )
            continue
        later = _redundant_with(index, rules, pos, own, earlier_boxes, reaching, acl.default_action)
        simple = len(own) == 1 and index.simple[index.first_box[pos]]
        clashing = [c for c in earlier if rules[c].action != rule.action and _meets(index, c, own, simple)]
        if simple:  # one plain box: a clashing plain rule is inside it when the index says its hull is
            within = index.inside(own[0])
            inside = [
                c
                for c in clashing
                if ((within >> index.first_box[c]) & 1 if index.single_simple(c) else _inside(index, c, own))
            ]
        else:
            inside = [c for c in clashing if _inside(index, c, own)]
        partial = tuple(rules[c].index for c in clashing if c not in inside)
        findings.append(
            Finding(
                rule,
                "conflict" if partial else "ok",
                overlaps=partial,
                generalizes=tuple(rules[c].index for c in inside),
                removable=later is not None,
                covered_by_later=tuple(rules[c].index for c in later) if later is not None else (),
            )
        )
    return findings


def _inside(index: _Index, pos: int, own: list[Box]) -> bool:
    """Rule ``pos``'s match space lies wholly inside ``own`` (one box in one box: a per-field check)."""
    theirs = index.rule_boxes(pos)
    if len(theirs) == 1 and len(own) == 1:
        return box_subset(theirs[0], own[0])
    return uncovered_point(theirs, own) is None


def _redundant_with(
    index: _Index,
    rules: Sequence[Rule],
    pos: int,
    own: list[Box],
    earlier_boxes: list[Box],
    reaching: tuple[int, ...],
    default: Action,
) -> list[int] | None:
    """The later rules that would decide rule ``pos``'s packets were it removed, when they (and the default
    action) all give the same action; None when removing the rule would change some packet's verdict.

    A packet reaching rule ``pos`` goes, once the rule is removed, to the first later rule j matching it:
    such packets exist exactly when ``own & M_j`` is not covered by the earlier rules and the rules
    between ``pos`` and j. The default action gets those covered by no other rule at all. ``reaching`` (a
    packet known to reach the rule) settles most rules at once: if the rules after it give that packet
    another action, the rule is not redundant.
    """
    action = rules[pos].action
    mask = _later_mask(index, pos)
    then = _first_containing(index, reaching, mask)
    if (default if then is None else rules[then].action) != action:
        return None
    later = _meeting(index, own, mask)
    if default != action and uncovered_point(own, earlier_boxes + _boxes_of(index, later)) is not None:
        return None
    deciding: list[int] = []
    checks = [j for j in later if rules[j].action != action] + [j for j in later if rules[j].action == action]
    for j in checks:
        between = _boxes_of(index, [k for k in later if k < j])
        if uncovered_point(_pairwise(own, index.rule_boxes(j)), earlier_boxes + between) is None:
            continue
        if rules[j].action != action:
            return None
        deciding.append(j)
    return sorted(deciding)


def query(acl: Acl, packet: Packet) -> Rule | None:
    """The first rule matching ``packet``; None when the default action applies."""
    point = packet.point()
    for rule in acl.rules:
        for match in rule.matches:
            box = match_box(match)
            if box is not None and all(
                any(lo <= v <= hi for lo, hi in ranges) for v, ranges in zip(point, box, strict=True)
            ):
                return rule
    return None


def verdict(acl: Acl, packet: Packet) -> Action:
    rule = query(acl, packet)
    return acl.default_action if rule is None else rule.action


def permitted(acl: Acl) -> Space:
    """Exactly the packets ``acl`` permits."""
    rules = acl.rules
    index = _Index.build(rules)
    decided: dict[Action, list[Box]] = {"permit": [], "deny": []}
    for pos, rule in enumerate(rules):
        own = index.rule_boxes(pos)
        if not own:
            continue
        reach = disjoint(own)
        for other in _meeting(index, own, _earlier_mask(index, pos)):
            reach = boxes_subtract_all(reach, index.rule_boxes(other))
            if not reach:
                break
        decided[rule.action].extend(reach)
    if acl.default_action == "permit":
        return Space.full().subtract(Space.of(decided["deny"]))
    return Space.of(decided["permit"])


def compare(a: Acl, b: Acl) -> Packet | None:
    """None when ``a`` and ``b`` permit exactly the same packets, else a packet they treat differently.

    A packet's verdicts differ exactly when it reaches rule i of ``a`` and rule j of ``b`` (or a default)
    with different actions: a point of ``M_i & M_j`` outside every rule before i in ``a`` and before j in
    ``b``. Only pairs of rules that meet are tried (index); a pair whose common part one earlier rule
    contains is settled through the index, the others by an exact covering check.
    """
    ia, ib = _Index.build(a.rules), _Index.build(b.rules)
    start = _common_prefix(a, ia, b, ib)
    found = _first_difference(a, ia, b, ib, start, defaults=True)
    if found is None:
        found = _first_difference(b, ib, a, ia, start, defaults=False)
    if found is None and a.default_action != b.default_action:
        found = uncovered_point([full_box(HEADER_MAX)], ia.boxes + ib.boxes)
    return None if found is None else Packet.from_point(found)


def _common_prefix(a: Acl, ia: _Index, b: Acl, ib: _Index) -> int:
    """How many leading rules the two ACLs share (same action, same match space as boxes): packets one of
    them takes get the same verdict on both sides, so pairs among them need no check."""
    t = 0
    while t < len(a.rules) and t < len(b.rules):
        if a.rules[t].action != b.rules[t].action or set(ia.rule_boxes(t)) != set(ib.rule_boxes(t)):
            break
        t += 1
    return t


def _first_difference(a: Acl, ia: _Index, b: Acl, ib: _Index, start: int, *, defaults: bool) -> tuple[int, ...] | None:
    """A point decided by a rule of ``a`` that ``b`` decides otherwise (with ``defaults``: also by a rule of
    ``b``; without, only ``b``'s default action is checked, the pairs having been tried already). Rules
    before ``start`` are the shared prefix."""
    b_rest = _all_mask(ib) & ~_earlier_mask(ib, start)
    for pos in range(start, len(a.rules)):
        rule = a.rules[pos]
        own = ia.rule_boxes(pos)
        if not own:
            continue
        earlier = _boxes_of(ia, _meeting(ia, own, _earlier_mask(ia, pos)))
        in_b = _meeting(ib, own, b_rest)
        if defaults:
            a_mask = _earlier_mask(ia, pos)
            for n, j in enumerate(in_b):
                if b.rules[j].action == rule.action:
                    continue
                both = _pairwise(own, ib.rule_boxes(j))
                b_mask = _earlier_mask(ib, j)
                # usual case for near-identical ACLs: one earlier rule of either side takes all of it
                if all(ia.covered_by_one(x, a_mask) or ib.covered_by_one(x, b_mask) for x in both):
                    continue
                point = uncovered_point(both, earlier + _boxes_of(ib, in_b[:n]))
                if point is not None:
                    return point
        if b.default_action != rule.action:
            a_mask = _earlier_mask(ia, pos)
            if all(ia.covered_by_one(x, a_mask) or ib.covered_by_one(x, b_rest) for x in own):
                continue
            point = uncovered_point(own, earlier + _boxes_of(ib, in_b))
            if point is not None:
                return point
    return None
