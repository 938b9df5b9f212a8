"""SMS economy: on SMS every bot text is GSM-7 and fits one 160-character segment (the summary, two)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot import texts
from bot.regions import resolve
from channels.formatting import render
from channels.gsm7 import SINGLE_SEGMENT, septets, to_gsm7

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text())
RESPONSES = [
    (name, variant.get("condition", [{}])[0].get("value", "id"), variant["text"])
    for name, variants in DOMAIN["responses"].items()
    for variant in variants
]


def fits_one_sms(text: str) -> bool:
    return render("sms", text) == [to_gsm7(text)] and septets(to_gsm7(text)) <= SINGLE_SEGMENT


@pytest.mark.parametrize("name, language, text", RESPONSES, ids=[f"{n}-{lang}" for n, lang, _ in RESPONSES])
def test_every_rasa_response_fits_one_sms(name, language, text):
    assert fits_one_sms(text), f"{name} ({language}) is {septets(to_gsm7(text))} characters"


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_questions_the_app_composes_fit_one_sms(language):
    longest_categories = ["pelayanan_administrasi", "pungli_korupsi", "ketertiban_umum"]
    questions = [
        texts.ask_privacy(language),
        texts.ask_location(language),
        texts.place_unknown(language),
        texts.category_menu(language, compact=True),
        texts.category_options(longest_categories, language),
        texts.ask_ticket(language),
        texts.ticket_invalid(language),
        texts.busy(language),
        texts.language_switched(language),
        texts.media_received({"image"}, language),
        texts.media_received({"location"}, language),
    ]
    for name in ("wonosari", "depok", "tegalrejo", "kalibawang", "tangerang"):
        options = [place.name for place in resolve(name).options]
        questions.append(texts.place_options(options, language, compact=True))
    for question in questions:
        assert fits_one_sms(question), f"{septets(to_gsm7(question))}: {question!r}"


@pytest.fixture(scope="module")
def pilot_agencies(tmp_path_factory):
    """The seeded pilot agencies (445), as a citizen's push would name them."""
    from bot import seed
    from storage import agencies as agency_store
    from storage.db import make_engine, session_scope
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('seed') / 'aduan.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        seed.load(session)
        agencies = agency_store.list_agencies(session)
    engine.dispose()
    return agencies


@pytest.mark.parametrize("language", ["id", "en"])
def test_pushes_fit_one_sms_for_every_pilot_agency(pilot_agencies, language):
    """Status pushes name the agency by its short name, so that each is one SMS (a long officer note may add one)."""
    from datetime import datetime, timezone

    from storage.models import Complaint

    too_long = []
    for agency in pilot_agencies:
        for status in ("diteruskan", "diproses", "selesai", "ditutup"):
            complaint = Complaint(
                ticket="12345678", status=status, province_code=agency.region_code and agency.region_code[:2],
                updated_at=datetime(2026, 11, 28, 7, 5, tzinfo=timezone.utc),
            )
            for text in (texts.status_push(complaint, agency, None, language), texts.rerouted_push(complaint, agency, language)):
                if not fits_one_sms(text):
                    too_long.append((agency.code, status, septets(to_gsm7(text))))
    assert too_long == []
