"""The store: SQLAlchemy 2 models, sessions, Alembic migrations."""

from netwarden.store.base import Base, get_engine, session_scope, utcnow

__all__ = ["Base", "get_engine", "session_scope", "utcnow"]
