"""Encryption of secrets at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key is ``NETWARDEN_SECRET_KEY`` when set, else ``<data dir>/secret.key``
(created by ``netwarden init`` with mode 0600).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from netwarden.errors import SecretError

KEY_FILE = "secret.key"


def create_key_file(data_dir: Path) -> Path:
    """Write a new key unless one exists; always leaves the file at mode 0600."""
    path = data_dir / KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
    os.chmod(path, 0o600)
    return path


class Vault:
    """Encrypts and decrypts secret blobs with one key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise SecretError("the secret key is not a valid Fernet key (32 url-safe base64 bytes)") from exc

    @classmethod
    def load(cls, data_dir: Path, env_key: str | None = None) -> Vault:
        if env_key:
            return cls(env_key.encode())
        path = data_dir / KEY_FILE
        try:
            return cls(path.read_bytes().strip())
        except FileNotFoundError:
            raise SecretError(f"no secret key at {path}; run 'netwarden init' or set NETWARDEN_SECRET_KEY") from None

    def encrypt(self, plain: bytes) -> bytes:
        return self._fernet.encrypt(plain)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise SecretError("cannot decrypt a stored secret: the secret key does not match this store") from None
