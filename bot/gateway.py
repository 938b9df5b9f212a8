"""The gateway: wires channels, dialogue turns and the dispatcher, and runs their background loops."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import Engine
from sqlmodel import col, select

from bot.conversation import Conversations, RasaClient
from channels.dispatcher import Dispatcher
from channels.registry import AdapterRegistry
from storage import repository
from storage.db import session_scope
from storage.models import Direction, Message, MessageStatus

logger = logging.getLogger(__name__)

RETRY_POLL_SECONDS = 2.0
_DELIVERED = (MessageStatus.sent.value, MessageStatus.delivered.value)


class Gateway:
    def __init__(self, engine: Engine, rasa: RasaClient, adapters: AdapterRegistry, *, max_attempts: int) -> None:
        self.engine = engine
        self.rasa = rasa
        self.adapters = adapters
        self.dispatcher = Dispatcher(engine, adapters, max_attempts=max_attempts)
        self.conversations = Conversations(engine, rasa, on_queued=self.dispatcher.wake)
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.dispatcher.run_forever(), name="dispatcher"),
            asyncio.create_task(self._retry_turns_forever(), name="turn-retries"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.rasa.aclose()

    async def _retry_turns_forever(self) -> None:
        while True:
            try:
                await self.conversations.retry_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("retrying pending turns failed")
            await asyncio.sleep(RETRY_POLL_SECONDS)

    async def delivered_texts(self, message_ids: list[int]) -> list[str]:
        """The texts of these outbound messages that reached the provider, in order."""
        if not message_ids:
            return []

        def load() -> list[str]:
            with session_scope(self.engine) as session:
                rows = session.exec(
                    select(Message)
                    .where(col(Message.id).in_(message_ids), col(Message.status).in_(_DELIVERED))
                    .order_by(col(Message.id))
                ).all()
                return [m.text for m in rows]

        return await asyncio.to_thread(load)

    async def delivered_to(self, urn: str) -> list[Message]:
        def load() -> list[Message]:
            with session_scope(self.engine) as session:
                messages = repository.messages_for_urn(session, urn, Direction.outbound)
                return [m for m in messages if m.status in _DELIVERED]

        return await asyncio.to_thread(load)
