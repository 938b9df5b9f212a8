"""An Open311 ``phone`` is record-only until its owner answers YA (issue #26).

Any key holder can put any number in a request. That number gets one SMS asking whether it wants
the ticket's news; until it answers "YA <ticket>" the complaint's reporter is record-only (no push,
no link to that person's record, no thread in their dialogue). Readers: the stranger whose number
was named (one SMS, nothing more), the person who confirms (every push from then on), officers
(no unconfirmed number shown).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from bot import casework
from bot.casework import Actor
from bot.conversation import Conversations
from channels import gsm7
from storage import complaints as complaint_store
from storage import messages as message_store
from storage import models
from storage.db import session_scope
from storage.models import Complaint, ContactUrn, DialoguePush, Message, Officer
from tests.bot.open311.conftest import client_on, post, store_on
from tests.casework_support import FILED_ON
from tests.fakes.scripted_rasa import ScriptedRasa

PHONE, PHONE_URN = "0812-7777-3456", "sms:+6281277773456"
OTHER_URN = "sms:+6285799990000"
ROAD = dict(service_code="infrastruktur", description="Jalan berlubang di depan pasar", address_id="34.04.06")


# The module's app and store run on both backends (SQLite, and PostgreSQL where the server is up).
@pytest.fixture
def store(database_url):  # SQLite, and PostgreSQL where the server is up
    yield from store_on(database_url)


@pytest.fixture
def client(database_url, store):
    yield from client_on(database_url)


def _file(client, key: str, **fields) -> str:
    response = post(client, "requests.json", api_key=key, **{**ROAD, **fields})
    assert response.status_code == 200, response.text
    return response.json()[0]["service_request_id"]


def _complaint(session, ticket: str) -> Complaint:
    return complaint_store.get_complaint(session, ticket.replace("-", ""))


def _phone(session, urn: str = PHONE_URN) -> ContactUrn | None:
    return session.exec(select(ContactUrn).where(ContactUrn.urn == urn)).first()


def _sent_to(session, urn: str = PHONE_URN) -> list[str]:
    contact = _phone(session, urn)
    if contact is None:
        return []
    return list(session.exec(
        select(Message.text).where(Message.urn_id == contact.id, Message.direction == "out").order_by(Message.id)
    ).all())


def _officer_changes(store, world, ticket: str, status: str) -> None:
    with session_scope(store) as session:
        officer = session.get(Officer, world.pupr_officer_id)
        casework.change_status(session, _complaint(session, ticket), status, actor=Actor.of(officer), note=None, today=FILED_ON)


def _texts(store, text: str, urn: str = PHONE_URN) -> ScriptedRasa:
    """The number texts ``text`` (as Twilio's webhook stores it) and its turn runs; returns the engine."""
    with session_scope(store) as session:
        message, _ = message_store.record_inbound(session, urn=urn, channel="sms", provider="twilio", text=text)
    rasa = ScriptedRasa()
    asyncio.run(Conversations(store, rasa, on_queued=lambda: None).process(message.urn_id))  # type: ignore[arg-type]
    return rasa


def test_a_key_naming_a_strangers_phone_texts_it_once_and_links_nothing_to_it(client, keys, store, world):
    ticket = _file(client, keys.form, phone=PHONE)
    _officer_changes(store, world, ticket, "diproses")
    with session_scope(store) as session:
        complaint = _complaint(session, ticket)
        reporter = session.get(ContactUrn, complaint.urn_id)
        stranger = _phone(session)
        sent = _sent_to(session)
        pushes = session.exec(select(DialoguePush).where(DialoguePush.urn_id == stranger.id)).all()
        officer_texts = session.exec(
            select(Message.text).where(Message.direction == "out", Message.urn_id != stranger.id)
        ).all()
    assert reporter.urn.startswith("open311:key-")  # record-only until the number says YA
    assert complaint.citizen_id != stranger.citizen_id  # not in that person's record
    [asked] = sent  # one SMS, and no push after the status change
    assert f"YA {ticket}" in asked and "form" in asked
    assert gsm7.to_gsm7(asked) == asked and gsm7.segments(asked) == 1
    assert pushes == []  # no thread opened in their dialogue
    assert officer_texts and not any("7777" in text for text in officer_texts)  # an unconfirmed number is not shown


def test_the_ask_fits_one_sms_with_the_longest_integration_name(client, store, world):
    from storage import open311_keys

    with session_scope(store) as session:
        name = ("Sistem Informasi Pengaduan Layanan Publik Ümum " * 3)[: open311_keys.NAME_MAX_LENGTH]
        _, key = open311_keys.add_key(session, name=name, agency_codes=None, region_codes=None)
    ticket = _file(client, key, phone=PHONE)
    with session_scope(store) as session:
        [asked] = _sent_to(session)
    assert f"YA {ticket}" in asked
    assert gsm7.to_gsm7(asked) == asked and gsm7.segments(asked) == 1, asked


def test_after_ya_ticket_the_number_gets_the_news_of_the_ticket(client, keys, store, world):
    ticket = _file(client, keys.form, phone=PHONE)
    rasa = _texts(store, f"ya {ticket}")
    assert rasa.calls == []  # answered before the dialogue
    _officer_changes(store, world, ticket, "diproses")
    with session_scope(store) as session:
        complaint = _complaint(session, ticket)
        contact = _phone(session)
        sent = _sent_to(session)
        pushes = session.exec(select(DialoguePush.intent).where(DialoguePush.urn_id == contact.id)).all()
        confirmation = session.exec(select(models.Open311Confirmation)).one()
    assert (complaint.urn_id, complaint.citizen_id) == (contact.id, contact.citizen_id)
    assert len(sent) == 3 and ticket in sent[1] and "Kabar" in sent[1]  # the ask, the thanks, the push
    assert "DIPROSES" in sent[2]
    assert pushes == ["EXTERNAL_status_changed"]
    assert confirmation.confirmed_at is not None


def test_a_plain_ya_confirms_the_one_pending_ask(client, keys, store, world):
    ticket = _file(client, keys.form, phone=PHONE)
    assert _texts(store, "YA").calls == []
    with session_scope(store) as session:
        assert _complaint(session, ticket).urn_id == _phone(session).id


def test_a_ya_is_used_once_and_then_goes_to_the_dialogue(client, keys, store, world):
    ticket = _file(client, keys.form, phone=PHONE)
    _texts(store, f"YA {ticket}")
    assert _texts(store, f"YA {ticket}").calls == [("turn", f"YA {ticket}")]


def test_a_ya_from_another_number_changes_nothing_and_goes_to_the_dialogue(client, keys, store, world):
    ticket = _file(client, keys.form, phone=PHONE)
    rasa = _texts(store, f"YA {ticket}", urn=OTHER_URN)
    assert rasa.calls == [("turn", f"YA {ticket}")]
    _officer_changes(store, world, ticket, "diproses")
    with session_scope(store) as session:
        assert session.get(ContactUrn, _complaint(session, ticket).urn_id).urn.startswith("open311:")
        assert len(_sent_to(session)) == 1 and _sent_to(session, OTHER_URN) == ["balasan: YA " + ticket]


def test_a_ya_after_the_ask_expired_changes_nothing(client, keys, store, world):
    ticket = _file(client, keys.form, phone=PHONE)
    with session_scope(store) as session:
        confirmation = session.exec(select(models.Open311Confirmation)).one()
        confirmation.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
        session.add(confirmation)
    assert _texts(store, f"YA {ticket}").calls == [("turn", f"YA {ticket}")]
    with session_scope(store) as session:
        assert session.get(ContactUrn, _complaint(session, ticket).urn_id).urn.startswith("open311:")


def test_a_number_named_again_and_again_gets_one_ask_a_day(client, keys, store, world):
    tickets = [_file(client, keys.form, phone=PHONE) for _ in range(3)]
    with session_scope(store) as session:
        [asked] = _sent_to(session)
    assert tickets[0] in asked
    # the later tickets may still be confirmed by a person who knows them (the web form showed them)
    assert _texts(store, f"YA {tickets[2]}").calls == []
    with session_scope(store) as session:
        assert _complaint(session, tickets[2]).urn_id == _phone(session).id
        assert _complaint(session, tickets[1]).urn_id != _phone(session).id
