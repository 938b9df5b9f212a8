"""Turns that fail are retried per message, with a growing delay, and never lost (issue #10).

The retry loop (bot/conversation.py ``retry_due``, run by bot/gateway.py every 2 s) tries several
conversations at once within a bound, keeps each one's failure to itself, and backs off a
message whose turn fails, whether the engine is away or our own code raised; a message that keeps
failing stays pending and is reported to the operator (log at ERROR, a counter for /health).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from bot import metrics
from bot.conversation import (
    RETRY_CONCURRENCY,
    STUCK_AFTER_ATTEMPTS,
    Conversations,
    retry_delay,
)
from storage import messages as message_store
from storage import pushes as push_store
from storage.db import session_scope
from storage.models import Direction, Message
from tests.fakes.scripted_rasa import ScriptedRasa

CITIZEN = "sim-sms:+6281234567890"


@pytest.fixture(autouse=True)
def counters():
    metrics.reset()
    yield
    metrics.reset()


def stored(store, text: str, urn: str = CITIZEN, age: timedelta = timedelta(0)) -> Message:
    """An inbound message as a webhook stores it (``age``: stored that long ago)."""
    with session_scope(store) as session:
        message, _ = message_store.record_inbound(session, urn=urn, channel="sms", provider="simulator", text=text)
        message.created_at = datetime.now(timezone.utc) - age
        session.add(message)
        return message


def reloaded(store, message_id: int) -> Message:
    with session_scope(store) as session:
        return session.get(Message, message_id)


def make_due(store, message_id: int) -> None:
    with session_scope(store) as session:
        message = session.get(Message, message_id)
        message.next_attempt_at = datetime.now(timezone.utc) - timedelta(seconds=1)
        session.add(message)


def replies_to(store, message_id: int) -> list[str]:
    with session_scope(store) as session:
        rows = session.exec(
            select(Message).where(Message.reply_to_id == message_id, Message.direction == Direction.outbound.value)
        ).all()
        return [m.text for m in rows]


def conversations(store, rasa: ScriptedRasa) -> Conversations:
    return Conversations(store, rasa, on_queued=lambda: None)  # type: ignore[arg-type]


def test_the_wait_before_a_retry_doubles_from_two_seconds_up_to_five_minutes():
    assert [retry_delay(n).total_seconds() for n in range(1, 11)] == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert retry_delay(10_000) == timedelta(minutes=5)
    assert retry_delay(1, first=timedelta(seconds=30)) == timedelta(seconds=30)


def test_a_turn_that_fails_in_our_own_code_is_logged_at_error_and_backed_off_not_retried_hot(store, caplog):
    rasa = ScriptedRasa()
    rasa.raising.add("halo")
    message = stored(store, "halo")
    with caplog.at_level(logging.ERROR, logger="bot.conversation"):
        asyncio.run(conversations(store, rasa).process(message.urn_id))
    failed = reloaded(store, message.id)
    assert failed.status == "pending" and failed.attempts == 1  # kept, and the attempt counted
    assert failed.next_attempt_at - datetime.now(timezone.utc) > timedelta(seconds=20)
    assert "TypeError" in failed.error
    assert any(r.levelno == logging.ERROR and str(message.id) in r.getMessage() for r in caplog.records)
    assert metrics.snapshot()["turn_errors"] == 1
    # the retry loop does not pick it again before its time
    assert asyncio.run(conversations(store, rasa).retry_due()) == 0
    assert rasa.calls == [("turn", "halo")]


def test_a_message_whose_turn_keeps_failing_waits_longer_each_time(store):
    rasa = ScriptedRasa()
    rasa.turns_down = True
    message = stored(store, "halo")
    talk = conversations(store, rasa)
    waits = []
    for _ in range(4):
        asyncio.run(talk.process(message.urn_id))
        retried = reloaded(store, message.id)
        waits.append(round((retried.next_attempt_at - datetime.now(timezone.utc)).total_seconds()))
        make_due(store, message.id)
    assert waits == [2, 4, 8, 16] and reloaded(store, message.id).attempts == 4
    assert replies_to(store, message.id) != []  # the citizen was told once that the answer comes later
    assert len(replies_to(store, message.id)) == 1


def test_a_message_that_keeps_failing_stays_pending_and_is_reported_to_the_operator(store, caplog):
    rasa = ScriptedRasa()
    rasa.turns_down = True
    message = stored(store, "halo")
    with session_scope(store) as session:
        session.get(Message, message.id).attempts = STUCK_AFTER_ATTEMPTS - 1
    with caplog.at_level(logging.ERROR, logger="bot.conversation"):
        asyncio.run(conversations(store, rasa).process(message.urn_id))
    assert reloaded(store, message.id).status == "pending"
    assert metrics.snapshot()["turns_stuck"] == 1
    assert any("still unanswered" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    rasa.turns_down = False  # once the engine answers, the message is answered: nothing was dropped
    make_due(store, message.id)
    asyncio.run(conversations(store, rasa).process(message.urn_id))
    assert reloaded(store, message.id).status == "handled"
    assert "balasan: halo" in replies_to(store, message.id)


def test_one_conversation_failing_does_not_stop_the_others_from_being_retried(store, caplog):
    rasa = ScriptedRasa()
    first = stored(store, "satu", urn="sim-sms:+6281200000001", age=timedelta(minutes=1))
    second = stored(store, "dua", urn="sim-sms:+6281200000002", age=timedelta(minutes=1))
    talk = conversations(store, rasa)
    real_next = talk._next

    def broken_for_the_first(session, urn_id):
        if urn_id == first.urn_id:
            raise RuntimeError("the store fell over for this one")
        return real_next(session, urn_id)

    talk._next = broken_for_the_first  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR):
        assert asyncio.run(talk.retry_due()) == 2
    assert reloaded(store, second.id).status == "handled"
    assert reloaded(store, first.id).status == "pending"
    assert metrics.snapshot()["retry_errors"] == 1


def test_conversations_are_retried_at_the_same_time_within_a_bound(store):
    rasa = ScriptedRasa()
    count = RETRY_CONCURRENCY + 3
    messages = [stored(store, f"pesan {i}", urn=f"sim-sms:+62812000001{i:02d}", age=timedelta(minutes=1)) for i in range(count)]
    gates = {m.text: rasa.hold(m.text) for m in messages}

    async def scenario() -> None:
        retrying = asyncio.create_task(conversations(store, rasa).retry_due())
        # the engine hangs on every turn: as many as the bound reach it, and no more
        await asyncio.wait_for(_until(lambda: rasa.in_flight == RETRY_CONCURRENCY), timeout=30)
        for _ in range(100):  # a while for any conversation past the bound to arrive (none may)
            await asyncio.sleep(0.01)
            assert rasa.in_flight == RETRY_CONCURRENCY
        for gate in gates.values():
            gate.set()
        assert await retrying == count

    asyncio.run(scenario())
    assert rasa.most_in_flight == RETRY_CONCURRENCY
    assert all(reloaded(store, m.id).status == "handled" for m in messages)


def test_a_conversation_waiting_for_its_first_message_is_not_picked_for_a_later_one(engine):
    waiting = stored(engine, "satu", age=timedelta(minutes=2))
    with session_scope(engine) as session:
        message_store.mark_inbound_retry(session, waiting.id, "HTTP 500", timedelta(minutes=4))
    stored(engine, "dua", age=timedelta(minutes=1))  # stale, but behind the first
    with session_scope(engine) as session:
        assert message_store.urns_with_due_inbound(session, datetime.now(timezone.utc)) == []
    make_due(engine, waiting.id)
    with session_scope(engine) as session:
        assert message_store.urns_with_due_inbound(session, datetime.now(timezone.utc)) == [waiting.urn_id]


def test_a_push_written_after_a_waiting_message_is_not_picked_before_that_message(engine):
    waiting = stored(engine, "satu", age=timedelta(minutes=2))
    with session_scope(engine) as session:
        message_store.mark_inbound_retry(session, waiting.id, "HTTP 500", timedelta(minutes=4))
    with session_scope(engine) as session:
        push_store.queue_dialogue_push(session, waiting.urn_id, "EXTERNAL_status_changed", {"ticket": "12345678"})
    with session_scope(engine) as session:
        assert push_store.urns_with_due_pushes(session, datetime.now(timezone.utc)) == []  # it waits behind
    with session_scope(engine) as session:
        message_store.mark_inbound_handled(session, waiting.id)
    with session_scope(engine) as session:
        assert push_store.urns_with_due_pushes(session, datetime.now(timezone.utc)) == [waiting.urn_id]


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.01)
