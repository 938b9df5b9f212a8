"""One holder at a time of a named job across app instances: PostgreSQL session advisory locks.

``try_hold`` takes the lock on a connection of its own and keeps that connection open while the
job runs: the lock is released with ``release`` or, if the instance dies or loses its connection,
by PostgreSQL itself. On SQLite (one app instance only; several need PostgreSQL) the lock is
always granted.
"""

from __future__ import annotations

import zlib

from sqlalchemy import Connection, Engine, text


def lock_key(name: str) -> int:
    """A stable 32-bit key for a job's name (advisory locks are numbered)."""
    return zlib.crc32(name.encode())


class HeldLock:
    """A lock held on its own connection (None on SQLite, where no other instance can run)."""

    def __init__(self, name: str, connection: Connection | None) -> None:
        self.name, self._connection = name, connection

    def still_held(self) -> bool:
        """Whether the connection that holds the lock is still alive (a lost one lost the lock)."""
        if self._connection is None:
            return True
        try:
            self._connection.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure of the connection means the lock is gone
            return False

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(self.name)})
        except Exception:  # noqa: BLE001 - closing the connection releases it all the same
            pass
        finally:
            self._connection.close()
            self._connection = None


def try_hold(engine: Engine, name: str) -> HeldLock | None:
    """The lock of job ``name`` if no other instance holds it, else None. Blocking: call it off the loop."""
    if engine.dialect.name != "postgresql":
        return HeldLock(name, None)
    connection = engine.connect()
    try:
        # autocommit: the session lock outlives transactions, and no transaction stays open meanwhile
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        granted = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(name)}).scalar()
    except Exception:
        connection.close()
        raise
    if not granted:
        connection.close()
        return None
    return HeldLock(name, connection)
