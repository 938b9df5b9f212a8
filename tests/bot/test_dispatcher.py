"""The dispatcher: conversations are sent concurrently, each conversation's messages in order."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from bot.dispatcher import Dispatcher
from channels.base import OutgoingMessage, SendOutcome, SendResult
from channels.registry import AdapterRegistry
from storage import contacts as contact_store
from storage import outbox as outbox_store
from storage.db import session_scope
from storage.models import Message, OutboxItem
from tests.skewed_clocks import HOLDER_AND_OTHER_CLOCKS


class GatedAdapter:
    """Holds every send until ``expected`` sends are in flight at once (or gives up after a while)."""

    provider = "simulator"

    def __init__(self, expected: int, fail_texts: set[str] = frozenset()) -> None:
        self.expected, self.fail_texts = expected, fail_texts
        self.in_flight = 0
        self.most_in_flight = 0
        self.sent: list[tuple[str, str]] = []
        self._all_in = asyncio.Event()

    def handles(self, scheme: str) -> bool:
        return scheme.startswith("sim-")

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self.in_flight >= self.expected:
            self._all_in.set()
        try:
            await asyncio.wait_for(self._all_in.wait(), timeout=5)
        except asyncio.TimeoutError:
            pass  # sent one at a time: most_in_flight tells
        finally:
            self.in_flight -= 1
        if message.text in self.fail_texts:
            return SendResult(SendOutcome.retry, error="provider down")
        self.sent.append((message.urn, message.text))
        return SendResult(SendOutcome.sent, external_id=f"x-{message.message_id}", status="delivered")


def queue(store, urn: str, texts: list[str]) -> None:
    with session_scope(store) as session:
        contact = contact_store.get_or_create_urn(session, urn)
        outbox_store.queue_outbound(session, urn_id=contact.id, channel="sms", provider="simulator", texts=texts)


def test_conversations_are_sent_at_the_same_time(store):
    urns = [f"sim-sms:+6281200000{i:03d}" for i in range(3)]
    for urn in urns:
        queue(store, urn, [f"pesan untuk {urn[-3:]}"])
    adapter = GatedAdapter(expected=3)
    sent = asyncio.run(Dispatcher(store, AdapterRegistry([adapter])).dispatch_due())
    assert sent == 3 and adapter.most_in_flight == 3
    assert sorted(urn for urn, _ in adapter.sent) == urns


def test_one_conversation_keeps_its_order_and_waits_behind_a_failed_message(store):
    first, second = "sim-sms:+6281200000101", "sim-sms:+6281200000102"
    queue(store, first, ["satu", "dua", "tiga"])
    queue(store, second, ["gagal", "sesudahnya"])
    adapter = GatedAdapter(expected=2, fail_texts={"gagal"})
    sent = asyncio.run(Dispatcher(store, AdapterRegistry([adapter])).dispatch_due())
    assert sent == 3
    assert [text for urn, text in adapter.sent if urn == first] == ["satu", "dua", "tiga"]
    assert [text for urn, text in adapter.sent if urn == second] == []  # "sesudahnya" waits for "gagal"
    with session_scope(store) as session:
        rows = session.exec(select(Message.text, OutboxItem.state, OutboxItem.locked_until, OutboxItem.attempts)
                            .join(OutboxItem, OutboxItem.message_id == Message.id)
                            .where(Message.text.in_(["gagal", "sesudahnya"]))
                            .order_by(Message.id)).all()
    assert [(text, state, attempts) for text, state, _, attempts in rows] == [("gagal", "pending", 1), ("sesudahnya", "pending", 0)]
    assert all(locked is None for _, _, locked, _ in rows)  # released, to be sent in order later


def test_the_dispatcher_loop_ends_when_cancelled_even_as_it_is_woken(monkeypatch):
    # Python 3.11's wait_for swallows a cancel that lands as the wait ends (a wake-up queued in the
    # same moment, as the shutdown's cancelled turns do): the loop went on, and the app's shutdown
    # (and the engine's stop after it) waited for it forever.
    from bot import dispatcher as dispatcher_module

    monkeypatch.setattr(dispatcher_module, "POLL_SECONDS", 0.0005)

    async def nothing_due(self, message_ids=None):
        return 0

    monkeypatch.setattr(Dispatcher, "dispatch_due", nothing_due)

    async def cancel_many_times() -> int:
        stuck = 0
        for attempt in range(300):
            dispatcher = Dispatcher(None, AdapterRegistry([]))
            task = asyncio.create_task(dispatcher.run_forever())
            await asyncio.sleep(0.0001 * (attempt % 10))
            dispatcher.wake()
            task.cancel()
            done, _ = await asyncio.wait([task], timeout=1)
            if not done:
                stuck += 1
                task.cancel()
        return stuck

    assert asyncio.run(cancel_many_times()) == 0


class SlowAdapter:
    """Takes ``seconds`` per send: longer than the lease of the dispatcher in the test."""

    provider = "simulator"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sent: list[str] = []

    def handles(self, scheme: str) -> bool:
        return scheme.startswith("sim-")

    async def send(self, message: OutgoingMessage) -> SendResult:
        await asyncio.sleep(self.seconds)
        self.sent.append(message.text)
        return SendResult(SendOutcome.sent, external_id=f"slow-{message.message_id}", status="delivered")


def test_a_send_slower_than_the_lease_is_not_taken_over_by_a_second_dispatcher(store):
    # two app instances share one outbox: the first renews its lease while the provider is slow,
    # so the second finds nothing to claim, and the citizen gets the message once
    queue(store, "sim-sms:+6281200000301", ["pelan"])
    slow, other = SlowAdapter(seconds=1.2), SlowAdapter(seconds=0)
    first, second = Dispatcher(store, AdapterRegistry([slow])), Dispatcher(store, AdapterRegistry([other]))
    first.lease = second.lease = timedelta(seconds=0.45)

    async def both() -> tuple[int, int]:
        sending = asyncio.create_task(first.dispatch_due())
        await asyncio.sleep(0.8)  # past the first lease, which was renewed meanwhile
        taken_over = await second.dispatch_due()
        return await sending, taken_over

    sent, taken_over = asyncio.run(both())
    assert (sent, taken_over) == (1, 0)
    assert slow.sent == ["pelan"] and other.sent == []
    with session_scope(store) as session:
        [item] = session.exec(select(OutboxItem)).all()
        assert item.state == "done" and item.lease_owner is None


def test_a_dispatcher_that_lost_its_lease_cannot_overwrite_what_the_new_owner_recorded(store):
    queue(store, "sim-sms:+6281200000302", ["halo"])
    now = datetime.now(timezone.utc)
    lease = timedelta(seconds=60)
    with session_scope(store) as session:
        [(item, _, _)] = outbox_store.claim_outbox(session, owner="a", now=now, lease=lease)
    with session_scope(store) as session:  # "a" paused past its lease ...
        session.get(OutboxItem, item.id).locked_until = now - timedelta(seconds=1)
    with session_scope(store) as session:  # ... "b" takes the row over and sends it
        [(taken, _, _)] = outbox_store.claim_outbox(session, owner="b", now=now, lease=lease)
        assert taken.id == item.id
        assert outbox_store.renew_leases(session, owner="a", item_ids=[item.id], lease=lease) == 0
        assert outbox_store.mark_sent(session, item.id, owner="b", external_id="SM-b", status="sent")
    with session_scope(store) as session:
        assert not outbox_store.mark_send_failed(session, item.id, owner="a", error="timeout", retry_in=None)
        assert not outbox_store.mark_sent(session, item.id, owner="a", external_id="SM-a", status="sent")
        message = session.exec(select(Message).where(Message.id == taken.message_id)).one()
        assert (message.external_id, message.status, message.attempts) == ("SM-b", "sent", 1)


def test_a_dispatcher_held_up_past_its_lease_does_not_send_what_was_taken_over(store):
    # an instance claims a conversation's rows and is held up (threads busy, loop stalled) past the
    # lease; another instance takes them over and sends them: the first must not send them too
    queue(store, "sim-sms:+6281200000303", ["satu", "dua"])
    held_up, other = SlowAdapter(seconds=0), SlowAdapter(seconds=0)
    first, second = Dispatcher(store, AdapterRegistry([held_up])), Dispatcher(store, AdapterRegistry([other]))
    first.lease = timedelta(seconds=60)
    with session_scope(store) as session:
        claimed = outbox_store.claim_outbox(session, owner=first.owner, now=datetime.now(timezone.utc), lease=first.lease)
    assert len(claimed) == 2
    with session_scope(store) as session:  # ... a lease ago: it has run out
        for item in session.exec(select(OutboxItem)).all():
            item.locked_until = datetime.now(timezone.utc) - timedelta(seconds=1)
            session.add(item)
    assert asyncio.run(second.dispatch_due()) == 2  # taken over
    in_flight = {item.id for item, _, _ in claimed}
    assert asyncio.run(first._send_in_order(claimed, {}, in_flight)) == 0  # the held-up instance wakes up
    assert (held_up.sent, other.sent) == ([], ["satu", "dua"])
    assert in_flight == set()
    with session_scope(store) as session:
        assert [item.state for item in session.exec(select(OutboxItem)).all()] == ["done", "done"]


class HeldAdapter:
    """Sends once let go (``release``); ``reached`` is set when a send has begun."""

    provider = "simulator"

    def __init__(self, held: bool = True) -> None:
        self.reached, self.release = asyncio.Event(), asyncio.Event()
        if not held:
            self.release.set()
        self.sent: list[str] = []

    def handles(self, scheme: str) -> bool:
        return scheme.startswith("sim-")

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.reached.set()
        await self.release.wait()
        self.sent.append(message.text)
        return SendResult(SendOutcome.sent, external_id=f"x-{message.message_id}", status="delivered")


@HOLDER_AND_OTHER_CLOCKS
def test_a_lease_held_by_the_databases_clock_is_not_taken_over_by_an_instance_with_a_skewed_clock(
    engine, monkeypatch, holder_clock, other_clock
):
    # Outbox leases are granted and compared by the database's clock (issue #26): an instance an
    # hour fast would take over and send a row whose send is in flight elsewhere, and one an hour
    # slow would lease rows for a moment that had passed already.
    from bot import dispatcher

    queue(engine, "sim-sms:+6281200000304", ["halo"])
    with session_scope(engine) as session:  # due for a while (a due time is the writer's clock, not a lease)
        for item in session.exec(select(OutboxItem)).all():
            item.available_at = datetime.now(timezone.utc) - timedelta(hours=2)
            session.add(item)
    slow, other = HeldAdapter(), HeldAdapter(held=False)
    holder, second = Dispatcher(engine, AdapterRegistry([slow])), Dispatcher(engine, AdapterRegistry([other]))

    async def scenario() -> tuple[int, int]:
        monkeypatch.setattr(dispatcher, "datetime", holder_clock)
        sending = asyncio.create_task(holder.dispatch_due())
        async with asyncio.timeout(10):
            await slow.reached.wait()  # leased, its send at the provider
            monkeypatch.setattr(dispatcher, "datetime", other_clock)
            taken_over = await second.dispatch_due()
            slow.release.set()
            return await sending, taken_over

    assert asyncio.run(scenario()) == (1, 0)
    assert (slow.sent, other.sent) == (["halo"], [])
