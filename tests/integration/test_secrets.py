"""A credential's secret never leaves the vault: not in CLI output, API responses, exports, logs or the store file."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import httpx
import pytest

from netwarden.cli.main import main
from netwarden.context import Context
from netwarden.inventory import service
from netwarden.inventory.schemas import CredentialIn
from tests.conftest import ADMIN, OPERATOR, VIEWER, auth

SECRET = "Canary-S3cret-7f3a9"
PRIV = "Canary-Priv-55d1e0"


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out + err


def test_cli_never_shows_the_secret(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    data = tmp_path / "d"
    run(capsys, monkeypatch, "init", "--data-dir", str(data), "--json")
    monkeypatch.setenv("NETWARDEN_DATA_DIR", str(data))
    seen = run(
        capsys,
        monkeypatch,
        "credential",
        "add",
        "core-v3",
        "--kind",
        "snmp-v3",
        "--username",
        "nms",
        "--auth-protocol",
        "sha256",
        "--priv-protocol",
        "aes",
        "--json",
        stdin=f"{SECRET}\n{PRIV}\n",
    )
    seen += run(capsys, monkeypatch, "credential", "add", "ssh1", "--kind", "ssh", "--username", "u", stdin=SECRET)
    seen += run(
        capsys, monkeypatch, "credential", "add", "ssh1", "--kind", "ssh", "--username", "u", "--replace", stdin=SECRET
    )
    for args in (
        ("credential", "list", "--json"),
        ("credential", "list"),
        ("credential", "show", "core-v3", "--json"),
        ("audit", "--json"),
        ("export",),
        ("export", "--format", "ansible"),
        ("export", "--format", "csv", "--kind", "credentials"),
    ):
        seen += run(capsys, monkeypatch, *args)
    run(capsys, monkeypatch, "export", "--format", "nornir", "--output", str(tmp_path / "nornir"))
    run(capsys, monkeypatch, "export", "--format", "csv", "--output", str(tmp_path / "csv"))
    for f in [*(tmp_path / "nornir").iterdir(), *(tmp_path / "csv").iterdir()]:
        seen += f.read_text()
    seen += caplog.text
    assert "core-v3" in seen and "sha256" in seen  # the outputs did run
    assert SECRET not in seen and PRIV not in seen
    # Encrypted at rest: the store file holds no plain copy.
    for f in data.glob("netwarden.db*"):
        raw = f.read_bytes()
        assert SECRET.encode() not in raw and PRIV.encode() not in raw


def test_api_never_returns_the_secret(api: httpx.Client, tokens: dict[str, str], ctx: Context) -> None:
    h = auth(tokens["admin"])
    body = {"name": "c1", "kind": "snmp-v2c", "secret": SECRET}
    r = api.post("/api/v1/credentials", json=body, headers=h)
    assert r.status_code == 201, r.text
    seen = r.text
    r = api.put("/api/v1/credentials/c1", json={**body, "username": ""}, headers=h)
    assert r.status_code == 200
    seen += r.text
    for path in ("/api/v1/credentials", "/api/v1/credentials/c1", "/api/v1/audit", "/api/v1/export"):
        seen += api.get(path, headers=h).text
    seen += api.get("/api/v1/export", params={"format": "yaml"}, headers=h).text
    # A refused write echoes nothing either.
    r = api.post("/api/v1/credentials", json={**body, "kind": "nope"}, headers=h)
    assert r.status_code == 422
    seen += r.text
    assert "c1" in seen and SECRET not in seen
    # The transports can still read it back (operators and up), which proves it was stored.
    with ctx.db() as db:
        assert service.reveal_credential(db, OPERATOR, ctx.vault, "c1").secret.get_secret_value() == SECRET
        with pytest.raises(Exception, match="needs role operator"):
            service.reveal_credential(db, VIEWER, ctx.vault, "c1")


def test_secret_key_from_the_environment_and_a_wrong_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    from netwarden.errors import SecretError

    key = Fernet.generate_key().decode()
    monkeypatch.setenv("NETWARDEN_SECRET_KEY", key)
    ctx = Context.create(data_dir=tmp_path / "env")
    with ctx.db() as db:
        service.add_credential(
            db, ADMIN, ctx.vault, CredentialIn.model_validate({"name": "c", "kind": "snmp-v2c", "secret": SECRET})
        )
    monkeypatch.setenv("NETWARDEN_SECRET_KEY", Fernet.generate_key().decode())
    other = Context.open(data_dir=tmp_path / "env")
    with other.db() as db, pytest.raises(SecretError, match="cannot be decrypted"):
        service.reveal_credential(db, ADMIN, other.vault, "c")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x", "kind": "ssh", "secret": "pw"}, "needs a username"),
        ({"name": "x", "kind": "snmp-v3", "username": "u", "secret": "short"}, "at least 8 characters"),
        ({"name": "x", "kind": "snmp-v2c", "secret": ""}, "the secret is empty"),
        (
            {"name": "x", "kind": "snmp-v2c", "secret": "c", "params": {"auth_protocol": "sha"}},
            "belong to snmp-v3",
        ),
        (
            {"name": "x", "kind": "snmp-v3", "username": "u", "secret": "12345678", "params": {"priv_protocol": "aes"}},
            "needs a privacy key",
        ),
    ],
)
def test_credential_validation(body: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CredentialIn.model_validate(body)
    try:
        CredentialIn.model_validate(body)
    except ValueError as exc:
        assert json.dumps(str(exc)).count(SECRET) == 0
