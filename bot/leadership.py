"""Background work that must run in ONE app instance at a time (Telegram's getUpdates polling).

Every instance runs ``run_as_leader``; the one that takes the job's advisory lock
(storage/advisory_locks.py) runs the job, the others try again every ``retry_seconds``. The
leader checks its lock's connection as often: a lost connection means a lost lock (another
instance may take it), so the job is cancelled and the instance contends again. The lock's
connection has TCP keepalives on both ends (storage/advisory_locks.py): a holder cut off silently
notices within ~20 s, before the server frees the lock (~30 s) for the next one. Work that any
number of instances may do at once (the deadline clock, dispatch, retries) does not need this.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import Engine

from storage import advisory_locks

logger = logging.getLogger(__name__)

RETRY_SECONDS = 10.0


async def run_as_leader(
    engine: Engine, name: str, job: Callable[[], Awaitable[None]], *, retry_seconds: float = RETRY_SECONDS
) -> None:
    """Run ``job`` whenever this instance holds the lock named ``name``; until cancelled."""
    while True:
        try:
            held = await asyncio.to_thread(advisory_locks.try_hold, engine, name)
        except Exception:  # noqa: BLE001 - the store is down, say: try again later
            logger.exception("could not contend for %s", name)
            held = None
        if held is None:
            await asyncio.sleep(retry_seconds)
            continue
        logger.info("this instance runs %s", name)
        running = asyncio.create_task(job(), name=name)
        try:
            while not running.done():
                await asyncio.wait({running}, timeout=retry_seconds)
                if not running.done() and not await asyncio.to_thread(held.still_held):
                    logger.warning("lost the lock of %s: stopping it here", name)
                    running.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await running
            if not running.cancelled() and running.exception() is not None:
                logger.error("%s ended with %r; contending again", name, running.exception())
        finally:
            if not running.done():
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
            await asyncio.to_thread(held.release)
        await asyncio.sleep(retry_seconds)
