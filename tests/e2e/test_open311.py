"""End to end, Open311 (issue #15): a city's web form speaks GeoReport v2 to the running stack.

The client is ``georeport`` from PyPI (the maintained GeoReport v2 client; it reads services,
definitions and requests in JSON and XML but has no call to post one, so the post is a plain
form-encoded POST, as the spec describes it). The form lists the services, files a request with
the reporter's phone, and reads it back; the agency's officer is told on Telegram (fake Bot API),
the reporter's number is asked by SMS (fake Twilio) and answers YA (issue #26: until then it is
record-only); an admin moves the status through the REST API and the form reads the new status
through Open311, while the reporter gets the push.
"""

from __future__ import annotations

import httpx
import pytest
from georeport import GeoReport

from tests.channels_support import wait_for
from tests.e2e.test_channels import twilio_sender

pytestmark = pytest.mark.e2e

OFFICER_CHAT = 700100500
PHONE, PHONE_E164 = "0812-5550-3111", "+6281255503111"


@pytest.fixture(scope="module")
def form_key(stack) -> str:
    stack.cli("officer", "add", "--name", "Petugas PUPR Open311", "--agency", "PUPR-3404", "--urn", f"telegram:{OFFICER_CHAT}")
    return stack.cli("open311", "key", "add", "--name", "Formulir web Sleman").splitlines()[-1]


def test_a_web_form_files_a_request_and_reads_its_status_through_open311(stack, form_key, admin_token, fake_telegram, fake_twilio):
    root = f"{stack.base_url}/open311/v2"
    as_json, as_xml = GeoReport(root), GeoReport(root, output_format="xml")

    services = as_json.get_service_list()
    assert len(services) == 13 and services[0]["service_code"] == "infrastruktur"
    assert [s["service_code"] for s in as_xml.get_service_list()] == [s["service_code"] for s in services]
    water = as_xml.get_service_definition("air_bersih")
    assert water["attributes"]["attribute"]["code"] == "nomor_pelanggan"

    posted = httpx.post(f"{root}/requests.json", data={
        "api_key": form_key, "service_code": "infrastruktur", "phone": PHONE,
        "description": "Jalan berlubang besar di depan pasar, sudah dua motor jatuh",
        "address_string": "Jl. Magelang km 8, Kec. Mlati, Kab. Sleman", "lat": "-7.7330", "long": "110.3550",
    }, timeout=30)
    assert posted.status_code == 200, posted.text
    ticket = posted.json()[0]["service_request_id"]

    request = as_json.get_service_request(ticket)
    assert (request["status"], request["service_code"], request["agency_responsible"]) == (
        "open", "infrastruktur", "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Sleman"
    )
    assert request["address"] == "Mlati, Kab. Sleman (Daerah Istimewa Yogyakarta)"  # public: the place in words
    assert request["description"] is None and "5550" not in str(request)
    assert as_xml.get_service_request(ticket)["service_request_id"] == ticket

    # the agency's officer is told at once, the reporter gets the ticket by SMS
    notice = wait_for(
        lambda: [m["text"] for m in fake_telegram.sent if int(m["chat_id"]) == OFFICER_CHAT and ticket in m["text"]],
        what="the officer's notice of the Open311 request",
    )
    assert "Jalan berlubang besar" in notice[0]
    sms = wait_for(lambda: fake_twilio.bodies_to(PHONE_E164), what="the SMS asking the reporter's number")
    assert f"Balas YA {ticket}" in sms[0]
    assert twilio_sender(stack, fake_twilio, PHONE_E164)(f"YA {ticket}").status_code == 200
    thanks = wait_for(lambda: fake_twilio.bodies_to(PHONE_E164)[1:], what="the answer to the reporter's YA")
    assert f"Kabar laporan {ticket}" in thanks[0]

    # an admin verifies it through the REST API; Open311 tells the new status, the reporter hears it
    changed = httpx.post(
        f"{stack.base_url}/api/v1/complaints/{ticket}/status", json={"status": "diproses"},
        headers={"Authorization": f"Bearer {admin_token}"}, timeout=30,
    )
    assert changed.status_code == 200, changed.text
    [read_back] = as_json.get_service_requests(service_request_id=ticket)
    assert (read_back["status"], read_back["status_notes"]) == ("open", "DIPROSES instansi")
    resolved = httpx.post(
        f"{stack.base_url}/api/v1/complaints/{ticket}/status", json={"status": "selesai", "note": "Sudah ditambal"},
        headers={"Authorization": f"Bearer {admin_token}"}, timeout=30,
    )
    assert resolved.status_code == 200, resolved.text
    assert as_xml.get_service_request(ticket)["status"] == "closed"
    pushes = wait_for(lambda: fake_twilio.bodies_to(PHONE_E164)[3:], what="the reporter's push of selesai")
    assert any("Sudah ditambal" in text for text in pushes)
    listed = as_json.get_service_requests(status="closed")
    assert ticket in [r["service_request_id"] for r in listed]
