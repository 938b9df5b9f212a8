"""The app's ASGI server: simulator, REST API, Rasa's action endpoint, health. One process.

Run it with ``aduan run`` (the whole stack) or ``uvicorn bot.app:create_app --factory`` (which
needs ``ACTIONS_TOKEN`` and ``RASA_TOKEN`` in the environment: the app refuses to start without the
secret that guards its action endpoint).
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)
from sqlalchemy import text

from bot import api, http_errors, metrics, open311, public_page, reading_pool, services, workdays
from bot.config import Settings, get_settings
from bot.gateway import Gateway
from bot.media_links import MediaLinks
from bot.media_links import router as media_router
from bot.rasa_client import RasaClient
from channels.providers import build_adapters, webhook_routers
from storage.db import BoundedSessions, SessionsBusy, make_engine

logger = logging.getLogger(__name__)

ACTION_THREADS = 16  # action calls run at once (Rasa servers call several concurrently)

# Shorter secrets than this are guessable: a forged action call can file or close any citizen's complaint.
MIN_ACTIONS_TOKEN_LENGTH = 16

# A public read waits this long for a slot of its share (PUBLIC_READ_POOL_SIZE), then is told to retry.
PUBLIC_READ_WAIT_SECONDS = 2.0
# A store ping or a Rasa /status that takes longer than this makes the state an error.
HEALTH_CHECK_TIMEOUT_SECONDS = 5.0


class InsecureConfiguration(RuntimeError):
    """A setting that would expose citizens' data; the app refuses to start with it."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if len(settings.actions_token) < MIN_ACTIONS_TOKEN_LENGTH:
        raise InsecureConfiguration(
            f"ACTIONS_TOKEN must be set (at least {MIN_ACTIONS_TOKEN_LENGTH} characters): it guards the action "
            "endpoint, through which anyone could otherwise act as any citizen. `aduan run` makes one per run."
        )
    engine = make_engine(settings.database_url)
    # Public reads take a slot of their own share before a connection of the app's pool: a burst of
    # them never holds the connections the webhooks need (issue #26). Routes: bot/public_page.py,
    # the keyless reads of bot/open311/routes.py, through ``public_reads.session()``.
    public_reads = BoundedSessions(engine, settings.public_read_pool_size, PUBLIC_READ_WAIT_SECONDS)
    health_state = HealthState()
    executor = ActionExecutor()
    executor.register_package("bot.actions")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Built here and handed on: to the routes (app.state) and, for the actions rasa-sdk builds
        # itself, to the one process-wide access point (bot/services.py), cleared at shutdown.
        media_links = MediaLinks.configured(settings.public_base_url, settings.media_link_secret)
        app.state.media_links = media_links
        # Actions wait on the reading pool and the store, sometimes for seconds under load: on threads
        # of their own, so that they never hold the event loop's default threads, which every store
        # transaction of the app (webhooks, turn claims, the outbox's leases) needs at once.
        action_threads = app.state.action_threads = ThreadPoolExecutor(ACTION_THREADS, thread_name_prefix="action")
        services.install(services.Services(engine, media_links, settings.public_base_url))
        rasa = RasaClient(settings.rasa_urls, settings.rasa_token, settings.rasa_timeout_seconds)
        gateway = Gateway(engine, rasa, build_adapters(settings), max_attempts=settings.send_max_attempts)
        app.state.gateway = gateway
        for channel, state in settings.channel_status().items():
            logger.info("channel %-9s %s", channel, state)
        # The readers of free text (place index, category model) are built before the first citizen:
        # in worker processes (bot/reading_pool.py: off this interpreter's GIL), or here without them.
        pool = reading_pool.start(settings.reading_workers)
        if pool is not None:
            try:
                pids = await asyncio.to_thread(reading_pool.warm)
                logger.info("reading pool: %d worker process(es) ready", len(pids))
            except Exception:  # noqa: BLE001 - a pool that cannot start: read in this process instead
                logger.exception("the reading pool did not start: the readers run in the app's threads")
                await asyncio.to_thread(reading_pool.stop)
                pool = None
        if pool is None:
            await asyncio.to_thread(reading_pool.warm_readers)
        # Imports that would otherwise happen during the first turns, compiling modules with the GIL
        # held (the longest stalls left after the readers moved out: 60-140 ms): every country's
        # holidays at the first filing, anyio's asyncio backend at the first request to Rasa.
        await asyncio.to_thread(workdays.warm)
        anyio.Event()
        # What start-up built (modules, the readers' tables) lives as long as the app: out of the
        # collector's sight, so that a full collection walks only what turns create. Walking it all
        # took 0.3-0.9 s under load, with the GIL held: the event loop's longest stalls.
        gc.collect()
        gc.freeze()
        await gateway.start(telegram_polling=settings.telegram_polling)
        health_state.first_refresh = asyncio.Event()  # this start's loop (an app may be started again)
        refresher = asyncio.create_task(health_state.run(engine, rasa, settings.health_refresh_seconds))
        try:
            await health_state.first_refresh.wait()  # known before the first probe; then every few seconds
            yield
        finally:
            refresher.cancel()
            await asyncio.gather(refresher, return_exceptions=True)
            await gateway.stop()
            if pool is not None:
                await asyncio.to_thread(reading_pool.stop)
            services.clear()
            action_threads.shutdown(wait=False, cancel_futures=True)
            engine.dispose()

    app = FastAPI(
        title="Aduan",
        summary="Public-service complaint intake over SMS, WhatsApp and Telegram",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.public_reads = public_reads
    app.state.settings = settings
    app.state.health = health_state
    http_errors.install(app)  # a 422 that echoes a lone surrogate must not become a 500
    app.add_exception_handler(SessionsBusy, _public_reads_busy)  # the public reads' share is full: 503, retry
    app.include_router(api.router)
    for router in webhook_routers(settings):
        app.include_router(router)
    app.include_router(media_router)  # GET /media/{id}: officers open a citizen's files
    app.include_router(public_page.router)  # GET /t/{ticket}: a complaint's public page
    app.include_router(open311.router)  # /open311/v2: GeoReport v2 for other systems

    def _engine_state(request: Request) -> dict[str, Any]:
        state = dict(health_state.rasa)
        supervisor = getattr(request.app.state, "engine_supervisor", None)
        if supervisor is not None:  # set by `aduan run`, which starts and restarts the engine
            state["process"] = supervisor.describe()  # in this process: no I/O
        return state

    # Both answer from the state the background refresh keeps (HealthState): a hit asks neither the
    # store nor the Rasa servers, so a flood of hits costs nothing but the answer. /health too: behind
    # a cloud load balancer every client looks private, and a minute-old state is not what operators
    # read it for (the process state and the counters are live).
    @app.get("/health", tags=["operations"])
    async def health(request: Request) -> dict[str, Any]:
        """Always 200: the state of the store, the Rasa engine and each channel, and failure counters."""
        return {
            "store": health_state.current_store(settings.health_refresh_seconds),
            "rasa": _engine_state(request),
            "channels": settings.channel_status(),
            "counters": metrics.snapshot(),
            "checked_seconds_ago": health_state.age(),
        }

    @app.get("/health/ready", tags=["operations"])
    async def ready(request: Request) -> JSONResponse:
        """For load balancers: 200 while the store answers, 503 when it does not.

        Not the engine: an instance that can store a message can take it in, and answers it once an
        engine is back (the turn is retried). Taking every instance out of the load balancer while
        the engines restart would refuse the webhooks, and Twilio does not send a refused one again.
        """
        store = health_state.current_store(settings.health_refresh_seconds)
        is_ready = store == "ok"
        return JSONResponse(
            {"ready": is_ready, "store": store, "rasa": health_state.rasa["state"]}, status_code=200 if is_ready else 503
        )

    @app.post("/webhook", include_in_schema=False)
    async def action_webhook(request: Request, token: str = "") -> JSONResponse:
        """Rasa's action server protocol, served by rasa-sdk's executor in this process."""
        if not hmac.compare_digest(token.encode(), settings.actions_token.encode()):
            raise HTTPException(403, "bad action token")
        action_call = await request.json()
        try:
            # Actions read free text and write the store: on a worker thread (with its own event
            # loop for the SDK's async actions), so one long complaint never stalls other citizens.
            result = await asyncio.get_running_loop().run_in_executor(
                request.app.state.action_threads, asyncio.run, executor.run(action_call)
            )
        except ActionExecutionRejection as exc:
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=400)
        except ActionNotFoundException as exc:
            logger.error("unknown action %s", exc.action_name)
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=404)
        except ActionMissingDomainException as exc:
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=449)
        return JSONResponse(result.model_dump() if result else None)

    return app


