"""ACL analysis figures (issue 6, item 5): parse + full shadow analysis of a generated extended ACL.

The ACL (default 5,000 rules) mixes what real edge/datacenter ACLs hold: host and subnet servers with
service ports, subnet-to-subnet port ranges, ``any`` sources, blocked hosts, ICMP types, ``established``
replies, ``neq``/``gt`` operators, ``log`` keywords; every ~40th rule is a planted shadowed line (a copy
or a narrowing of an earlier rule, half of them with the other action); it ends in ``deny ip any any``.

Measured in one run:
- parse (``cisco.parse_ios``) and ``analyze`` (indexed: per-field bitsets pick the earlier rules that
  meet each rule, seeded probe points settle most reachable rules, an exact depth-first covering check
  the rest; plus the redundancy and conflict checks);
- peer 1, textbook: each rule's residual = its box minus every earlier rule, pairwise, by box
  subtraction (no index), on an evenly spaced sample of rules, extrapolated to the whole ACL;
- peer 2, no index: the same depth-first covering check against every earlier rule (no index, no
  probes), on a sample, extrapolated.
Both peers answer reachability only (less than ``analyze`` does); their sample answers must equal the
indexed analysis's. The textbook peer stops a rule after 3 s (its residual of a broad rule such as the
final ``deny ip any any`` fragments into more pieces than it can finish), so its figure is a lower bound.

Goal (issue 6): 5,000-rule shadow analysis in under 10 s.

    .venv/bin/python benchmarks/acl.py [--rules 5000] [--sample 40] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from netwarden.configs.acl import analyze as analysis
from netwarden.configs.acl.cisco import parse_ios
from netwarden.configs.acl.model import Acl
from netwarden.configs.acl.space import box_overlap, boxes_subtract, disjoint, match_box, uncovered_point

GOAL_SECONDS = 10.0
SERVICES = [22, 25, 53, 80, 123, 161, 443, 514, 3306, 5432, 8080, 8443]


DEAD = ("unreachable", "redundant")  # shadowed by earlier rules, with another action or the same one


def _host(rng: random.Random, first: int = 10) -> str:
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _subnet24(rng: random.Random, first: int = 10) -> str:
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.0 0.0.0.255"


def _rule(rng: random.Random) -> str:
    kind = rng.random()
    port = rng.choice(SERVICES)
    if kind < 0.30:
        return f"permit tcp any host {_host(rng)} eq {port}"
    if kind < 0.48:
        lo = rng.randrange(1024, 60000)
        hi = lo + rng.randrange(1, 500)
        return f"permit tcp 172.16.{rng.randrange(256)}.0 0.0.0.255 host {_host(rng)} range {lo} {hi}"
    if kind < 0.58:
        return f"permit udp {_subnet24(rng)} any eq {rng.choice([53, 123, 161, 514])}"
    if kind < 0.68:
        return f"deny   ip host {_host(rng, 198)} any"
    if kind < 0.76:
        return f"permit tcp 10.{rng.randrange(256)}.0.0 0.0.255.255 {_subnet24(rng)} gt 1023 established"
    if kind < 0.81:
        return f"permit icmp 10.{rng.randrange(256)}.0.0 0.0.255.255 any {rng.choice(['echo', 'echo-reply', '3 4'])}"
    if kind < 0.86:
        return f"deny   tcp any {_subnet24(rng)} eq 23"
    if kind < 0.93:
        return f"permit tcp host {_host(rng)} host {_host(rng)} eq {port} log"
    if kind < 0.97:
        return f"permit tcp {_subnet24(rng)} any neq 25"
    return f"permit udp any range 1024 65535 {_subnet24(rng)}"


def _narrowed(rng: random.Random, line: str) -> str | None:
    """A line every packet of which the given earlier line already matches, or None."""
    words = line.split()
    if words[1:3] == ["tcp", "any"] and words[3] == "host":  # permit tcp any host H eq P
        return f"{words[0]} tcp host {_host(rng, 192)} host {words[4]} eq {words[6]}"
    if words[1] == "udp" and words[-2] == "eq" and words[3].endswith(".0"):  # permit udp NET W any eq P
        base = words[2].rsplit(".", 1)[0]
        return f"{words[0]} udp host {base}.{rng.randrange(1, 255)} host {_host(rng)} eq {words[-1]}"
    if words[1:3] == ["ip", "host"]:  # deny ip host H any
        return f"{words[0]} tcp host {words[3]} any eq {rng.choice(SERVICES)}"
    return None


def generate(rules: int, seed: int = 7) -> tuple[str, list[int]]:
    """The ACL text and the 1-based indices of the planted shadowed rules."""
    rng = random.Random(seed)
    lines: list[str] = []
    planted: list[int] = []
    bounded = 0
    while len(lines) < rules - 1 and bounded < rules * 10:
        bounded += 1
        if lines and len(lines) % 40 == 39:
            earlier = lines[rng.randrange(len(lines))]
            narrow = _narrowed(rng, earlier)
            if narrow is None:
                continue
            if rng.random() < 0.5:
                other = "deny" if narrow.startswith("permit") else "permit"
                narrow = other + narrow[narrow.index(" ") :]
            lines.append(narrow)
            planted.append(len(lines))
            continue
        lines.append(_rule(rng))
    lines.append("deny   ip any any log")
    text = "ip access-list extended BENCH\n" + "".join(f" {line}\n" for line in lines)
    return text, planted


TEXTBOOK_DEADLINE_S = 3.0


def _naive_reachable(acl: Acl, pos: int) -> bool | None:
    """Rule ``pos`` reachable? Pairwise scan of every earlier rule, subtracting each from the residual.
    None when the residual work passes TEXTBOOK_DEADLINE_S (broad rules fragment it into many pieces)."""
    deadline = time.perf_counter() + TEXTBOOK_DEADLINE_S
    own = [b for b in (match_box(m) for m in acl.rules[pos].matches) if b is not None]
    reach = disjoint(own)
    for earlier in acl.rules[:pos]:
        if time.perf_counter() > deadline:
            return None
        for match in earlier.matches:
            box = match_box(match)
            if box is None or not any(box_overlap(box, r) for r in reach):
                continue
            reach = boxes_subtract(reach, box)
        if not reach:
            return False
    return bool(reach)


def _unindexed_reachable(acl: Acl, pos: int) -> bool:
    """Rule ``pos`` reachable? The depth-first covering check against every earlier rule."""
    own = [b for b in (match_box(m) for m in acl.rules[pos].matches) if b is not None]
    earlier = [b for r in acl.rules[:pos] for b in (match_box(m) for m in r.matches) if b is not None]
    return uncovered_point(own, earlier) is not None


def _peer(acl: Acl, positions: list[int], reachable: Any, statuses: dict[int, str]) -> tuple[float, float, bool, int]:
    """(seconds on the sample, extrapolated to the ACL, answers agree, rules given up at the deadline)."""
    t0 = time.perf_counter()
    answers = {pos: reachable(acl, pos) for pos in positions}
    spent = time.perf_counter() - t0
    answered = [pos for pos in positions if answers[pos] is not None]
    agree = all(answers[pos] == (statuses[acl.rules[pos].index] not in DEAD) for pos in answered)
    return spent, spent / len(positions) * len(acl.rules), agree, len(positions) - len(answered)


def _sample(count: int, sample: int) -> list[int]:
    step = max(1, count // max(1, sample))
    return list(range(step - 1, count, step))[:sample]


def run(rules: int = 5000, sample: int = 40, seed: int = 7) -> dict[str, Any]:
    """Measure parse + analysis of a generated ``rules``-rule ACL and two naive peers on samples."""
    text, planted = generate(rules, seed)
    t0 = time.perf_counter()
    parsed = parse_ios(text)
    t1 = time.perf_counter()
    acl = parsed.acls[0]
    findings = analysis.analyze(acl)
    t2 = time.perf_counter()
    statuses = {f.rule.index: f.status for f in findings}
    textbook = _peer(acl, _sample(len(acl.rules), sample), _naive_reachable, statuses)
    unindexed = _peer(acl, _sample(len(acl.rules), sample * 5), _unindexed_reachable, statuses)
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    total = t2 - t0
    return {
        "rules": len(acl.rules),
        "unparsed": len(parsed.unparsed),
        "parse_s": t1 - t0,
        "analyze_s": t2 - t1,
        "total_s": total,
        "statuses": counts,
        "planted": len(planted),
        "planted_found": sum(1 for i in planted if statuses.get(i) in DEAD),
        "textbook_sample": min(sample, len(acl.rules)),
        "textbook_sample_s": textbook[0],
        "textbook_extrapolated_s": textbook[1],
        "textbook_agrees": textbook[2],
        "textbook_gave_up": textbook[3],
        "unindexed_sample": min(sample * 5, len(acl.rules)),
        "unindexed_sample_s": unindexed[0],
        "unindexed_extrapolated_s": unindexed[1],
        "unindexed_agrees": unindexed[2],
        "speedup_vs_textbook": textbook[1] / (t2 - t1),
        "speedup_vs_unindexed": unindexed[1] / (t2 - t1),
        "goal_s": GOAL_SECONDS,
        "pass": total < GOAL_SECONDS,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", type=int, default=5000)
    ap.add_argument("--sample", type=int, default=40, help="rules the textbook peer analyses (x5 for peer 2)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    r = run(args.rules, args.sample, args.seed)
    print(f"ACL: {r['rules']} rules, {r['unparsed']} unparsed; statuses {r['statuses']}")
    print(f"planted shadowed lines found unreachable or redundant: {r['planted_found']}/{r['planted']}")
    print(f"parse {r['parse_s']:.3f} s, analyze {r['analyze_s']:.3f} s, total {r['total_s']:.3f} s")
    for peer, label in (("textbook", "textbook pairwise subtraction"), ("unindexed", "covering check, no index")):
        gave_up = r.get(peer + "_gave_up", 0)
        bound = f"at least {r[peer + '_extrapolated_s']:.1f}" if gave_up else f"{r[peer + '_extrapolated_s']:.1f}"
        note = f", {gave_up} rules stopped at the {TEXTBOOK_DEADLINE_S:.0f} s deadline" if gave_up else ""
        print(
            f"peer {label}: {r[peer + '_sample']} rules in {r[peer + '_sample_s']:.3f} s{note}, "
            f"extrapolated {bound} s for the whole ACL (agrees on the sample: {r[peer + '_agrees']})"
        )
    at_least = "at least " if r["textbook_gave_up"] else ""
    print(
        f"analyze (every status) vs reachability-only peers: {at_least}{r['speedup_vs_textbook']:.1f}x faster "
        f"than textbook, {r['speedup_vs_unindexed']:.1f}x faster than unindexed"
    )
    verdict = "PASS" if r["pass"] else "FAIL"
    print(f"{verdict}: {r['total_s']:.2f} s vs goal < {r['goal_s']:.0f} s for parse + shadow analysis")


if __name__ == "__main__":
    main()
