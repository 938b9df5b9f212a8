"""The app's client of several Rasa servers: a conversation keeps to its server, fails over only
when a request never got there, and reads a lost answer back from the tracker (issue #12)."""

from __future__ import annotations

import asyncio

import pytest

from bot.rasa_client import EngineUnavailable, EngineUnreachable, RasaClient, answer_in_events
from tests.fakes.rasa import FakeRasa
from tests.fakes.server import free_port

# Rasa's tracker events, shaped as GET /conversations/{id}/tracker returns them (trimmed)
EVENTS = [
    {"event": "action", "name": "action_session_start"},
    {"event": "user", "text": "jalan rusak", "metadata": {"message_id": 7, "channel": "sms"}},
    {"event": "action", "name": "complaint_form"},
    {"event": "bot", "text": "Di mana lokasinya?", "data": {"buttons": None}},
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "sleman", "metadata": {"message_id": 8}},
    {"event": "bot", "text": "Kirim tanpa identitas?", "data": {"buttons": [{"title": "Ya"}, {"title": "Tidak"}]}},
    {"event": "bot", "text": "Ringkasan", "data": {}},
    {"event": "user", "text": "/greet", "metadata": None},
]


@pytest.mark.parametrize(
    ("message_id", "answer"),
    [
        (7, [{"text": "Di mana lokasinya?", "buttons": None}]),
        (8, [{"text": "Kirim tanpa identitas?", "buttons": [{"title": "Ya"}, {"title": "Tidak"}]},
             {"text": "Ringkasan", "buttons": None}]),
        (9, None),  # never processed
    ],
)
def test_the_answer_to_a_message_is_the_bot_events_after_its_user_event(message_id, answer):
    assert answer_in_events(EVENTS, message_id) == answer


def test_a_processed_turn_with_no_bot_message_has_an_empty_answer_not_none():
    assert answer_in_events([{"event": "user", "metadata": {"message_id": 3}}, {"event": "action"}], 3) == []


@pytest.fixture
def live_engine():
    up = FakeRasa().start()
    yield up
    up.stop()


def test_a_conversation_keeps_to_its_own_server_and_conversations_spread_over_both():
    client = RasaClient(["http://127.0.0.1:1", "http://127.0.0.1:2"], "t")
    senders = [f"sms:+62812000{n:05d}" for n in range(200)]
    firsts = [str(client.servers_for(s)[0].base_url) for s in senders]
    assert firsts == [str(client.servers_for(s)[0].base_url) for s in senders]  # stable
    assert 70 <= firsts.count("http://127.0.0.1:1") <= 130


def test_a_server_that_cannot_be_connected_to_is_skipped_for_the_next(live_engine):
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client = RasaClient([down, live_engine.url], live_engine.token)
    sender = next(s for s in (f"sms:+628120{n}" for n in range(100)) if str(client.servers_for(s)[0].base_url) == down)

    async def talk():
        try:
            replies = await client.turn(sender, "halo", {"message_id": 5})
            recovered = await client.answer_to(sender, 5)
            status = await client.status()
            return replies, recovered, status, await client.statuses()
        finally:
            await client.aclose()

    replies, recovered, status, statuses = asyncio.run(talk())
    assert [r["text"] for r in replies] == ["balasan: halo"] and len(live_engine.turns) == 1
    assert [r["text"] for r in recovered] == ["balasan: halo"]
    assert status["state"] == "ok"
    assert [s["state"] == "ok" for s in statuses] == [False, True]


def test_no_server_reachable_is_said_as_unreachable():
    client = RasaClient([f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"], "t")

    async def talk():
        try:
            await client.turn("sms:+6281", "halo", {})
        finally:
            await client.aclose()

    with pytest.raises(EngineUnreachable):
        asyncio.run(talk())


def test_a_server_that_times_out_is_not_asked_again_elsewhere(live_engine):
    # a timeout may come after Rasa processed the turn: the turn must not go to a second server
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts the connection, never answers
    try:
        slow = f"http://127.0.0.1:{silent.getsockname()[1]}"
        client = RasaClient([slow, live_engine.url], live_engine.token, timeout=0.5)
        sender = next(s for s in (f"sms:+628120{n}" for n in range(100)) if str(client.servers_for(s)[0].base_url) == slow)

        async def talk():
            try:
                await client.turn(sender, "halo", {"message_id": 1})
            finally:
                await client.aclose()

        with pytest.raises(EngineUnavailable) as failure:
            asyncio.run(talk())
        assert not isinstance(failure.value, EngineUnreachable)
        assert live_engine.turns == []
    finally:
        silent.close()
