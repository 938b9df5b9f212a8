"""The dispatcher: sends what the outbox holds, with retries, and records what happened.

Outbox rows are written in the transaction of the change that caused them; this loop claims
due rows with a lease (so a second app instance never sends the same row), hands each to the
adapter of its URN, and records the provider's id and status, or the failure and when to try
again. The lease names this dispatcher (a random owner token per instance) and is renewed every
``LEASE / 3`` while the batch is in flight, so a slow provider never lets it run out under a send;
only the owner may settle a row, so a dispatcher that lost its lease (paused longer than the lease)
cannot overwrite what the dispatcher that took the row over recorded. After a crash the lease runs
out and the row is sent by whoever runs next.

Conversations are sent concurrently (a provider call takes tens to hundreds of milliseconds, and
one status change may notify several officers); the messages of one conversation go one after
the other, in order.

It sits in bot/, next to the gateway that runs it, because it joins the two leaves: the store
(storage/) and the provider adapters (channels/), neither of which imports the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine
from sqlmodel import Session

from channels.base import OutgoingMessage, SendOutcome, SendResult
from channels.registry import AdapterRegistry, NoAdapter
from channels.urns import redact_urn
from storage import contacts as contact_store
from storage import messages as message_store
from storage import outbox as outbox_store
from storage.db import in_transaction

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
POLL_SECONDS = 1.0
CONCURRENT_CONVERSATIONS = 8  # provider calls in flight at once


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s, ... up to 10 minutes."""
    return min(timedelta(seconds=5 * 2 ** max(attempts - 1, 0)), timedelta(minutes=10))


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        adapters: AdapterRegistry,
        *,
        max_attempts: int = 10,
        concurrency: int = CONCURRENT_CONVERSATIONS,
    ) -> None:
        self._engine = engine
        self._adapters = adapters
        self._max_attempts = max_attempts
        self._concurrency = concurrency
        self._wake = asyncio.Event()
        self._sending = asyncio.Lock()
        self.owner = uuid.uuid4().hex  # names this dispatcher's leases
        self.lease = LEASE

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            try:
                await self.dispatch_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the loop alive; the rows stay in the outbox
                logger.exception("dispatcher pass failed")
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 a cancel that lands as wait_for times
                # out is swallowed, and the app's shutdown then waits for this loop forever
                async with asyncio.timeout(POLL_SECONDS):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    async def dispatch_due(self, message_ids: list[int] | None = None) -> int:
        """Send due outbox items (only ``message_ids`` when given); returns how many were sent."""
        async with self._sending:
            asked = time.monotonic()

            def claim(session):
                # Leases are the database's clock (storage/outbox.py); this clock only says which
                # rows are due. Read here, on the worker thread, as the claim is made.
                waited = time.monotonic() - asked
                if waited > self.lease.total_seconds() / 6:
                    logger.warning("the outbox claim waited %.1f s for a worker thread", waited)
                claimed = outbox_store.claim_outbox(
                    session, owner=self.owner, now=datetime.now(timezone.utc), lease=self.lease, message_ids=message_ids
                )
                # WhatsApp's 24-hour window needs to know when the citizen last wrote
                last_inbound = {
                    contact.id: message_store.last_inbound_at(session, contact.id)
                    for _, message, contact in claimed
                    if message.channel == "whatsapp"
                }
                return claimed, last_inbound

            claimed, last_inbound = await in_transaction(self._engine, claim)
            conversations: dict[str, list] = {}
            for row in claimed:  # claimed in outbox order, so each conversation's list is in order
                conversations.setdefault(row[2].urn, []).append(row)
            slots = asyncio.Semaphore(self._concurrency)

            # the leases were granted after ``asked``: for half a lease from then they are surely ours
            fresh_until = asked + self.lease.total_seconds() / 2

            async def send_conversation(rows: list, in_flight: set[int]) -> int:
                async with slots:
                    return await self._send_in_order(rows, last_inbound, in_flight, fresh_until)

            in_flight = {item.id for item, _, _ in claimed}
            renewer = asyncio.create_task(self._renew_while_sending(in_flight)) if in_flight else None
            try:
                counts = await asyncio.gather(
                    *(send_conversation(rows, in_flight) for rows in conversations.values())
                )
            finally:
                if renewer is not None:
                    renewer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await renewer
            return sum(counts)

    async def _renew_while_sending(self, in_flight: set[int]) -> None:
        """Renew the leases of the rows not yet settled, every third of the lease, until cancelled."""
        while in_flight:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            item_ids = sorted(in_flight)
            try:
                held = await in_transaction(
                    self._engine,
                    lambda s: outbox_store.renew_leases(s, owner=self.owner, item_ids=item_ids, lease=self.lease),
                )
            except Exception:  # noqa: BLE001 - try again at the next third; the lease still runs
                logger.exception("renewing the outbox leases failed")
                continue
            if held < len(item_ids):
                logger.warning("%d outbox lease(s) ran out before they were renewed", len(item_ids) - held)

    async def _send_in_order(
        self, rows: list, last_inbound: dict, in_flight: set[int], fresh_until: float = 0.0
    ) -> int:
        """Send one conversation's messages in order; after a failed one, the rest wait (released).

        Until ``fresh_until`` (monotonic) the claim is young enough that its leases cannot have run
        out; after it, each row's lease is checked and renewed before its send.
        """
        sent = 0
        for index, (item, message, contact) in enumerate(rows):
            if time.monotonic() >= fresh_until and not await self._still_ours(item.id):
                # Held up past the lease (the row may be sent by the dispatcher that took it over):
                # this one sends nothing more of the conversation; what is still ours goes back.
                logger.warning("outbox row %s: its lease ran out before it was sent here; left to its new claim", item.id)
                for later, _, _ in rows[index:]:
                    await in_transaction(
                        self._engine,
                        lambda s, item_id=later.id: outbox_store.release_claim(s, item_id, owner=self.owner),
                    )
                    in_flight.discard(later.id)
                break
            if contact.unreachable_at is not None:
                result = SendResult(SendOutcome.recipient_gone, error="the address is unreachable (blocked or opted out)")
            else:
                result = await self._send(
                    OutgoingMessage(message.id, contact.urn, message.channel, message.text, last_inbound.get(contact.id))
                )
            await in_transaction(
                self._engine, lambda s, i=item, u=contact.urn, r=result: self._record(s, i.id, i.attempts, u, r)
            )
            in_flight.discard(item.id)
            if result.outcome is not SendOutcome.sent:
                for later, _, _ in rows[index + 1 :]:  # keep their order: they go after this one
                    await in_transaction(
                        self._engine,
                        lambda s, item_id=later.id: outbox_store.release_claim(s, item_id, owner=self.owner),
                    )
                    in_flight.discard(later.id)
                break
            sent += 1
        return sent

    async def _still_ours(self, item_id: int) -> bool:
        """Renew the row's lease just before its send, if this dispatcher still holds it unexpired
        (once the claim is no longer young: one more transaction per message only then).

        A batch's leases are renewed every third of the lease, but an instance held up longer
        (its threads busy, its loop stalled) would otherwise send rows another instance has taken
        over meanwhile and sent: the citizen would get them twice.
        """
        return await in_transaction(
            self._engine,
            lambda s: outbox_store.renew_leases(s, owner=self.owner, item_ids=[item_id], lease=self.lease) == 1,
        )

    async def _send(self, message: OutgoingMessage) -> SendResult:
        try:
            adapter = self._adapters.for_urn(message.urn)
        except NoAdapter as exc:
            return SendResult(SendOutcome.permanent, error=f"no channel configured for {exc}")
        try:
            return await adapter.send(message)
        except Exception as exc:  # an adapter bug or an unexpected transport error: retry
            logger.exception("send via %s raised", adapter.provider)
            return SendResult(SendOutcome.retry, error=f"{type(exc).__name__}: {exc}")

    def _record(self, session: Session, item_id: int, previous_attempts: int, urn: str, result: SendResult) -> None:
        if result.outcome is SendOutcome.sent:
            if not outbox_store.mark_sent(
                session, item_id, owner=self.owner, external_id=result.external_id, status=result.status
            ) and not outbox_store.recorded_as(session, item_id, result.external_id):
                self._lost_lease(item_id, urn)  # (its own send recorded by its callback first is no loss)
            return
        attempts = previous_attempts + 1
        if result.outcome is SendOutcome.recipient_gone:
            contact_store.mark_urn_unreachable(session, urn)
        # Being throttled is not an error of the message: it does not use up its attempts.
        give_up = result.outcome in (SendOutcome.permanent, SendOutcome.recipient_gone) or (
            result.outcome is SendOutcome.retry and attempts >= self._max_attempts
        )
        retry_in = None if give_up else (result.retry_after or backoff(attempts))
        if not outbox_store.mark_send_failed(
            session, item_id, owner=self.owner, error=result.error or result.outcome.value, retry_in=retry_in
        ):
            self._lost_lease(item_id, urn)
            return
        logger.warning(
            "send to %s failed (%s, attempt %d)%s: %s",
            redact_urn(urn),
            result.outcome.value,
            attempts,
            "; giving up" if give_up else f"; retry in {retry_in}",
            result.error,
        )

    @staticmethod
    def _lost_lease(item_id: int, urn: str) -> None:
        # Another dispatcher took the row over (this one paused longer than the lease): what it
        # records stands. Said loudly: the citizen may have been sent this message twice.
        logger.error("outbox row %s (to %s) was taken over before its send was recorded", item_id, redact_urn(urn))
