"""The same complaint filed over SMS, WhatsApp (Twilio) and Telegram against the running stack
(Rasa included); webhooks signed as the providers sign them, replies observed at fake providers."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests.e2e.conftest import TELEGRAM_SECRET

pytestmark = pytest.mark.e2e

ONE_MESSAGE = "mau lapor lampu jalan mati di kec. mlati sleman sudah 2 minggu"
TICKET = re.compile(r"\b(\d{4}-\d{4})\b")


def turn(send: Callable[[str], httpx.Response], replies: Callable[[], list[str]], text: str) -> list[str]:
    """Send one message and return the replies it caused (the turn runs after the webhook is acknowledged)."""
    before = len(replies())
    response = send(text)
    assert response.status_code in (200, 204), response.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(replies()) == before:
        time.sleep(0.1)
    time.sleep(0.5)  # a turn may send several messages
    new = replies()[before:]
    assert new, f"no reply to {text!r}"
    return new


def file_one_message_complaint(send, replies) -> str:
    assert any("Rahasiakan identitas" in r for r in turn(send, replies, ONE_MESSAGE))
    summary = "\n".join(turn(send, replies, "1"))
    assert "Mlati" in summary, summary
    filed = "\n".join(turn(send, replies, "ya"))
    return TICKET.search(filed).group(1)


def twilio_sender(stack, fake_twilio, sender: str):
    url = f"{stack.base_url}/webhooks/twilio"
    validator = RequestValidator(fake_twilio.auth_token)

    def send(text: str) -> httpx.Response:
        # unique across every importer of this module (pytest may load it twice, each with its own counter)
        params = {"MessageSid": f"SM{uuid.uuid4().hex}", "AccountSid": fake_twilio.account_sid,
                  "From": sender, "To": "+6281100001708", "Body": text, "NumMedia": "0"}
        return httpx.post(url, content=urlencode(params), timeout=10, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(url, params),
        })

    return send


def check_filed(stack, admin_token, ticket: str, channel: str) -> None:
    body = httpx.get(f"{stack.base_url}/api/v1/complaints/{ticket}",
                     headers={"Authorization": f"Bearer {admin_token}"}, timeout=10).json()
    assert (body["channel"], body["district_code"], body["category"]) == (channel, "34.04.06", "infrastruktur")


def test_sms_through_twilio(stack, fake_twilio, admin_token):
    number = "+6281277770001"
    ticket = file_one_message_complaint(twilio_sender(stack, fake_twilio, number), lambda: fake_twilio.bodies_to(number))
    check_filed(stack, admin_token, ticket, "sms")
    for body in fake_twilio.bodies_to(number):
        assert len(body) <= 160 and body.isascii()


def test_whatsapp_through_twilio(stack, fake_twilio, admin_token):
    number = "whatsapp:+6281277770002"
    ticket = file_one_message_complaint(twilio_sender(stack, fake_twilio, number), lambda: fake_twilio.bodies_to(number))
    check_filed(stack, admin_token, ticket, "whatsapp")


def test_telegram(stack, fake_telegram, admin_token):
    chat_id, update_ids = 777000333, iter(range(5000, 6000))

    def send(text: str) -> httpx.Response:
        update_id = next(update_ids)
        update = {"update_id": update_id, "message": {
            "message_id": update_id, "date": int(time.time()), "text": text,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Wayan"},
            "chat": {"id": chat_id, "type": "private", "first_name": "Wayan"}}}
        return httpx.post(f"{stack.base_url}/webhooks/telegram", json=update, timeout=10,
                          headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})

    assert turn(send, lambda: fake_telegram.texts_to(chat_id), "/start")
    ticket = file_one_message_complaint(send, lambda: fake_telegram.texts_to(chat_id))
    check_filed(stack, admin_token, ticket, "telegram")
    keyboards = [m.get("reply_markup") for m in fake_telegram.sent if int(m["chat_id"]) == chat_id]
    assert any(k and "YA" in str(k) for k in keyboards)
