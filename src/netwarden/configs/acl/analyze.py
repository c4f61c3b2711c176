"""Per-rule reachability, packet queries and equivalence of ACLs, exact over the header space.

Statuses (one per rule, first that applies):

``unreachable``
    No packet reaches the rule: its whole match space is covered by earlier rules (Batfish's
    filterLineReachability "unreachable"). ``shadowed_by`` names a minimal set of earlier rules that
    together cover it (a single covering rule when one exists); ``different_action`` says whether one of
    them has another action. A rule that matches nothing at all is unreachable with no shadowing rules.
``redundant``
    Reachable, but removing it changes no packet's verdict: every packet it decides would get the same
    action from the later rules (or the default action). ``covered_by_later`` names the later rules that
    would decide those packets.
``conflict``
    Reachable, but its match space partly overlaps an earlier rule with the other action (``overlaps``).
``ok``
    None of the above.

Speed: every match box is indexed per field with prefix/suffix bitsets (Python ints), so the rules
that intersect a rule on every field come out of a few big-int ANDs instead of a pairwise scan; only
those candidates enter the exact subtraction.
"""

from __future__ import annotations

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
    box_size,
    boxes_subtract,
    boxes_subtract_all,
    disjoint,
    full_box,
    match_box,
)

Status = Literal["ok", "unreachable", "redundant", "conflict"]


@dataclass(frozen=True)
class Finding:
    rule: Rule
    status: Status
    shadowed_by: tuple[int, ...] = ()
    """Unreachable: indices of earlier rules that together cover the rule."""
    different_action: bool = False
    """Unreachable: some shadowing rule has the other action."""
    overlaps: tuple[int, ...] = ()
    """Conflict: earlier rules with the other action whose match space meets this rule's."""
    covered_by_later: tuple[int, ...] = ()
    """Redundant: later rules that would decide this rule's packets were it removed."""


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


@dataclass
class _Index:
    boxes: list[Box]
    owner: list[int]  # box -> rule position (0-based)
    first_box: list[int]  # rule position -> its first box number (boxes are numbered in rule order)
    fields: list[tuple[int, _FieldIndex]] = field(default_factory=list)

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

    def rule_boxes(self, pos: int) -> list[Box]:
        return self.boxes[self.first_box[pos] : self.first_box[pos + 1]]


def _bits(value: int) -> Iterator[int]:
    while value:
        low = value & -value
        yield low.bit_length() - 1
        value ^= low


def _overlapping_rules(index: _Index, pos: int, boxes: Sequence[Box], *, earlier: bool) -> list[int]:
    """Positions of rules before (or after) ``pos`` whose match space meets ``boxes``, in rule order."""
    bits = 0
    for box in boxes:
        bits |= index.candidates(box)
    if earlier:
        bits &= (1 << index.first_box[pos]) - 1
    else:
        bits &= ~((1 << index.first_box[pos + 1]) - 1)
    found: list[int] = []
    seen: set[int] = set()
    for e in _bits(bits):
        owner = index.owner[e]
        if owner in seen:
            continue
        if any(box_overlap(index.boxes[e], b) for b in boxes):
            seen.add(owner)
            found.append(owner)
    found.sort()
    return found


def _covers(pieces: list[Box], rules: Sequence[int], index: _Index) -> bool:
    rest = pieces
    for pos in rules:
        rest = boxes_subtract_all(rest, index.rule_boxes(pos))
        if not rest:
            return True
    return not rest


def _minimal_cover(pieces: list[Box], candidates: Sequence[int], index: _Index) -> list[int]:
    """A small set of candidate rules covering ``pieces``: one rule when one suffices, else greedy by
    covered volume, then pruned so no chosen rule can be dropped."""
    for pos in candidates:
        rule_boxes = index.rule_boxes(pos)
        if not boxes_subtract_all(pieces, rule_boxes):
            return [pos]
    uncovered = disjoint(pieces)
    chosen: list[int] = []
    pool = list(candidates)
    while uncovered and pool:
        best, best_volume = -1, 0
        for pos in pool:
            volume = 0
            for b in index.rule_boxes(pos):
                for u in uncovered:
                    both = box_intersect(u, b)
                    if both is not None:
                        volume += box_size(both)
            if volume > best_volume:
                best, best_volume = pos, volume
        if best < 0:
            break
        chosen.append(best)
        pool.remove(best)
        uncovered = boxes_subtract_all(uncovered, index.rule_boxes(best))
    chosen.sort()
    for pos in list(reversed(chosen)):
        others = [c for c in chosen if c != pos]
        if others and _covers(pieces, others, index):
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
        earlier = _overlapping_rules(index, pos, own, earlier=True)
        reach = disjoint(own)
        for other in earlier:
            for b in index.rule_boxes(other):
                reach = boxes_subtract(reach, b)
            if not reach:
                break
        if not reach:
            cover = _minimal_cover(disjoint(own), earlier, index)
            findings.append(
                Finding(
                    rule,
                    "unreachable",
                    shadowed_by=tuple(rules[c].index for c in cover),
                    different_action=any(rules[c].action != rule.action for c in cover),
                )
            )
            continue
        later = _redundant_with(index, rules, pos, reach, acl.default_action)
        if later is not None:
            findings.append(Finding(rule, "redundant", covered_by_later=tuple(rules[c].index for c in later)))
            continue
        overlaps = tuple(rules[c].index for c in earlier if rules[c].action != rule.action)
        findings.append(Finding(rule, "conflict", overlaps=overlaps) if overlaps else Finding(rule, "ok"))
    return findings


def _redundant_with(
    index: _Index, rules: Sequence[Rule], pos: int, reach: list[Box], default: Action
) -> list[int] | None:
    """The later rules that would give every packet of ``reach`` the same action as rule ``pos``, or None
    when removing the rule would change some packet's verdict."""
    action = rules[pos].action
    rest = reach
    deciding: list[int] = []
    for other in _overlapping_rules(index, pos, reach, earlier=False):
        other_boxes = index.rule_boxes(other)
        if not any(box_overlap(r, b) for r in rest for b in other_boxes):
            continue
        if rules[other].action != action:
            return None
        deciding.append(other)
        rest = boxes_subtract_all(rest, other_boxes)
        if not rest:
            return deciding
    return deciding if default == action else None


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
        for other in _overlapping_rules(index, pos, own, earlier=True):
            reach = boxes_subtract_all(reach, index.rule_boxes(other))
            if not reach:
                break
        decided[rule.action].extend(reach)
    if acl.default_action == "permit":
        return Space.full().subtract(Space.of(decided["deny"]))
    return Space.of(decided["permit"])


def compare(a: Acl, b: Acl) -> Packet | None:
    """None when ``a`` and ``b`` permit exactly the same packets, else a packet they treat differently."""
    pa, pb = permitted(a), permitted(b)
    for diff in (pa.subtract(pb), pb.subtract(pa)):
        point = diff.witness()
        if point is not None:
            return Packet.from_point(point)
    return None
