"""Each Open311 key's rate (OPEN311_KEY_RATE, e.g. 60/minute): a fixed window counted in the store.

Every request made with a key (a post or a read) is counted before it is handled
(storage/open311_limits.py keeps the count in the key's row, so every app instance counts against
the same number). Over the limit the
answer is 429 with ``Retry-After`` (seconds to the next window) and the spec's error body; a
refused request is not counted (its transaction is rolled back), so a client that keeps trying
gets through as soon as the window turns.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.open311.formats import Open311Error
from storage import open311_limits

_PERIOD_NAMES = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}


class RateLimited(Open311Error):
    """429: the key sent its share of this window; ``retry_after`` seconds until the next one."""

    def __init__(self, limit: int, period: int, retry_after: int) -> None:
        per = _PERIOD_NAMES.get(period, f"{period} seconds")
        super().__init__(
            429, f"this api_key may send {limit} requests per {per}: try again in {retry_after} s", retry_after
        )


def count(session: Session, key_id: int, limit: int, period: int, now: datetime) -> None:
    """Count one request of the key; raises RateLimited when it is over ``limit`` in this window."""
    moment = int(now.timestamp())
    start = moment - moment % period
    if open311_limits.count_request(session, key_id, start) > limit:
        raise RateLimited(limit, period, max(1, start + period - moment))
