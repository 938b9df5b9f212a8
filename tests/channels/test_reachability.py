"""An address marked unreachable is cleared when it is heard from again (issue #10).

A Telegram user who blocks and unblocks the bot, an SMS user who sends STOP and then START, an
officers' group that removes and adds the bot back: any new inbound message, or a Telegram
``my_chat_member`` update that says the bot is a member again, clears the mark (recorded payloads
in tests/data/reachability.json; real PTB and twilio clients against the fakes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select
from telegram import Bot

from channels.telegram import SECRET_HEADER, Blocked, Unblocked, parse_update
from storage import contacts as contact_store
from storage import messages as message_store
from storage import outbox as outbox_store
from storage.db import session_scope
from storage.models import ContactUrn
from tests.channels_support import (
    TELEGRAM_SECRET,
    app_client,
    channel_settings,
    post_twilio,
    wait_for,
)

RECORDED = json.loads((Path(__file__).parents[1] / "data" / "reachability.json").read_text())
UPDATES = {case["name"]: case["update"] for case in RECORDED["telegram"]}
[START] = RECORDED["twilio"]
CHAT, NUMBER = 123456789, "+6281234567890"


@pytest.fixture
def client(sqlite_url, fakes):
    with app_client(channel_settings(sqlite_url, *fakes)) as client:
        yield client


def text_update(update_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": 1796000000, "text": text,
            "from": {"id": CHAT, "is_bot": False, "first_name": "Budi"},
            "chat": {"id": CHAT, "type": "private", "first_name": "Budi"},
        },
    }


def blocked_update(update_id: int) -> dict:
    update = json.loads(json.dumps(UPDATES["a citizen unblocks the bot"]))
    update["update_id"] = update_id
    member = update["my_chat_member"]
    member["old_chat_member"], member["new_chat_member"] = (
        {**member["new_chat_member"]}, {**member["old_chat_member"]},
    )
    return update


def post_update(client, update) -> int:
    return client.post("/webhooks/telegram", json=update, headers={SECRET_HEADER: TELEGRAM_SECRET}).status_code


def unreachable(store, urn: str) -> bool:
    with session_scope(store) as session:
        return session.exec(select(ContactUrn).where(ContactUrn.urn == urn)).one().unreachable_at is not None


def queue_push(store, urn: str, text: str) -> None:
    with session_scope(store) as session:
        contact = contact_store.get_urn(session, urn)
        outbox_store.queue_outbound(session, urn_id=contact.id, channel="telegram", provider="telegram", texts=[text])


@pytest.mark.parametrize("case", RECORDED["telegram"], ids=[case["name"] for case in RECORDED["telegram"]])
def test_recorded_member_updates_say_whether_the_chat_can_be_written_to(case):
    parsed = parse_update(case["update"], Bot("4242:test-token"))
    [(kind, urn)] = case["expected"].items()
    assert isinstance(parsed, {"unblocked": Unblocked, "blocked": Blocked}[kind]) and parsed.urn == urn


def test_a_telegram_user_who_unblocks_the_bot_is_sent_to_again(client, fakes, store):
    _, _, telegram = fakes
    assert post_update(client, text_update(1, "halo")) == 200
    wait_for(lambda: telegram.texts_to(CHAT), what="the first reply")
    assert post_update(client, blocked_update(2)) == 200
    assert unreachable(store, f"telegram:{CHAT}")
    assert post_update(client, UPDATES["a citizen unblocks the bot"]) == 200
    assert not unreachable(store, f"telegram:{CHAT}")
    queue_push(store, f"telegram:{CHAT}", "Status laporan 1234-5678: DIPROSES")
    wait_for(lambda: "Status laporan 1234-5678: DIPROSES" in telegram.texts_to(CHAT), what="the push after unblocking")


def test_a_telegram_user_who_blocked_the_bot_and_writes_again_is_answered(client, fakes, store):
    _, _, telegram = fakes
    post_update(client, text_update(3, "halo"))
    wait_for(lambda: telegram.texts_to(CHAT), what="the first reply")
    post_update(client, blocked_update(4))
    assert unreachable(store, f"telegram:{CHAT}")
    post_update(client, text_update(5, "saya kembali"))
    wait_for(lambda: "balasan: saya kembali" in telegram.texts_to(CHAT), what="the answer after writing again")
    assert not unreachable(store, f"telegram:{CHAT}")


def test_an_sms_user_who_sends_start_after_stop_is_answered_again(client, fakes, store):
    _, twilio, _ = fakes
    twilio.errors.append((400, 21610))  # the reply to their first message: they had sent STOP
    first = {**START["form"], "MessageSid": "SM" + "1" * 32, "SmsSid": "SM" + "1" * 32, "Body": "halo", "OptOutType": ""}
    post_twilio(client, twilio.auth_token, first)
    wait_for(lambda: unreachable(store, "sms:" + NUMBER), what="the number marked unreachable")
    post_twilio(client, twilio.auth_token, START["form"])
    wait_for(lambda: "balasan: START" in twilio.bodies_to(NUMBER), what="the answer to START")
    assert not unreachable(store, "sms:" + NUMBER)


def test_a_retried_webhook_of_an_old_message_does_not_clear_the_mark(engine):
    with session_scope(engine) as session:
        message_store.record_inbound(session, urn="sms:" + NUMBER, channel="sms", provider="twilio", text="halo", external_id="SM1")
        contact_store.mark_urn_unreachable(session, "sms:" + NUMBER)
    with session_scope(engine) as session:
        _, created = message_store.record_inbound(
            session, urn="sms:" + NUMBER, channel="sms", provider="twilio", text="halo", external_id="SM1"
        )
        assert not created
    assert unreachable(engine, "sms:" + NUMBER)
    with session_scope(engine) as session:
        message_store.record_inbound(session, urn="sms:" + NUMBER, channel="sms", provider="twilio", text="lagi", external_id="SM2")
    assert not unreachable(engine, "sms:" + NUMBER)
