"""Version strings compared the way vendors write them: ``8.4.4``, ``9.2p1``, ``15.2(4)M3``, ``21.4R3-S5``.

A version is split into runs of digits and runs of letters (everything else separates them);
digits compare as numbers, letters as lower-case text. When one version is a prefix of the other,
the longer one is newer (``9.2`` < ``9.2p1``), except when the next run is a pre-release marker
(``1.0rc1`` < ``1.0``). Neither PEP 440 nor semver reads ``9.2p1`` or ``15.2(4)M3``; this order
agrees with how NVD ranges are written for OpenSSH, FRR, nginx, Cisco IOS and Junos.
"""

from __future__ import annotations

import re
from functools import total_ordering

__all__ = ["Version", "compare", "in_range"]

_RUN = re.compile(r"\d+|[A-Za-z]+")
_PRE_RELEASE = frozenset({"a", "alpha", "b", "beta", "rc", "pre", "preview", "dev", "snapshot"})


@total_ordering
class Version:
    """A comparable version; ``Version("9.2p1") < Version("9.3")``."""

    __slots__ = ("parts", "text")

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        self.parts: tuple[int | str, ...] = tuple(
            int(run) if run.isdigit() else run.lower() for run in _RUN.findall(self.text)
        )

    def __repr__(self) -> str:
        return f"Version({self.text!r})"

    def __bool__(self) -> bool:
        return bool(self.parts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and compare(self, other) == 0

    def __hash__(self) -> int:
        return hash(self.parts)

    def __lt__(self, other: Version) -> bool:
        return compare(self, other) < 0


def _cmp_part(a: int | str, b: int | str) -> int:
    if isinstance(a, int) and isinstance(b, int):
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    # A number against letters: a number is the later release (9.2.1 > 9.2p1 is rare; 1.0.1 > 1.0rc1 is not).
    return 1 if isinstance(a, int) else -1


def compare(a: Version | str, b: Version | str) -> int:
    """-1, 0 or 1 as ``a`` is older than, equal to or newer than ``b``."""
    left = a if isinstance(a, Version) else Version(a)
    right = b if isinstance(b, Version) else Version(b)
    for x, y in zip(left.parts, right.parts, strict=False):
        result = _cmp_part(x, y)
        if result:
            return result
    n, m = len(left.parts), len(right.parts)
    if n == m:
        return 0
    longer, sign = (left.parts, 1) if n > m else (right.parts, -1)
    extra = longer[min(n, m)]
    if isinstance(extra, str) and extra in _PRE_RELEASE:
        return -sign
    return sign


def in_range(
    version: Version | str,
    *,
    start_including: str | None = None,
    start_excluding: str | None = None,
    end_including: str | None = None,
    end_excluding: str | None = None,
) -> bool:
    """Whether ``version`` lies inside the range NVD's four bounds describe (absent bounds are open)."""
    v = version if isinstance(version, Version) else Version(version)
    if start_including is not None and compare(v, start_including) < 0:
        return False
    if start_excluding is not None and compare(v, start_excluding) <= 0:
        return False
    if end_including is not None and compare(v, end_including) > 0:
        return False
    return not (end_excluding is not None and compare(v, end_excluding) >= 0)
