"""The complaint form's actions on a tracker (rasa_sdk ``Tracker`` + ``CollectingDispatcher``).

What the citizen is protected from: a request for secrecy read as "no", a whole complaint stored
as its address, a filing that fails without anyone hearing of it.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import DataError
from sqlmodel import Session, select

from bot import filing, metrics, services
from bot.actions import complaint as actions
from bot.actions.complaint import (
    ActionAskConfirmed,
    ActionFileComplaint,
    ActionStartComplaint,
    ValidateComplaintForm,
    privacy_answer,
    secrecy_request,
)
from channels.formatting import render
from storage.models import Complaint

SENDER = "whatsapp:+6281234567890"


def tracker(slots: dict | None = None, text: str = "", sender: str = SENDER, requested: str | None = None) -> Tracker:
    return Tracker(
        sender_id=sender,
        slots={"language": "id", **(slots or {}), "requested_slot": requested},
        latest_message={"text": text, "intent": {"name": "file_complaint"}, "metadata": {}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": "complaint_form"} if requested else {},
        latest_action_name="action_listen",
    )


def run(coroutine):
    return asyncio.run(coroutine)


# --- the privacy answer --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "jangan kasih tahu nomor saya",
        "Jangan kasih tau nomor sy",
        "jgn kasi tau no hp saya",
        "tolong jangan sebut nama saya",
        "nama saya jangan ditampilkan",
        "jangan tampilkan identitas saya",
        "nomor saya jangan dikasih ke siapa2",
        "rahasiakan",
        "rahasiakan aja",
        "dirahasiakan ya",
        "tolong rahasiakan identitas saya",
        "anonim",
        "anonim aja min",
        "tanpa nama",
        "tanpa identitas",
        "sembunyikan nama saya",
        "ga usah sebut nama",
        "tidak, jangan kasih tahu",
        "no, don't share my number",
        "don't share my number",
        "do not show my name",
        "please keep my name secret",
        "keep it private",
        "hide my identity",
        "anonymous please",
        "without my name",
    ],
)
def test_an_answer_that_asks_for_secrecy_in_words_makes_the_complaint_anonymous(text):
    answer = privacy_answer(text)
    assert answer is not None and answer[0] is True, text


@pytest.mark.parametrize(
    "text",
    ["rahasiakan & jangan dipublikasikan", "jangan dipublikasikan", "anonim dan jangan diumumkan", "don't publish it, keep me anonymous"],
)
def test_an_answer_that_asks_not_to_be_published_is_anonymous_and_confidential(text):
    assert privacy_answer(text) == (True, True), text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", (False, False)),
        ("2", (True, False)),
        ("3", (True, True)),
        ("tidak", (False, False)),
        ("ya", (True, False)),
        ("tidak usah dirahasiakan", (False, False)),
        ("ga perlu anonim", (False, False)),
        ("no need to be anonymous", (False, False)),
        ("not anonymous", (False, False)),
        ("tidak apa-apa", (False, False)),
    ],
)
def test_numbers_plain_answers_and_waived_secrecy_keep_their_meaning(text, expected):
    assert privacy_answer(text) == expected, text


@pytest.mark.parametrize("text", ["jangan", "jangan deh", "hmm", "terserah", "tidak usah dirahasiakan tapi jangan sebut nama"])
def test_an_unclear_privacy_answer_is_asked_again_never_read_as_disclosure(text):
    assert privacy_answer(text) is None, text


def test_a_complaint_text_without_secrecy_words_is_no_secrecy_request():
    assert secrecy_request("lampu jalan mati di mlati sleman") is None


def test_validate_anonymous_files_jangan_kasih_tahu_nomor_saya_anonymously():
    slots = run(ValidateComplaintForm().validate_anonymous("jangan kasih tahu nomor saya", CollectingDispatcher(), tracker(), {}))
    assert slots == {"anonymous": True, "confidential": False}


def test_validate_anonymous_asks_again_when_unsure():
    slots = run(ValidateComplaintForm().validate_anonymous("jangan", CollectingDispatcher(), tracker(), {}))
    assert slots == {"anonymous": None, "confidential": None}


def test_a_secrecy_request_at_the_summary_makes_it_anonymous_instead_of_filing():
    filled = tracker({"anonymous": False, "confidential": False}, requested="confirmed")
    slots = run(ValidateComplaintForm().validate_confirmed("ya tapi jangan sebut nama saya", CollectingDispatcher(), filled, {}))
    assert slots["confirmed"] is None and slots["anonymous"] is True


def test_a_plain_yes_at_the_summary_still_files():
    slots = run(ValidateComplaintForm().validate_confirmed("ya", CollectingDispatcher(), tracker(requested="confirmed"), {}))
    assert slots == {"confirmed": True}


# --- the address: the place in words, not the whole complaint ------------------------------


LONG_COMPLAINT = (
    "lampu jalan mati di kec. mlati sleman sudah 2 minggu. "
    + "Setiap malam warga takut lewat karena gelap sekali dan sudah ada yang jatuh dari motor. " * 45
)


def test_a_prefilled_complaint_keeps_the_place_words_as_its_location_not_the_whole_text():
    events = run(ActionStartComplaint().run(CollectingDispatcher(), tracker(text=LONG_COMPLAINT), {}))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot" and e["value"] is not None}
    assert slots["description"] == LONG_COMPLAINT.strip()  # the whole complaint, never cut
    assert slots["district_code"] == "34.04.06"
    assert slots["location"] == "kec. mlati sleman"


def test_the_place_words_kept_are_those_of_the_resolved_place_not_an_earlier_namesake():
    # "mau" is also the name of a kecamatan far away: the words kept must name Mlati, Sleman
    events = run(ActionStartComplaint().run(CollectingDispatcher(), tracker(text="mau lapor lampu jalan mati di kec. mlati sleman sudah 2 minggu"), {}))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot" and e["value"] is not None}
    assert slots["location"] == "kec. mlati sleman" and slots["district_code"] == "34.04.06"


def test_a_prefilled_place_is_kept_when_the_form_validates_it():
    prefilled = tracker(
        {"location": "kec. mlati sleman", "region_code": "34.04", "district_code": "34.04.06", "province_code": "34"},
        requested="location",
    )
    slots = run(ValidateComplaintForm().validate_location("kec. mlati sleman", CollectingDispatcher(), prefilled, {}))
    assert slots == {"location": "kec. mlati sleman"}


def test_an_answer_to_where_is_kept_as_written():
    slots = run(ValidateComplaintForm().validate_location("Mlati, Sleman", CollectingDispatcher(), tracker(requested="location"), {}))
    assert slots["location"] == "Mlati, Sleman" and slots["district_code"] == "34.04.06"


# --- filing --------------------------------------------------------------------------------


def confirmed_slots(description: str, location: str) -> dict:
    return {
        "description": description,
        "location": location,
        "province_code": "34",
        "region_code": "34.04",
        "district_code": "34.04.06",
        "place_name": "Mlati, Kab. Sleman (DI Yogyakarta)",
        "category": "infrastruktur",
        "anonymous": True,
        "confidential": False,
        "confirmed": True,
    }


@pytest.fixture
def store(engine):
    services.install(services.Services(engine))
    metrics.reset()
    yield engine
    metrics.reset()
    services.clear()


def test_a_4000_character_complaint_is_filed_whole_with_the_place_in_words(store):
    description = LONG_COMPLAINT[:4000]
    assert len(description) == 4000
    dispatcher = CollectingDispatcher()
    events = run(ActionFileComplaint().run(dispatcher, tracker(confirmed_slots(description, "kec. mlati sleman")), {}))
    assert "tiket" in dispatcher.messages[0]["text"]
    assert all(e["value"] is None for e in events if e["event"] == "slot")
    with Session(store) as session:
        filed = session.exec(select(Complaint)).one()
    assert filed.description == description and filed.address == "kec. mlati sleman"


def test_a_confirmation_whose_turn_runs_again_files_one_complaint_and_tells_the_same_ticket(store):
    # Rasa died after this action filed but before it saved the turn: the app sends the citizen's
    # YA again (same message id in the metadata) and the action runs again
    def confirming(message_id: int) -> Tracker:
        confirmed = tracker(confirmed_slots("jalan rusak parah di mlati", "kec. mlati sleman"), text="ya")
        confirmed.latest_message["metadata"] = {"message_id": message_id}
        return confirmed

    first, again, next_one = CollectingDispatcher(), CollectingDispatcher(), CollectingDispatcher()
    run(ActionFileComplaint().run(first, confirming(41), {}))
    run(ActionFileComplaint().run(again, confirming(41), {}))
    with Session(store) as session:
        assert len(session.exec(select(Complaint)).all()) == 1
    assert first.messages[0]["text"] == again.messages[0]["text"] and "tiket" in again.messages[0]["text"]
    run(ActionFileComplaint().run(next_one, confirming(57), {}))  # a later complaint is its own
    with Session(store) as session:
        assert len(session.exec(select(Complaint)).all()) == 2


def test_a_filing_the_store_refuses_is_told_logged_counted_and_kept_for_another_ya(store, monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise DataError("INSERT INTO complaint ... +6281234567890", {}, Exception("value too long"))

    monkeypatch.setattr(filing, "file_complaint", refuse)
    dispatcher = CollectingDispatcher()
    with caplog.at_level(logging.ERROR, logger=actions.__name__):
        events = run(ActionFileComplaint().run(dispatcher, tracker(confirmed_slots("jalan rusak parah di mlati", "mlati")), {}))

    assert "belum tersimpan" in dispatcher.messages[0]["text"] and "YA" in dispatcher.messages[0]["text"]
    assert metrics.snapshot() == {metrics.FILING_FAILURES: 1}
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "DataError" in errors[0].getMessage() and "6281234567890" not in errors[0].getMessage()
    # The answers stay; the form waits at the summary's question, so the next YA files again.
    cleared = {e["name"] for e in events if e["event"] == "slot" and e["value"] is None}
    assert cleared == {"confirmed"}
    assert {"event": "active_loop", "name": "complaint_form", "timestamp": None} in events
    assert any(e["event"] == "slot" and e["name"] == "requested_slot" and e["value"] == "confirmed" for e in events)
    assert any(e["event"] == "followup" and e["name"] == "action_listen" for e in events)
    with Session(store) as session:
        assert session.exec(select(Complaint)).all() == []


def test_the_filing_failure_is_told_in_english_too(store, monkeypatch):
    monkeypatch.setattr(filing, "file_complaint", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("down")))
    dispatcher = CollectingDispatcher()
    run(ActionFileComplaint().run(dispatcher, tracker({**confirmed_slots("jalan rusak", "mlati"), "language": "en"}), {}))
    text = dispatcher.messages[0]["text"]
    assert "could not be saved" in text and "YES" in text and "CANCEL" not in text


# --- an answer to the summary that is neither YA nor a change -----------------------------


@pytest.mark.parametrize("text", ["hmm", "tidak", "kec. mlati sleman", "gimana ya"])
def test_an_unclear_answer_at_the_summary_is_reminded_in_one_line_not_the_whole_summary(text):
    slots = run(ValidateComplaintForm().validate_confirmed(text, CollectingDispatcher(), tracker(requested="confirmed"), {}))
    assert slots == {"confirmed": None, "summary_unanswered": True}
    dispatcher = CollectingDispatcher()
    events = run(ActionAskConfirmed().run(dispatcher, tracker({**slots}, requested="confirmed", sender="sms:+6281234567890"), {}))
    [said] = [message["text"] for message in dispatcher.messages]
    assert "Periksa laporan" not in said and "Balas YA" in said and "BATAL" in said
    assert len(render("sms", said)) == 1  # one SMS, where the summary costs two
    assert events == [SlotSet("summary_unanswered", None)]  # the next time, the summary again


def test_the_summary_is_shown_whole_when_it_is_asked_for_the_first_time_or_after_a_change():
    dispatcher = CollectingDispatcher()
    filled = tracker({"description": "Jalan berlubang", "place_name": "Mlati, Kab. Sleman", "category": "infrastruktur"}, requested="confirmed")
    assert run(ActionAskConfirmed().run(dispatcher, filled, {})) == []
    assert "Periksa laporan: Jalan berlubang" in dispatcher.messages[0]["text"]
