"""Dialogue turns: an inbound message goes to Rasa, the bot's answers go to the outbox.

Every inbound message is stored first (status ``pending``). Turns of one conversation run one
at a time, oldest first, interleaved with telling the dialogue what was pushed to the citizen, in
the order things happened, whichever app instance stored them: the instance that runs them holds
the conversation's claim in the store (storage/conversation_claims.py). When Rasa cannot be
reached (or a turn fails in our own code) the message stays pending and is retried with a growing
delay, so nothing a citizen sent is lost; the citizen is told once that the answer will come
later. A message that may have reached Rasa before (its answer lost to a timeout or a killed
instance) is not sent again: its answer is read back from Rasa's tracker.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot import metrics, officer_desk, pins, texts
from bot.language import detect, switch_request
from bot.open311 import confirmation as open311_confirmation
from bot.rasa_client import EngineRefused, EngineUnavailable, RasaClient
from channels.base import IncomingMessage
from channels.formatting import render
from channels.urns import channel_of, provider_of, redact_urn
from storage import contacts as contact_store
from storage import conversation_claims as claim_store
from storage import messages as message_store
from storage import officers as officer_store
from storage import outbox as outbox_store
from storage import pushes as push_store
from storage.db import in_transaction
from storage.models import ContactUrn, DialoguePush, Message, Officer

logger = logging.getLogger(__name__)

FIRST_RETRY_DELAY = timedelta(seconds=2)  # the engine restarting, a timeout: soon
FIRST_ERROR_DELAY = timedelta(seconds=30)  # a fault of ours is not mended in two seconds
MAX_RETRY_DELAY = timedelta(minutes=5)
STUCK_AFTER_ATTEMPTS = 10  # then the operator is told (log at ERROR, the turns_stuck counter)
RETRY_CONCURRENCY = 8  # conversations retried at once, as the dispatcher sends
# A conversation's claim: renewed every third of it while its turns run, so only a dead (or
# frozen) instance loses it; then its conversations wait at most this long for another instance.
TURN_LEASE = timedelta(seconds=30)

# Chat commands (Telegram's /start and friends) as Rasa intents; Rasa reads "/intent" without NLU.
COMMANDS = {"/start": "/greet", "/help": "/help", "/bantuan": "/help", "/batal": "/cancel", "/cancel": "/cancel"}


def retry_delay(attempts: int, first: timedelta = FIRST_RETRY_DELAY) -> timedelta:
    """The wait before attempt ``attempts + 1``: ``first``, doubling each time, at most MAX_RETRY_DELAY."""
    return min(first * 2 ** min(max(attempts - 1, 0), 16), MAX_RETRY_DELAY)


@dataclass(frozen=True)
class _Step:
    """What is next in a conversation: its oldest pending message, its oldest untold push, and who it is."""

    message: Message | None
    push: DialoguePush | None
    contact: ContactUrn
    language: str
    officer: Officer | None


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
    def __init__(
        self,
        engine: Engine,
        rasa: RasaClient,
        on_queued: Callable[[], None],
        *,
        retry_concurrency: int = RETRY_CONCURRENCY,
        lease: timedelta = TURN_LEASE,
    ) -> None:
        self._engine = engine
        self._rasa = rasa
        self._on_queued = on_queued
        self._retry_concurrency = retry_concurrency
        self._lease = lease
        self.owner = uuid.uuid4().hex  # this instance, in the claims it holds
        # within this instance, one task per conversation; across instances, the claim
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
            lambda s: pins.record_inbound(  # an officer's PIN is checked and never stored
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
        """Run everything pending in one conversation, in order; returns the outbound message ids queued.

        A conversation's pending messages and the pushes its dialogue has not been told of are one
        queue, in the order they happened: a push is told before a message that came after it (the
        citizen may be answering it) and after one that came before it. What is next is read again
        before each step, so a push written while a turn was at Rasa (an officer answering at that
        moment) is told before the next turn, not after it.

        Another instance holding the conversation's claim runs it instead: whatever was stored
        before this call is seen by that instance, which looks again after giving the claim back.
        """
        queued: list[int] = []
        lock = self._lock(urn_id)  # keep a strong reference while in use
        async with lock:
            while await self._tx(lambda s: self._claim(s, urn_id)):
                try:
                    queued.extend(await self._run_claimed(urn_id))
                finally:
                    await self._tx(lambda s: claim_store.release(s, urn_id, owner=self.owner))
                # a message stored elsewhere after our last look found the claim taken: ours to run
                if not await self._tx(lambda s: self._anything_due(s, urn_id)):
                    break
        if queued:
            self._on_queued()
        return queued

    def _claim(self, session: Session, urn_id: int) -> bool:
        # granted and compared by the database's clock: another instance's may be off
        return claim_store.claim(session, urn_id, owner=self.owner, lease=self._lease)

    async def _run_claimed(self, urn_id: int) -> list[int]:
        """The steps of a conversation while this instance holds its claim, renewed meanwhile."""
        queued: list[int] = []
        lost = asyncio.Event()
        renewing = asyncio.create_task(self._keep_claim(urn_id, lost), name=f"claim-{urn_id}")
        try:
            while not lost.is_set():
                step = await self._tx(lambda s: self._next(s, urn_id))
                if step is None:
                    break
                ids, go_on = await self._step(step)
                queued.extend(ids)
                if not go_on:
                    break
        finally:
            renewing.cancel()
        return queued

    async def _keep_claim(self, urn_id: int, lost: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            try:
                held = await self._tx(lambda s: claim_store.renew(s, urn_id, owner=self.owner, lease=self._lease))
            except Exception:  # noqa: BLE001 - the store away for a moment: the lease still runs
                logger.warning("renewing the claim of conversation %s failed", urn_id, exc_info=True)
                continue
            if not held:  # it ran out and another instance took it: stop after this step
                metrics.increment("claims_lost")
                logger.warning("lost the claim of conversation %s; another instance goes on with it", urn_id)
                lost.set()
                return

    @staticmethod
    def _anything_due(session: Session, urn_id: int) -> bool:
        now = datetime.now(timezone.utc)
        message = message_store.next_pending_inbound(session, urn_id)
        if message is not None and (message.next_attempt_at is None or _aware(message.next_attempt_at) <= now):
            return True
        push = push_store.next_pending_push(session, urn_id)
        return push is not None and _aware(push.available_at) <= now

    def busy(self, urn_id: int) -> bool:
        """Whether a turn of this conversation is running in this process now (it will see what is due)."""
        lock = self._locks.get(urn_id)
        return lock is not None and lock.locked()

    @staticmethod
    def _next(session: Session, urn_id: int) -> _Step | None:
        """What is next in a conversation: its oldest pending message and oldest untold push, and who it is."""
        # the message first: a push it may answer was written before it, so this read sees that push too
        message = message_store.next_pending_inbound(session, urn_id)
        push = push_store.next_pending_push(session, urn_id)
        if message is None and push is None:
            return None
        return _Step(
            message,
            push,
            session.get(ContactUrn, urn_id),
            contact_store.citizen_language(session, urn_id),
            officer_store.officer_of_urn(session, urn_id) if message is not None else None,
        )

    async def _step(self, step: _Step) -> tuple[list[int], bool]:
        """Do the next thing of a conversation; returns (queued message ids, whether to go on)."""
        now = datetime.now(timezone.utc)
        message, push = step.message, step.push
        message_due = message is not None and (message.next_attempt_at is None or _aware(message.next_attempt_at) <= now)
        if push is not None and (message is None or _aware(push.created_at) <= _aware(message.created_at)):
            # the push comes first; a message waiting behind it makes it worth trying now
            if _aware(push.available_at) > now and not message_due:
                return [], False  # waiting for its retry time; what came after waits behind it
            ids, error = await self._tell_push(push, step.contact)
            if error is None:
                return ids, True
            if message_due:  # the message cannot go before the push: it waits, as if its turn had failed
                ids += await self._tx(lambda s: self._postpone(s, message, step.contact, error, step.language))
            return ids, False
        if not message_due:
            return [], False  # waiting for its retry time; later messages wait behind it
        try:
            if step.officer is not None:  # officers give commands; they never talk to the dialogue
                officer = step.officer
                return await self._tx(lambda s: self._officer_turn(s, message, step.contact, officer)), True
            return await self._turn(message, step.contact, step.language)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a fault of ours (or of the store): logged, backed off, still pending
            metrics.increment("turn_errors")
            logger.exception("the turn of message %s failed", message.id)
            error = f"{type(exc).__name__}: {exc}"
            ids = await self._tx(
                lambda s: self._postpone(s, message, step.contact, error, step.language, first_delay=FIRST_ERROR_DELAY)
            )
            return ids, False

    @classmethod
    def _officer_turn(cls, session: Session, message: Message, contact: ContactUrn, officer: Officer) -> list[int]:
        # Marked handled first, in the command's transaction: of two instances running one message
        # (a lost claim), only the one whose mark took runs the command; the other changes nothing.
        if not message_store.mark_inbound_handled(session, message.id):
            return []
        answer = officer_desk.handle(session, officer, message, datetime.now(timezone.utc))
        return cls._queue_reply(session, message, contact, answer)

    async def _tell_push(self, push: DialoguePush, contact: ContactUrn) -> tuple[list[int], str | None]:
        """Tell Rasa what was pushed to this citizen; returns (outbound ids of any bot messages, error or None).

        On an error the push waits for its retry time, and so does everything after it.
        """
        try:
            replies = await self._rasa.trigger_intent(contact.urn, push.intent, json.loads(push.entities))
            return await self._tx(lambda s: self._store_push_replies(s, push, contact, replies)), None
        except asyncio.CancelledError:
            raise
        except EngineUnavailable as exc:
            error = str(exc)
            metrics.increment("push_retries")
            logger.warning("telling the dialogue of push %s failed: %s", push.id, error)
            await self._tx(lambda s: push_store.mark_push_retry(s, push.id, error, retry_delay(push.attempts + 1)))
            return [], error
        except EngineRefused as exc:
            # the citizen has the push itself already (outbox); only the dialogue misses it
            refusal = str(exc)
            metrics.increment("pushes_refused")
            logger.error("Rasa refused push %s (%s): %s", push.id, push.intent, refusal)
            await self._tx(lambda s: push_store.mark_push_failed(s, push.id, refusal))
            return [], None
        except Exception as exc:  # a fault of ours (or of the store): logged, backed off
            metrics.increment("push_errors")
            logger.exception("telling the dialogue of push %s failed", push.id)
            error = f"{type(exc).__name__}: {exc}"
            delay = retry_delay(push.attempts + 1, first=FIRST_ERROR_DELAY)
            await self._tx(lambda s: push_store.mark_push_retry(s, push.id, error, delay))
            return [], error

    @staticmethod
    def _store_push_replies(session: Session, push: DialoguePush, contact: ContactUrn, replies: list[dict]) -> list[int]:
        push_store.mark_push_told(session, push.id)
        parts = [part for text in bot_texts(replies) for part in render(channel_of(contact.urn), text)]
        if not parts:
            return []
        out = outbox_store.queue_outbound(
            session, urn_id=contact.id, channel=channel_of(contact.urn), provider=provider_of(contact.urn), texts=parts
        )
        return [m.id for m in out]

    async def _turn(self, message: Message, contact: ContactUrn, current: str) -> tuple[list[int], bool]:
        """One turn; returns (queued message ids, whether the turn ran)."""
        if not message.text.strip():
            # A photo without caption, a location pin, a sticker: nothing for the dialogue to read.
            # Acknowledge it without a turn, so the question the citizen was asked still stands.
            return await self._tx(lambda s: self._acknowledge_media(s, message, contact)), True
        if open311_confirmation.may_answer(contact, message.text):  # maybe the YA an Open311 ask waits for
            def confirm(session: Session) -> list[int] | None:
                told = open311_confirmation.answer(session, contact, message.text)
                return None if told is None else self._reply_without_turn(session, message, contact, told)

            answered = await self._tx(confirm)
            if answered is not None:
                return answered, True
        requested = switch_request(message.text)
        language = requested or detect(message.text) or current
        if requested:
            return await self._tx(lambda s: self._confirm_switch(s, message, contact, requested)), True
        try:
            command = message.text.strip().lower().split("@", 1)[0]  # "/start@aduan_bot" in groups
            text = COMMANDS.get(command, message.text)
            # the language slot is set from this metadata (bot/actions/session.py)
            metadata = {"channel": message.channel, "message_id": message.id, "language": language}
            replies = await self._recovered_answer(message, contact)
            if replies is None:
                now = datetime.now(timezone.utc)
                await self._tx(lambda s: message_store.mark_sent_to_engine(s, message.id, now))
                replies = await self._rasa.turn(contact.urn, text, metadata)
        except EngineUnavailable as exc:
            error = str(exc)
            logger.warning("turn failed for %s (message %s): %s", redact_urn(contact.urn), message.id, error)
            return await self._tx(lambda s: self._postpone(s, message, contact, error, current)), False
        said = bot_texts(replies)
        if not said:  # every turn of our dialogue says something: an action call was lost on the way
            metrics.increment("empty_answers")
            logger.warning("the turn of message %s came back without an answer; the citizen is asked to resend", message.id)
            said = [texts.not_processed(language)]
        parts = [part for text in said for part in render(message.channel, text)]

        def store(session: Session) -> list[int]:
            if not message_store.mark_inbound_handled(session, message.id):
                return []  # answered already (by an instance that took the conversation over)
            if language != current:
                contact_store.set_citizen_language(session, contact.id, language)
            out = outbox_store.queue_outbound(
                session,
                urn_id=contact.id,
                channel=message.channel,
                provider=message.provider,
                texts=parts,
                reply_to_id=message.id,
            )
            return [m.id for m in out]

        return await self._tx(store), True

    async def _recovered_answer(self, message: Message, contact: ContactUrn) -> list[dict[str, Any]] | None:
        """Rasa's answer to a message sent to it before whose answer never came back, or None.

        None also when the message was never sent: then it goes to Rasa now. Raises
        EngineUnavailable when the tracker cannot be read (the message waits, and is asked again).
        """
        if message.sent_to_engine_at is None:
            return None
        replies = await self._rasa.answer_to(contact.urn, message.id)
        if replies is not None:
            metrics.increment("turns_recovered")
            logger.info("message %s was processed before its answer was lost: answer read from the tracker", message.id)
        return replies

    @staticmethod
    def _reply_without_turn(session: Session, message: Message, contact: ContactUrn, text: str) -> list[int]:
        """Answer a message the app handles itself, and close it (unless it was answered already)."""
        if not message_store.mark_inbound_handled(session, message.id):
            return []
        return Conversations._queue_reply(session, message, contact, text)

    @staticmethod
    def _queue_reply(session: Session, message: Message, contact: ContactUrn, text: str) -> list[int]:
        out = outbox_store.queue_outbound(
            session,
            urn_id=contact.id,
            channel=message.channel,
            provider=message.provider,
            texts=render(message.channel, text),
            reply_to_id=message.id,
        )
        return [m.id for m in out]

    @classmethod
    def _confirm_switch(cls, session: Session, message: Message, contact: ContactUrn, language: str) -> list[int]:
        contact_store.set_citizen_language(session, contact.id, language)
        return cls._reply_without_turn(session, message, contact, texts.language_switched(language))

    @classmethod
    def _acknowledge_media(cls, session: Session, message: Message, contact: ContactUrn) -> list[int]:
        kinds = {a.kind for a in message_store.attachments_of_message(session, message.id)}
        language = contact_store.citizen_language(session, contact.id)
        return cls._reply_without_turn(session, message, contact, texts.media_received(kinds, language))

    @staticmethod
    def _postpone(
        session: Session,
        message: Message,
        contact: ContactUrn,
        error: str,
        language: str,
        first_delay: timedelta | None = None,
    ) -> list[int]:
        """A turn that could not run: the message stays pending and is tried again later, with a growing delay."""
        attempts = message.attempts + 1  # counted on the message, whatever failed
        delay = retry_delay(attempts, first=first_delay or FIRST_RETRY_DELAY)
        attempts = message_store.mark_inbound_retry(session, message.id, error, delay)
        metrics.increment("turn_retries")
        if attempts == STUCK_AFTER_ATTEMPTS:  # said once; the message is still kept and tried
            metrics.increment("turns_stuck")
            logger.error(
                "message %s is still unanswered after %d attempts (last error: %s); it stays pending, next try in %s",
                message.id, attempts, error, delay,
            )
        if attempts == 1:
            # Tell the citizen once that we have the message, rather than leaving them in silence.
            notice = outbox_store.queue_outbound(
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
        """Run the conversations whose next message or push is due; returns how many were tried.

        Several at once (``RETRY_CONCURRENCY``: a hung engine costs its timeout per conversation),
        each on its own: one that fails is logged and counted, and the others go on. A conversation
        whose turn is running in this process now is left to that turn, which sees what is due.
        """
        now = datetime.now(timezone.utc)

        def due(session: Session) -> list[int]:
            inbound = message_store.urns_with_due_inbound(session, now)
            pushes = push_store.urns_with_due_pushes(session, now)
            return list(dict.fromkeys(inbound + pushes))

        urn_ids = [urn_id for urn_id in await self._tx(due) if not self.busy(urn_id)]
        slots = asyncio.Semaphore(self._retry_concurrency)

        async def retry(urn_id: int) -> None:
            async with slots:
                try:
                    await self.process(urn_id)
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - isolated: the other conversations go on
                    metrics.increment("retry_errors")
                    logger.exception("retrying conversation %s failed", urn_id)

        await asyncio.gather(*(retry(urn_id) for urn_id in urn_ids))
        return len(urn_ids)


def _aware(moment: datetime) -> datetime:
    # SQLite may hand datetimes back without their zone; they are stored in UTC
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
