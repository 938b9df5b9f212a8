"""Several app instances on one store: each conversation's turns run one at a time and in order,
whichever instance stored them, and no turn is sent to Rasa twice (issue #12).

Two ``Conversations`` on one store are two app instances (each has its own owner token). The
scripted engine holds a turn "at Rasa" while the test acts on the other instance.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from bot import metrics, texts
from bot.conversation import Conversations
from storage import complaints as complaint_store
from storage import conversation_claims as claim_store
from storage import messages as message_store
from storage.db import session_scope
from storage.models import ContactUrn, Direction, Message
from storage.rows import aware
from tests.fakes.scripted_rasa import ScriptedRasa
from tests.skewed_clocks import HOLDER_AND_OTHER_CLOCKS

CITIZEN = "sim-sms:+6281234567890"


@pytest.fixture(autouse=True)
def counters():
    metrics.reset()
    yield
    metrics.reset()


def stored(engine, text: str) -> Message:
    with session_scope(engine) as session:
        message, _ = message_store.record_inbound(session, urn=CITIZEN, channel="sms", provider="simulator", text=text)
        return message


def instance(engine, rasa: ScriptedRasa, lease: timedelta = timedelta(seconds=30)) -> Conversations:
    return Conversations(engine, rasa, on_queued=lambda: None, lease=lease)  # type: ignore[arg-type]


def answers(engine, message_id: int) -> list[str]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(Message).where(Message.reply_to_id == message_id, Message.direction == Direction.outbound.value)
        ).all()
        return [m.text for m in rows]


def claim_of(engine, urn_id: int) -> tuple[str | None, datetime | None]:
    with session_scope(engine) as session:
        contact = session.get(ContactUrn, urn_id)
        return contact.turn_owner, contact.turn_lease_until


def test_a_message_stored_by_another_instance_waits_for_the_turn_running_and_then_runs_in_order(engine):
    rasa = ScriptedRasa()
    first = stored(engine, "satu")
    release = rasa.hold("satu")
    a, b = instance(engine, rasa), instance(engine, rasa)

    async def scenario():
        running = asyncio.create_task(a.process(first.urn_id))
        await rasa.reached("satu").wait()
        second = stored(engine, "dua")  # reached instance b's webhook meanwhile
        assert await b.process(second.urn_id) == []  # a holds the conversation: b does not run it
        assert claim_of(engine, first.urn_id)[0] == a.owner
        release.set()
        await running
        return second

    second = asyncio.run(scenario())
    assert rasa.calls == [("turn", "satu"), ("turn", "dua")]  # a ran b's message after its own, in order
    assert answers(engine, second.id) == ["balasan: dua"]
    assert claim_of(engine, first.urn_id) == (None, None)  # given back


def test_a_message_stored_just_after_the_holder_last_looked_is_run_once_the_claim_is_given_back(engine):
    rasa = ScriptedRasa()
    first = stored(engine, "satu")
    a, b = instance(engine, rasa), instance(engine, rasa)
    real_release = claim_store.release
    late: list[Message] = []

    def release_after_a_late_message(session, urn_id, *, owner):
        # the race: a has looked for the next step (none) but still holds the claim when b stores a
        # message and tries the conversation, and fails to claim it
        if not late:
            late.append(stored(engine, "dua"))
            assert asyncio.run(b.process(urn_id)) == []
        return real_release(session, urn_id, owner=owner)

    claim_store.release = release_after_a_late_message
    try:
        asyncio.run(a.process(first.urn_id))
    finally:
        claim_store.release = real_release
    assert rasa.calls == [("turn", "satu"), ("turn", "dua")]
    assert answers(engine, late[0].id) == ["balasan: dua"]


def test_a_dead_instances_claim_blocks_the_conversation_until_its_lease_runs_out(engine):
    rasa = ScriptedRasa()
    message = stored(engine, "halo")
    now = datetime.now(timezone.utc)
    with session_scope(engine) as session:  # an instance killed mid-turn left its claim behind
        assert claim_store.claim(session, message.urn_id, owner="killed", lease=timedelta(seconds=30))
    survivor = instance(engine, rasa)
    assert asyncio.run(survivor.process(message.urn_id)) == []
    assert rasa.calls == []
    with session_scope(engine) as session:  # 30 s later
        session.get(ContactUrn, message.urn_id).turn_lease_until = now - timedelta(seconds=1)
    asyncio.run(survivor.process(message.urn_id))
    assert rasa.calls == [("turn", "halo")]
    with session_scope(engine) as session:  # the dead instance's late release changes nothing
        assert not claim_store.release(session, message.urn_id, owner="killed")


def test_the_claim_is_renewed_while_a_long_turn_runs_so_no_other_instance_takes_it(engine):
    rasa = ScriptedRasa()
    message = stored(engine, "lama")
    release = rasa.hold("lama")
    lease = timedelta(seconds=0.6)
    a, b = instance(engine, rasa, lease), instance(engine, rasa, lease)

    async def scenario():
        running = asyncio.create_task(a.process(message.urn_id))
        await rasa.reached("lama").wait()
        for _ in range(4):  # 1.6 s, more than twice the lease
            await asyncio.sleep(0.4)
            assert not await asyncio.to_thread(_claims, engine, message.urn_id, b.owner)
        release.set()
        await running

    asyncio.run(scenario())
    assert rasa.calls == [("turn", "lama")]
    assert metrics.snapshot().get("claims_lost", 0) == 0


def _claims(engine, urn_id: int, owner: str) -> bool:
    with session_scope(engine) as session:
        return claim_store.claim(session, urn_id, owner=owner, lease=timedelta(seconds=30))


def test_an_instance_that_lost_its_claim_stops_after_the_step_it_is_in(engine):
    rasa = ScriptedRasa()
    first, second = stored(engine, "satu"), stored(engine, "dua")
    release = rasa.hold("satu")
    lease = timedelta(seconds=0.3)
    a = instance(engine, rasa, lease)

    async def scenario():
        running = asyncio.create_task(a.process(first.urn_id))
        await rasa.reached("satu").wait()
        with session_scope(engine) as session:  # a froze past its lease and another instance took over
            contact = session.get(ContactUrn, first.urn_id)
            contact.turn_owner, contact.turn_lease_until = "other", datetime.now(timezone.utc) + timedelta(minutes=1)
        await asyncio.sleep(0.3)  # a's renewal finds the claim gone
        release.set()
        await running

    asyncio.run(scenario())
    assert metrics.snapshot()["claims_lost"] == 1
    assert rasa.calls == [("turn", "satu")]  # "dua" is left to the instance that holds the conversation
    assert claim_of(engine, first.urn_id)[0] == "other"  # and a did not give away what it no longer held
    assert answers(engine, second.id) == []


def test_a_turn_whose_answer_was_lost_is_answered_from_the_tracker_not_sent_again(engine):
    rasa = ScriptedRasa()
    rasa.losing.add("jalan rusak")  # Rasa processes it; the answer times out on the way back
    message = stored(engine, "jalan rusak")
    a, b = instance(engine, rasa), instance(engine, rasa)
    asyncio.run(a.process(message.urn_id))
    with session_scope(engine) as session:
        waiting = session.get(Message, message.id)
        assert waiting.status == "pending" and waiting.sent_to_engine_at is not None
        waiting.next_attempt_at = datetime.now(timezone.utc)  # its retry time
    asyncio.run(b.process(message.urn_id))  # the retry, on another instance
    assert rasa.calls == [("turn", "jalan rusak")]  # once
    assert rasa.tracker_reads == [message.id]
    replies = answers(engine, message.id)
    assert replies[-1] == "balasan: jalan rusak" and len(replies) == 2  # the "busy" notice, then the answer
    assert metrics.snapshot()["turns_recovered"] == 1


def test_a_turn_that_never_reached_rasa_is_sent_after_the_tracker_says_so(engine):
    rasa = ScriptedRasa()
    message = stored(engine, "halo")
    with session_scope(engine) as session:  # the instance died between the mark and the request
        message_store.mark_sent_to_engine(session, message.id, datetime.now(timezone.utc))
    asyncio.run(instance(engine, rasa).process(message.urn_id))
    assert rasa.tracker_reads == [message.id] and rasa.calls == [("turn", "halo")]
    assert answers(engine, message.id) == ["balasan: halo"]


def test_a_tracker_that_cannot_be_read_keeps_the_message_pending_and_unsent(engine):
    rasa = ScriptedRasa()
    rasa.tracker_down = True
    message = stored(engine, "halo")
    with session_scope(engine) as session:
        message_store.mark_sent_to_engine(session, message.id, datetime.now(timezone.utc))
    asyncio.run(instance(engine, rasa).process(message.urn_id))
    assert rasa.calls == []  # not sent blind: it may have been processed
    with session_scope(engine) as session:
        assert session.get(Message, message.id).status == "pending"


def test_a_message_is_answered_once_even_when_two_instances_both_finish_its_turn(engine):
    message = stored(engine, "halo")
    with session_scope(engine) as session:
        assert message_store.mark_inbound_handled(session, message.id)
    with session_scope(engine) as session:
        assert not message_store.mark_inbound_handled(session, message.id)  # the second answer is dropped


def test_a_turn_that_comes_back_without_any_answer_asks_the_citizen_to_send_it_again(engine):
    rasa = ScriptedRasa()
    rasa.silent.add("halo")  # Rasa went on without the events of an action call that was cut off
    message = stored(engine, "halo")
    asyncio.run(instance(engine, rasa).process(message.urn_id))
    assert answers(engine, message.id) == [texts.not_processed("id")]
    assert metrics.snapshot()["empty_answers"] == 1


@HOLDER_AND_OTHER_CLOCKS
def test_a_claim_held_by_the_databases_clock_is_not_taken_over_by_an_instance_with_a_skewed_clock(
    engine, monkeypatch, holder_clock, other_clock
):
    # Leases are granted and compared by the database's clock, whatever each instance's clock says
    # (issue #26): ahead, the other instance saw the lease run out; behind, the holder granted
    # itself a lease that had run out as it was made.
    from bot import conversation

    rasa = ScriptedRasa()
    message = stored(engine, "halo")
    holder, other = instance(engine, rasa), instance(engine, rasa)
    monkeypatch.setattr(conversation, "datetime", holder_clock)
    with session_scope(engine) as session:  # the holder is in a long turn (or frozen), within its lease
        assert holder._claim(session, message.urn_id)
    monkeypatch.setattr(conversation, "datetime", other_clock)
    assert asyncio.run(other.process(message.urn_id)) == []
    assert rasa.calls == []
    owner, until = claim_of(engine, message.urn_id)
    assert owner == holder.owner
    expected = datetime.now(timezone.utc) + timedelta(seconds=30)  # the lease, by the database's clock
    assert abs(aware(until) - expected) < timedelta(seconds=5)


def test_an_officer_command_run_by_two_instances_takes_effect_once(engine):
    # A lost claim lets two instances run the same officer message (both read it while pending):
    # the one that marks it handled runs the command, in that transaction; the other does nothing.
    from tests.casework_support import CITIZEN_URN, PUPR_OFFICER_URN, build_world, file, inbound, outbound

    with session_scope(engine) as session:
        build_world(session)
        ticket = file(session).ticket
        command = inbound(session, PUPR_OFFICER_URN, f"/balas {ticket} Tim kami datang besok pagi")
    rasa = ScriptedRasa()
    a, b = instance(engine, rasa), instance(engine, rasa)

    async def both() -> tuple[list[int], list[int]]:
        step_a = await a._tx(lambda s: a._next(s, command.urn_id))
        step_b = await b._tx(lambda s: b._next(s, command.urn_id))  # before a stored its answer
        assert step_a.message.id == step_b.message.id == command.id and step_b.officer is not None
        ran_a, _ = await a._step(step_a)
        ran_b, _ = await b._step(step_b)
        return ran_a, ran_b

    ran_a, ran_b = asyncio.run(both())
    assert ran_a and ran_b == []  # the answer to the officer, once
    with session_scope(engine) as session:
        to_citizen = [m.text for m in outbound(session, CITIZEN_URN) if "Tim kami datang besok pagi" in m.text]
        to_officer = outbound(session, PUPR_OFFICER_URN)
        complaint = complaint_store.get_complaint(session, ticket)
        replies = [e for e in complaint_store.complaint_history(session, complaint.id) if e.kind == "reply"]
    assert len(to_citizen) == 1 and len(replies) == 1
    assert len(to_officer) == 1
