"""The gateway: wires channels, dialogue turns and the dispatcher, and runs their background loops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import datetime, timezone

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot import casework, metrics
from bot.conversation import Conversations
from bot.dispatcher import Dispatcher
from bot.leadership import run_as_leader
from bot.rasa_client import RasaClient
from channels.base import IncomingMessage
from channels.registry import AdapterRegistry
from storage import contacts as contact_store
from storage import messages as message_store
from storage import outbox as outbox_store
from storage.db import in_transaction
from storage.models import Direction, Message, MessageStatus

logger = logging.getLogger(__name__)

RETRY_POLL_SECONDS = 2.0
STOP_TIMEOUT_SECONDS = 10.0
CLOCK_SECONDS = 60.0  # deadlines are in days: a minute is on time
_DELIVERED = (MessageStatus.sent.value, MessageStatus.delivered.value, MessageStatus.accepted.value, MessageStatus.read.value)


class Gateway:
    def __init__(self, engine: Engine, rasa: RasaClient, adapters: AdapterRegistry, *, max_attempts: int) -> None:
        self.engine = engine
        self.rasa = rasa
        self.adapters = adapters
        self.dispatcher = Dispatcher(engine, adapters, max_attempts=max_attempts)
        self.conversations = Conversations(engine, rasa, on_queued=self.dispatcher.wake)
        self._tasks: list[asyncio.Task] = []
        self._turns: set[asyncio.Task] = set()

    def provider(self, name: str):
        """The adapter of a provider, or None when that channel is off."""
        return self.adapters.get(name)

    async def start(self, *, telegram_polling: bool = False) -> None:
        self._tasks = [
            asyncio.create_task(self.dispatcher.run_forever(), name="dispatcher"),
            asyncio.create_task(self._retry_turns_forever(), name="turn-retries"),
            asyncio.create_task(self._clock_forever(), name="deadline-clock"),
        ]
        telegram_adapter = self.provider("telegram")
        if telegram_adapter is not None and telegram_polling:
            from channels.telegram import handle_update

            # getUpdates must have one caller (Telegram answers a second one 409 Conflict): with
            # several app instances on PostgreSQL, the one holding the job's advisory lock polls
            def poll() -> Awaitable[None]:
                return telegram_adapter.poll_forever(lambda data: handle_update(self, telegram_adapter, data))

            self._tasks.append(
                asyncio.create_task(run_as_leader(self.engine, "telegram-polling", poll), name="telegram-polling")
            )

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._turns]
        for task in tasks:
            task.cancel()
        if tasks:
            # bounded: a task that does not end when cancelled must not hold the shutdown (and the
            # engine's stop after it) forever; what it was doing is still in the store
            _, stuck = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_SECONDS)
            for task in stuck:
                logger.error("task %s did not stop within %.0f s of its cancel", task.get_name(), STOP_TIMEOUT_SECONDS)
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    logger.error("task %s ended with %r", task.get_name(), task.exception())
        await self.rasa.aclose()
        for adapter in self.adapters:
            close = getattr(adapter, "aclose", None)
            if close is not None:
                await close()

    async def take_in(self, incoming: IncomingMessage) -> tuple[Message, bool]:
        """Store an inbound message and run its conversation in the background; returns (message, created).

        A provider's retry of a message already stored (created False) runs the conversation too
        while that message is still pending: the instance that stored it may have died before its
        turn ran. The conversation's claim keeps two instances from running it at once.
        """
        stored, created = await self.conversations.receive(incoming)
        if created or stored.status == MessageStatus.pending.value:
            self.process_later(stored.urn_id)
        return stored, created

    def process_later(self, urn_id: int) -> None:
        """Run a conversation's pending turns in the background (after a webhook was acknowledged).

        Should the process die first, the retry loop finds the message still pending; should the
        turn fail, it is logged and counted, and the retry loop takes it up.
        """
        task = asyncio.create_task(self._process(urn_id))
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)

    async def _process(self, urn_id: int) -> None:
        try:
            await self.conversations.process(urn_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - nobody awaits this task: say it here
            metrics.increment("turn_errors")
            logger.exception("the turns of conversation %s failed; the retry loop takes them up", urn_id)

    async def record_delivery(
        self, provider: str, external_id: str, status: str, error: str | None, *, message_id: int | None = None
    ):
        """A provider's delivery callback. One for a send never recorded (``message_id``: ours, from
        the callback's URL; its instance died between the provider's acceptance and the record)
        records that send, so that the instance taking the row over does not send it again."""

        def apply(session: Session):
            found = message_store.update_delivery_status(
                session, provider=provider, external_id=external_id, status=status, error=error
            )
            if found is None and message_id is not None:
                found = outbox_store.settle_unrecorded_send(
                    session, message_id, provider=provider, external_id=external_id, status=status
                )
                if found is not None:
                    metrics.increment("sends_recorded_from_callbacks")
                    logger.warning("message %s was sent by an instance that died before recording it: recorded now", message_id)
            return found

        return await in_transaction(self.engine, apply)

    async def mark_unreachable(self, urn: str) -> None:
        await in_transaction(self.engine, lambda s: contact_store.mark_urn_unreachable(s, urn))

    async def mark_reachable(self, urn: str) -> bool:
        """The address is back (a Telegram user unblocked the bot); True if it had been marked gone."""
        return await in_transaction(self.engine, lambda s: contact_store.mark_urn_reachable(s, urn))

    async def _retry_turns_forever(self) -> None:
        while True:
            try:
                await self.conversations.retry_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("retrying pending turns failed")
            await asyncio.sleep(RETRY_POLL_SECONDS)

    async def run_clock(self, now: datetime | None = None) -> casework.ClockReport:
        """Deadline reminders, breaches and silent "selesai" closed; what it queued is sent at once."""
        moment = now or datetime.now(timezone.utc)
        report = await in_transaction(self.engine, lambda s: casework.run_clock(s, moment))
        if report.reminders or report.breaches or report.closed:
            logger.info("deadline clock: %d reminders, %d breaches, %d closed", report.reminders, report.breaches, report.closed)
            self.dispatcher.wake()
        return report

    async def _clock_forever(self) -> None:
        while True:
            try:
                await self.run_clock()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("the deadline clock failed")
            await asyncio.sleep(CLOCK_SECONDS)

    async def delivered_texts(self, message_ids: list[int]) -> list[str]:
        """The texts of these outbound messages that reached the provider, in order."""
        if not message_ids:
            return []

        def load(session: Session) -> list[str]:
            rows = session.exec(
                select(Message)
                .where(col(Message.id).in_(message_ids), col(Message.status).in_(_DELIVERED))
                .order_by(col(Message.id))
            ).all()
            return [m.text for m in rows]

        return await in_transaction(self.engine, load)

    async def replies_to(self, inbound_id: int) -> list[int]:
        """The outgoing messages a turn produced for this inbound message."""

        return await in_transaction(
            self.engine,
            lambda s: list(s.exec(select(Message.id).where(Message.reply_to_id == inbound_id)).all()),
        )

    async def delivered_to(self, urn: str) -> list[Message]:
        def load(session: Session) -> list[Message]:
            messages = message_store.messages_for_urn(session, urn, Direction.outbound)
            return [m for m in messages if m.status in _DELIVERED]

        return await in_transaction(self.engine, load)
