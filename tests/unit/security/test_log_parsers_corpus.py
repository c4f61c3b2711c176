"""fail2ban's annotated auth logs: the parsers plus the authentication-failure flagger mark exactly the
lines, hosts and users that fail2ban's own ``failJSON`` comments mark.

The corpus is ../shared/data/fail2ban (fail2ban/tests/files/logs). Each ``# failJSON: {...}`` gives the
verdict for the line below it; ``# filterOptions: [...]`` runs the lines that follow in each listed
mode (each option set is one flagger, kept across the file as fail2ban's test harness keeps its
filters); a ``constraint`` limits a verdict to some modes. A flag counts as right when the line is
marked ``match: true`` and the flagged host (and ``user`` / ``users`` where given) are the marked
ones. Precision and recall are printed per file (``pytest -s``); decision 0026 explains every miss.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from netwarden.security.logs.authfail import AuthFailures, Mode
from netwarden.security.logs.parse import parse_line
from tests.support.shared_data import shared_data

LOGS = shared_data() / "fail2ban" / "fail2ban" / "tests" / "files" / "logs"
NOW = dt.datetime.fromtimestamp(1124013600, dt.UTC)  # fail2ban's test "now" (2005-08-14)
CET = zoneinfo.ZoneInfo("CET")  # the corpus' local time: TZ=CET-01CEST-02,M3.5.0,M10.5.0
# file -> (service, precision, recall) reached; 1.0 is required for sshd by the issue.
REACHED = {
    "sshd": ("sshd", 1.0, 1.0),
    "sshd-journal": ("sshd", 1.0, 1.0),
    "dropbear": ("dropbear", 1.0, 1.0),
    "vsftpd": ("vsftpd", 1.0, 1.0),
    # One line more than fail2ban: an old Linux-PAM "pop(pam_unix)[4920]: authentication failure" (see 0026).
    "pam-generic": ("pam-generic", 0.888, 1.0),
    "routeros-auth": ("routeros-auth", 1.0, 1.0),
}
_DIRECTIVE = re.compile(r"^#+ ?(failJSON|fileOptions|filterOptions|addFILE):(.+)$")
_CONSTRAINT = re.compile(
    r"""^(?:name ?== ?'(?P<name>[^']*)'|opts\.get\('(?P<key>\w+)'\) ?(?P<op>==|!=) ?'(?P<value>[^']*)')$"""
)


def holds(expression: str, name: str, opts: dict[str, Any]) -> bool:
    """fail2ban's constraint / test.condition expressions, the two shapes the corpus uses."""
    m = _CONSTRAINT.match(expression.strip())
    if m is None:
        raise AssertionError(f"constraint {expression!r} has a shape this test does not read")
    if m.group("name") is not None:
        return name == m.group("name")
    equal = opts.get(m.group("key")) == m.group("value")
    return equal if m.group("op") == "==" else not equal


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    lines: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def cases(path: Path) -> Iterator[tuple[int, str, dict[str, Any], list[dict[str, Any]]]]:
    """(line number, line, its failJSON, the option sets in force) for every test line of one file."""
    file_opts: dict[str, Any] = {}
    option_sets: list[dict[str, Any]] | None = None
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        text = lines[i]
        i += 1
        m = _DIRECTIVE.match(text)
        expected: dict[str, Any] = {}
        if m is not None:
            data = json.loads(m.group(2))
            if m.group(1) == "fileOptions":
                file_opts = data
                continue
            if m.group(1) == "filterOptions":
                option_sets = [{**file_opts, **o} for o in (data if isinstance(data, list) else [data])]
                continue
            if m.group(1) == "addFILE":
                continue  # each file is scored on its own (the issue names sshd-journal separately)
            expected, text = data, lines[i]
            i += 1
        elif text.startswith("#") or not text.strip():
            continue
        yield i, text, expected, option_sets if option_sets is not None else [dict(file_opts)]


def score(name: str, service: str) -> Score:
    flaggers: dict[str, AuthFailures] = {}
    result = Score()
    for lineno, line, expected, option_sets in cases(LOGS / name):
        event = parse_line(line, received=NOW)
        for opts in option_sets:
            if "test.condition" in opts and not holds(opts["test.condition"], service, opts):
                continue
            if "constraint" in expected and not holds(expected["constraint"], service, opts):
                continue
            mode: Mode = opts.get("mode", "normal")
            flagger = flaggers.setdefault(json.dumps(opts, sort_keys=True), AuthFailures(service, mode))
            flag = flagger.feed(event)
            result.lines += 1
            where = f"{name}:{lineno} [{mode}]"
            if not expected.get("match", False):
                if flag is not None:
                    result.fp += 1
                    result.misses.append(f"{where} flagged {flag.host} but fail2ban does not: {line}")
                continue
            if flag is None:
                result.fn += 1
                result.misses.append(f"{where} not flagged, fail2ban flags {expected.get('host')}: {line}")
                continue
            wrong = []
            if "host" in expected and flag.host != expected["host"]:
                wrong.append(f"host {flag.host!r} != {expected['host']!r}")
            if "user" in expected and flag.user != expected["user"]:
                wrong.append(f"user {flag.user!r} != {expected['user']!r}")
            if "users" in expected and sorted(flag.users) != sorted(expected["users"]):
                wrong.append(f"users {flag.users!r} != {expected['users']!r}")
            if "time" in expected:
                local = event.time if event.fields.get("zone") else event.time.astimezone(CET)
                if local.strftime("%m-%dT%H:%M:%S") != expected["time"][5:19]:
                    wrong.append(f"time {local.isoformat()} != {expected['time']}")
            if wrong:
                result.fp += 1
                result.fn += 1
                result.misses.append(f"{where} {'; '.join(wrong)}: {line}")
            else:
                result.tp += 1
    return result


@pytest.mark.skipif(not LOGS.is_dir(), reason=f"fail2ban corpus not found at {LOGS}")
@pytest.mark.parametrize("name", list(REACHED))
def test_auth_failures_match_fail2ban_annotations(name: str) -> None:
    service, precision, recall = REACHED[name]
    s = score(name, service)
    print(
        f"\n{name:<14} service={service:<13} lines={s.lines:<4} tp={s.tp:<4} fp={s.fp:<3} fn={s.fn:<3}"
        f" precision={s.precision:.3f} recall={s.recall:.3f}"
    )
    for miss in s.misses:
        print("  " + miss)
    assert s.tp > 0
    assert s.precision >= precision, s.misses
    assert s.recall >= recall, s.misses
