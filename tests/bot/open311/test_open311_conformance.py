"""The Open311 GeoReport v2 server, endpoint by endpoint, in both formats (issue #15).

XML answers are checked against the spec's element names and their order; JSON answers carry the
same data; errors are the spec's ``[{code, description}]`` with 400, 403 or 404; the default
window is 90 days, the cap 1,000; datetimes are W3C with the province's time zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func
from sqlmodel import select

from storage import complaints as complaint_store
from storage import open311_keys
from storage.db import session_scope
from storage.models import NATIONAL_QUEUE_CODE, Agency, Complaint, Message
from storage.tickets import format_ticket
from tests.bot.open311.conftest import ROOT, children, post, xml
from tests.casework_support import file
from tests.public_app_support import BASE_URL

REQUEST_ELEMENTS = [
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
]
SERVICE_ELEMENTS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
ROAD = dict(service_code="infrastruktur", description="Jalan berlubang besar di depan pasar Mlati", address_id="34.04.06")


def _file(client, key: str, **fields) -> str:
    response = post(client, "requests.json", api_key=key, **{**ROAD, **fields})
    assert response.status_code == 200, response.text
    return response.json()[0]["service_request_id"]


# ---------------------------------------------------------------- discovery and services


def test_discovery_names_this_endpoint_and_both_formats(client):
    answer = xml(client.get(f"{ROOT}/discovery.xml"))
    assert answer.tag == "discovery"
    assert children(answer) == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = answer.find("endpoints/endpoint")
    assert children(endpoint) == ["specification", "url", "changeset", "type", "formats"]
    assert endpoint.findtext("url") == f"{BASE_URL}{ROOT}"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]
    as_json = client.get(f"{ROOT}/discovery.json").json()
    assert as_json["endpoints"][0]["formats"] == ["text/xml", "application/json"]


def test_services_are_the_13_categories_in_indonesian_in_both_formats(client):
    answer = xml(client.get(f"{ROOT}/services.xml"))
    assert answer.tag == "services"
    services = answer.findall("service")
    assert len(services) == 13
    assert all(children(service) == SERVICE_ELEMENTS for service in services)
    road = services[0]
    assert road.findtext("service_code") == "infrastruktur"
    assert road.findtext("service_name") == "Jalan & fasilitas umum"
    assert road.findtext("type") == "realtime"
    assert "jalan" in road.findtext("keywords").split(", ")
    assert road.findtext("metadata") == "true"
    as_json = client.get(f"{ROOT}/services.json").json()
    assert [s["service_code"] for s in as_json] == [s.findtext("service_code") for s in services]
    assert as_json[-1] == {**as_json[-1], "service_code": "lainnya", "metadata": False, "type": "realtime"}


def test_a_service_definition_lists_its_attributes(client):
    answer = xml(client.get(f"{ROOT}/services/air_bersih.xml"))
    assert answer.tag == "service_definition"
    assert children(answer) == ["service_code", "attributes"]
    attribute = answer.find("attributes/attribute")
    assert children(attribute) == ["variable", "code", "datatype", "required", "datatype_description", "order", "description"]
    assert attribute.findtext("code") == "nomor_pelanggan"
    choice = client.get(f"{ROOT}/services/infrastruktur.json").json()["attributes"][0]
    assert choice["datatype"] == "singlevaluelist"
    assert [v["key"] for v in choice["values"]] == ["ya", "tidak"]
    values = xml(client.get(f"{ROOT}/services/infrastruktur.xml")).findall("attributes/attribute/values/value")
    assert [children(v) for v in values] == [["key", "name"], ["key", "name"]]
    assert client.get(f"{ROOT}/services/lainnya.json").json() == {"service_code": "lainnya", "attributes": []}


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_an_unknown_service_is_the_specs_404_error(client, fmt):
    response = client.get(f"{ROOT}/services/parkir.{fmt}")
    assert response.status_code == 404
    if fmt == "xml":
        error = xml(response).find("error")
        assert xml(response).tag == "errors" and children(error) == ["code", "description"]
        assert error.findtext("code") == "404"
    else:
        assert response.json() == [{"code": 404, "description": "service_code 'parkir' not found"}]


def test_a_format_other_than_xml_or_json_is_refused(client):
    response = client.get(f"{ROOT}/services.html")
    assert response.status_code == 404
    assert "use .xml or .json" in response.json()[0]["description"]


# ---------------------------------------------------------------- POST requests


def test_a_posted_request_is_filed_routed_announced_and_answered_with_its_ticket(client, keys, store):
    response = post(client, "requests.xml", api_key=keys.form, **ROAD)
    assert response.status_code == 200, response.text
    answer = xml(response)
    assert answer.tag == "service_requests"
    request = answer.find("request")
    assert children(request) == ["service_request_id", "service_notice", "account_id"]
    ticket = request.findtext("service_request_id")
    assert "nomor tiket " + ticket in request.findtext("service_notice")
    with session_scope(store) as session:
        complaint = complaint_store.get_complaint(session, ticket.replace("-", ""))
        assert (complaint.channel, complaint.category, complaint.region_code, complaint.district_code) == (
            "open311", "infrastruktur", "34.04", "34.04.06"
        )
        notices = session.exec(select(Message.text).where(Message.direction == "out")).all()
    # the PUPR officers are told, the DLH ones are not: routed like any complaint
    assert any(ticket in text and "Dinas Pekerjaan Umum" in text for text in notices)
    assert len(notices) == 3  # the PUPR officer's two addresses and the supervisor's


def test_an_address_string_is_read_by_the_place_reader(client, keys, store):
    ticket = _file(client, keys.form, address_id="", address_string="Jl. Magelang, Kec. Mlati, Kab. Sleman", lat="-7.73", long="110.35")
    with session_scope(store) as session:
        complaint = complaint_store.get_complaint(session, ticket.replace("-", ""))
    assert (complaint.region_code, complaint.district_code) == ("34.04", "34.04.06")
    assert (complaint.latitude, complaint.longitude) == (-7.73, 110.35)
    assert complaint.address == "Jl. Magelang, Kec. Mlati, Kab. Sleman"


def test_a_pin_alone_goes_to_the_national_desk(client, keys, store):
    ticket = _file(client, keys.form, address_id="", lat="-7.73", long="110.35")
    with session_scope(store) as session:
        complaint = complaint_store.get_complaint(session, ticket.replace("-", ""))
        assert complaint.region_code is None
        assert session.get(Agency, complaint.agency_id).code == NATIONAL_QUEUE_CODE


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"api_key": ""}, 403, "api_key is required"),
        ({"api_key": "o311_not-a-key"}, 403, "invalid api_key"),
        ({"service_code": ""}, 400, "service_code is required"),
        ({"service_code": "parkir"}, 404, "not found"),
        ({"description": " "}, 400, "description is required"),
        ({"description": "x" * 4001}, 400, "longer than 4000"),
        ({"address_id": ""}, 400, "a location is required"),
        ({"address_id": "99.99"}, 400, "Kemendagri"),
        ({"lat": "-7.7"}, 400, "lat and long go together"),
        ({"lat": "91", "long": "110"}, 400, "lat is out of range"),
        ({"phone": "12"}, 400, "phone is not a phone number"),
        ({"email": "nobody"}, 400, "email is not an e-mail address"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"attribute[membahayakan]": "mungkin"}, 400, "must be one of ya, tidak"),
    ],
)
def test_a_bad_post_is_refused_with_the_specs_error_and_files_nothing(client, keys, store, fields, status, says):
    form = {"api_key": keys.form, **ROAD, **fields}
    response = post(client, "requests.json", **form)
    assert response.status_code == status, response.text
    [error] = response.json()
    assert error["code"] == status and says in error["description"]
    with session_scope(store) as session:
        assert session.exec(select(func.count()).select_from(Complaint)).one() == 0
        assert session.exec(select(func.count()).select_from(Message)).one() == 0


def test_a_revoked_key_is_refused(client, keys, store):
    with session_scope(store) as session:
        open311_keys.revoke_key(session, "form")
    response = post(client, "requests.xml", api_key=keys.form, **ROAD)
    assert response.status_code == 403
    assert xml(response).findtext("error/description") == "invalid api_key"


def test_attributes_are_written_into_the_complaint_for_the_officers(client, keys, store):
    ticket = _file(client, keys.form, **{"attribute[membahayakan]": "ya", "attribute[unknown]": "ignored"})
    with session_scope(store) as session:
        description = complaint_store.get_complaint(session, ticket.replace("-", "")).description
    assert description == ROAD["description"] + "\nMembahayakan: Ya, membahayakan"


# ---------------------------------------------------------------- key bindings


def test_a_key_bound_to_a_place_files_there_only(client, keys, store):
    assert _file(client, keys.sleman)  # Mlati is in Kab. Sleman
    refused = post(client, "requests.json", api_key=keys.bali, **ROAD)
    assert refused.status_code == 403 and "that place" in refused.json()[0]["description"]
    # a key bound to one kab/kota files there what it cannot place
    ticket = _file(client, keys.sleman, address_id="", lat="-7.73", long="110.35")
    with session_scope(store) as session:
        assert complaint_store.get_complaint(session, ticket.replace("-", "")).region_code == "34.04"
    # bound to a province (several kab/kota), it must say where
    vague = post(client, "requests.json", api_key=keys.bali, **{**ROAD, "address_id": "", "lat": "-8.6", "long": "115.2"})
    assert vague.status_code == 400 and "address_id" in vague.json()[0]["description"]


def test_a_key_bound_to_an_agency_files_only_what_routes_to_it(client, keys):
    assert _file(client, keys.pupr)  # a road in Sleman: PUPR
    refused = post(client, "requests.json", api_key=keys.pupr, **{**ROAD, "service_code": "lingkungan"})  # DLH's
    assert refused.status_code == 403 and "agency" in refused.json()[0]["description"]


# ---------------------------------------------------------------- GET requests


def test_a_request_reads_back_in_the_specs_element_order_in_the_provinces_time_zone(client, keys):
    ticket = _file(client, keys.form)
    answer = xml(client.get(f"{ROOT}/requests/{ticket}.xml"))
    assert answer.tag == "service_requests"
    request = answer.find("request")
    assert children(request) == REQUEST_ELEMENTS
    assert request.findtext("service_request_id") == ticket
    assert request.findtext("status") == "open"
    assert request.findtext("status_notes") == "DITERIMA, menunggu verifikasi"
    assert request.findtext("service_name") == "Jalan & fasilitas umum"
    assert request.findtext("agency_responsible") == "Dinas Pekerjaan Umum Kabupaten Sleman"
    assert request.findtext("address") == "Mlati, Kab. Sleman (Daerah Istimewa Yogyakarta)"
    assert request.findtext("address_id") == "34.04.06"
    requested = datetime.fromisoformat(request.findtext("requested_datetime"))
    assert requested.utcoffset() == timedelta(hours=7)  # WIB: Yogyakarta
    assert request.findtext("expected_datetime").endswith("T23:59:59+07:00")  # verification due
    same = client.get(f"{ROOT}/requests/{ticket.replace('-', '')}.json").json()
    assert list(same[0]) == REQUEST_ELEMENTS and same[0]["service_request_id"] == ticket


def test_a_complaint_in_bali_reads_in_wita(client, keys, store):
    ticket = _file(client, keys.bali, address_id="51.71.01", service_code="lainnya")
    [request] = client.get(f"{ROOT}/requests/{ticket}.json").json()
    assert datetime.fromisoformat(request["requested_datetime"]).utcoffset() == timedelta(hours=8)


def test_requests_filter_by_id_code_status_jurisdiction_and_window(client, keys, store, world):
    road, rubbish = _file(client, keys.form), _file(client, keys.form, service_code="lingkungan")
    bali = _file(client, keys.bali, address_id="51.71.01", service_code="lainnya")
    with session_scope(store) as session:
        old = file(session, today=datetime.now(timezone.utc).date())
        old.created_at = datetime.now(timezone.utc) - timedelta(days=91)
        session.add(old)
        old_ticket = format_ticket(old.ticket)

    def ids(**params) -> list[str]:
        response = client.get(f"{ROOT}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    assert ids() == [bali, rubbish, road]  # the last 90 days, newest first: not the old one
    assert ids(service_code="lingkungan,lainnya") == [bali, rubbish]
    assert ids(jurisdiction_id="34") == [rubbish, road]
    assert ids(jurisdiction_id="51.71") == [bali]
    assert ids(jurisdiction_id="id") == [bali, rubbish, road]
    assert ids(status="closed") == []
    assert ids(status="open,closed") == [bali, rubbish, road]
    # service_request_id overrides everything else, the window too
    assert ids(service_request_id=f"{old_ticket},{road},nonsense", service_code="lainnya") == [road, old_ticket]
    start = (datetime.now(timezone.utc) - timedelta(days=100)).isoformat()
    end = (datetime.now(timezone.utc) - timedelta(days=80)).isoformat()
    assert ids(start_date=start, end_date=end) == [old_ticket]


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"start_date": "2026-01-01", "end_date": "2026-06-01"}, 400, "90 days"),
        ({"start_date": "2026-06-01", "end_date": "2026-05-01"}, 400, "before start_date"),
        ({"start_date": "yesterday"}, 400, "W3C"),
        ({"status": "pending"}, 400, "open or closed"),
        ({"service_code": "parkir"}, 400, "not found"),
        ({"jurisdiction_id": "99"}, 404, "jurisdiction_id"),
        ({"api_key": "o311_wrong"}, 403, "invalid api_key"),
    ],
)
def test_bad_filters_are_the_specs_errors(client, world, params, status, says):
    response = client.get(f"{ROOT}/requests.xml", params=params)
    assert response.status_code == status
    assert says in xml(response).findtext("error/description")


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("path", ["requests", "servicerequestupdates"])
@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "9999-12-31"},  # its 90 days forward are past the last date there is
        {"end_date": "0001-01-01"},  # its 90 days back are before the first
        {"start_date": "0001-01-01T00:00:00+07:00"},  # in UTC, before the first
        {"end_date": "9999-12-31T23:59:59-12:00"},  # in UTC, after the last
    ],
)
def test_a_date_past_what_the_window_can_reach_is_a_400_in_the_requests_format(client, world, fmt, path, params):
    response = client.get(f"{ROOT}/{path}.{fmt}", params=params)
    assert response.status_code == 400, response.text
    says = response.json()[0]["description"] if fmt == "json" else xml(response).findtext("error/description")
    assert "out of range" in says


def test_one_answer_holds_at_most_1000_requests(client, world, store):
    with session_scope(store) as session:
        for _ in range(1003):
            file(session, today=datetime.now(timezone.utc).date())
    assert len(client.get(f"{ROOT}/requests.json").json()) == 1000


def test_an_unknown_ticket_is_404(client, world):
    assert client.get(f"{ROOT}/requests/1234-5678.json").status_code == 404
    assert client.get(f"{ROOT}/requests/abc.xml").status_code == 404


def test_extensions_give_the_fine_status_and_the_history(client, keys):
    ticket = _file(client, keys.form)
    [request] = client.get(f"{ROOT}/requests/{ticket}.json", params={"extensions": "true"}).json()
    extended = request["extended_attributes"]
    assert extended["detailed_status"] == "diterima"
    assert [(e["kind"], e["status"]) for e in extended["history"]] == [("filed", "diterima")]
    element = xml(client.get(f"{ROOT}/requests/{ticket}.xml", params={"extensions": "true"})).find("request/extended_attributes")
    assert children(element) == ["detailed_status", "history"]
    assert children(element.find("history/event")) == ["datetime", "kind", "status", "note"]
