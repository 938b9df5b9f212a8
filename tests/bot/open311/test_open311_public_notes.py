"""Open311 reads after issue #26: what each reader sees of what officers wrote.

- the public (no key): the status and its public note, masked (``status_notes``, history notes,
  ``servicerequestupdates`` descriptions); never a reply to the citizen;
- the agency's key and the key that filed the complaint: the notes as written and the replies;
- any other key: what the public sees.
"""

from __future__ import annotations

from bot import casework
from bot.casework import Actor
from storage import complaints as complaint_store
from storage.db import session_scope
from storage.models import Officer
from tests.bot.open311.conftest import ROOT, post, xml
from tests.casework_support import FILED_ON

PRIVATE_REPLY = "Petugas kami akan menemui Bu S. di Gang M. 7 besok pagi"
REJECTION = "Di luar kewenangan, diteruskan ke BBPJN"
ROAD = dict(service_code="infrastruktur", description="Jalan berlubang di depan pasar", address_id="34.04.06")


def _file(client, key: str) -> str:
    response = post(client, "requests.json", api_key=key, **ROAD)
    assert response.status_code == 200, response.text
    return response.json()[0]["service_request_id"]


def _officer(store, world, ticket: str, act) -> None:
    with session_scope(store) as session:
        complaint = complaint_store.get_complaint(session, ticket.replace("-", ""))
        act(session, complaint, Actor.of(session.get(Officer, world.pupr_officer_id)))


def _reply(store, world, ticket: str, text: str) -> None:
    _officer(store, world, ticket, lambda s, c, a: casework.reply_to_citizen(s, c, actor=a, text=text))


def _status(store, world, ticket: str, status: str, note: str | None) -> None:
    _officer(store, world, ticket, lambda s, c, a: casework.change_status(s, c, status, actor=a, note=note, today=FILED_ON))


def _every_public_read(client, ticket: str) -> list[str]:
    texts = []
    for fmt in ("json", "xml"):
        for path in (f"requests.{fmt}", f"requests/{ticket}.{fmt}", f"servicerequestupdates.{fmt}"):
            for params in ({}, {"extensions": "true"}):
                response = client.get(f"{ROOT}/{path}", params=params)
                assert response.status_code == 200, (path, response.text)
                texts.append(response.text)
    return texts


def test_a_reply_to_the_citizen_is_in_no_public_read(client, keys, store, world):
    ticket = _file(client, keys.form)
    _reply(store, world, ticket, PRIVATE_REPLY)
    for answer in _every_public_read(client, ticket):
        assert "Gang M" not in answer and "Bu S." not in answer, answer[:300]
    assert sum(ticket in answer for answer in _every_public_read(client, ticket)) == 8  # the requests are there
    # another integration reads as the public does
    other = client.get(f"{ROOT}/servicerequestupdates.json", params={"api_key": keys.bali}).text
    assert "Gang M" not in other


def test_the_agency_and_the_filing_key_read_the_reply(client, keys, store, world):
    ticket = _file(client, keys.form)
    _reply(store, world, ticket, PRIVATE_REPLY)
    for key in (keys.pupr, keys.form):
        [update] = client.get(f"{ROOT}/servicerequestupdates.json", params={"api_key": key}).json()
        assert update["description"] == PRIVATE_REPLY
        [request] = client.get(f"{ROOT}/requests/{ticket}.json", params={"api_key": key, "extensions": "true"}).json()
        assert [e["note"] for e in request["extended_attributes"]["history"] if e["kind"] == "reply"] == [PRIVATE_REPLY]


def test_status_notes_carry_the_public_note_of_a_rejection(client, keys, store, world):
    ticket = _file(client, keys.form)
    _status(store, world, ticket, "ditolak", REJECTION)

    [request] = client.get(f"{ROOT}/requests/{ticket}.json").json()
    assert request["status"] == "closed" and REJECTION in request["status_notes"]
    assert request["status_notes"].startswith("DITOLAK")
    listed = xml(client.get(f"{ROOT}/requests.xml")).find("request")
    assert REJECTION in listed.findtext("status_notes")
    [update] = client.get(f"{ROOT}/servicerequestupdates.json").json()
    assert (update["status"], update["description"]) == ("no_further_action", REJECTION)
    [extended] = client.get(f"{ROOT}/requests/{ticket}.json", params={"extensions": "true"}).json()
    assert [e["note"] for e in extended["extended_attributes"]["history"]] == [None, REJECTION]


def test_a_public_note_is_masked_for_the_public_and_whole_for_the_agency(client, keys, store, world):
    ticket = _file(client, keys.form)
    note = "Tidak dapat dihubungi di 081299887766, mohon lapor ulang"
    _status(store, world, ticket, "ditolak", note)
    public = client.get(f"{ROOT}/requests/{ticket}.json").json()[0]["status_notes"]
    assert "081299887766" not in public and "mohon lapor ulang" in public
    assert "081299887766" not in client.get(f"{ROOT}/servicerequestupdates.xml").text
    own = client.get(f"{ROOT}/requests/{ticket}.json", params={"api_key": keys.pupr}).json()[0]["status_notes"]
    assert own.endswith(note)


def test_without_a_note_status_notes_is_the_status_in_words(client, keys, store, world):
    ticket = _file(client, keys.form)
    _status(store, world, ticket, "diteruskan", None)
    [request] = client.get(f"{ROOT}/requests/{ticket}.json").json()
    assert request["status_notes"] == "DITERUSKAN ke instansi"


def test_officers_reading_through_the_api_see_that_an_email_was_given_never_the_address(client, keys, store, world):
    from storage import officers as officer_store

    email = "warga.sleman@example.org"
    response = post(client, "requests.json", api_key=keys.form, email=email, **ROAD)
    ticket = response.json()[0]["service_request_id"]
    with session_scope(store) as session:
        token = officer_store.issue_token(session, world.pupr_officer_id)
    detail = client.get(f"/api/v1/complaints/{ticket}", headers={"Authorization": f"Bearer {token}"})
    assert detail.status_code == 200, detail.text
    assert detail.json()["reporter"] == {"urn": "lewat Open311 (form), e-mail tercatat"}
    assert email not in detail.text
