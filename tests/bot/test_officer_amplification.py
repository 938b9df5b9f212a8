"""Amplification (issue 26): what a citizen's input may cost in messages to officers.

A free Telegram user controls how many attachments a complaint has (every one of the last 24 h),
how long its description and their answers are. Officers on SMS are paid per segment, so each
message to an officer's address is capped per channel (``casework.OFFICER_MESSAGE_PARTS``), at
most ``desk_texts.ATTACHMENTS_LISTED`` attachments are listed (the rest on /tiket), and an
address told of a complaint already gets one line when it is re-routed back.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot import casework, desk_texts, officer_desk, services
from bot.casework import Actor
from bot.media_links import MediaLinks
from channels import gsm7
from channels.base import MediaItem
from channels import formatting
from storage import complaints as complaint_store
from storage import messages as message_store
from storage import officers as officer_store
from storage.db import session_scope
from storage.models import Direction, Message, Officer, OfficerRole
from storage.tickets import format_ticket
from tests.casework_support import (
    DLH_OFFICER_URN,
    PUPR_OFFICER_URN,
    build_world,
    file,
    inbound,
    officer,
    outbound,
    utc,
)

CITIZEN = "telegram:555000111"  # a free Telegram user
PUPR_SMS = tuple(f"sms:+628130000011{n}" for n in range(3))
DLH_SMS = tuple(f"sms:+628130000021{n}" for n in range(3))
LINKS = MediaLinks("https://aduan.example.go.id", "s" * 32)
WORST_CASE_SMS = 39  # the bound asserted below, derived in the test


@pytest.fixture
def world(store, monkeypatch):
    monkeypatch.setattr(services, "media_link", LINKS.link_for)  # signed links, as the app makes them
    with session_scope(store) as session:
        world = build_world(session)
        for urn in PUPR_SMS:
            officer(session, agency_id=world.pupr_id, role=OfficerRole.officer, urns=(urn,))
        for urn in DLH_SMS:
            officer(session, agency_id=world.dlh_id, role=OfficerRole.officer, urns=(urn,))
        return world


def _attachments(session, count: int) -> None:
    """Half photos, half shared pins, as a Telegram user can send them within the 24 h window."""
    for n in range(count):
        item = (
            MediaItem(kind="image", url=f"AgACAgUAAxkBAAI{n:04d}", content_type="image/jpeg")
            if n % 2 == 0
            else MediaItem(kind="location", latitude=-7.7 - n / 1000, longitude=110.3 + n / 1000)
        )
        message_store.record_inbound(
            session, urn=CITIZEN, channel="telegram", provider="telegram", text="", attachments=[item]
        )


def _admin(session, world) -> Actor:
    return Actor.of(session.get(Officer, world.national_admin_id))


def _to(session, urns) -> list[Message]:
    return [m for urn in urns for m in outbound(session, urn)]


def test_the_worst_case_a_citizen_can_cause_costs_a_bounded_number_of_sms(store, world):
    """50 attachments, a 4,000-character description and answer, 5 re-routes; 3 SMS officers in each agency.

    Each message to an SMS address is at most 3 single SMS (``OFFICER_MESSAGE_PARTS["sms"]``):
    - the new complaint, to PUPR's 3 SMS officers: 3 x 3 = 9
    - the answer relayed to them: 3 x 3 = 9
    - re-routes PUPR > DLH > PUPR > DLH > PUPR > DLH: DLH's officers get the notification once
      (3 x 3 = 9); every later arrival is one line to addresses told already (4 x 3 x 1 = 12)
    = 39 SMS, whatever the number of attachments and the length of the texts (before: 1,000+).
    """
    with session_scope(store) as session:
        _attachments(session, 50)
        complaint = file(session, urn=CITIZEN, description="Jalan berlubang " * 250)  # 4,000 characters
        casework.announce_new_complaint(session, complaint)
        casework.relay_citizen_answer(session, complaint, "Lubangnya makin lebar " * 182)  # 4,004 characters
        for n, code in enumerate(["DLH-3404", "PUPR-3404", "DLH-3404", "PUPR-3404", "DLH-3404"]):
            complaint = complaint_store.get_complaint(session, complaint.ticket)
            casework.reroute(session, complaint, code, actor=_admin(session, world), note=None, today=date(2026, 12, 1 + n))
    with session_scope(store) as session:
        sms = _to(session, PUPR_SMS + DLH_SMS)
        assert all(gsm7.segments(m.text) == 1 for m in sms)  # each row is one single SMS
        assert len(sms) == WORST_CASE_SMS
        per_address = {urn: len(outbound(session, urn)) for urn in PUPR_SMS + DLH_SMS}
        assert per_address == {**{u: 3 + 3 + 1 + 1 for u in PUPR_SMS}, **{u: 3 + 1 + 1 for u in DLH_SMS}}
        # Telegram and WhatsApp: one message per notification
        assert len(outbound(session, PUPR_OFFICER_URN)) == 1 + 1 + 2
        assert len(outbound(session, DLH_OFFICER_URN)) == 3


def test_a_notification_lists_three_attachments_and_points_to_tiket_for_the_rest(store, world):
    with session_scope(store) as session:
        _attachments(session, 50)
        complaint = file(session, urn=CITIZEN)
        casework.announce_new_complaint(session, complaint)
        [notification] = outbound(session, PUPR_OFFICER_URN)
    d = format_ticket(complaint.ticket)
    assert "Lampiran: 25 foto, 25 titik lokasi" in notification.text
    assert notification.text.count("https://") == desk_texts.ATTACHMENTS_LISTED == 3
    assert f"+47 lampiran lain: /tiket {d}" in notification.text
    assert "Jalan berlubang besar di depan pasar Mlati" in notification.text  # the description is whole on Telegram


def test_tiket_lists_more_attachments_than_the_notification(store, world):
    with session_scope(store) as session:
        _attachments(session, 50)
        complaint = file(session, urn=CITIZEN)
    with session_scope(store) as session:
        message = inbound(session, PUPR_OFFICER_URN, f"/tiket {complaint.ticket}")
        answer = officer_desk.handle(
            session, officer_store.officer_of_urn(session, message.urn_id), message, utc(2026, 12, 1, 3)
        )
    assert answer.count("https://") == desk_texts.ATTACHMENTS_IN_DETAIL
    assert f"+{50 - desk_texts.ATTACHMENTS_IN_DETAIL} lampiran lain" in answer


def test_a_long_answer_is_cut_on_sms_and_whole_on_telegram(store, world):
    answer = "Lubangnya makin lebar " * 182
    with session_scope(store) as session:
        complaint = file(session, urn=CITIZEN)
        casework.relay_citizen_answer(session, complaint, answer)
        on_sms = outbound(session, PUPR_SMS[0])
        [on_telegram] = outbound(session, PUPR_OFFICER_URN)
    d = format_ticket(complaint.ticket)
    assert len(on_sms) == casework.OFFICER_MESSAGE_PARTS["sms"] == 3
    assert on_sms[0].text.startswith(f"Jawaban pelapor {d}: Lubangnya makin lebar")
    assert on_sms[-1].text.endswith(f"... (terpotong; /tiket {d})")
    assert answer.strip() in on_telegram.text


@pytest.mark.parametrize("channel, parts", [("sms", 1), ("sms", 3), ("whatsapp", 1), ("telegram", 1)])
@pytest.mark.parametrize("text", ["kata " * 2000, "x" * 9000, "Baris\n" * 800, "“kutip” – emoji 😀 " * 400])
def test_fit_keeps_a_text_within_its_parts_and_ends_it_with_the_tail(channel, parts, text):
    tail = " ... (terpotong; /tiket 1234-5678)"
    fitted = formatting.fit(channel, text, parts, tail)
    assert len(formatting.render(channel, fitted)) <= parts
    assert fitted.endswith(tail)
    assert formatting.fit(channel, "Pendek saja", parts, tail) == "Pendek saja"
