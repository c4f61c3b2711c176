"""The config repository (real git) and masking rules (the platform files' own)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from netwarden.configs.gitstore import ConfigRepo, RepoError
from netwarden.configs.masking import mask, rules_for
from netwarden.errors import ConfigError, InvalidInput, NotFound


def _log(repo: ConfigRepo) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo.path), "log", "--format=%an <%ae>|%s"], capture_output=True, text=True)
    return out.stdout.splitlines()


def test_commit_history_show_diff(tmp_path: Path) -> None:
    repo = ConfigRepo(tmp_path / "configs")
    one = repo.commit({"r1.cfg": "hostname r1\n!\nend\n"}, author="alice", message="first\n\nwhy: test")
    assert one and _log(repo)[0] == "alice <alice@netwarden>|first"
    assert repo.commit({"r1.cfg": "hostname r1\n!\nend\n"}, author="bob", message="same") is None
    two = repo.commit(
        {"r1.cfg": "hostname r1\nntp server 10.0.0.1\n!\nend\n", "r2.cfg": "x\n"}, author="bob", message="ntp"
    )
    assert two and two != one
    assert [r.message for r in repo.history("r1.cfg")] == ["ntp", "first"]
    assert [r.author for r in repo.history("r2.cfg")] == ["bob"]
    assert repo.show("r1.cfg", one) == "hostname r1\n!\nend\n"
    assert repo.show("r1.cfg") == "hostname r1\nntp server 10.0.0.1\n!\nend\n"
    changed = [ln for ln in repo.diff("r1.cfg").splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert changed == ["+ntp server 10.0.0.1"]
    assert repo.diff("r1.cfg", two, one).count("-ntp server") == 1
    assert repo.diff("r2.cfg") == ""  # one revision: nothing to compare
    assert repo.files() == ["r1.cfg", "r2.cfg"]


def test_bad_names_and_revisions(tmp_path: Path) -> None:
    repo = ConfigRepo(tmp_path / "configs")
    repo.commit({"r1.cfg": "a\n"}, author="a", message="m")
    for name in ("../etc/passwd", ".git/config", "-rf", "a/b"):
        with pytest.raises(InvalidInput):
            repo.commit({name: "x"}, author="a", message="m")
    with pytest.raises(InvalidInput, match="not a revision"):
        repo.show("r1.cfg", "--output=/tmp/x")
    with pytest.raises(NotFound, match="no revision"):
        repo.show("r1.cfg", "0123456789abcdef")
    with pytest.raises(NotFound):
        repo.show("r9.cfg")
    with pytest.raises(NotFound):
        repo.diff("r9.cfg")


def test_a_failed_commit_leaves_nothing_behind(tmp_path: Path) -> None:
    repo = ConfigRepo(tmp_path / "configs")
    repo.commit({"r1.cfg": "old\n"}, author="a", message="m")
    lock = repo.path / ".git" / "index.lock"
    lock.write_text("")  # another git process holds the index: git add fails
    with pytest.raises(RepoError, match="git add failed"):
        repo.commit({"r1.cfg": "new\n", "r2.cfg": "fresh\n"}, author="a", message="m2")
    lock.unlink()
    assert (repo.path / "r1.cfg").read_text() == "old\n"
    assert not (repo.path / "r2.cfg").exists()
    status = subprocess.run(["git", "-C", str(repo.path), "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == "" and len(_log(repo)) == 2


def test_ios_masking_keeps_the_shape_and_drops_volatile_lines() -> None:
    text = "\n".join(
        [
            "! Last configuration change at 10:01:02 UTC Mon Nov 23 2026 by admin",
            "! NVRAM config last updated at 10:01:05 UTC Mon Nov 23 2026",
            "enable secret 9 $9$abc$def",
            "username ops privilege 15 password 7 0822455D0A16",
            "snmp-server community private RW",
            "snmp-server community s3cr3t RO",
            "tacacs-server key 7 1234ABCD",
            "ntp clock-period 17179869",
            "interface Gi0/1",
            " ip ospf message-digest-key 1 md5 7 045802150C2E",
            "router bgp 65001",
            " neighbor 10.0.0.2 password 7 ABCDEF",
            "line vty 0 4",
            " password 7 0822455D0A16",
            " transport input ssh",
        ]
    )
    out = mask(text, rules_for("cisco_ios")).splitlines()
    assert out == [
        "enable secret 9 <masked>",
        "username ops privilege 15 password 7 <masked>",
        "snmp-server community private RW",  # a well-known default is no secret: compliance must see it
        "snmp-server community <masked> RO",
        "tacacs-server key 7 <masked>",
        "interface Gi0/1",
        " ip ospf message-digest-key 1 md5 7 <masked>",
        "router bgp 65001",
        " neighbor 10.0.0.2 password 7 <masked>",
        "line vty 0 4",
        " password 7 <masked>",
        " transport input ssh",
    ]
    # Secrets kept when told so; volatile lines still go.
    kept = mask(text, rules_for("cisco_ios", secrets=False))
    assert "snmp-server community s3cr3t RO" in kept and "Last configuration change" not in kept


def test_junos_frr_and_extra_rules() -> None:
    junos = 'system {\n    root-authentication {\n        encrypted-password "$6$xyz"; ## SECRET-DATA\n    }\n}\n'
    assert 'encrypted-password "<masked>"; ## SECRET-DATA' in mask(junos, rules_for("juniper_junos"))
    frr = "password zebra\nenable password 8 abc\n neighbor 10.0.0.1 password s3\n"
    assert (
        mask(frr, rules_for("frr"))
        == "password <masked>\nenable password 8 <masked>\n neighbor 10.0.0.1 password <masked>\n"
    )
    extra = [
        {"pattern": r"^(\s*description) .*secret.*$", "replace": r"\1 <masked>"},
        {"platform": "cisco_ios", "pattern": "x", "replace": "y"},
    ]
    assert mask(" description has a secret\n", rules_for("frr", extra)) == " description <masked>\n"
    with pytest.raises(ConfigError, match=r"config_mask_rules\[0\]"):
        rules_for("frr", [{"pattern": "(", "replace": ""}])


def test_each_commit_is_pushed_to_the_remote(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo = ConfigRepo(tmp_path / "configs", remote=str(remote))
    rev = repo.commit({"r1.cfg": "hostname r1\n"}, author="alice", message="first")
    pushed = subprocess.run(["git", "-C", str(remote), "rev-parse", "main"], capture_output=True, text=True)
    assert pushed.stdout.strip() == rev
    assert repo.push_error == ""
    # A remote that is gone: the local commit stays, the push failure is kept as one clear line.
    broken = ConfigRepo(tmp_path / "configs", remote=str(tmp_path / "gone.git"))
    assert broken.commit({"r1.cfg": "hostname r1\nntp server 10.0.0.1\n"}, author="alice", message="second")
    assert broken.push_error.startswith("push to the config remote failed")
    assert [r.message for r in repo.history("r1.cfg")] == ["second", "first"]
    with pytest.raises(RepoError):
        broken.push()
