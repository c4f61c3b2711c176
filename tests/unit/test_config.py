"""Settings precedence: flag > NETWARDEN_* env > netwarden.toml > default; unknown keys rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from netwarden.config import load_settings
from netwarden.errors import ConfigError


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.port == 8080
    assert s.host == "127.0.0.1"
    assert s.data_dir == Path("netwarden-data")
    assert s.sqlalchemy_url.endswith("netwarden-data/netwarden.db")


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "netwarden.toml").write_text('port = 9000\nhost = "127.0.0.2"\nlog_level = "debug"\n')
    s = load_settings()
    assert (s.port, s.host, s.log_level) == (9000, "127.0.0.2", "debug")
    monkeypatch.setenv("NETWARDEN_PORT", "9100")
    s = load_settings()
    assert (s.port, s.host) == (9100, "127.0.0.2")
    s = load_settings(port=9200, host=None)
    assert (s.port, s.host) == (9200, "127.0.0.2")


def test_toml_section_and_named_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "elsewhere.toml"
    cfg.write_text("[netwarden]\nport = 7000\n")
    monkeypatch.setenv("NETWARDEN_CONFIG", str(cfg))
    assert load_settings().port == 7000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prot = 1\n", "unknown setting 'prot'"),
        ("port = 'many'\n", "setting port"),
        ("port = \n", "not valid TOML"),
    ],
)
def test_bad_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "netwarden.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_missing_named_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETWARDEN_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()
