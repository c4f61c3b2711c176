"""Sigma rules in SigmaHQ's format, loaded with pySigma and evaluated on normalised events; rules that
cannot run are reported with their file and reason, never a crash."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from netwarden.security.detect import sigma
from netwarden.security.detect.engine import Engine
from netwarden.security.logs.model import LogEvent

T0 = dt.datetime(2026, 3, 2, 14, 0, 0, tzinfo=dt.UTC)

SSHD_INVALID_USER = """\
title: SSHD Login Attempt For An Unknown User
id: 5d1c7c2a-3b8e-4b4f-9c55-0f8f3a1e2b01
status: experimental
description: Detects password attempts for accounts that do not exist on the host
references:
    - https://man.openbsd.org/sshd
author: netwarden tests
date: 2026-03-02
tags:
    - attack.credential-access
    - attack.t1110.001
logsource:
    product: linux
    service: sshd
detection:
    keywords:
        - 'Failed password for invalid user'
        - 'Invalid user * from'
    condition: keywords
falsepositives:
    - Users mistyping their login name
level: medium
"""

SUDO_TO_ROOT = """\
title: Sudo To Root By A Non-Administrator
id: 0f7a8e51-2d4c-4a6b-8f3e-6c1d2b3a4f02
status: experimental
description: A user outside the administrators ran a command as root
author: netwarden tests
date: 2026-03-02
tags:
    - attack.privilege-escalation
    - attack.t1548.003
logsource:
    product: linux
    service: sudo
detection:
    selection:
        message|contains|all:
            - 'USER=root'
            - 'COMMAND='
    filter_admins:
        user:
            - 'admin'
            - 'ops-*'
    condition: selection and not 1 of filter_*
level: high
"""

FIREWALL_TELNET = """\
title: Telnet From Outside Reaching The Firewall
id: 7b2e9f30-6a1d-4c8e-b5f4-2e3d4c5b6a03
status: experimental
logsource:
    category: firewall
detection:
    selection:
        dst_port: 23
        action: deny
    filter_internal:
        src_ip|cidr: 10.0.0.0/8
    condition: selection and not filter_internal
level: low
"""

BASE64_PAYLOAD = """\
title: Base64 Encoded Payload In An SSH Command
id: 2c4d6e8f-1a3b-4c5d-8e9f-0a1b2c3d4e04
status: experimental
logsource:
    product: linux
    service: sshd
detection:
    selection:
        message|base64offset|contains: 'curl http'
    condition: selection
level: high
"""

UNMAPPED_FIELD = """\
title: Suspicious Command Line
id: 3d5e7f90-2b4c-4d6e-9f0a-1b2c3d4e5f05
logsource:
    product: linux
    service: auth
detection:
    selection:
        CommandLine|contains: 'nc -e'
    condition: selection
level: high
"""

WINDOWS_RULE = """\
title: Windows Logon Failure
id: 4e6f8a01-3c5d-4e7f-8a1b-2c3d4e5f6a06
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
level: low
"""

UNKNOWN_MODIFIER = """\
title: Typo In A Modifier
logsource:
    product: linux
    service: sshd
detection:
    selection:
        message|contians: 'Failed'
    condition: selection
"""

CORRELATION = """\
title: Many Unknown-User Attempts
id: 5f7a9b12-4d6e-4f8a-9b2c-3d4e5f6a7b07
correlation:
    type: event_count
    rules:
        - 5d1c7c2a-3b8e-4b4f-9c55-0f8f3a1e2b01
    group-by:
        - src_ip
    timespan: 10m
    condition:
        gte: 10
