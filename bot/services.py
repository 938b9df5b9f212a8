"""Process-wide services the custom actions and routes share (set up once by the app)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from storage import db

T = TypeVar("T")

_engine: Engine | None = None


def configure(engine: Engine) -> None:
    global _engine
    _engine = engine


def engine() -> Engine:
    if _engine is None:
        raise RuntimeError("the store is not configured: call bot.services.configure(engine) first")
    return _engine


async def in_transaction(work: Callable[[Session], T]) -> T:
    """Run blocking store work in one transaction on a worker thread, off the event loop."""
    return await db.in_transaction(engine(), work)
