"""Open311 and privacy (issue #15): no reporter data through any endpoint, no confidential complaint
through any public one; a reporter's phone gets the pushes by SMS, an e-mail is kept and never used.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from bot import casework, officer_desk
from bot.casework import Actor
from bot.open311 import confirmation
from storage import complaints as complaint_store
from storage import contacts as contact_store
from storage.db import session_scope
from storage.models import ComplaintEvent, ContactUrn, DialoguePush, Message, Officer
from tests.bot.open311.conftest import ROOT, post
from tests.casework_support import FILED_ON

PHONE, PHONE_E164 = "0812-7777-3456", "+6281277773456"
EMAIL = "warga.sleman@example.org"
SECRET_WORDS = "rumah Bu Sri nomor 12"
ROAD = dict(
    service_code="infrastruktur", description=f"Jalan berlubang di depan {SECRET_WORDS}", address_id="34.04.06",
    address_string="Jl. Kaliurang km 5 gang Mawar no. 12", lat="-7.7501", long="110.3802",
    media_url="https://form.sleman.example/foto/1.jpg",
)
@dataclass
class _DeskRequest:
    officer: Officer


PERSONAL = ("7777", "3456", EMAIL, "warga.sleman", SECRET_WORDS, "Mawar", "-7.7501", "110.3802", "foto/1.jpg", "Budi")


def _file(client, key: str, **fields) -> str:
    response = post(client, "requests.json", api_key=key, **{**ROAD, **fields})
    assert response.status_code == 200, response.text
    return response.json()[0]["service_request_id"]


def _public_answers(client, ticket: str, found: bool = True) -> list[str]:
    """Every public read that could show the ticket, in both formats, with and without extensions."""
    paths = [
        "requests.json", "requests.xml", f"requests/{ticket}.json", f"requests/{ticket}.xml",
        "servicerequestupdates.json", "servicerequestupdates.xml",
    ]
    answers = []
    for path in paths:
        for params in ({}, {"extensions": "true"}, {"service_request_id": ticket}):
            response = client.get(f"{ROOT}/{path}", params=params)
            assert response.status_code == (200 if found or "/" not in path else 404), (path, response.text)
            answers.append(response.text)
    return answers


def _officer_changes(store, world, ticket: str, status: str, note: str | None = None) -> None:
    with session_scope(store) as session:
        complaint = complaint_store.get_complaint(session, ticket.replace("-", ""))
        officer = session.get(Officer, world.pupr_officer_id)
        casework.change_status(session, complaint, status, actor=Actor.of(officer), note=note, today=FILED_ON)


def test_public_reads_show_no_reporter_data_and_nothing_the_reporter_wrote(client, keys, store, world):
    ticket = _file(client, keys.form, phone=PHONE, email=EMAIL, first_name="Budi", last_name="Santoso")
    _officer_changes(store, world, ticket, "diproses", note="Tim dijadwalkan")
    answers = _public_answers(client, ticket)
    assert sum(ticket in answer for answer in answers) >= 12  # the request and its update are there
    for answer in answers:
        for personal in PERSONAL:
            assert personal not in answer, (personal, answer[:300])
    [shown] = client.get(f"{ROOT}/requests/{ticket}.json").json()
    assert shown["address"] == "Mlati, Kab. Sleman (Daerah Istimewa Yogyakarta)"  # the place in words, not the house
    assert (shown["description"], shown["lat"], shown["long"], shown["media_url"]) == (None, None, None, None)


def test_the_filing_key_reads_back_what_it_sent_but_never_the_reporter(client, keys):
    ticket = _file(client, keys.form, phone=PHONE, email=EMAIL)
    [own] = client.get(f"{ROOT}/requests/{ticket}.json", params={"api_key": keys.form}).json()
    assert own["description"] == ROAD["description"]
    assert own["address"] == ROAD["address_string"]
    assert (own["lat"], own["long"], own["media_url"]) == (-7.7501, 110.3802, ROAD["media_url"])
    raw = client.get(f"{ROOT}/requests/{ticket}.xml", params={"api_key": keys.form, "extensions": "true"}).text
    assert "7777" not in raw and EMAIL not in raw
    # another integration reads what the public reads
    [other] = client.get(f"{ROOT}/requests/{ticket}.json", params={"api_key": keys.bali}).json()
    assert other["description"] is None


def test_a_confidential_complaint_is_in_no_public_read(client, keys, store, world):
    ticket = _file(client, keys.form, confidential="true")
    _officer_changes(store, world, ticket, "diproses", note="Tim dijadwalkan")
    assert client.get(f"{ROOT}/requests/{ticket}.json").status_code == 404
    assert client.get(f"{ROOT}/requests/{ticket}.xml", params={"api_key": keys.bali}).status_code == 404
    for answer in _public_answers(client, ticket, found=False):
        assert ticket not in answer
    # the integration that filed it, and the agency's own system, still read it
    assert client.get(f"{ROOT}/requests/{ticket}.json", params={"api_key": keys.form}).status_code == 200
    assert client.get(f"{ROOT}/requests/{ticket}.json", params={"api_key": keys.pupr}).status_code == 200
    listed = client.get(f"{ROOT}/servicerequestupdates.json", params={"api_key": keys.pupr}).json()
    assert [(u["service_request_id"], u["status"], u["description"]) for u in listed] == [(ticket, "in_progress", "Tim dijadwalkan")]


def test_a_reporters_phone_is_asked_once_and_after_its_ya_gets_every_push_by_sms(client, keys, store, world):
    ticket = _file(client, keys.form, phone=PHONE)
    with session_scope(store) as session:  # the number answers the ask (issue #26: a key may type any number)
        contact = session.exec(select(ContactUrn).where(ContactUrn.urn == f"sms:{PHONE_E164}")).one()
        assert confirmation.answer(session, contact, f"YA {ticket}") is not None
    _officer_changes(store, world, ticket, "diproses")
    with session_scope(store) as session:
        texts = session.exec(select(Message.text).where(Message.urn_id == contact.id, Message.direction == "out")).all()
        officer_notice = session.exec(
            select(Message.text).where(Message.direction == "out", Message.urn_id != contact.id)
        ).first()
    assert f"Balas YA {ticket}" in texts[0]  # the ask, then what YA is answered with
    assert "DIPROSES" in texts[1] and "http" not in texts[1]  # an SMS push: no page link
    assert PHONE_E164 not in officer_notice  # announced before the number was confirmed: not shown
    assert ROAD["media_url"] in officer_notice  # the integration's link, as given


def test_an_anonymous_request_hides_the_phone_from_the_agency(client, keys, store):
    ticket = _file(client, keys.form, phone=PHONE, anonymous="true")
    with session_scope(store) as session:
        notices = session.exec(select(Message.text).where(Message.direction == "out")).all()
    assert any(ticket in text for text in notices)
    assert not any("7777" in text for text in notices if "Laporan baru" in text)


def test_an_email_is_kept_and_never_sent_to(client, keys, store, world):
    ticket = _file(client, keys.form, email=EMAIL)
    _officer_changes(store, world, ticket, "diproses")
    with session_scope(store) as session:
        contact = session.exec(select(ContactUrn).where(ContactUrn.urn == f"mailto:{EMAIL}")).one()
        sent = session.exec(select(Message).where(Message.urn_id == contact.id, Message.direction == "out")).all()
        pushes = session.exec(select(DialoguePush).where(DialoguePush.urn_id == contact.id)).all()
        events = session.exec(select(ComplaintEvent.kind)).all()
    assert (sent, pushes) == ([], [])
    assert events == ["filed", "status"]  # the change is recorded all the same


def test_without_phone_or_email_the_integration_stands_as_the_reporter(client, keys, store):
    ticket = _file(client, keys.form)
    with session_scope(store) as session:
        complaint = complaint_store.get_complaint(session, ticket.replace("-", ""))
        assert session.get(ContactUrn, complaint.urn_id).urn.startswith("open311:key-")
        notices = session.exec(select(Message.text).where(Message.direction == "out")).all()
    assert notices and all("Pelapor: lewat Open311 (form), tanpa kontak" in text for text in notices)


def test_an_officers_reply_to_a_reporter_without_a_number_is_recorded_and_the_officer_told(client, keys, store, world):
    ticket = _file(client, keys.form)
    with session_scope(store) as session:
        complaint = complaint_store.get_complaint(session, ticket.replace("-", ""))
        sent_before = len(session.exec(select(Message).where(Message.direction == "out")).all())
        told = officer_desk._reply(
            session, _DeskRequest(session.get(Officer, world.pupr_officer_id)), complaint, "Mohon kirim foto"
        )
        sent_after = len(session.exec(select(Message).where(Message.direction == "out")).all())
        kinds = session.exec(select(ComplaintEvent.kind).where(ComplaintEvent.complaint_id == complaint.id)).all()
    assert "dicatat" in told and "tidak punya nomor" in told
    assert (sent_after - sent_before, kinds) == (0, ["filed", "reply"])
    assert client.get(f"{ROOT}/servicerequestupdates.json").json() == []  # a reply is private
    [shown] = client.get(f"{ROOT}/servicerequestupdates.json", params={"api_key": keys.form}).json()
    assert shown["description"] == "Mohon kirim foto"  # the integration that filed reads it for its reporter


def test_a_phone_that_opted_out_stays_out_when_a_system_names_it(client, keys, store):
    with session_scope(store) as session:
        contact_store.get_or_create_urn(session, f"sms:{PHONE_E164}")
        contact_store.mark_urn_unreachable(session, f"sms:{PHONE_E164}")  # the citizen sent STOP
    _file(client, keys.form, phone=PHONE)
    with session_scope(store) as session:
        contact = session.exec(select(ContactUrn).where(ContactUrn.urn == f"sms:{PHONE_E164}")).one()
    assert contact.unreachable_at is not None  # only the citizen's own message opts them back in
