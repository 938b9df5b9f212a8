"""Telegram through python-telegram-bot: the secret-token webhook, de-duplication, media, keyboards,
blocked users, polling; the real PTB client against a fake Bot API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import func, select
from telegram import Bot

from channels.telegram import SECRET_HEADER, Blocked, keyboard_for, parse_update
from storage.db import session_scope
from storage.models import Attachment, ContactUrn, Message
from tests.channels_support import (
    TELEGRAM_SECRET,
    app_client,
    channel_settings,
    wait_for,
)

RECORDED = json.loads((Path(__file__).parents[1] / "data" / "telegram_updates.json").read_text())
CHAT = 123456789


@pytest.fixture
def client(sqlite_url, fakes):
    with app_client(channel_settings(sqlite_url, *fakes)) as client:
        yield client


def text_update(update_id: int, text: str, chat_id: int = CHAT) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": 1796000000, "text": text,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Budi"},
            "chat": {"id": chat_id, "type": "private", "first_name": "Budi"},
        },
    }


def post_update(client, update, secret=TELEGRAM_SECRET):
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return client.post("/webhooks/telegram", json=update, headers=headers)


def count(store, model) -> int:
    with session_scope(store) as session:
        return session.exec(select(func.count()).select_from(model)).one()


@pytest.mark.parametrize("case", RECORDED, ids=[case["name"] for case in RECORDED])
def test_recorded_updates_become_the_expected_neutral_message(case):
    parsed = parse_update(case["update"], Bot("4242:test-token"))
    expected = case["expected"]
    if expected is None:
        assert parsed is None
    elif "blocked" in expected:
        assert isinstance(parsed, Blocked) and parsed.urn == expected["blocked"]
    else:
        assert (parsed.urn, parsed.channel, parsed.text, parsed.external_id) == (
            expected["urn"], "telegram", expected["text"], expected["external_id"],
        )
        assert [a.kind for a in parsed.attachments] == expected["attachment_kinds"]
        if "first_url" in expected:
            assert parsed.attachments[0].url == expected["first_url"]


def test_an_update_with_the_secret_is_answered_through_the_bot_api(client, fakes):
    rasa, _, telegram = fakes
    assert post_update(client, text_update(1, "halo")).status_code == 200
    [sent] = wait_for(lambda: telegram.sent, what="the reply at the fake Bot API")
    assert int(sent["chat_id"]) == CHAT and sent["text"] == "balasan: halo"
    assert rasa.turns[0]["sender"] == f"telegram:{CHAT}"


def test_start_greets(client, fakes):
    rasa, _, telegram = fakes
    post_update(client, text_update(2, "/start"))
    wait_for(lambda: telegram.sent, what="the greeting")
    assert rasa.turns[0]["message"] == "/greet"


@pytest.mark.parametrize("secret", [None, "", "wrong-secret"])
def test_updates_without_the_secret_token_are_refused(client, fakes, store, secret):
    assert post_update(client, text_update(3, "halo"), secret=secret).status_code == 403
    assert count(store, Message) == 0


def test_a_redelivered_update_is_stored_and_answered_once(client, fakes, store):
    rasa, _, telegram = fakes
    for _ in range(3):
        assert post_update(client, text_update(4, "halo")).status_code == 200
    wait_for(lambda: telegram.sent, what="the reply")
    assert count(store, Message) == 2 and len(rasa.turns) == 1 and len(telegram.sent) == 1


def test_photos_documents_and_locations_are_kept(client, fakes, store):
    rasa, _, telegram = fakes
    for case in RECORDED:
        if case["name"] in ("photo with caption", "document", "shared location"):
            assert post_update(client, case["update"]).status_code == 200
    wait_for(lambda: len(telegram.sent) >= 3, what="three replies")
    assert [t["message"] for t in rasa.turns] == ["ini fotonya"]  # captions are text; the rest is acknowledged
    with session_scope(store) as session:
        kinds = sorted(a.kind for a in session.exec(select(Attachment)).all())
    assert kinds == ["document", "image", "location"]


def test_a_sticker_gets_a_polite_answer(client, fakes):
    _, _, telegram = fakes
    [sticker] = [case for case in RECORDED if case["name"] == "sticker"]
    post_update(client, sticker["update"])
    [sent] = wait_for(lambda: telegram.sent, what="the answer")
    assert "hanya dapat membaca teks" in sent["text"]


@pytest.mark.parametrize("name", ["edited message", "callback query (unknown to us)"])
def test_updates_we_do_not_act_on_are_acknowledged_and_not_stored(client, fakes, store, name):
    [case] = [case for case in RECORDED if case["name"] == name]
    assert post_update(client, case["update"]).status_code == 200
    assert count(store, Message) == 0


def test_a_citizen_who_blocks_the_bot_is_no_longer_sent_to(client, fakes, store):
    _, _, telegram = fakes
    post_update(client, text_update(5, "halo"))
    wait_for(lambda: telegram.sent, what="the first reply")
    [blocked] = [case for case in RECORDED if case["name"] == "blocked the bot"]
    assert post_update(client, blocked["update"]).status_code == 200
    with session_scope(store) as session:
        contact = session.exec(select(ContactUrn).where(ContactUrn.urn == f"telegram:{CHAT}")).one()
    assert contact.unreachable_at is not None


def test_forbidden_on_send_marks_the_chat_unreachable_without_retrying(client, fakes, store):
    _, _, telegram = fakes
    telegram.blocked_chats.add(CHAT)
    post_update(client, text_update(6, "halo"))

    def failed():
        with session_scope(store) as session:
            return session.exec(select(Message).where(Message.status == "failed")).all()

    [message] = wait_for(failed, what="the reply marked failed")
    assert "Forbidden" in message.error and message.attempts == 1


def test_flood_control_is_waited_out(client, fakes):
    _, _, telegram = fakes
    telegram.throttle_next = 1
    post_update(client, text_update(7, "halo"))
    [sent] = wait_for(lambda: telegram.sent, timeout=20, what="the reply after retry_after")
    assert sent["text"] == "balasan: halo"


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        (b"{not json", "application/json", 400),
        (b"\xff\xfe\x00", "application/json", 400),
        (b'{"message": {"text": "no update id"}}', "application/json", 400),
        (b"[1, 2, 3]", "application/json", 400),
        (json.dumps(text_update(8, "x" * 20_000)).encode(), "application/json", 413),
    ],
)
def test_bad_bodies_are_refused_and_store_nothing(client, store, body, content_type, status):
    response = client.post(
        "/webhooks/telegram", content=body, headers={SECRET_HEADER: TELEGRAM_SECRET, "Content-Type": content_type}
    )
    assert response.status_code == status
    assert count(store, Message) == 0


def test_reply_keyboards_offer_the_expected_answers():
    def labels(markup):
        return [[button.text for button in row] for row in markup.keyboard]

    assert labels(keyboard_for("Rahasiakan identitas? Balas YA (anonim) atau TIDAK.")) == [["YA", "TIDAK"]]
    assert labels(keyboard_for("Lokasi yang mana?\n1. Kota Depok\n2. Depok, Sleman\nBalas dgn nomornya.")) == [["1", "2"]]
    summary = keyboard_for("Periksa laporan: ...\nBalas YA untuk kirim, 1-4 untuk ubah, atau BATAL.")
    assert labels(summary) == [["YA", "BATAL"], ["1", "2", "3", "4"]]
    assert keyboard_for("Terima kasih, laporan Anda diterima.") is None


def test_polling_mode_handles_updates_without_a_public_url(sqlite_url, fakes):
    rasa, twilio, telegram = fakes
    telegram.pending_updates.append(text_update(9, "halo dari polling"))
    settings = channel_settings(sqlite_url, rasa, twilio, telegram, TELEGRAM_MODE="polling", PUBLIC_BASE_URL="")
    with app_client(settings):
        [sent] = wait_for(lambda: telegram.sent, what="the reply to a polled update")
    assert sent["text"] == "balasan: halo dari polling"


def test_set_webhook_registers_the_url_and_secret(fakes):
    import asyncio

    from channels.telegram import TelegramAdapter

    _, _, telegram = fakes
    adapter = TelegramAdapter(token=telegram.token, webhook_secret=TELEGRAM_SECRET, api_url=telegram.url)
    assert asyncio.run(adapter.set_webhook("https://aduan.example.go.id"))
    assert telegram.webhook["url"] == "https://aduan.example.go.id/webhooks/telegram"
    assert telegram.webhook["secret_token"] == TELEGRAM_SECRET


MALFORMED = json.loads((Path(__file__).parents[1] / "data" / "malformed_webhooks.json").read_text())["telegram_webhook"]


def test_malformed_updates_get_a_clear_4xx_and_store_nothing_on_sqlite_and_postgresql(database_url, fakes):
    """The table in tests/data/malformed_webhooks.json: not JSON, not an object, fields of the wrong type."""
    from fastapi.testclient import TestClient

    from bot.app import create_app
    from storage.db import make_engine

    with TestClient(create_app(channel_settings(database_url, *fakes)), raise_server_exceptions=False) as client:
        answers = {
            case["name"]: client.post(
                "/webhooks/telegram", content=case["body"].encode(),
                headers={SECRET_HEADER: TELEGRAM_SECRET, "Content-Type": "application/json"},
            )
            for case in MALFORMED
        }
    wrong = {name: (r.status_code, r.text) for name, r in answers.items()
             if r.status_code != next(c["status"] for c in MALFORMED if c["name"] == name)}
    assert wrong == {}
    assert all(r.json()["detail"] for r in answers.values())
    engine = make_engine(database_url)
    assert count(engine, Message) == 0
    engine.dispose()


@pytest.mark.parametrize("secret", ["é" * 8, "тайна", TELEGRAM_SECRET + "ü"])
def test_a_secret_header_with_non_ascii_characters_is_refused_not_an_error(client, store, secret):
    response = client.post(
        "/webhooks/telegram", json=text_update(30, "halo"), headers={SECRET_HEADER: secret.encode("utf-8")}
    )
    assert response.status_code == 403
    assert count(store, Message) == 0


def test_polling_survives_an_update_that_could_not_be_handled(fakes, monkeypatch):
    """A failure while handling one update (the store down, say) must not end polling for good."""
    import asyncio

    from channels import telegram as telegram_module
    from channels.telegram import TelegramAdapter

    _, _, telegram = fakes
    monkeypatch.setattr(telegram_module, "POLL_RETRY_SECONDS", 0.01)
    telegram.pending_updates.append(text_update(40, "gagal disimpan"))
    handled: list[int] = []

    async def run() -> None:
        done = asyncio.Event()

        async def handle(data: dict) -> None:
            if data["update_id"] == 40:
                telegram.pending_updates.append(text_update(41, "berikutnya"))
                raise RuntimeError("the store is down")
            handled.append(data["update_id"])
            done.set()

        adapter = TelegramAdapter(token=telegram.token, api_url=telegram.url)
        polling = asyncio.create_task(adapter.poll_forever(handle))
        try:
            await asyncio.wait_for(done.wait(), timeout=20)
        finally:
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
            await adapter.aclose()

    asyncio.run(run())
    assert handled == [41]
