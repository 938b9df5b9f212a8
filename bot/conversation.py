"""Dialogue turns: an inbound message goes to Rasa, the bot's answers go to the outbox.

Every inbound message is stored first (status ``pending``). Turns of one conversation run one
at a time, oldest first. When Rasa cannot be reached the message stays pending and is retried
with a growing delay, so nothing a citizen sent is lost; the citizen is told once that the
answer will come later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from bot import officer_desk, texts
from bot.language import detect, switch_request
from channels.base import IncomingMessage
from channels.formatting import render
from channels.urns import channel_of, provider_of, redact_urn
from storage import repository
from storage.db import in_transaction
from storage.models import ContactUrn, DialoguePush, Message, Officer

logger = logging.getLogger(__name__)

MAX_RETRY_DELAY = timedelta(minutes=5)

# Chat commands (Telegram's /start and friends) as Rasa intents; Rasa reads "/intent" without NLU.
COMMANDS = {"/start": "/greet", "/help": "/help", "/bantuan": "/help", "/batal": "/cancel", "/cancel": "/cancel"}


class EngineUnavailable(Exception):
    """Rasa did not answer (down, restarting, timing out, or an error)."""


class EngineRefused(Exception):
    """Rasa answered that the request itself is wrong (4xx): retrying will not help."""


class RasaClient:
    """Rasa's REST channel for turns; its HTTP API (token-protected) for status."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self._token = token
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    async def turn(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            response = await self._http.post(
                "/webhooks/rest/webhook", json={"sender": sender, "message": text, "metadata": metadata}
            )
        except httpx.HTTPError as exc:
            raise EngineUnavailable(f"{type(exc).__name__}") from exc
        if response.status_code != 200:
            raise EngineUnavailable(f"HTTP {response.status_code}")
        return response.json() or []

    async def trigger_intent(self, sender: str, intent: str, entities: dict[str, Any]) -> list[dict[str, Any]]:
        """Tell a conversation what happened outside it (an ``EXTERNAL_`` intent); returns the bot's messages."""
        try:
            response = await self._http.post(
                # Rasa (Sanic) does not percent-decode the conversation id: send the URN as it is
                f"/conversations/{quote(sender, safe=':+')}/trigger_intent",
                params={"token": self._token},
                json={"name": intent, "entities": entities},
            )
        except httpx.HTTPError as exc:
            raise EngineUnavailable(type(exc).__name__) from exc
        if 400 <= response.status_code < 500 and response.status_code not in (401, 408, 409, 429):
            raise EngineRefused(f"HTTP {response.status_code}: {response.text[:200]}")
        if response.status_code != 200:
            raise EngineUnavailable(f"HTTP {response.status_code}")
        return (response.json() or {}).get("messages") or []

    async def status(self) -> dict[str, Any]:
        """Rasa's own status (model loaded); raises EngineUnavailable."""
        try:
            response = await self._http.get("/status", params={"token": self._token}, timeout=3.0)
        except httpx.HTTPError as exc:
            raise EngineUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            raise EngineUnavailable(f"HTTP {response.status_code}")
        return response.json()

    async def aclose(self) -> None:
        await self._http.aclose()


def retry_delay(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(attempts, 10)), MAX_RETRY_DELAY)


def bot_texts(replies: list[dict[str, Any]]) -> list[str]:
    """The text of each bot message; buttons become numbered lines, since SMS has none."""
    out = []
    for reply in replies:
        text = (reply.get("text") or "").strip()
        buttons = reply.get("buttons") or []
        if buttons:
            text += "\n" + "\n".join(f"{i}. {b.get('title', '')}" for i, b in enumerate(buttons, start=1))
        if text:
            out.append(text)
    return out


