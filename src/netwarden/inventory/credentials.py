"""Credentials: SSH (password or key), SNMP v2c communities, SNMPv3 users.

The secret parts are one Fernet token (JSON inside) in ``credentials.secret``;
the key lives in the data dir (mode 0600) or in ``NETWARDEN_SECRET_KEY``.
Nothing here returns a secret except :func:`reveal_credential`, which
transports call; the API, CLI, exports and the audit log only ever see
:class:`CredentialOut`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from netwarden.access import audit
from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.crypto import Vault
from netwarden.errors import AlreadyExists, NotFound, SecretError
from netwarden.inventory.models import Credential
from netwarden.inventory.schemas import CredentialIn, CredentialOut, CredentialParams, CredentialSecret, Page

__all__ = [
    "add_credential",
    "credential_out",
    "list_credentials",
    "remove_credential",
    "reveal_credential",
    "show_credential",
    "upsert_credential",
]


def credential_out(row: Credential) -> CredentialOut:
    params = {k: v for k, v in (row.params or {}).items() if v is not None}
    level = None
    if row.kind == "snmp-v3":
        level = "authPriv" if params.get("priv_protocol") else "authNoPriv"
    return CredentialOut(
        name=row.name,
        kind=row.kind,
        username=row.username,
        params=params,
        has_priv=bool(params.get("priv_protocol")),
        security_level=level,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _get(db: Session, name: str) -> Credential:
    row = db.scalar(select(Credential).where(Credential.name == name))
    if row is None:
        raise NotFound(f"credential {name!r} does not exist")
    return row


def _sealed(vault: Vault, data: CredentialIn) -> bytes:
    secrets = {"secret": data.secret.get_secret_value()}
    if data.priv_secret is not None:
        secrets["priv_secret"] = data.priv_secret.get_secret_value()
    return vault.encrypt(json.dumps(secrets).encode())


def _public(data: CredentialIn) -> dict[str, Any]:
    """What the audit log may record: no secret, only that one was set."""
    return {
        "kind": data.kind,
        "username": data.username,
        "params": data.params.model_dump(exclude_none=True),
        "secret": "set",
    }


def add_credential(db: Session, actor: Actor, vault: Vault, data: CredentialIn) -> CredentialOut:
    require(actor, Role.admin, "add credentials")
    if db.scalar(select(Credential.id).where(Credential.name == data.name)) is not None:
        raise AlreadyExists(f"credential {data.name!r} already exists")
    row = Credential(
        name=data.name,
        kind=data.kind,
        username=data.username,
        params=data.params.model_dump(exclude_none=True),
        secret=_sealed(vault, data),
    )
    db.add(row)
    db.flush()
    audit.record(
        db, actor, "credential.create", "credential", data.name, {k: [None, v] for k, v in _public(data).items()}
    )
    return credential_out(row)


def upsert_credential(db: Session, actor: Actor, vault: Vault, data: CredentialIn) -> CredentialOut:
    """Add the credential, or replace an existing one of that name (the audit log says which)."""
    require(actor, Role.admin, "change credentials")
    row = db.scalar(select(Credential).where(Credential.name == data.name))
    if row is None:
        return add_credential(db, actor, vault, data)
    before = {"kind": row.kind, "username": row.username, "params": row.params}
    row.kind = data.kind
    row.username = data.username
    row.params = data.params.model_dump(exclude_none=True)
    row.secret = _sealed(vault, data)
    db.flush()
    after = _public(data)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    changes["secret"] = ["set", "replaced"]
    audit.record(db, actor, "credential.update", "credential", data.name, changes)
    return credential_out(row)


def remove_credential(db: Session, actor: Actor, name: str) -> None:
    require(actor, Role.admin, "remove credentials")
    row = _get(db, name)
    db.delete(row)
    db.flush()
    audit.record(db, actor, "credential.delete", "credential", name, {"kind": [row.kind, None]})


def show_credential(db: Session, actor: Actor, name: str) -> CredentialOut:
    require(actor, Role.viewer, "read credentials")
    return credential_out(_get(db, name))


def list_credentials(
    db: Session, actor: Actor, kind: str | None = None, limit: int = 1000, offset: int = 0
) -> Page[CredentialOut]:
    require(actor, Role.viewer, "list credentials")
    q = select(Credential).order_by(Credential.name)
    if kind:
        q = q.where(Credential.kind == kind)
    rows = list(db.scalars(q))
    return Page(items=[credential_out(r) for r in rows[offset : offset + limit]], total=len(rows))


def reveal_credential(db: Session, actor: Actor, vault: Vault, name: str) -> CredentialSecret:
    """The decrypted credential, for a transport about to log in (operators and admins only)."""
    require(actor, Role.operator, "use credentials")
    row = _get(db, name)
    try:
        secrets = json.loads(vault.decrypt(row.secret))
    except (SecretError, ValueError) as exc:
        raise SecretError(
            f"credential {name!r} cannot be decrypted: the secret key differs from the one it was stored with"
        ) from exc
    priv = secrets.get("priv_secret")
    return CredentialSecret(
        name=row.name,
        kind=row.kind,
        username=row.username,
        secret=SecretStr(secrets["secret"]),
        priv_secret=SecretStr(priv) if priv is not None else None,
        params=CredentialParams.model_validate(row.params or {}),
    )
