"""Engines and sessions for the store: SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

import asyncio
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, event, exc
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

T = TypeVar("T")

# A pooled server connection is pinged before use only when it sat unused this long, or when the
# server has sent something on it while it was idle (see _server_connection_engine).
IDLE_PING_SECONDS = 30.0
# Server connections are replaced after an hour: a long-lived backend process only grows.
RECYCLE_SECONDS = 3600


DEFAULT_DATABASE_URL = "sqlite:///var/aduan.db"  # the embedded store of a local run


def make_engine(database_url: str, *, echo: bool = False) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(database_url, url.database, echo)
    return _server_engine(database_url, echo)


def _server_engine(database_url: str, echo: bool) -> Engine:
    """A pool of server (PostgreSQL) connections, each checked cheaply on checkout.

    ``pool_pre_ping`` would send a ``SELECT 1`` before every transaction: one more round trip on
    each store operation, most of which are a handful of round trips. What it guards against is
    a pooled connection that died while it sat idle:

    * the server restarted or ended the backend (``pg_terminate_backend``, ``idle_session_timeout``):
      the server then sends an error and closes the socket, so the socket turns readable. That is
      checked without a round trip (``poll`` with no timeout); a readable idle connection is pinged,
      and replaced, with every other pooled connection, if the ping fails (what the pre-ping did);
    * a connection dropped silently on the way (a NAT or firewall forgetting an idle flow): nothing
      arrives, so a connection unused for ``IDLE_PING_SECONDS`` is pinged anyway;
    * ``pool_recycle`` replaces connections older than an hour.

    What is left: a connection that dies silently within 30 s of its last use fails its next
    statement; SQLAlchemy then marks the whole pool stale, so one operation fails, as it would on
    an outage in the middle of a transaction with the pre-ping too.
    """
    engine = create_engine(
        database_url, echo=echo, pool_size=10, max_overflow=10, pool_recycle=RECYCLE_SECONDS
    )

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection, record) -> None:
        if dbapi_connection is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None:  # just connected
            return
        if time.monotonic() - idle_since < IDLE_PING_SECONDS and not _has_input(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001 - any failure: the connection is not usable
            # as the pre-ping does: this connection and every other pooled one are replaced
            raise exc.InvalidatePoolError(f"pooled connection failed its ping: {error}") from error

    return engine


def _has_input(dbapi_connection) -> bool:
    """Whether the server sent anything on this idle connection (an error, a close); True if unsure."""
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    except Exception:  # noqa: BLE001 - no poll() on this platform, a closed connection: ping
        return True


def _sqlite_engine(database_url: str, path: str | None, echo: bool) -> Engine:
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        database_url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY
        # when another writer got in between; taking the write lock up front makes
        # concurrent writers wait their turn (busy_timeout) instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class SessionsBusy(Exception):
    """Every slot of a ``BoundedSessions`` stayed taken for its whole wait."""


class BoundedSessions:
    """At most ``size`` transactions at once on ``engine``, for one kind of caller (public reads).

    The slot is taken before a connection is, so these callers never hold more than ``size`` of
    the engine's pooled connections however many of them arrive; one that waits ``wait_seconds``
    for a slot gets ``SessionsBusy`` instead of a queue place. For blocking (worker-thread) code.
    """

    def __init__(self, engine: Engine, size: int, wait_seconds: float) -> None:
        if size < 1:
            raise ValueError("a share needs at least one slot")
        self.engine, self.size, self.wait_seconds = engine, size, wait_seconds
        self._slots = threading.BoundedSemaphore(size)

    @contextmanager
    def session(self) -> Iterator[Session]:
        if not self._slots.acquire(timeout=self.wait_seconds):
            raise SessionsBusy(f"all {self.size} slots stayed busy for {self.wait_seconds:g} s")
        try:
            with session_scope(self.engine) as session:
                yield session
        finally:
            self._slots.release()


async def in_transaction(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run blocking store work in one transaction on a worker thread, off the event loop."""

    def run() -> T:
        with session_scope(engine) as session:
            return work(session)

    return await asyncio.to_thread(run)
