"""mySociety's servicerequestupdates extension (issue #15): an agency's system posts what it did,
applied through casework's rules (the citizen told), once per update_id; GET lists public updates."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot import officer_desk
from bot.open311 import confirmation
from storage import complaints as complaint_store
from storage import contacts as contact_store
from storage.db import session_scope
from storage.models import ComplaintEvent, ContactUrn, Message
from tests.bot.open311.conftest import ROOT, children, post, xml

PHONE_URN = "sms:+6281277773456"
ROAD = dict(service_code="infrastruktur", description="Jalan berlubang di depan pasar", address_id="34.04.06", phone="081277773456")


@pytest.fixture
def ticket(client, keys, store) -> str:
    response = post(client, "requests.json", api_key=keys.form, **ROAD)
    assert response.status_code == 200, response.text
    filed = response.json()[0]["service_request_id"]
    with session_scope(store) as session:  # the number answered the ask: from now on it is the reporter (issue #26)
        assert confirmation.answer(session, contact_store.get_urn(session, PHONE_URN), f"YA {filed}") is not None
    return filed


def _update(client, key: str, ticket: str, fmt: str = "json", **fields):
    return post(client, f"servicerequestupdates.{fmt}", api_key=key, service_request_id=ticket, **fields)


def _sms_to_reporter(store) -> list[str]:
    with session_scope(store) as session:
        contact = session.exec(select(ContactUrn).where(ContactUrn.urn == PHONE_URN)).one()
        return list(session.exec(select(Message.text).where(Message.urn_id == contact.id, Message.direction == "out")).all())


def _complaint(store, ticket: str):
    with session_scope(store) as session:
        return complaint_store.get_complaint(session, ticket.replace("-", ""))


def test_an_update_changes_the_status_by_casework_rules_and_the_citizen_is_told(client, keys, store, ticket):
    response = _update(client, keys.pupr, ticket, fmt="xml", status="IN_PROGRESS", description="Tim dijadwalkan Senin", update_id="bo-1")
    assert response.status_code == 200, response.text
    answer = xml(response)
    assert answer.tag == "service_request_updates" and children(answer.find("request_update")) == ["update_id"]
    assert _complaint(store, ticket).status == "diproses"
    assert "DIPROSES" in _sms_to_reporter(store)[-1] and "Tim dijadwalkan Senin" in _sms_to_reporter(store)[-1]
    with session_scope(store) as session:
        event = session.get(ComplaintEvent, int(answer.findtext("request_update/update_id")))
    assert (event.kind, event.actor_type, event.to_status, event.note, event.external_update_id) == (
        "status", "integration", "diproses", "Tim dijadwalkan Senin", "bo-1"
    )
    assert event.actor_open311_key_id is not None and event.actor_officer_id is None


def test_an_update_sent_again_is_applied_once(client, keys, store, ticket):
    first = _update(client, keys.pupr, ticket, status="open", description="Kami cek besok", update_id="bo-7").json()
    again = _update(client, keys.pupr, ticket, status="open", description="Kami cek besok", update_id="bo-7").json()
    assert first == again
    replies = [text for text in _sms_to_reporter(store) if "Kami cek besok" in text]
    assert len(replies) == 1


def test_an_update_id_is_the_integrations_per_ticket_reused_on_another_ticket_it_is_a_new_update(client, keys, store, ticket):
    other = post(client, "requests.json", api_key=keys.form, **{**ROAD, "description": "Lampu jalan mati"}).json()[0]["service_request_id"]
    first = _update(client, keys.pupr, ticket, status="in_progress", description="Tim dijadwalkan", update_id="42").json()
    second = _update(client, keys.pupr, other, status="investigating", description="Petugas berangkat", update_id="42")
    assert second.status_code == 200, second.text
    assert first != second.json()  # not the first ticket's event
    assert (_complaint(store, ticket).status, _complaint(store, other).status) == ("diproses", "diproses")
    again = _update(client, keys.pupr, other, status="investigating", description="Petugas berangkat", update_id="42").json()
    assert again == second.json()  # a retry on that ticket is still applied once
    with session_scope(store) as session:
        events = session.exec(select(ComplaintEvent).where(ComplaintEvent.external_update_id == "42")).all()
    assert sorted((event.complaint_id, event.note) for event in events) == sorted(
        [(_complaint(store, ticket).id, "Tim dijadwalkan"), (_complaint(store, other).id, "Petugas berangkat")]
    )


def test_a_description_without_a_new_status_is_a_reply_to_the_citizen(client, keys, store, ticket):
    assert _update(client, keys.pupr, ticket, status="open", description="Mohon kirim foto").status_code == 200
    assert "Mohon kirim foto" in _sms_to_reporter(store)[-1]
    assert _complaint(store, ticket).status == "diterima"


def test_fixed_is_selesai_and_a_rejection_needs_a_reason(client, keys, store, ticket):
    refused = _update(client, keys.pupr, ticket, status="duplicate")
    assert refused.status_code == 400 and "reason_required" in refused.json()[0]["description"]
    skipping = _update(client, keys.pupr, ticket, status="fixed", description="Sudah ditambal")
    assert skipping.status_code == 400 and "bad_transition" in skipping.json()[0]["description"]  # not verified yet
    assert _update(client, keys.pupr, ticket, status="investigating").status_code == 200
    assert _update(client, keys.pupr, ticket, status="fixed", description="Sudah ditambal").status_code == 200
    assert _complaint(store, ticket).status == "selesai"
    backwards = _update(client, keys.pupr, ticket, status="in_progress")
    assert backwards.status_code == 400 and "bad_transition" in backwards.json()[0]["description"]


@pytest.mark.parametrize(
    ("key_name", "fields", "status", "says"),
    [
        ("form", {"status": "fixed"}, 403, "not bound to an agency"),  # a web form may file, not decide
        ("sleman", {"status": "fixed"}, 403, "not bound to an agency"),
        ("pupr", {"status": "maybe"}, 400, "status is one of"),
        ("pupr", {"status": "open"}, 400, "no description"),
        ("pupr", {"status": "open", "description": "x" * 2001}, 400, "longer than 2000"),
    ],
)
def test_updates_the_rules_refuse(client, keys, store, ticket, key_name, fields, status, says):
    response = _update(client, getattr(keys, key_name), ticket, **fields)
    assert response.status_code == status, response.text
    assert says in response.json()[0]["description"]
    assert _complaint(store, ticket).status == "diterima"


def test_another_agencys_complaint_does_not_exist_for_a_key(client, keys, store):
    response = post(client, "requests.json", api_key=keys.form, **{**ROAD, "service_code": "lingkungan"})  # DLH's
    ticket = response.json()[0]["service_request_id"]
    refused = _update(client, keys.pupr, ticket, status="fixed", description="x")
    assert refused.status_code == 404
    assert _update(client, keys.pupr, "1234-5678", status="fixed").status_code == 404
    assert post(client, "servicerequestupdates.json", service_request_id=ticket, status="fixed").status_code == 403


def test_get_updates_lists_status_changes_with_public_notes_and_replies_only_for_the_agency(client, keys, store, ticket):
    _update(client, keys.pupr, ticket, status="in_progress", description="Tim dijadwalkan")
    _update(client, keys.pupr, ticket, status="open", description="Lubang sudah diukur")  # a reply to the citizen
    public = client.get(f"{ROOT}/servicerequestupdates.json").json()
    assert [(u["service_request_id"], u["status"], u["description"]) for u in public] == [
        (ticket, "in_progress", "Tim dijadwalkan"),  # a status change's public note, as on the public page
    ]  # the reply is private: not in a public read
    element = xml(client.get(f"{ROOT}/servicerequestupdates.xml")).find("request_update")
    assert children(element) == ["update_id", "service_request_id", "status", "updated_datetime", "description", "media_url"]
    own = client.get(f"{ROOT}/servicerequestupdates.json", params={"api_key": keys.pupr}).json()
    assert [u["description"] for u in own] == ["Tim dijadwalkan", "Lubang sudah diukur"]


def test_officers_read_an_integrations_update_in_the_complaints_history(client, keys, store, ticket):
    _update(client, keys.pupr, ticket, status="in_progress", description="Tim dijadwalkan")
    with session_scope(store) as session:
        detail = officer_desk._detail(session, complaint_store.get_complaint(session, ticket.replace("-", "")))
    assert "sistem instansi (Open311)" in detail
    assert "+6281277773456" in detail  # the reporter gave a phone and is not anonymous: the agency may know it