level: high
"""


def write(tmp_path: Path, files: dict[str, str]) -> Path:
    rules = tmp_path / "rules"
    (rules / "linux").mkdir(parents=True)
    for name, text in files.items():
        (rules / name).write_text(text)
    return rules


def ev(seconds: float, kind: str, raw: str, **kw: Any) -> LogEvent:
    message = raw.split(": ", 1)[1] if ": " in raw else raw
    return LogEvent(time=T0 + dt.timedelta(seconds=seconds), kind=kind, raw=raw, message=message, **kw)


EVENTS = [
    ev(0, "auth-invalid-user", "srv1 sshd[101]: Invalid user oracle from 203.0.113.7 port 50001",
       host="srv1", app="sshd", source_ip="203.0.113.7", user="oracle"),
    ev(1, "auth-failure", "srv1 sshd[101]: Failed password for invalid user oracle from 203.0.113.7 port 50001 ssh2",
       host="srv1", app="sshd", source_ip="203.0.113.7", user="oracle"),
    ev(2, "auth-failure", "srv1 sshd[102]: Failed password for root from 203.0.113.7 port 50002 ssh2",
       host="srv1", app="sshd", source_ip="203.0.113.7", user="root"),
    # Not sshd: the same words from another program are out of the rule's logsource.
    ev(3, "other", "srv1 myapp[5]: Invalid user bob from 203.0.113.8", host="srv1", app="myapp"),
    ev(10, "sudo", "srv1 sudo: mallory : TTY=pts/0 ; PWD=/home/mallory ; USER=root ; COMMAND=/bin/sh",
       host="srv1", app="sudo", user="mallory"),
    ev(11, "sudo", "srv1 sudo: admin : TTY=pts/1 ; PWD=/root ; USER=root ; COMMAND=/usr/bin/apt upgrade",
       host="srv1", app="sudo", user="admin"),
    ev(12, "sudo", "srv1 sudo: ops-jane : TTY=pts/2 ; PWD=/ ; USER=root ; COMMAND=/bin/systemctl restart nginx",
       host="srv1", app="sudo", user="ops-jane"),
    ev(13, "sudo", "srv1 sudo: mallory : TTY=pts/0 ; PWD=/ ; USER=www-data ; COMMAND=/bin/ls",
       host="srv1", app="sudo", user="mallory"),
    ev(20, "firewall-deny", "fw1 kernel: DROP IN=eth0 SRC=198.51.100.4 DST=10.1.10.2 PROTO=TCP SPT=4000 DPT=23",
       host="fw1", source_ip="198.51.100.4", dest_ip="10.1.10.2", dest_port=23, action="deny", proto="tcp"),
    ev(21, "firewall-deny", "fw1 kernel: DROP IN=eth1 SRC=10.1.20.2 DST=10.1.10.2 PROTO=TCP SPT=4001 DPT=23",
       host="fw1", source_ip="10.1.20.2", dest_ip="10.1.10.2", dest_port=23, action="deny", proto="tcp"),
    ev(22, "firewall-deny", "fw1 kernel: DROP IN=eth0 SRC=198.51.100.4 DST=10.1.10.2 PROTO=TCP SPT=4002 DPT=25",
       host="fw1", source_ip="198.51.100.4", dest_ip="10.1.10.2", dest_port=25, action="deny", proto="tcp"),
]  # fmt: skip


def test_real_format_rules_match_the_right_events(tmp_path: Path) -> None:
    rules = write(
        tmp_path,
        {"sshd_invalid_user.yml": SSHD_INVALID_USER, "linux/sudo_root.yml": SUDO_TO_ROOT, "fw.yaml": FIREWALL_TELNET},
    )
    loaded = sigma.load([rules])
    assert loaded.files == 3 and loaded.problems == []
    assert {r.level for r in loaded.rules} == {"minor", "major", "warning"}
    found = sigma.evaluate(loaded, EVENTS)
    by_rule = {d.rule: d for d in found}
    assert set(by_rule) == {
        "sigma:SSHD Login Attempt For An Unknown User",
        "sigma:Sudo To Root By A Non-Administrator",
        "sigma:Telnet From Outside Reaching The Firewall",
    }
    sshd = by_rule["sigma:SSHD Login Attempt For An Unknown User"]
    assert (sshd.host, sshd.source_ip, sshd.count) == ("srv1", "203.0.113.7", 2)  # per user: oracle's two lines
    assert sshd.evidence == [EVENTS[0].raw, EVENTS[1].raw]
    assert sshd.details["sigma_file"].endswith("sshd_invalid_user.yml")
    sudo = by_rule["sigma:Sudo To Root By A Non-Administrator"]
    assert (sudo.user, sudo.evidence) == ("mallory", [EVENTS[4].raw])
    telnet = by_rule["sigma:Telnet From Outside Reaching The Firewall"]
    assert (telnet.source_ip, telnet.evidence) == ("198.51.100.4", [EVENTS[8].raw])


def test_rules_that_cannot_run_are_reported_with_file_and_reason(tmp_path: Path) -> None:
    rules = write(
        tmp_path,
        {
            "sshd_invalid_user.yml": SSHD_INVALID_USER,
            "base64.yml": BASE64_PAYLOAD,
            "cmdline.yml": UNMAPPED_FIELD,
            "windows.yml": WINDOWS_RULE,
            "typo.yml": UNKNOWN_MODIFIER,
            "correlation.yml": CORRELATION,
            "broken.yml": "title: [unclosed\ndetection: {",
            "linux/empty.yml": "",
        },
    )
    (rules / "notes.txt").write_text("not a rule")  # only .yml/.yaml files are read
    loaded = sigma.load([rules, tmp_path / "missing-dir"])
    assert [r.title for r in loaded.rules] == ["SSHD Login Attempt For An Unknown User"]
    problems = {Path(p.file).name: p for p in loaded.problems}
    assert set(problems) == {"base64.yml", "cmdline.yml", "windows.yml", "typo.yml", "correlation.yml", "broken.yml",
                             "missing-dir"}  # fmt: skip
    assert problems["base64.yml"].rule == "Base64 Encoded Payload In An SSH Command"
    assert "modifier 'base64offset'" in problems["base64.yml"].reason
    assert "field 'CommandLine'" in problems["cmdline.yml"].reason
    assert "product 'windows'" in problems["windows.yml"].reason
    assert "contians" in problems["typo.yml"].reason
    assert "not supported" in problems["correlation.yml"].reason
    assert "not a Sigma rule file" in problems["broken.yml"].reason
    assert problems["missing-dir"].reason == "no such file or directory"
    # The rules that loaded still run, through the engine like the built-in ones.
    run = Engine(sigma_rules=loaded).run(EVENTS)
    assert any(d.rule == "sigma:SSHD Login Attempt For An Unknown User" for d in run.detections)
    report = run.public()["sigma"]
    assert report["loaded"] == 1 and report["unsupported"] == 7
    assert {p["file"] for p in report["problems"]} == {p.file for p in loaded.problems}


@pytest.mark.parametrize(
    ("detection", "matches"),
    [
        ("selection:\n        user|startswith: 'ora'\n    condition: selection", [0, 1]),
        ("selection:\n        user|endswith: 'OT'\n    condition: selection", [2]),
        ("selection:\n        user|cased: 'ROOT'\n    condition: selection", []),
        ("selection:\n        message|re: 'port 5000[12] ssh2$'\n    condition: selection", [1, 2]),
        ("selection:\n        message|re|i: 'FAILED PASSWORD FOR ROOT'\n    condition: selection", [2]),
        ("selection:\n        user|exists: false\n    condition: selection", [3]),
        ("selection:\n        source_ip: null\n    condition: selection", [3]),
        ("selection:\n        user: 'r??t'\n    condition: selection", [2]),
        ("a:\n        user: root\n    b:\n        user: oracle\n    condition: all of them", []),
        ("a:\n        user: root\n    b:\n        user: oracle\n    condition: 1 of them", [0, 1, 2]),
    ],
)
def test_modifiers_and_conditions(detection: str, matches: list[int]) -> None:
    text = f"title: t\nlogsource:\n    product: linux\ndetection:\n    {detection}\n"
    [rule], problems = sigma.compile_text(text)
    assert problems == []
    assert [i for i, e in enumerate(EVENTS[:4]) if rule(e)] == matches


def test_numeric_comparisons_on_ports() -> None:
    text = "title: high ports\nlogsource:\n    category: firewall\ndetection:\n    sel:\n        dst_port|gte: 24\n"
    text += "    condition: sel\n"
    [rule], _ = sigma.compile_text(text)
    assert [e.dest_port for e in EVENTS if rule(e)] == [25]


def test_overrides_apply_to_sigma_rules_by_title_or_id(tmp_path: Path) -> None:
    loaded = sigma.load([write(tmp_path, {"r.yml": SSHD_INVALID_USER})])

    def sigma_hits(*overrides: dict[str, Any]) -> int:
        return sum(1 for d in Engine(overrides, loaded).run(EVENTS).detections if d.rule.startswith("sigma:"))

    assert sigma_hits() == 1
    assert sigma_hits({"rule": "sigma:SSHD Login Attempt For An Unknown User", "enabled": False}) == 0
    assert sigma_hits({"rule": "5d1c7c2a-3b8e-4b4f-9c55-0f8f3a1e2b01", "threshold": 3}) == 0
    assert sigma_hits({"rule": "5d1c7c2a-3b8e-4b4f-9c55-0f8f3a1e2b01", "threshold": 2}) == 1