class Conversations:
    def __init__(self, engine: Engine, rasa: RasaClient, on_queued: Callable[[], None]) -> None:
        self._engine = engine
        self._rasa = rasa
        self._on_queued = on_queued
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    async def _tx(self, work: Callable[[Session], Any]) -> Any:
        return await in_transaction(self._engine, work)

    def _lock(self, urn_id: int) -> asyncio.Lock:
        lock = self._locks.get(urn_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[urn_id] = lock
        return lock

    async def receive(self, incoming: IncomingMessage) -> tuple[Message, bool]:
        """Store an inbound message durably; returns (message, created)."""
        return await self._tx(
            lambda s: repository.record_inbound(
                s,
                urn=incoming.urn,
                channel=incoming.channel,
                provider=incoming.provider,
                text=incoming.text,
                external_id=incoming.external_id,
                attachments=incoming.attachments,
                quoted_external_id=incoming.quoted_external_id,
            )
        )

    async def process(self, urn_id: int) -> list[int]:
        """Run every pending turn of one conversation, in order; returns the outbound message ids queued."""
        queued: list[int] = []
        lock = self._lock(urn_id)  # keep a strong reference while in use
        async with lock:
            # what was pushed to the citizen comes first: their next words may answer it
            queued.extend(await self._tell_pushes(urn_id))
            while True:
                pending = await self._tx(lambda s: self._next(s, urn_id))
                if pending is None:
                    break
                message, contact, language, officer = pending
                if message.next_attempt_at and message.next_attempt_at > datetime.now(timezone.utc):
                    break  # waiting for its retry time; later messages wait behind it
                if officer is not None:  # officers give commands; they never talk to the dialogue
                    queued.extend(await self._tx(lambda s: self._officer_turn(s, message, contact, officer)))
                    continue
                ids, done = await self._turn(message, contact, language)
                queued.extend(ids)
                if not done:
                    break
        if queued:
            self._on_queued()
        return queued

    @staticmethod
    def _next(session: Session, urn_id: int) -> tuple[Message, ContactUrn, str, Officer | None] | None:
        """The next message to answer, its address, the citizen's language and the officer who works on it."""
        message = repository.next_pending_inbound(session, urn_id)
        if message is None:
            return None
        return (
            message,
            session.get(ContactUrn, urn_id),
            repository.citizen_language(session, urn_id),
            repository.officer_of_urn(session, urn_id),
        )

    @classmethod
    def _officer_turn(cls, session: Session, message: Message, contact: ContactUrn, officer: Officer) -> list[int]:
        answer = officer_desk.handle(session, officer, message, datetime.now(timezone.utc))
        return cls._reply_without_turn(session, message, contact, answer)

    async def _tell_pushes(self, urn_id: int) -> list[int]:
        """Tell Rasa, oldest first, what was pushed to this citizen; returns outbound ids of any bot messages."""
        queued: list[int] = []
        now = datetime.now(timezone.utc)
        pushes, contact = await self._tx(
            lambda s: (repository.pending_dialogue_pushes(s, urn_id), s.get(ContactUrn, urn_id))
        )
        for push in pushes:
            if push.available_at > now:
                break  # waiting for its retry time; later pushes keep their order
            try:
                replies = await self._rasa.trigger_intent(contact.urn, push.intent, json.loads(push.entities))
            except EngineUnavailable as exc:
                error = str(exc)
                logger.warning("telling the dialogue of push %s failed: %s", push.id, error)
                await self._tx(lambda s: repository.mark_push_retry(s, push.id, error, retry_delay(push.attempts + 1)))
                break
            except EngineRefused as exc:
                # the citizen has the push itself already (outbox); only the dialogue misses it
                refusal = str(exc)
                logger.error("Rasa refused push %s (%s): %s", push.id, push.intent, refusal)
                await self._tx(lambda s: repository.mark_push_failed(s, push.id, refusal))
                continue
            queued.extend(await self._tx(lambda s: self._store_push_replies(s, push, contact, replies)))
        return queued

    @staticmethod
    def _store_push_replies(session: Session, push: DialoguePush, contact: ContactUrn, replies: list[dict]) -> list[int]:
        repository.mark_push_told(session, push.id)
        parts = [part for text in bot_texts(replies) for part in render(channel_of(contact.urn), text)]
        if not parts:
            return []
        out = repository.queue_outbound(
            session, urn_id=contact.id, channel=channel_of(contact.urn), provider=provider_of(contact.urn), texts=parts
        )
        return [m.id for m in out]

    async def _turn(self, message: Message, contact: ContactUrn, current: str) -> tuple[list[int], bool]:
        """One turn; returns (queued message ids, whether the turn ran)."""
        if not message.text.strip():
            # A photo without caption, a location pin, a sticker: nothing for the dialogue to read.
            # Acknowledge it without a turn, so the question the citizen was asked still stands.
            return await self._tx(lambda s: self._acknowledge_media(s, message, contact)), True
        requested = switch_request(message.text)
        language = requested or detect(message.text) or current
        if requested:
            return await self._tx(lambda s: self._confirm_switch(s, message, contact, requested)), True
        try:
            command = message.text.strip().lower().split("@", 1)[0]  # "/start@aduan_bot" in groups
            text = COMMANDS.get(command, message.text)
            # the language slot is set from this metadata (bot/actions/session.py)
            metadata = {"channel": message.channel, "message_id": message.id, "language": language}
            replies = await self._rasa.turn(contact.urn, text, metadata)
        except EngineUnavailable as exc:
            error = str(exc)
            logger.warning("turn failed for %s (message %s): %s", redact_urn(contact.urn), message.id, error)
            return await self._tx(lambda s: self._postpone(s, message, contact, error, current)), False
        parts = [part for text in bot_texts(replies) for part in render(message.channel, text)]

        def store(session: Session) -> list[int]:
            if language != current:
                repository.set_citizen_language(session, contact.id, language)
            out = repository.queue_outbound(
                session,
                urn_id=contact.id,
                channel=message.channel,
                provider=message.provider,
                texts=parts,
                reply_to_id=message.id,
            )
            repository.mark_inbound_handled(session, message.id)
            return [m.id for m in out]

        return await self._tx(store), True

    @staticmethod
    def _reply_without_turn(session: Session, message: Message, contact: ContactUrn, text: str) -> list[int]:
        """Answer a message the app handles itself, and close it."""
        out = repository.queue_outbound(
            session,
            urn_id=contact.id,
            channel=message.channel,
            provider=message.provider,
            texts=render(message.channel, text),
            reply_to_id=message.id,
        )
        repository.mark_inbound_handled(session, message.id)
        return [m.id for m in out]

    @classmethod
    def _confirm_switch(cls, session: Session, message: Message, contact: ContactUrn, language: str) -> list[int]:
        repository.set_citizen_language(session, contact.id, language)
        return cls._reply_without_turn(session, message, contact, texts.language_switched(language))

    @classmethod
    def _acknowledge_media(cls, session: Session, message: Message, contact: ContactUrn) -> list[int]:
        kinds = {a.kind for a in repository.attachments_of_message(session, message.id)}
        language = repository.citizen_language(session, contact.id)
        return cls._reply_without_turn(session, message, contact, texts.media_received(kinds, language))

    @staticmethod
    def _postpone(session: Session, message: Message, contact: ContactUrn, error: str, language: str) -> list[int]:
        attempts = repository.mark_inbound_retry(session, message.id, error, retry_delay(message.attempts + 1))
        if attempts == 1:
            # Tell the citizen once that we have the message, rather than leaving them in silence.
            notice = repository.queue_outbound(
                session,
                urn_id=contact.id,
                channel=message.channel,
                provider=message.provider,
                texts=render(message.channel, texts.busy(language)),
                reply_to_id=message.id,
            )
            return [m.id for m in notice]
        return []

    async def retry_due(self) -> int:
        """Run the turns whose retry time has come; returns how many conversations were tried."""
        now = datetime.now(timezone.utc)

        def due(session: Session) -> list[int]:
            inbound = repository.urns_with_due_inbound(session, now)
            pushes = repository.urns_with_due_pushes(session, now)
            return list(dict.fromkeys(inbound + pushes))

        urn_ids = await self._tx(due)
        for urn_id in urn_ids:
            await self.process(urn_id)
        return len(urn_ids)
