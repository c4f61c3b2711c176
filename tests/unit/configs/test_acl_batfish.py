"""The analyser against Batfish's answer on its example network: every Cisco config of the live snapshot,
compared with tests/basic/filterLineReachability.ref (unreachable lines and the lines blocking them)."""

from __future__ import annotations

import json

import pytest

from netwarden.configs.acl.analyze import analyze
from netwarden.configs.acl.cisco import parse_ios
from tests.support.shared_data import shared_data

BATFISH = shared_data() / "batfish"
CONFIGS = BATFISH / "networks" / "example" / "live" / "configs"
REF = BATFISH / "tests" / "basic" / "filterLineReachability.ref"

pytestmark = pytest.mark.skipif(not REF.is_file(), reason="shared batfish corpus not present")

Key = tuple[str, str, str]  # node, ACL, unreachable line text


def _batfish() -> dict[Key, tuple[list[str], bool]]:
    answer = json.loads(REF.read_text())
    rows = answer[0]["rows"]
    assert answer[0]["summary"]["numResults"] == len(rows)
    found: dict[Key, tuple[list[str], bool]] = {}
    for row in rows:
        for source in row["Sources"]:
            node, _, acl = source.partition(": ")
            found[(node, acl, row["Unreachable_Line"])] = (row["Blocking_Lines"], row["Different_Action"])
    return found


def _ours() -> tuple[dict[Key, tuple[list[str], bool]], int, int]:
    found: dict[Key, tuple[list[str], bool]] = {}
    acls = rules = 0
    for path in sorted(CONFIGS.glob("*.cfg")):
        parsed = parse_ios(path.read_text(), source=str(path))
        assert parsed.unparsed == (), path.name
        for acl in parsed.acls:
            acls += 1
            rules += len(acl.rules)
            by_index = {r.index: r for r in acl.rules}
            for finding in analyze(acl):
                if finding.status == "unreachable":
                    blocking = [by_index[i].text for i in finding.shadowed_by]
                    found[(path.stem, acl.name, finding.rule.text)] = (blocking, finding.different_action)
    return found, acls, rules


def test_unreachable_lines_and_blocking_lines_equal_batfish() -> None:
    expected = _batfish()
    ours, acls, rules = _ours()
    assert len(list(CONFIGS.glob("*.cfg"))) == 13
    assert acls > len({(n, a) for n, a, _ in expected}) and rules > acls  # every ACL was read, not only these
    assert set(ours) == set(expected)
    for key, (blocking, different) in expected.items():
        assert ours[key] == (blocking, different), key


def test_lines_keep_the_config_spacing() -> None:
    text = (CONFIGS / "as2dept1.cfg").read_text()
    acl = parse_ios(text).acl("RESTRICT_HOST_TRAFFIC_OUT")
    assert acl.rules[1].text == "deny   ip 1.128.0.0 0.0.255.255 2.128.0.0 0.0.255.255"
    assert text.splitlines()[acl.rules[1].line - 1] == " " + acl.rules[1].text
