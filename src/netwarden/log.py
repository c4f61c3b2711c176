"""Structured key=value logging. Never pass secrets to these functions."""

from __future__ import annotations

import logging
from typing import Any

_CONFIGURED = False


class _KVFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "kv", {})
        parts = [
            f"time={self.formatTime(record, '%Y-%m-%dT%H:%M:%S')}",
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
            f"msg={record.getMessage()!r}",
        ]
        parts.extend(f"{k}={v!r}" if isinstance(v, str) and " " in v else f"{k}={v}" for k, v in fields.items())
        return " ".join(parts)


def setup(level: str = "info") -> None:
    """Configure the root netwarden logger once."""
    global _CONFIGURED
    if _CONFIGURED:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(_KVFormatter())
    root = logging.getLogger("netwarden")
    root.addHandler(handler)
    root.setLevel(level.upper())
    _CONFIGURED = True


def get(name: str) -> logging.Logger:
    return logging.getLogger(name if name.startswith("netwarden") else f"netwarden.{name}")


def event(logger: logging.Logger, msg: str, level: int = logging.INFO, **kv: Any) -> None:
    """Log ``msg`` with structured fields."""
    logger.log(level, msg, extra={"kv": kv})
