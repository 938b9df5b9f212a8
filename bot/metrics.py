"""Counters of things that went wrong and that an operator must see (shown in ``GET /health``).

Per process, since start: a rising counter says "look at the ERROR lines of the log". Nothing here
holds personal data, only counts by name.
"""

from __future__ import annotations

import threading
from collections import Counter

# Complaints the store refused at filing (bot/actions/complaint.py); the citizen was asked to retry.
FILING_FAILURES = "filing_failures"

_lock = threading.Lock()
_counts: Counter[str] = Counter()


def increment(name: str, by: int = 1) -> None:
    with _lock:
        _counts[name] += by


def snapshot() -> dict[str, int]:
    """Every counter so far, by name (sorted, so the health answer reads the same each time)."""
    with _lock:
        return dict(sorted(_counts.items()))


def reset() -> None:
    """Tests only: start from zero."""
    with _lock:
        _counts.clear()
