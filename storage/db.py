"""Engines and sessions for the store: SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

T = TypeVar("T")


def make_engine(database_url: str, *, echo: bool = False) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(database_url, url.database, echo)
    return create_engine(database_url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


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


async def in_transaction(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run blocking store work in one transaction on a worker thread, off the event loop."""

    def run() -> T:
        with session_scope(engine) as session:
            return work(session)

    return await asyncio.to_thread(run)
