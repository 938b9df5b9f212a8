"""The thread actions on trackers as the engine sends them (Rasa's financial-demo way).

A thread is what the citizen was pushed and may answer: an officer's message (the answer is
relayed to the agency) or "selesai" (confirm and rate, or reopen). The trackers in
tests/data/trackers/ (push_*, reply_*, feedback_*) are loaded with ``Tracker.from_dict`` after two
substitutions the clock and the store need: ``$TICKET`` becomes the ticket filed for the test, and
a slot ``{"$seconds_ago": N}`` becomes the time N seconds ago. The actions run with a
``CollectingDispatcher`` on a migrated store (SQLite and PostgreSQL) given to them through
``bot.services``, with the agencies and officers of tests/casework_support.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import casework, metrics, services
from bot.actions.thread import THREAD_SLOTS, ActionNotePush, ActionThreadAnswer
from bot.casework import Actor
from storage import complaints as complaint_store
from storage.db import session_scope
from storage.models import Officer
from storage.tickets import format_ticket
from tests.casework_support import (
    CITIZEN_URN,
    OTHER_CITIZEN_URN,
    PUPR_NAME,
    PUPR_OFFICER_URN,
    build_world,
    events,
    file,
    outbound_text,
)

TRACKERS = Path(__file__).parents[2] / "data" / "trackers"


def load_tracker(name: str, ticket: str) -> Tracker:
    state = json.loads((TRACKERS / f"{name}.json").read_text().replace("$TICKET", ticket))
    now = time.time()
    for slot, value in state["slots"].items():
        if isinstance(value, dict) and "$seconds_ago" in value:
            state["slots"][slot] = now - value["$seconds_ago"]
    assert state["sender_id"] == CITIZEN_URN
    return Tracker.from_dict(state)


def run(action, tracker: Tracker) -> tuple[list[dict], list[str | None], list[str | None]]:
    """The events, and the texts and response names said."""
    dispatcher = CollectingDispatcher()
    returned = asyncio.run(action.run(dispatcher, tracker, {}))
    return returned, [m["text"] for m in dispatcher.messages], [m["response"] for m in dispatcher.messages]


def slots_of(returned: list[dict]) -> dict:
    """The last value each slot is set to (open_thread clears the thread first, then opens it)."""
    values = {}
    for event in returned:
        if event["event"] == "slot":
            values[event["name"]] = event["value"]
    return values


CLOSED = {slot: None for slot in THREAD_SLOTS}


@pytest.fixture
def world(engine):
    services.install(services.Services(engine))
    metrics.reset()
    with session_scope(engine) as session:
        built = build_world(session)
    yield built
    metrics.reset()
    services.clear()


def filed(engine, urn: str = CITIZEN_URN) -> str:
    with session_scope(engine) as session:
        return file(session, urn).ticket


def move(engine, world, ticket: str, *statuses: str, note: str | None = None) -> None:
    for status in statuses:
        with session_scope(engine) as session:
            complaint = complaint_store.get_complaint(session, ticket)
            officer = Actor.of(session.get(Officer, world.pupr_officer_id))
            casework.change_status(session, complaint, status, actor=officer, note=note, today=date(2026, 12, 1))


def resolved(engine, world) -> str:
    ticket = filed(engine)
    move(engine, world, ticket, "diteruskan", "selesai")
    return ticket


def complaint(engine, ticket: str):
    with session_scope(engine) as session:
        found = complaint_store.get_complaint(session, ticket)
        return found, [(e.kind, e.actor_type, e.note) for e in events(session, found.id)]


def officer_inbox(engine) -> str:
    with session_scope(engine) as session:
        return outbound_text(session, PUPR_OFFICER_URN)


# ---------------------------------------------------------------- the push is noted


@pytest.mark.parametrize(("name", "kind"), [("push_officer_reply", "reply"), ("push_resolution_check", "feedback")])
def test_a_push_that_asks_something_opens_a_thread_on_its_ticket(name, kind):
    returned, texts, _ = run(ActionNotePush(), load_tracker(name, "12345678"))
    slots = slots_of(returned)
    assert {k: slots[k] for k in ("thread_open", "thread_kind", "thread_ticket")} == {
        "thread_open": True, "thread_kind": kind, "thread_ticket": "12345678",
    }
    assert abs(slots["thread_opened_at"] - time.time()) < 60
    assert slots["thread_answered_at"] is None and slots["thread_resolved"] is None and texts == []


def test_a_push_during_a_new_complaint_opens_no_thread():
    tracker = load_tracker("push_during_a_new_complaint", "12345678")
    assert tracker.active_loop["name"] == "complaint_form"
    assert run(ActionNotePush(), tracker) == ([], [], [])


# ---------------------------------------------------------------- answers to an officer's message


def test_the_citizens_answer_is_relayed_to_the_agency_kept_on_the_complaint_and_acknowledged(engine, world):
    ticket = filed(engine)
    returned, [said], _ = run(ActionThreadAnswer(), load_tracker("reply_answered", ticket))
    assert said == f"Jawaban Anda sudah diteruskan ke {PUPR_NAME} (tiket {format_ticket(ticket)})."
    assert list(slots_of(returned)) == ["thread_answered_at"]
    assert abs(slots_of(returned)["thread_answered_at"] - time.time()) < 60
    _, history = complaint(engine, ticket)
    assert history[-1] == ("citizen_reply", "citizen", "kira2 1 meter, dalam 20 cm")
    assert "kira2 1 meter, dalam 20 cm" in officer_inbox(engine)


def test_a_second_part_of_the_answer_is_relayed_quietly(engine, world):
    ticket = filed(engine)
    returned, texts, _ = run(ActionThreadAnswer(), load_tracker("reply_second_part", ticket))
    assert texts == [] and list(slots_of(returned)) == ["thread_answered_at"]
    assert "lebarnya juga 1 meter" in officer_inbox(engine)


def test_a_sure_status_question_in_a_thread_is_answered_and_not_relayed(engine, world):
    ticket = filed(engine)
    returned, [said], _ = run(ActionThreadAnswer(), load_tracker("reply_status_asked", ticket))
    assert format_ticket(ticket) in said and "DITERIMA" in said
    assert slots_of(returned) == {"ticket": None}  # the thread stays open for the answer
    _, history = complaint(engine, ticket)
    assert "citizen_reply" not in [kind for kind, _, _ in history]


def test_batal_leaves_the_thread(engine, world):
    ticket = filed(engine)
    returned, [said], _ = run(ActionThreadAnswer(), load_tracker("reply_cancelled", ticket))
    assert "STATUS" in said and slots_of(returned) == CLOSED
    _, history = complaint(engine, ticket)
    assert "citizen_reply" not in [kind for kind, _, _ in history]


def test_a_message_after_an_old_thread_is_answered_as_without_one(engine, world):
    ticket = filed(engine)
    returned, _, responses = run(ActionThreadAnswer(), load_tracker("reply_expired_greeting", ticket))
    assert responses == ["utter_greet"] and slots_of(returned) == CLOSED
    assert "halo" not in officer_inbox(engine)


@pytest.mark.parametrize("urn", [OTHER_CITIZEN_URN, None], ids=["another citizens ticket", "a rejected complaint"])
def test_an_answer_about_a_ticket_that_cannot_take_one_is_told_and_the_thread_closed(engine, world, urn):
    if urn:
        ticket = filed(engine, urn)  # the tracker's citizen is not its reporter
    else:
        ticket = filed(engine)
        move(engine, world, ticket, "ditolak", note="bukan kewenangan kami")
    returned, [said], _ = run(ActionThreadAnswer(), load_tracker("reply_answered", ticket))
    assert said == f"Tiket {format_ticket(ticket)} sudah ditutup. Kirim LAPOR untuk laporan baru."
    assert slots_of(returned) == CLOSED
    assert "kira2 1 meter" not in officer_inbox(engine)


# ---------------------------------------------------------------- answers to "selesai": confirm, rate, reopen


def test_yes_with_a_rating_closes_the_complaint_with_it(engine, world):
    ticket = resolved(engine, world)
    returned, [said], _ = run(ActionThreadAnswer(), load_tracker("feedback_yes_with_rating", ticket))
    assert said == f"Terima kasih atas nilai 5/5. Tiket {format_ticket(ticket)} ditutup."
    assert slots_of(returned) == CLOSED
    closed, history = complaint(engine, ticket)
    assert (closed.status, closed.rating) == ("ditutup", 5)
    assert ("feedback", "citizen", "nilai 5/5") in history


def test_yes_without_a_rating_asks_for_one_and_keeps_the_complaint_selesai(engine, world):
    ticket = resolved(engine, world)
    returned, [said], _ = run(ActionThreadAnswer(), load_tracker("feedback_yes_without_rating", ticket))
    assert "1 (buruk) sampai 5 (sangat baik)" in said
    assert slots_of(returned) == {"thread_resolved": True}
    assert complaint(engine, ticket)[0].status == "selesai"


def test_a_bare_rating_after_yes_closes_the_complaint_with_it(engine, world):
    ticket = resolved(engine, world)
    returned, [said], _ = run(ActionThreadAnswer(), load_tracker("feedback_rating_after_yes", ticket))
    assert "4/5" in said and slots_of(returned) == CLOSED
    closed, _ = complaint(engine, ticket)
    assert (closed.status, closed.rating) == ("ditutup", 4)


def test_belum_reopens_the_complaint_and_opens_a_thread_for_what_is_still_wrong(engine, world):
    ticket = resolved(engine, world)
    returned, [said], _ = run(ActionThreadAnswer(), load_tracker("feedback_not_yet", ticket))
    assert "dibuka kembali" in said and format_ticket(ticket) in said
    slots = slots_of(returned)
    assert (slots["thread_open"], slots["thread_kind"], slots["thread_ticket"]) == (True, "reply", ticket)
    reopened, history = complaint(engine, ticket)
    assert (reopened.status, reopened.rating) == ("diproses", None)
    assert history[-1][:2] == ("status", "citizen") and "belum, masih berlubang" in officer_inbox(engine)


def test_an_answer_that_neither_confirms_nor_reopens_asks_again_and_counts_the_miss(engine, world):
    ticket = resolved(engine, world)
    returned, [said], _ = run(ActionThreadAnswer(), load_tracker("feedback_unclear", ticket))
    assert said == f"Apakah masalah tiket {format_ticket(ticket)} sudah beres? Balas YA atau BELUM."
    assert slots_of(returned) == {"thread_misses": 1.0}
    assert complaint(engine, ticket)[0].status == "selesai"


def test_every_thread_tracker_on_disk_is_used_here():
    names = {path.stem for path in TRACKERS.glob("*.json") if not path.stem.startswith("form_")}
    source = Path(__file__).read_text()
    assert names and all(f'"{name}"' in source for name in names), names
