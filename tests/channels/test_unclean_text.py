"""Text no store can keep is cleaned once, as a channel builds the neutral message: a lone UTF-16
surrogate (``"\\ud83d"`` in JSON, sent by broken clients and fuzzers) becomes U+FFFD, NUL and other
control characters are dropped. Every webhook and the simulator, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest
from sqlmodel import select

from channels.base import IncomingMessage, MediaItem, clean_text
from channels.telegram import SECRET_HEADER
from storage.db import make_engine, session_scope
from storage.models import Attachment, ContactUrn, Direction, Message
from tests.channels_support import (
    TELEGRAM_SECRET,
    app_client,
    channel_settings,
    sign,
    wait_for,
)

# (what a JSON client sends, as JSON source text, what is stored and reaches the dialogue)
JSON_TEXTS = [
    ("lone high surrogate", r'"lampu mati \ud83d"', "lampu mati \ufffd"),
    ("lone low surrogate", r'"\ude00 jalan rusak"', "\ufffd jalan rusak"),
    ("surrogates the wrong way round", r'"\ude00\ud83d sampah"', "\ufffd\ufffd sampah"),
    ("a proper pair stays an emoji", r'"banjir \ud83d\ude00"', "banjir \U0001f600"),
    ("NUL", r'"jalan\u0000rusak"', "jalanrusak"),
    ("control characters", r'"baris satu\r\nbaris dua\u0007\u001b[31m\u007f"', "baris satu\nbaris dua[31m"),
    ("tabs and newlines are kept", r'"satu\tdua\ntiga"', "satu\tdua\ntiga"),
]
# (what Twilio's form body carries for Body, what is stored)
FORM_TEXTS = [
    ("percent-encoded NUL", "jalan%00rusak", "jalanrusak"),
    ("invalid UTF-8 byte", "lampu%FFmati", "lampu\ufffdmati"),
    ("UTF-8 of a surrogate", "air%ED%A0%BDkeruh", "air\ufffd\ufffd\ufffdkeruh"),
    ("control characters", "satu%0D%0Adua%07%1B", "satu\ndua"),
]


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("biasa saja", "biasa saja"),
        ("\ud83d", "\ufffd"),
        ("\ud83d\ude00", "\U0001f600"),
        ("a\x00b\x01c\x1fd\x7fe", "abcde"),
        ("a\r\nb\rc\nd\te", "a\nb\nc\nd\te"),
        ("Rp 50.000 “pungli” di kantor désa", "Rp 50.000 “pungli” di kantor désa"),
    ],
)
def test_clean_text_keeps_what_can_be_stored_and_replaces_or_drops_the_rest(raw, clean):
    assert clean_text(raw) == clean
    clean_text(raw).encode("utf-8")  # never raises


def test_the_neutral_message_cleans_its_text_ids_and_attachments():
    message = IncomingMessage(
        urn="telegram:1", channel="telegram", provider="telegram", text=" \x00foto\ud83d ", external_id="9\x00",
        attachments=[MediaItem(kind="document", url="BQAC\x00\ud83d", content_type="text/plain\x00" + "x" * 200)],
    )
    assert message.text == "foto\ufffd" and message.external_id == "9"
    [item] = message.attachments
    assert item.url == "BQAC\ufffd" and item.content_type is None


@pytest.fixture
def app(database_url, fakes):
    rasa, twilio, telegram = fakes
    with app_client(channel_settings(database_url, rasa, twilio, telegram, SIMULATOR_ENABLED="true")) as client:
        yield client, rasa, twilio, telegram


def stored_inbound(database_url: str) -> dict[str, list[str]]:
    """The texts of the stored inbound messages, by URN, oldest first."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            rows = session.exec(
                select(ContactUrn.urn, Message.text)
                .join(Message, Message.urn_id == ContactUrn.id)
                .where(Message.direction == Direction.inbound.value)
                .order_by(Message.id)
            ).all()
    finally:
        engine.dispose()
    stored: dict[str, list[str]] = {}
    for urn, text in rows:
        stored.setdefault(urn, []).append(text)
    return stored


def turns_by_sender(rasa) -> dict[str, str]:
    return {turn["sender"]: turn["message"] for turn in rasa.turns}


# One app per store; every case of a table from its own sender, so each stored row names its case.


