"""Users, roles and API tokens.

Tokens look like ``nw_<key>_<secret>``: ``key`` finds the row, the whole token
is checked against an argon2 hash. A verified token is remembered (by its
SHA-256) for the process so that each API call does not pay for argon2; the row
is still read on every call, so revocation and expiry take effect at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from netwarden.access.models import ApiToken, User
from netwarden.access.schemas import Actor, Role, TokenOut, UserCreated, UserIn, UserOut
from netwarden.errors import AlreadyExists, AuthenticationFailed, InvalidInput, NotFound, PermissionDenied
from netwarden.store.base import utcnow

_hasher = PasswordHasher()
_verified: dict[str, int] = {}
_VERIFIED_MAX = 4096


def require(actor: Actor, needed: Role, what: str) -> None:
    """Raise PermissionDenied unless ``actor`` has at least the ``needed`` role."""
    if not actor.can(needed):
        raise PermissionDenied(f"{actor.name} ({actor.role.value}) may not {what}: needs role {needed.value}")


def _new_token() -> tuple[str, str]:
    key = secrets.token_hex(6)
    return key, f"nw_{key}_{secrets.token_urlsafe(32)}"


def _issue_token(db: Session, user: User, ttl_days: int | None, name: str = "default") -> tuple[str, ApiToken]:
    key, token = _new_token()
    expires = utcnow() + dt.timedelta(days=ttl_days) if ttl_days else None
    row = ApiToken(key=key, user=user, name=name, hash=_hasher.hash(token), expires_at=expires)
    db.add(row)
    return token, row


def create_user(db: Session, actor: Actor, data: UserIn) -> UserCreated:
    """Create a user and its first API token; the token is returned only here."""
    from netwarden.access import audit

    require(actor, Role.admin, "add users")
    if db.scalar(select(User.id).where(User.name == data.name)) is not None:
        raise AlreadyExists(f"user {data.name!r} already exists")
    user = User(name=data.name, role=data.role.value)
    db.add(user)
    token, row = _issue_token(db, user, data.token_ttl_days)
    db.flush()
    audit.record(db, actor, "user.create", "user", user.name, {"role": [None, user.role]})
    return UserCreated(name=user.name, role=data.role, token=token, expires_at=row.expires_at)


def bootstrap_admin(db: Session, name: str = "admin") -> UserCreated | None:
    """Create the first admin when the store has no user; None if users exist."""
    from netwarden.access.schemas import SYSTEM

    if db.scalar(select(func.count()).select_from(User)):
        return None
    return create_user(db, SYSTEM, UserIn(name=name, role=Role.admin))


def _get_user(db: Session, name: str) -> User:
    user = db.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"user {name!r} does not exist")
    return user


def list_users(db: Session, actor: Actor) -> list[UserOut]:
    require(actor, Role.viewer, "list users")
    out = []
    for u in db.scalars(select(User).order_by(User.name)):
        live = sum(1 for t in u.tokens if t.revoked_at is None)
        out.append(UserOut(name=u.name, role=Role(u.role), disabled=u.disabled, created_at=u.created_at, tokens=live))
    return out


def new_token(db: Session, actor: Actor, name: str, ttl_days: int | None = None, label: str = "default") -> UserCreated:
    """Issue another token for ``name`` (admins, or the user for itself)."""
    from netwarden.access import audit

    if actor.name != name:
        require(actor, Role.admin, "issue tokens for other users")
    user = _get_user(db, name)
    token, row = _issue_token(db, user, ttl_days, label)
    db.flush()
    audit.record(db, actor, "token.create", "user", name, {"token": row.key})
    return UserCreated(name=user.name, role=Role(user.role), token=token, expires_at=row.expires_at)


def revoke(db: Session, actor: Actor, name: str, key: str | None = None) -> list[TokenOut]:
    """Revoke one token (by key) or all tokens of a user; returns the revoked tokens."""
    from netwarden.access import audit

    if actor.name != name:
        require(actor, Role.admin, "revoke other users' tokens")
    user = _get_user(db, name)
    now = utcnow()
    done = []
    for t in user.tokens:
        if t.revoked_at is None and (key is None or t.key == key):
            t.revoked_at = now
            done.append(t)
    if key is not None and not done:
        raise NotFound(f"user {name!r} has no live token {key!r}")
    db.flush()
    audit.record(db, actor, "token.revoke", "user", name, {"tokens": [t.key for t in done]})
    return [TokenOut.model_validate(t, from_attributes=True) for t in done]


def set_password(db: Session, actor: Actor, name: str, password: str) -> None:
    """Set the web-login password of a user."""
    from netwarden.access import audit

    if actor.name != name:
        require(actor, Role.admin, "set other users' passwords")
    if len(password) < 8:
        raise InvalidInput("password too short: use at least 8 characters")
    user = _get_user(db, name)
    user.password_hash = _hasher.hash(password)
    db.flush()
    audit.record(db, actor, "user.password", "user", name, {"password": "changed"})


def set_disabled(db: Session, actor: Actor, name: str, disabled: bool) -> UserOut:
    from netwarden.access import audit

    require(actor, Role.admin, "disable users")
    user = _get_user(db, name)
    before = user.disabled
    user.disabled = disabled
    db.flush()
    audit.record(db, actor, "user.update", "user", name, {"disabled": [before, disabled]})
    return UserOut(name=user.name, role=Role(user.role), disabled=user.disabled, created_at=user.created_at)


def check_password(db: Session, name: str, password: str, address: str = "web") -> Actor:
    """Verify a web login; the same message for unknown user and wrong password."""
    user = db.scalar(select(User).where(User.name == name))
    failed = AuthenticationFailed("wrong user name or password")
    if user is None or user.disabled or not user.password_hash:
        raise failed
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise failed from None
    return Actor(name=user.name, role=Role(user.role), address=address)


def authenticate(db: Session, token: str, address: str = "api") -> Actor:
    """The actor a bearer token stands for; AuthenticationFailed if wrong, revoked or expired."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "nw":
        raise AuthenticationFailed("malformed API token: expected nw_<key>_<secret>")
    row = db.scalar(select(ApiToken).where(ApiToken.key == parts[1]))
    if row is None:
        raise AuthenticationFailed("unknown API token")
    if row.revoked_at is not None:
        raise AuthenticationFailed("API token was revoked; ask an admin for a new one")
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise AuthenticationFailed("API token expired; ask an admin for a new one")
    if row.user.disabled:
        raise AuthenticationFailed(f"user {row.user.name!r} is disabled")
    digest = hashlib.sha256(token.encode()).hexdigest()
    if _verified.get(digest) != row.id:
        try:
            _hasher.verify(row.hash, token)
        except (VerificationError, InvalidHashError):
            raise AuthenticationFailed("wrong API token") from None
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[digest] = row.id
    return Actor(name=row.user.name, role=Role(row.user.role), address=address)
