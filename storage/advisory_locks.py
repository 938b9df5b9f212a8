"""One holder at a time of a named job across app instances: PostgreSQL session advisory locks.

``try_hold`` takes the lock on a connection of its own and keeps that connection open while the
job runs: the lock is released with ``release`` or, if the instance dies or loses its connection,
by PostgreSQL itself. On SQLite (one app instance only; several need PostgreSQL) the lock is
always granted.

That connection is not one of the pool's: it is opened with TCP keepalives and a user timeout on
both ends, so a holder that vanished without closing it (power cut, a partition) loses the lock in
about half a minute, not after the kernel's defaults (hours of silence, then ~15 min of retries).
"""

from __future__ import annotations

import zlib

from typing import Any

from sqlalchemy import Engine


def lock_key(name: str) -> int:
    """A stable 32-bit key for a job's name (advisory locks are numbered)."""
    return zlib.crc32(name.encode())


# The holder's end (libpq): an idle path is probed after 5 s, dead after 3 probes 2 s apart; a
# statement unanswered for 10 s fails. The holder checks its lock every 10 s (bot/leadership.py),
# so it notices a dead path within ~20 s and stops the job...
HOLDER_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # ms
}
# ... before the server's end drops the dead holder's session, and the lock, after ~30 s of
# silence: then the next instance takes it. Set per session; ignored on a Unix-domain socket.
SERVER_KEEPALIVES = {
    "tcp_keepalives_idle": 10,
    "tcp_keepalives_interval": 5,
    "tcp_keepalives_count": 4,
    "tcp_user_timeout": 30_000,  # ms
}


class HeldLock:
    """A lock held on its own driver connection (None on SQLite, where no other instance can run)."""

    def __init__(self, name: str, connection: Any | None) -> None:
        self.name, self._connection = name, connection

    def still_held(self) -> bool:
        """Whether the connection that holds the lock is still alive (a lost one lost the lock)."""
        if self._connection is None:
            return True
        try:
            with self._connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - any failure of the connection means the lock is gone
            return False

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            with self._connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", (lock_key(self.name),))
        except Exception:  # noqa: BLE001 - closing the connection releases it all the same
            pass
        finally:
            self._connection.close()
            self._connection = None


def try_hold(engine: Engine, name: str) -> HeldLock | None:
    """The lock of job ``name`` if no other instance holds it, else None. Blocking: call it off the loop."""
    if engine.dialect.name != "postgresql":
        return HeldLock(name, None)
    connection = _lock_connection(engine)
    try:
        with connection.cursor() as cursor:
            for setting, value in SERVER_KEEPALIVES.items():
                cursor.execute(f"SET {setting} = {int(value)}")
            cursor.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(name),))
            granted = cursor.fetchone()[0]
    except Exception:
        connection.close()
        raise
    if not granted:
        connection.close()
        return None
    return HeldLock(name, connection)


def _lock_connection(engine: Engine):
    """A new driver connection to the engine's database, outside its pool, with the holder's keepalives."""
    args, params = engine.dialect.create_connect_args(engine.url)
    connection = engine.dialect.connect(*args, **{**params, **HOLDER_KEEPALIVES})
    # autocommit: the session lock outlives transactions, and no transaction stays open meanwhile
    connection.autocommit = True
    return connection
