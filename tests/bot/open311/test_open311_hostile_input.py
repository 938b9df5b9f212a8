"""What an integration posts that no store or XML answer takes as it is (issue #26), on SQLite and on
PostgreSQL: control characters (a NUL is refused by a PostgreSQL text column, any C0 control makes
an XML answer unparseable) are cleaned at the door as the channels clean theirs; an e-mail too long
for the store's address column is a clear 400, and officers read that an e-mail was given, never
the address.
"""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from sqlmodel import select

from bot import casework
from storage import complaints as complaint_store
from storage.db import session_scope
from storage.models import ComplaintEvent, ContactUrn, Message
from tests.bot.open311.conftest import ROOT, client_on, post, store_on, xml

DIRTY = "Jalan\x00 berlubang\x0b di depan\x1b pasar\r\nsudah seminggu\x7f"
CLEAN = "Jalan berlubang di depan pasar\nsudah seminggu"
ROAD = dict(service_code="infrastruktur", description=DIRTY, address_id="34.04.06")


# The module's app and store run on both backends (``database_url``: SQLite, and PostgreSQL where
# the server is up), in place of public_app_support's SQLite ones.
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


def _complaint(store, ticket: str):
    with session_scope(store) as session:
        return complaint_store.get_complaint(session, ticket.replace("-", ""))


# ---------------------------------------------------------------- control characters


def test_control_characters_are_dropped_at_the_door_and_every_xml_list_parses(client, keys, store):
    ticket = _file(
        client, keys.form, address_string="Jl. Magelang\x00 km 5", first_name="Sri\x00", last_name="W\x0b",
        email="warga\x00@example.org", media_url="https://form.example/foto\x00/1.jpg",
    )
    complaint = _complaint(store, ticket)
    assert (complaint.description, complaint.address) == (CLEAN, "Jl. Magelang km 5")
    with session_scope(store) as session:
        assert session.get(ContactUrn, complaint.urn_id).urn == "mailto:warga@example.org"
        assert session.exec(select(Message.text).where(Message.direction == "in")).one() == CLEAN
    for params in ({}, {"extensions": "true"}, {"api_key": keys.form}, {"api_key": keys.form, "extensions": "true"}):
        for path in ("requests.xml", f"requests/{ticket}.xml", "servicerequestupdates.xml"):
            response = client.get(f"{ROOT}/{path}", params=params)
            assert response.status_code == 200, (path, params, response.text)
            xml(response)  # parses
    request = xml(client.get(f"{ROOT}/requests/{ticket}.xml", params={"api_key": keys.form})).find("request")
    assert request.findtext("description") == CLEAN  # the filing key reads back what it sent, cleaned


def test_an_attributes_answer_is_cleaned_too(client, keys, store):
    ticket = _file(client, keys.form, service_code="air_bersih", **{"attribute[nomor_pelanggan]": "12\x0034\x0b5"})
    assert _complaint(store, ticket).description == CLEAN + "\nNomor pelanggan PDAM: 12345"


def test_an_update_with_control_characters_is_applied_cleaned_and_the_lists_parse(client, keys, store):
    ticket = _file(client, keys.form, phone="081277773456")
    response = post(
        client, "servicerequestupdates.xml", api_key=keys.pupr, service_request_id=ticket, status="not_councils_responsibility",
        description="Di luar\x00 kewenangan,\x0b diteruskan ke BBPJN", update_id="bo\x00-1",
    )
    assert response.status_code == 200, response.text
    with session_scope(store) as session:
        event = session.get(ComplaintEvent, int(xml(response).findtext("request_update/update_id")))
        assert (event.note, event.external_update_id) == ("Di luar kewenangan, diteruskan ke BBPJN", "bo-1")
    for params in ({}, {"api_key": keys.pupr}):
        for path in ("servicerequestupdates.xml", "requests.xml", f"requests/{ticket}.xml"):
            answer = client.get(f"{ROOT}/{path}", params={**params, "extensions": "true"})
            assert answer.status_code == 200, (path, answer.text)
            ElementTree.fromstring(answer.content)


# ---------------------------------------------------------------- e-mail


LOCAL = "w" * 64


def _email(length: int) -> str:
    """A well-formed address of ``length`` characters."""
    return f"{LOCAL}@{'d' * (length - len(LOCAL) - 5)}.org"


def test_the_longest_email_the_store_holds_is_filed_and_a_longer_one_is_a_400(client, keys, store):
    longest = _email(248)  # "mailto:" and the address fill the store's 255 characters of an address
    ticket = _file(client, keys.form, email=longest)
    with session_scope(store) as session:
        assert session.get(ContactUrn, _complaint(store, ticket).urn_id).urn == f"mailto:{longest}"
    for length in (249, 254, 281):  # the old pattern took up to 280 (a 287-character URN)
        for fmt in ("json", "xml"):
            refused = post(client, f"requests.{fmt}", api_key=keys.form, **{**ROAD, "email": _email(length)})
            assert refused.status_code == 400, (length, refused.text)
            says = refused.json()[0]["description"] if fmt == "json" else xml(refused).findtext("error/description")
            assert says == "email is longer than 248 characters"
            assert _email(length) not in refused.text  # no personal data in an error


def test_officers_read_that_an_email_was_given_never_the_address(client, keys, store):
    email = "warga.sleman@example.org"
    ticket = _file(client, keys.form, email=email)
    with session_scope(store) as session:
        notices = session.exec(select(Message.text).where(Message.direction == "out")).all()
    assert notices and all("Pelapor: lewat Open311 (form), e-mail tercatat" in text for text in notices), notices
    assert not any("warga.sleman" in text for text in notices)
    # the officers' desk reads the same label (bot/officer_desk.py uses casework.reporter_label)
    with session_scope(store) as session:
        complaint = complaint_store.get_complaint(session, ticket.replace("-", ""))
        label = casework.reporter_label(session, complaint, session.get(ContactUrn, complaint.urn_id))
    assert label == "lewat Open311 (form), e-mail tercatat"
