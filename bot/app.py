"""The app's ASGI server: simulator, REST API, Rasa's action endpoint, health. One process.

Run it with ``aduan run`` (the whole stack) or ``uvicorn bot.app:create_app --factory``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionMissingDomainException, ActionNotFoundException
from sqlalchemy import text

from bot import api, category_model, services
from bot.config import Settings, get_settings
from bot.conversation import EngineUnavailable, RasaClient
from bot.gateway import Gateway
from channels import media
from channels.providers import build_adapters, webhook_routers
from storage.db import make_engine

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    services.configure(engine)
    media.configure(settings.public_base_url, settings.media_link_secret)
    executor = ActionExecutor()
    executor.register_package("bot.actions")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        rasa = RasaClient(settings.rasa_url, settings.rasa_token, settings.rasa_timeout_seconds)
        gateway = Gateway(engine, rasa, build_adapters(settings), max_attempts=settings.send_max_attempts)
        app.state.gateway = gateway
        for channel, state in settings.channel_status().items():
            logger.info("channel %-9s %s", channel, state)
        await asyncio.to_thread(category_model.model)  # fit the category classifier before the first citizen
        await gateway.start(telegram_polling=settings.telegram_polling)
        try:
            yield
        finally:
            await gateway.stop()
            engine.dispose()

    app = FastAPI(
        title="Aduan",
        summary="Public-service complaint intake over SMS, WhatsApp and Telegram",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.include_router(api.router)
    for router in webhook_routers(settings):
        app.include_router(router)

    @app.get("/health", tags=["operations"])
    async def health(request: Request) -> dict[str, Any]:
        """Always 200; says whether the store and the Rasa engine answer, and which channels are on."""
        store = "ok"
        try:
            await asyncio.to_thread(_ping_store, engine)
        except Exception as exc:
            store = f"error: {type(exc).__name__}"
        try:
            status = await request.app.state.gateway.rasa.status()
            rasa = {"state": "ok", "model": status.get("model_file")}
        except EngineUnavailable as exc:
            rasa = {"state": f"unreachable: {exc}"}
        return {"store": store, "rasa": rasa, "channels": settings.channel_status()}

    @app.post("/webhook", include_in_schema=False)
    async def action_webhook(request: Request, token: str = "") -> JSONResponse:
        """Rasa's action server protocol, served by rasa-sdk's executor in this process."""
        if settings.actions_token and not hmac.compare_digest(token, settings.actions_token):
            raise HTTPException(403, "bad action token")
        action_call = await request.json()
        try:
            result = await executor.run(action_call)
        except ActionExecutionRejection as exc:
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=400)
        except ActionNotFoundException as exc:
            logger.error("unknown action %s", exc.action_name)
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=404)
        except ActionMissingDomainException as exc:
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=449)
        return JSONResponse(result.model_dump() if result else None)

    return app


def _ping_store(engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
