"""What the rules may know beyond the events: change windows and the inventory's devices.

The engine is pure: a caller (the detection service, a test) fills a :class:`DetectContext` from the
store (maintenance windows through the alerts service, MAC addresses and addresses through the
inventory service) or by hand.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["ChangeWindow", "DetectContext", "normalise_mac"]


@dataclass(frozen=True)
class ChangeWindow:
    """A maintenance window: ``scope`` device, site or subject, ``pattern`` a glob over that name."""

    id: int
    scope: str
    pattern: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str = ""

    def covers(self, device: str, site: str | None, when: dt.datetime) -> bool:
        if not self.starts_at <= when < self.ends_at:
            return False
        # A config change is about the device itself, so a "subject" window over its name covers it too.
        name = site if self.scope == "site" else device
        return bool(name) and fnmatch.fnmatchcase(name or "", self.pattern)


@dataclass
class DetectContext:
    """Knowledge the rules use.

    Attributes:
        windows: maintenance ("change") windows; a config change inside one is expected.
        site_of: device name -> site name (for site-scoped windows).
        known_macs: MAC addresses the inventory knows (normalised); None when no inventory was read.
        since: when observation began (the start of the queried period); rates need a baseline
            from before a window, so the first window after ``since`` is never a spike. None: the
            first event's time.
    """

    windows: list[ChangeWindow] = field(default_factory=list)
    site_of: Mapping[str, str] = field(default_factory=dict)
    known_macs: set[str] | None = None
    since: dt.datetime | None = None

    def change_window(self, device: str, when: dt.datetime) -> ChangeWindow | None:
        """The window that covers a change on ``device`` at ``when``, or None."""
        site = self.site_of.get(device)
        return next((w for w in self.windows if w.covers(device, site, when)), None)


def normalise_mac(mac: str) -> str:
    """``aa:bb:cc:dd:ee:ff`` from ``AA-BB-CC-DD-EE-FF``, ``aabb.ccdd.eeff`` or ``aabbccddeeff``; '' if not a MAC."""
    digits = "".join(c for c in mac.lower() if c in "0123456789abcdef")
    if len(digits) != 12 or len(mac) > 17:
        return ""
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
