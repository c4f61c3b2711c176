"""Where the recorded corpora of ../shared/data live (device output, logs, policies, pcaps).

The corpora ship beside the repository (``../shared/data`` from its root). A clone elsewhere finds
them through ``NETWARDEN_SHARED_DATA``, any ``shared/data`` above the checkout, or ``/work/shared/data``.
"""

from __future__ import annotations

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]


def shared_data() -> Path:
    """The ``shared/data`` directory; a path that does not exist when none is found."""
    env = os.environ.get("NETWARDEN_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [parent / "shared" / "data" for parent in _ROOT.parents]
    candidates.append(Path("/work/shared/data"))
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]