async def _public_reads_busy(request: Request, exc: SessionsBusy) -> JSONResponse:
    # Counted, not logged: a flood of public reads would be a flood of lines.
    metrics.increment("public_reads_turned_away")
    return JSONResponse({"detail": "busy, try again shortly"}, status_code=503, headers={"Retry-After": "1"})


class HealthState:
    """The store's and the Rasa servers' last answers, asked by one background task (``run``)."""

    def __init__(self) -> None:
        self.store = "starting"
        self.rasa: dict[str, Any] = {"state": "starting"}
        self.checked_at: float | None = None  # time.monotonic() of the last refresh
        self._ping: asyncio.Future | None = None
        self.first_refresh: asyncio.Event | None = None  # set once a start's first refresh is over

    def age(self) -> float | None:
        return None if self.checked_at is None else round(time.monotonic() - self.checked_at, 1)

    def current_store(self, interval: float) -> str:
        """The store's state; an error once the refresh has stopped (a stale "ok" must not stay ready)."""
        age = self.age()
        if age is not None and age > 3 * interval + 2 * HEALTH_CHECK_TIMEOUT_SECONDS:
            return f"error: not checked for {age:.0f} s"
        return self.store

    async def refresh(self, engine, rasa: RasaClient) -> None:
        self.store, self.rasa = await asyncio.gather(self._store_state(engine), _rasa_state(rasa))
        self.checked_at = time.monotonic()

    async def run(self, engine, rasa: RasaClient, interval: float) -> None:
        while True:
            try:
                await self.refresh(engine, rasa)
            except Exception:  # noqa: BLE001 - the loop must outlive any one failure
                logger.exception("health: the refresh failed")
            if self.first_refresh is not None:
                self.first_refresh.set()
            await asyncio.sleep(interval)

    async def _store_state(self, engine) -> str:
        # One ping at a time: a store that hangs keeps one worker thread, not one per refresh.
        if self._ping is None or self._ping.done():
            self._ping = asyncio.ensure_future(asyncio.to_thread(_ping_store, engine))
        try:
            await asyncio.wait_for(asyncio.shield(self._ping), HEALTH_CHECK_TIMEOUT_SECONDS)
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the type says which
            return f"error: {type(exc).__name__}"
        return "ok"


async def _rasa_state(rasa: RasaClient) -> dict[str, Any]:
    try:
        servers = await asyncio.wait_for(rasa.statuses(), HEALTH_CHECK_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        return {"state": "unreachable: TimeoutError"}
    up = [server for server in servers if server["state"] == "ok"]
    state: dict[str, Any] = (
        {"state": "ok", "model": up[0].get("model_file")}
        if up
        else {"state": "; ".join(server["state"] for server in servers)}  # "unreachable: ConnectError"
    )
    if len(servers) > 1:  # RASA_URLS: ready while one answers; each one's state
        state["servers"] = servers
    return state


def _ping_store(engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
