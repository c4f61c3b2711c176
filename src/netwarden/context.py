"""What a running command or server needs: settings, the store URL, the vault.

``Context.open`` refuses a data dir that was never initialised (so a typo in
``--data-dir`` does not silently create an empty store) and brings the schema
up to date.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from netwarden.config import Settings, load_settings
from netwarden.crypto import Vault, create_key_file
from netwarden.errors import StoreError
from netwarden.store import migrate
from netwarden.store.base import session_scope

MARKER = ".netwarden-store"


@dataclass
class Context:
    settings: Settings
    _vault: Vault | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return self.settings.sqlalchemy_url

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @classmethod
    def open(cls, **overrides: Any) -> Context:
        """Open an initialised store; StoreError tells how to create one."""
        settings = load_settings(**overrides)
        ctx = cls(settings)
        if not (settings.data_dir / MARKER).exists():
            raise StoreError(
                f"no netwarden store in {settings.data_dir.resolve()}; "
                f"run 'netwarden init --data-dir {settings.data_dir}' or set NETWARDEN_DATA_DIR"
            )
        migrate.upgrade(ctx.url)
        return ctx

    @classmethod
    def create(cls, **overrides: Any) -> Context:
        """Create (or re-open) the data dir, its key and the schema."""
        settings = load_settings(**overrides)
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            settings.data_dir.chmod(0o700)
        except OSError as exc:
            raise StoreError(f"cannot create data dir {settings.data_dir}: {exc.strerror}") from exc
        if not settings.secret_key:
            create_key_file(settings.data_dir)
        ctx = cls(settings)
        migrate.upgrade(ctx.url)
        (settings.data_dir / MARKER).touch()
        return ctx

    @contextmanager
    def db(self) -> Iterator[Session]:
        with session_scope(self.url) as session:
            yield session

    @property
    def vault(self) -> Vault:
        if self._vault is None:
            self._vault = Vault.load(self.settings.data_dir, self.settings.secret_key)
        return self._vault
