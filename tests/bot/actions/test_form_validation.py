"""The complaint form's validation on trackers as the engine sends them (Rasa's financial-demo way).

Each tracker in tests/data/trackers/form_*.json is what Rasa hands the action server while the
complaint form runs: the slots so far, the citizen's latest message (text, intent, entities), and
the events of the turn ending with the slot candidate the form extracted. It is loaded with
``Tracker.from_dict`` and run through ``validate_complaint_form`` (its ``run``, with the domain
read from domain.yml, as the executor does) with a ``CollectingDispatcher``; the test compares the
``SlotSet`` events returned and what was said. Places and categories are read through
bot/reading_pool.py, in this thread (READING_WORKERS=0, tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.complaint import ActionAskCategory, ActionAskLocation, ValidateComplaintForm

ROOT = Path(__file__).parents[3]
TRACKERS = Path(__file__).parents[2] / "data" / "trackers"
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())

SLEMAN = {"province_code": "34", "region_code": "34.04"}
DEPOK_SLEMAN = {
    **SLEMAN, "district_code": "34.04.07", "place_name": "Depok, Kab. Sleman (Daerah Istimewa Yogyakarta)",
    "location_options": None, "location_problem": None,
}
DEPOK_OPTIONS = [
    {"province_code": "32", "region_code": "32.76", "district_code": None, "name": "Kota Depok (Jawa Barat)"},
    {"province_code": "34", "region_code": "34.04", "district_code": "34.04.07",
     "name": "Depok, Kab. Sleman (Daerah Istimewa Yogyakarta)"},
]
POTHOLE = "jalan berlubang besar di depan SD kec. mlati sleman, sudah 3 bulan tidak diperbaiki"
UNEASE = "warga resah karena ada kejadian aneh setiap malam di kampung kami"

# tracker -> every slot the validation sets (name: value), and the responses it utters
CASES = [
    ("form_description_too_short", {"description": None}, ["utter_description_too_short"]),
    ("form_description_only_the_wish", {"description": None}, []),
    (
        "form_description_with_place_and_category",
        {
            "description": POTHOLE, "category": "infrastruktur", "category_options": None,
            "location": "kec. mlati sleman", **SLEMAN, "district_code": "34.04.06",
            "place_name": "Mlati, Kab. Sleman (Daerah Istimewa Yogyakarta)", "location_options": None,
            "location_problem": None,
        },
        [],
    ),
    (
        "form_description_unclear_category",
        {"description": UNEASE, "category_options": ["ketertiban_umum", "lingkungan", "lainnya"]},
        [],
    ),
    (
        "form_location_resolved",
        {
            "location": "Kuta, Badung", "province_code": "51", "region_code": "51.03", "district_code": "51.03.01",
            "place_name": "Kuta, Kab. Badung (Bali)", "location_options": None, "location_problem": None,
        },
        [],
    ),
    ("form_location_ambiguous", {"location": None, "location_options": DEPOK_OPTIONS, "location_problem": "ambiguous"}, []),
    ("form_location_unknown", {"location": None, "location_options": None, "location_problem": "unknown"}, []),
    ("form_location_option_chosen", {"location": DEPOK_SLEMAN["place_name"], **DEPOK_SLEMAN}, []),
    ("form_category_option_chosen", {"category": "lingkungan", "category_options": None}, []),
    ("form_category_other", {"category": None, "category_options": None}, []),
    ("form_category_in_words", {"category": "lingkungan", "category_options": None}, []),
    ("form_anonymous_in_words", {"anonymous": True, "confidential": False}, []),
    ("form_anonymous_not_published", {"anonymous": True, "confidential": True}, []),
    ("form_anonymous_number", {"anonymous": False, "confidential": False}, []),
    ("form_anonymous_unclear", {"anonymous": None, "confidential": None}, []),
    ("form_confirmed_yes", {"confirmed": True}, []),
    ("form_confirmed_location_corrected", {"confirmed": None, "location": "Depok Sleman", **DEPOK_SLEMAN}, []),
    ("form_confirmed_secrecy_asked", {"confirmed": None, "anonymous": True, "confidential": False}, []),
]


def load_tracker(name: str) -> Tracker:
    return Tracker.from_dict(json.loads((TRACKERS / f"{name}.json").read_text()))


def run(action, tracker: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return events, dispatcher.messages


def slot_values(events: list[dict]) -> dict:
    assert all(event["event"] == "slot" for event in events), events
    return {event["name"]: event["value"] for event in events}


def test_every_form_tracker_on_disk_is_in_the_table():
    on_disk = {path.stem for path in TRACKERS.glob("form_*.json")}
    assert on_disk == {name for name, _, _ in CASES}


@pytest.mark.parametrize(("name", "slots", "responses"), CASES, ids=[case[0] for case in CASES])
def test_the_form_validation_sets_the_expected_slots_and_says_the_expected_responses(name, slots, responses):
    tracker = load_tracker(name)
    events, messages = run(ValidateComplaintForm(), tracker)
    assert slot_values(events) == slots
    assert [m["response"] for m in messages] == responses


def test_a_too_short_description_is_refused_and_the_question_stays_open():
    tracker = load_tracker("form_description_too_short")
    events, [message] = run(ValidateComplaintForm(), tracker)
    assert slot_values(events) == {"description": None}
    assert message["response"] == "utter_description_too_short" and message["text"] is None


def test_an_ambiguous_place_is_asked_back_with_the_numbered_options_short_on_sms():
    tracker = load_tracker("form_location_ambiguous")
    events, _ = run(ValidateComplaintForm(), tracker)
    tracker.slots.update(slot_values(events))  # what the engine does before asking the next question
    _, [question] = run(ActionAskLocation(), tracker)
    assert "1. Kota Depok\n2. Depok, Kab. Sleman\n" in question["text"]  # SMS: without the provinces
    assert "nomornya" in question["text"]


def test_the_number_of_an_offered_place_chooses_it():
    tracker = load_tracker("form_location_option_chosen")
    assert tracker.get_slot("location_options") == DEPOK_OPTIONS
    events, _ = run(ValidateComplaintForm(), tracker)
    assert slot_values(events)["district_code"] == "34.04.07"


def test_an_unclear_category_is_asked_with_the_likeliest_three_and_a_way_to_all_of_them():
    tracker = load_tracker("form_description_unclear_category")
    events, _ = run(ValidateComplaintForm(), tracker)
    tracker.slots.update(slot_values(events))
    _, [question] = run(ActionAskCategory(), tracker)
    lines = question["text"].splitlines()
    assert [line.split(". ", 1)[0] for line in lines[1:5]] == ["1", "2", "3", "4"]
    assert lines[4] == "4. Kategori lain"


def test_secrecy_asked_at_the_summary_is_not_filed_as_a_yes():
    tracker = load_tracker("form_confirmed_secrecy_asked")
    assert tracker.latest_message["intent"]["name"] == "affirm"  # the NLU heard "ya"
    events, _ = run(ValidateComplaintForm(), tracker)
    assert slot_values(events)["confirmed"] is None and slot_values(events)["anonymous"] is True
