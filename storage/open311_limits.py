"""How many requests an Open311 key sent in the current fixed window (OPEN311_KEY_RATE).

The count lives in the key's own row, so every app instance counts against the same number; one
UPDATE both starts a new window and counts in the current one, atomically (PostgreSQL's row lock,
SQLite's write lock). Windows are cut from the caller's clock: instances whose clocks differ by a
second may disagree on a window's edge by that second, which a per-minute limit can live with.

Plain functions taking a session; callers own the transaction (``storage.db.session_scope``).
"""

from __future__ import annotations

from sqlalchemy import case, update
from sqlmodel import Session, col

from storage.models import Open311Key


def count_request(session: Session, key_id: int, window_start: int) -> int:
    """Count one request of the key in the window starting at ``window_start`` (seconds since
    1970); returns the requests counted in that window, this one included."""
    counted = session.execute(
        update(Open311Key)
        .where(col(Open311Key.id) == key_id)
        .values(
            # both right-hand sides read the row as it was before this update
            rate_count=case(
                (col(Open311Key.rate_window_start) == window_start, col(Open311Key.rate_count) + 1), else_=1
            ),
            rate_window_start=window_start,
        )
        .returning(col(Open311Key.rate_count))
        .execution_options(synchronize_session=False)
    )
    return counted.scalar_one()
