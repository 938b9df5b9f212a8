"""The public page of a complaint, GET /t/{ticket}, and its link in chat pushes (issues #15, #26).

What each reader sees: the public (anyone with the ticket) reads the status, agency, place in
words, category and the dated status changes with their public notes, masked; never a reply to
the citizen (private: the citizen and the officers), nothing about the reporter (address, name,
description, free address, anything the citizen wrote). A confidential complaint answers as an
unknown ticket does. WhatsApp and Telegram pushes end with the page's link; SMS pushes do not,
and stay one segment.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot import casework, texts
from bot.casework import Actor
from channels.gsm7 import segments, to_gsm7
from storage import complaints as complaint_store
from storage import contacts as contact_store
from storage.db import session_scope
from storage.models import ComplaintEvent, Officer
from storage.tickets import format_ticket, new_ticket
from tests.casework_support import (
    CITIZEN_DIGITS,
    CITIZEN_URN,
    OFFICER_NAME,
    PUPR_NAME,
    file,
    inbound,
    outbound,
)
from tests.public_app_support import BASE_URL

TODAY = datetime.now(ZoneInfo("Asia/Jakarta")).date()  # filed today: no deadline passes while the app runs
DESCRIPTION = "Jalan berlubang besar di depan pasar Mlati"
ADDRESS = "Jl. Kebon Agung km 3"
PLACE = "Mlati, Kab. Sleman (Daerah Istimewa Yogyakarta)"  # kecamatan 34.04.06 in words
REPLY = "Tim kami akan menambal lubang pada hari Senin."
PRIVATE_REPLY = "Petugas kami akan menemui Bu S. di Gang M. 7 besok pagi"  # written to one citizen
REJECTION = "Di luar kewenangan, diteruskan ke BBPJN"
CITIZEN_WORDS = "Lubangnya di depan rumah saya nomor 12"
WHATSAPP_URN = "sim-whatsapp:+6285600001111"
TELEGRAM_URN = "sim-telegram:555001"


def filed(store, urn: str = CITIZEN_URN, **overrides) -> str:
    with session_scope(store) as session:
        return file(session, urn, today=TODAY, **overrides).ticket


def officer(session, world) -> Actor:
    return Actor.of(session.get(Officer, world.pupr_officer_id))


def change_status(store, world, ticket: str, status: str, note: str | None = None) -> None:
    with session_scope(store) as session:
        complaint = complaint_store.get_complaint(session, ticket)
        casework.change_status(session, complaint, status, actor=officer(session, world), note=note, today=TODAY)


def reply(store, world, ticket: str, text: str = REPLY) -> None:
    with session_scope(store) as session:
        complaint = complaint_store.get_complaint(session, ticket)
        casework.reply_to_citizen(session, complaint, actor=officer(session, world), text=text)


def citizen_answers(store, ticket: str, text: str = CITIZEN_WORDS) -> None:
    """The reporter writes back: the message is stored and relayed as a citizen_reply event."""
    with session_scope(store) as session:
        inbound(session, CITIZEN_URN, text)
        complaint = complaint_store.get_complaint(session, ticket)
        casework.relay_citizen_answer(session, complaint, text)


def date_events(store, ticket: str, kind: str, moment: datetime) -> None:
    """Put the complaint's events of this kind at a known moment, to read it back in the province's time."""
    with session_scope(store) as session:
        complaint = complaint_store.get_complaint(session, ticket)
        for event in complaint_store.complaint_history(session, complaint.id):
            if event.kind == kind:
                event.created_at = moment
                session.add(event)


def pushes_to(store, urn: str) -> list[str]:
    with session_scope(store) as session:
        return [m.text for m in outbound(session, urn)]


def page_url(ticket: str) -> str:
    return f"{BASE_URL}/t/{ticket}"


# ---------------------------------------------------------------- the page


def test_a_filed_complaint_shows_ticket_status_agency_place_category_and_history(client, store, world):
    ticket = filed(store)
    change_status(store, world, ticket, "diteruskan")
    # 17.30 UTC is half past midnight the next day in Sleman (WIB)
    date_events(store, ticket, "status", datetime(2026, 12, 1, 17, 30, tzinfo=timezone.utc))

    response = client.get(f"/t/{format_ticket(ticket)}")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="id">' in page
    assert f"Laporan {format_ticket(ticket)}" in page
    assert "DITERUSKAN ke instansi" in page  # the bot's own label of the status
    assert PUPR_NAME in page and PLACE in page and "Jalan &amp; fasilitas umum" in page
    assert "DITERIMA, menunggu verifikasi &rarr; <strong>DITERUSKAN ke instansi</strong>" in page
    assert "2 Des 2026 00.30 WIB" in page
    assert "<script" not in page.lower()


def test_a_reply_to_the_citizen_is_private_and_never_on_the_page(client, store, world):
    ticket = filed(store)
    change_status(store, world, ticket, "diteruskan")
    reply(store, world, ticket, PRIVATE_REPLY)
    reply(store, world, ticket)

    page = client.get(f"/t/{ticket}").text

    assert "DITERUSKAN ke instansi" in page
    for private in (PRIVATE_REPLY, "Gang M. 7", REPLY):
        assert private not in page, private
    assert PRIVATE_REPLY in pushes_to(store, CITIZEN_URN)[-2]  # the citizen has it


def test_the_public_note_of_a_status_change_is_on_the_page(client, store, world):
    ticket = filed(store)
    change_status(store, world, ticket, "ditolak", note=REJECTION)
    page = client.get(f"/t/{ticket}").text
    assert "DITOLAK" in page and REJECTION in page


def test_personal_data_in_a_public_note_is_masked_on_the_page_and_not_for_the_citizen(client, store, world):
    ticket = filed(store)
    change_status(store, world, ticket, "diteruskan")
    note = "Sudah ditambal. Hubungi Pak Budi Santoso 081299887766, atau Bu S. di kantor desa"
    change_status(store, world, ticket, "selesai", note=note)

    page = client.get(f"/t/{ticket}").text

    assert "Sudah ditambal." in page
    for private in ("Budi", "081299887766", "Bu S."):
        assert private not in page, private
    assert any("Budi Santoso" in push for push in pushes_to(store, CITIZEN_URN))  # the citizen reads it as written


def test_a_note_written_before_notes_were_public_stays_private(client, store, world):
    ticket = filed(store)
    change_status(store, world, ticket, "ditolak", note=REJECTION)
    with session_scope(store) as session:  # as migration 0012 left the notes written before it
        complaint = complaint_store.get_complaint(session, ticket)
        for event in complaint_store.complaint_history(session, complaint.id):
            event.public_note = None
            session.add(event)
    page = client.get(f"/t/{ticket}").text
    assert "DITOLAK" in page and REJECTION not in page


def test_the_page_shows_nothing_of_the_reporter_nor_what_the_citizen_wrote(client, store, world):
    ticket = filed(store)
    change_status(store, world, ticket, "diteruskan")
    reply(store, world, ticket)
    citizen_answers(store, ticket)
    change_status(store, world, ticket, "selesai", note="Sudah ditambal")
    with session_scope(store) as session:  # the citizen disputes it, in words of their own
        complaint = complaint_store.get_complaint(session, ticket)
        casework.record_feedback(session, complaint, resolved=False, rating=None, comment="Masih ada lubang di gang saya")

    page = client.get(f"/t/{ticket}").text

    assert "Sudah ditambal" in page and "DIPROSES instansi" in page  # the page is there, reopened
    for private in (CITIZEN_DIGITS, "6281234567890", CITIZEN_URN, DESCRIPTION, ADDRESS, CITIZEN_WORDS, REPLY,
                    "Masih ada lubang di gang saya", OFFICER_NAME):
        assert private not in page, private


def test_an_anonymous_complaint_has_its_page_without_the_reporter(client, store, world):
    ticket = filed(store, anonymous=True)
    change_status(store, world, ticket, "diteruskan")
    page = client.get(f"/t/{ticket}").text
    assert PUPR_NAME in page and PLACE in page and "DITERUSKAN ke instansi" in page
    assert CITIZEN_DIGITS not in page and DESCRIPTION not in page


def test_a_confidential_complaint_answers_exactly_as_an_unknown_ticket(client, store, world):
    ticket = filed(store, anonymous=True, confidential=True)
    change_status(store, world, ticket, "diteruskan", note=REJECTION)
    unknown = new_ticket()
    with session_scope(store) as session:
        while complaint_store.get_complaint(session, unknown) is not None:
            unknown = new_ticket()

    for language in ("id", "en"):
        confidential = client.get(f"/t/{ticket}", params={"lang": language})
        missing = client.get(f"/t/{unknown}", params={"lang": language})
        assert confidential.status_code == missing.status_code == 404
        assert confidential.headers == missing.headers
        assert confidential.text.replace(format_ticket(ticket), "T") == missing.text.replace(format_ticket(unknown), "T")
        for hidden in ("DITERUSKAN", "FORWARDED", PUPR_NAME, "Mlati", REJECTION, "dirahasiakan", "confidential"):
            assert hidden not in confidential.text, hidden


def test_the_ticket_may_be_written_with_or_without_a_dash_or_a_space(client, store, world):
    ticket = filed(store)
    for written in (ticket, format_ticket(ticket), f"{ticket[:4]} {ticket[4:]}"):
        response = client.get(f"/t/{written}")
        assert response.status_code == 200 and format_ticket(ticket) in response.text, written


def test_english_with_lang_en_or_a_browser_that_prefers_it_indonesian_otherwise(client, store, world):
    ticket = filed(store)
    change_status(store, world, ticket, "diteruskan")
    date_events(store, ticket, "status", datetime(2026, 12, 1, 17, 30, tzinfo=timezone.utc))

    english = client.get(f"/t/{ticket}", params={"lang": "en"})
    assert '<html lang="en">' in english.text and english.headers["content-language"] == "en"
    assert f"Complaint {format_ticket(ticket)}" in english.text
    assert "FORWARDED to the agency" in english.text and "Roads &amp; public works" in english.text
    assert "Agency" in english.text and "2 Dec 2026 00.30 WIB" in english.text
    assert "DITERUSKAN" not in english.text

    browser = client.get(f"/t/{ticket}", headers={"Accept-Language": "en-GB,en;q=0.9,id;q=0.5"})
    assert "FORWARDED to the agency" in browser.text
    indonesian_browser = client.get(f"/t/{ticket}", headers={"Accept-Language": "id-ID,id;q=0.9,en;q=0.8"})
    assert "DITERUSKAN ke instansi" in indonesian_browser.text
    asked = client.get(f"/t/{ticket}", params={"lang": "id"}, headers={"Accept-Language": "en"})
    assert '<html lang="id">' in asked.text and "DITERUSKAN ke instansi" in asked.text
    assert '<html lang="id">' in client.get(f"/t/{ticket}", headers={"Accept-Language": "fr"}).text


def test_the_page_is_kept_out_of_search_engines_and_cached_briefly(client, store, world):
    response = client.get(f"/t/{filed(store)}")
    assert "noindex" in response.headers["x-robots-tag"]
    assert response.headers["cache-control"] == "max-age=60"
    assert "script-src" not in response.headers["content-security-policy"]  # default-src 'none': no script


def test_an_unknown_ticket_gets_a_polite_404_page(client, store, world):
    filed(store)
    unknown = new_ticket()
    with session_scope(store) as session:
        while complaint_store.get_complaint(session, unknown) is not None:
            unknown = new_ticket()
    response = client.get(f"/t/{unknown}")
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert '<html lang="id">' in response.text and "Laporan tidak ditemukan" in response.text
    assert format_ticket(unknown) in response.text and "noindex" in response.headers["x-robots-tag"]
    english = client.get(f"/t/{unknown}?lang=en")
    assert english.status_code == 404 and "Complaint not found" in english.text


@pytest.mark.parametrize("written", ["98765", "abc<b>defgh", "123456789", "wrong-check-digit"])
def test_a_malformed_ticket_gets_the_404_page_without_what_was_typed(client, store, world, written):
    ticket = filed(store)
    if written == "wrong-check-digit":  # one digit off: the Damm check digit tells it apart
        written = ticket[:-1] + str((int(ticket[-1]) + 1) % 10)
    response = client.get(f"/t/{written}")
    assert response.status_code == 404
    assert texts.ticket_invalid("id") in response.text and written not in response.text
    assert texts.ticket_invalid("en") in client.get(f"/t/{written}", params={"lang": "en"}).text


# ---------------------------------------------------------------- the link in pushes


def test_whatsapp_and_telegram_pushes_carry_the_pages_link(client, store, world):
    for urn in (WHATSAPP_URN, TELEGRAM_URN):
        ticket = filed(store, urn, channel=urn.split(":")[0].removeprefix("sim-"))
        change_status(store, world, ticket, "diteruskan")
        reply(store, world, ticket)
        status_push, reply_push = pushes_to(store, urn)[-2:]
        for push in (status_push, reply_push):
            assert push.endswith(f"\nLihat perkembangannya: {page_url(ticket)}"), push
        assert "DITERUSKAN" in status_push and REPLY in reply_push


def test_the_link_is_in_the_citizens_language(client, store, world):
    ticket = filed(store, WHATSAPP_URN, channel="whatsapp", language="en")
    with session_scope(store) as session:
        contact_store.set_citizen_language(session, complaint_store.get_complaint(session, ticket).urn_id, "en")
    change_status(store, world, ticket, "diteruskan")
    [push] = pushes_to(store, WHATSAPP_URN)
    assert push.startswith(f"Ticket {format_ticket(ticket)}: FORWARDED")
    assert push.endswith(f"\nSee its progress: {page_url(ticket)}")


def test_sms_pushes_carry_no_link_and_stay_one_segment(client, store, world):
    ticket = filed(store)  # from sim-sms
    change_status(store, world, ticket, "diteruskan")
    reply(store, world, ticket)
    change_status(store, world, ticket, "diproses")
    sent = pushes_to(store, CITIZEN_URN)
    assert len(sent) == 3  # one message each: two status changes and the reply
    for push in sent:
        assert "/t/" not in push and BASE_URL not in push
        assert segments(to_gsm7(push)) == 1, push


def test_without_a_public_address_no_push_carries_a_link():
    text = "Tiket 1234-5678: DIPROSES instansi."
    assert texts.with_page_link(text, base_url="", ticket="12345678", channel="whatsapp", language="id") == text
    linked = texts.with_page_link(text, base_url=BASE_URL + "/", ticket="12345678", channel="telegram", language="id")
    assert linked == text + f"\nLihat perkembangannya: {BASE_URL}/t/12345678"


def test_the_event_rows_the_page_reads_are_the_ones_casework_writes(client, store, world):
    # the page tells status changes and replies from complaint_event: casework must keep writing them so
    ticket = filed(store)
    change_status(store, world, ticket, "diteruskan")
    reply(store, world, ticket)
    citizen_answers(store, ticket)
    with session_scope(store) as session:
        complaint = complaint_store.get_complaint(session, ticket)
        rows: list[ComplaintEvent] = complaint_store.complaint_history(session, complaint.id)
    assert [(e.kind, e.actor_type) for e in rows] == [
        ("filed", "citizen"), ("status", "officer"), ("reply", "officer"), ("citizen_reply", "citizen"),
    ]
    assert rows[2].note == REPLY
