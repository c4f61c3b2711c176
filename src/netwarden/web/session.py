"""Console sessions: log in with a password (or an API token), resolve a cookie, log out.

The cookie carries a random 32-byte key; the store keeps only its SHA-256, so a
copy of the database cannot be replayed as a login. Each session has its own
CSRF token, sent back by the console on every unsafe request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from netwarden import log
from netwarden.access import audit
from netwarden.access import service as access
from netwarden.access.models import User, WebSession
from netwarden.access.schemas import Actor, Role
from netwarden.errors import AuthenticationFailed, InvalidInput
from netwarden.store.base import utcnow

_log = log.get("web.session")

# API tokens always start like this (see access.service); a password field that does is a token.
TOKEN_PREFIX = "nw_"


@dataclass(frozen=True)
class WebLogin:
    """A new session: ``key`` goes into the cookie and is never stored."""

    key: str
    csrf: str
    actor: Actor
    expires_at: dt.datetime


@dataclass(frozen=True)
class SessionInfo:
    """What a valid session cookie stands for."""

    actor: Actor
    csrf: str
    expires_at: dt.datetime


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_credentials(db: Session, name: str, secret: str, address: str) -> Actor:
    """The actor for a user name plus a password or an API token of that same user.

    Raises:
        AuthenticationFailed: wrong name, password or token (one message for all, so
            the form does not tell which user names exist).
    """
    failed = AuthenticationFailed("wrong user name or password")
    name = name.strip()
    if not name or not secret:
        raise failed
    if secret.startswith(TOKEN_PREFIX):
        try:
            actor = access.authenticate(db, secret.strip(), address=address)
        except AuthenticationFailed:
            raise failed from None
        if actor.name != name:
            raise failed
        return actor
    return access.check_password(db, name, secret, address=address)


def login(db: Session, name: str, secret: str, address: str, ttl_hours: int) -> WebLogin:
    """Check the credentials and open a session that lasts ``ttl_hours``.

    Raises:
        AuthenticationFailed: the credentials are wrong (nothing is written).
        InvalidInput: ``ttl_hours`` is not positive.
    """
    if ttl_hours < 1:
        raise InvalidInput("session_ttl_hours must be at least 1")
    try:
        actor = check_credentials(db, name, secret, address)
    except AuthenticationFailed:
        log.event(_log, "console login failed", user=name[:64], address=address)
        raise
    user_id = db.scalar(select(User.id).where(User.name == actor.name))
    if user_id is None:  # the user was removed between the check and now
        raise AuthenticationFailed("wrong user name or password")
    now = utcnow()
    # Expired sessions are dropped here, at a rate bounded by logins, instead of by a sweeper job.
    db.execute(delete(WebSession).where(WebSession.expires_at <= now))
    key = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + dt.timedelta(hours=ttl_hours)
    db.add(WebSession(key_hash=_digest(key), csrf=csrf, user_id=user_id, created_at=now, expires_at=expires))
    audit.record(db, actor, "session.login", "user", actor.name, {"expires_at": [None, expires]})
    log.event(_log, "console login", user=actor.name, address=address)
    return WebLogin(key=key, csrf=csrf, actor=actor, expires_at=expires)


def resolve(db: Session, key: str, address: str) -> SessionInfo | None:
    """The session behind a cookie value, or None when unknown, expired or its user is disabled."""
    if not key or len(key) > 128:
        return None
    row = db.scalar(select(WebSession).where(WebSession.key_hash == _digest(key)))
    if row is None or row.expires_at <= utcnow() or row.user.disabled:
        return None
    actor = Actor(name=row.user.name, role=Role(row.user.role), address=address)
    return SessionInfo(actor=actor, csrf=row.csrf, expires_at=row.expires_at)


def logout(db: Session, key: str, address: str) -> bool:
    """End the session behind a cookie value; False if there was none."""
    if not key or len(key) > 128:
        return False
    row = db.scalar(select(WebSession).where(WebSession.key_hash == _digest(key)))
    if row is None:
        return False
    actor = Actor(name=row.user.name, role=Role(row.user.role), address=address)
    db.delete(row)
    audit.record(db, actor, "session.logout", "user", actor.name)
    return True


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token."""
    return bool(given) and secrets.compare_digest(expected.encode(), (given or "").encode())
