"""End to end (issue #10): a long WhatsApp complaint is filed whole with its place in words, a
request for secrecy in words makes it anonymous, and English texts say BATAL, not CANCEL."""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.e2e

TICKET = re.compile(r"\b(\d{4}-\d{4})\b")
STORY = "Setiap malam warga takut lewat karena gelap sekali, kemarin ada yang jatuh dari motor. "


def test_a_4000_character_whatsapp_complaint_asking_for_secrecy_is_filed_whole_and_anonymous(stack, admin_token):
    citizen = "081211110101"
    text = ("lampu jalan mati di kec. mlati sleman sudah 2 minggu. " + STORY * 60)[:3999] + "!"
    assert len(text) == 4000
    asked = stack.say(citizen, text, channel="whatsapp")
    assert any("Siapa yang boleh tahu" in r for r in asked), asked
    summary = "\n".join(stack.say(citizen, "jangan kasih tahu nomor saya", channel="whatsapp"))
    assert "anonim" in summary, summary
    filed = stack.say(citizen, "ya", channel="whatsapp")
    ticket = next(m.group(1) for r in filed if (m := TICKET.search(r)))
    body = httpx.get(
        f"{stack.base_url}/api/v1/complaints/{ticket}", headers={"Authorization": f"Bearer {admin_token}"}, timeout=10
    ).json()
    assert body["anonymous"] is True and body["reporter"] is None
    assert body["description"] == text
    assert body["address"] == "kec. mlati sleman" and body["district_code"] == "34.04.06"


def test_english_help_says_batal_and_cancel_typed_still_cancels(stack):
    citizen = "081211110102"
    helped = "\n".join(stack.say(citizen, "help please, how does this work"))
    assert "BATAL" in helped and "CANCEL" not in helped, helped
    stack.say(citizen, "I want to report rubbish piling up by the road for a week")
    cancelled = "\n".join(stack.say(citizen, "cancel"))
    assert "cancelled" in cancelled.lower() or "dibatalkan" in cancelled, cancelled