def test_the_simulator_stores_and_answers_unclean_text_cleaned(app, database_url):
    client, rasa, _, _ = app
    expected = {}
    for index, (name, source, clean) in enumerate(JSON_TEXTS):
        number = f"08123450{index:04d}"
        body = f'{{"channel": "sms", "sender": "{number}", "text": {source}}}'
        response = client.post("/simulator/messages", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 200, (name, response.text)
        assert response.json()["replies"], name  # the reply went out as JSON (GSM-7 on SMS)
        expected[f"sim-sms:+628123450{index:04d}"] = clean
    assert stored_inbound(database_url) == {urn: [clean] for urn, clean in expected.items()}
    assert turns_by_sender(rasa) == expected


def test_the_telegram_webhook_stores_unclean_text_and_captions_cleaned(app, database_url):
    client, rasa, _, telegram = app
    expected = {}
    for index, (name, source, clean) in enumerate(JSON_TEXTS):
        chat = {"id": 555000100 + index, "type": "private", "first_name": "@"}
        text = {"update_id": 2 * index + 1, "message": {"message_id": 1, "date": 1796000000, "chat": chat, "text": "@"}}
        document = {
            "update_id": 2 * index + 2,
            "message": {
                "message_id": 2, "date": 1796000000, "chat": chat, "caption": "@",
                "document": {"file_id": f"BQAC\x00{index}", "file_unique_id": f"u{index}", "mime_type": "text/html\x00",
                             "file_name": "@"},
            },
        }
        for update in (text, document):
            body = json.dumps(update).replace('"@"', source)  # the raw JSON a client sent
            response = client.post(
                "/webhooks/telegram", content=body,
                headers={SECRET_HEADER: TELEGRAM_SECRET, "Content-Type": "application/json"},
            )
            assert response.status_code == 200, (name, response.text)
        expected[f"telegram:{555000100 + index}"] = clean
    wait_for(lambda: len(telegram.sent) >= 2 * len(JSON_TEXTS), what="every answer")
    assert stored_inbound(database_url) == {urn: [clean, clean] for urn, clean in expected.items()}
    assert turns_by_sender(rasa) == expected
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        attachments = {(a.url, a.content_type) for a in session.exec(select(Attachment)).all()}
    engine.dispose()
    assert attachments == {(f"BQAC{index}", "text/html") for index in range(len(JSON_TEXTS))}


def test_twilio_sms_and_whatsapp_webhooks_store_unclean_text_cleaned(app, database_url):
    client, rasa, twilio, _ = app
    expected = {}
    for index, (name, encoded, clean) in enumerate(FORM_TEXTS):
        for scheme, prefix in (("sms", ""), ("whatsapp", "whatsapp:")):
            number = f"+628123460{index:04d}"
            sid = f"SM{scheme[0]}{index:031d}"
            body = (
                f"MessageSid={sid}&From={prefix}{number.replace('+', '%2B')}&To=%2B6281100001708&NumMedia=0"
                f"&Body={encoded}"
            )
            response = client.post(
                "/webhooks/twilio", content=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    # Twilio signs the parameters as it sent them; we check them as we decoded them
                    "X-Twilio-Signature": sign(twilio.auth_token, "/webhooks/twilio", dict(parse_qsl(body))),
                },
            )
            assert response.status_code == 200, (name, response.text)
            expected[f"{scheme}:{number}"] = clean
    assert stored_inbound(database_url) == {urn: [clean] for urn, clean in expected.items()}
    wait_for(lambda: len(rasa.turns) >= len(expected), what="every turn")
    assert turns_by_sender(rasa) == expected


def test_an_invalid_field_holding_a_lone_surrogate_gets_a_422_not_a_500(app):
    client, rasa, _, _ = app
    body = r'{"channel": "\ud83d", "sender": "081234567890", "text": "halo"}'
    response = client.post("/simulator/messages", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "channel"] and error["input"] == "\ufffd"
    assert rasa.turns == []


def test_officers_texts_through_the_api_are_stored_cleaned(app, database_url):
    from datetime import date

    from bot import filing
    from storage import agencies as agency_store
    from storage import complaints as complaint_store
    from storage import officers as officer_store
    from storage.models import Category, ComplaintEvent, OfficerRole

    client, _, _, _ = app
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        admin = officer_store.create_officer(
            session, name="Admin", agency_id=agency_store.national_queue(session).id, role=OfficerRole.admin
        )
        token = officer_store.issue_token(session, admin.id)
        ticket = filing.file_complaint(
            session,
            complaint_store.NewComplaint(urn="sim-sms:+6281234567890", channel="sms", description="Jalan rusak",
                                    category=Category.infrastruktur, province_code="34", region_code="34.04"),
            today=date(2026, 11, 27),
        ).ticket
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    calls = [
        (f"/api/v1/complaints/{ticket}/replies", r'{"text": "Mohon\u0000 kirim foto \ud83d"}'),
        (f"/api/v1/complaints/{ticket}/status", r'{"status": "diteruskan", "note": "dicek\u0000 \ud83d"}'),
        ("/api/v1/agencies", r'{"code": "BPBD-3404", "name": "BPBD\u0000 Sleman \ud83d"}'),
    ]
    for path, body in calls:
        response = client.post(path, content=body, headers=headers)
        assert response.status_code in (200, 201), response.text
    with session_scope(engine) as session:
        notes = {e.kind: e.note for e in session.exec(select(ComplaintEvent)) if e.note}
        agency = agency_store.get_agency_by_code(session, "BPBD-3404")
        assert notes["reply"] == "Mohon kirim foto \ufffd" and "dicek \ufffd" in notes.values()
        assert agency.name == "BPBD Sleman \ufffd"
    engine.dispose()
