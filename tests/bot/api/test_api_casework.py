"""Officers' actions through the REST API (bot/api/routes/, issue #5): status, replies, reroute, agencies and
routing rules; another agency's ticket does not exist (404) and nothing changes; admins act on all;
an anonymous reporter never appears in a response.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from bot import pins
from bot.app import create_app
from bot.config import Settings
from bot.workdays import add_working_days
from storage import agencies as agency_store
from storage import contacts as contact_store
from storage import officers as officer_store
from storage.db import session_scope
from storage.models import Officer
from storage.tickets import format_ticket
from tests.casework_support import (
    CITIZEN_DIGITS,
    CITIZEN_URN,
    DLH_NAME,
    DLH_OFFICER_URN,
    PUPR_NAME,
    PUPR_OFFICER_URN,
    PUPR_OFFICER_URN_2,
    build_world,
    events,
    file,
    outbound,
    outbound_text,
    pushes,
    snapshot,
)

DESCRIPTION = "Jalan berlubang besar di depan pasar Mlati"


@pytest.fixture
def client(sqlite_url):
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL="http://127.0.0.1:9", RASA_TOKEN="t")
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def world(store):
    with session_scope(store) as session:
        return build_world(session)


def today():
    # the app's own clock runs in the background: file "today" so that no deadline is near
    return datetime.now(ZoneInfo("Asia/Jakarta")).date()


def filed(store, **overrides):
    with session_scope(store) as session:
        return file(session, today=today(), **overrides)


def token_of(store, officer_id: int) -> dict[str, str]:
    with session_scope(store) as session:
        return {"Authorization": f"Bearer {officer_store.issue_token(session, officer_id)}"}


def snap(store, ticket: str) -> dict:
    with session_scope(store) as session:
        return snapshot(session, ticket)


def url(complaint, action: str = "") -> str:
    return f"/api/v1/complaints/{format_ticket(complaint.ticket)}{action}"


# ---------------------------------------------------------------- status, replies, reroute


def test_an_officer_forwards_a_complaint_and_the_citizen_is_told(client, store, world):
    complaint = filed(store)
    response = client.post(url(complaint, "/status"), json={"status": "diteruskan"}, headers=token_of(store, world.pupr_officer_id))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["agency"]["code"]) == ("diteruskan", "PUPR-3404")
    assert body["deadlines"]["followup_due"] == add_working_days(today(), 5).isoformat()
    assert body["deadlines"]["resolve_due"] == add_working_days(today(), 21).isoformat()
    assert body["deadlines"]["running"] == ["followup", "resolve"]
    last = body["history"][-1]
    assert (last["kind"], last["from_status"], last["to_status"], last["actor_type"], last["actor_officer_id"]) == (
        "status", "diterima", "diteruskan", "officer", world.pupr_officer_id,
    )
    assert body["reporter"] == {"urn": CITIZEN_URN}
    with session_scope(store) as session:
        text = outbound_text(session, CITIZEN_URN)
        assert format_ticket(complaint.ticket) in text and PUPR_NAME in text
        assert pushes(session) == [("EXTERNAL_status_changed", {"ticket": complaint.ticket})]


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"status": "ditolak"}, 422, "reason_required"),
        ({"status": "ditolak", "note": "   "}, 422, "reason_required"),
        ({"status": "selesai"}, 409, "bad_transition"),
        ({"status": "ditutup"}, 422, None),  # not an officer's status
        ({"status": "hilang"}, 422, None),
    ],
)
def test_a_refused_status_change_changes_nothing(client, store, world, body, status, code):
    complaint = filed(store)
    before = snap(store, complaint.ticket)
    response = client.post(url(complaint, "/status"), json=body, headers=token_of(store, world.pupr_officer_id))
    assert response.status_code == status, response.text
    if code:
        assert response.json()["detail"]["code"] == code
        assert response.json()["detail"]["message"]
    assert snap(store, complaint.ticket) == before


def test_a_rejection_with_a_reason(client, store, world):
    complaint = filed(store)
    response = client.post(url(complaint, "/status"), json={"status": "ditolak", "note": "Laporan ganda"},
                           headers=token_of(store, world.pupr_officer_id))
    assert response.status_code == 200 and response.json()["status"] == "ditolak"
    with session_scope(store) as session:
        assert "Alasan: Laporan ganda" in outbound_text(session, CITIZEN_URN)


def test_an_officer_replies_through_the_api(client, store, world):
    complaint = filed(store)
    response = client.post(url(complaint, "/replies"), json={"text": "Mohon kirim foto lubangnya"},
                           headers=token_of(store, world.pupr_supervisor_id))
    assert response.status_code == 200, response.text
    last = response.json()["history"][-1]
    assert (last["kind"], last["actor_type"], last["actor_officer_id"], last["note"]) == (
        "reply", "officer", world.pupr_supervisor_id, "Mohon kirim foto lubangnya",
    )
    with session_scope(store) as session:
        text = outbound_text(session, CITIZEN_URN)
        assert "Mohon kirim foto lubangnya" in text and PUPR_NAME in text and format_ticket(complaint.ticket) in text
        assert pushes(session) == [("EXTERNAL_officer_reply", {"ticket": complaint.ticket})]


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_reply_is_refused(client, store, world, text):
    complaint = filed(store)
    before = snap(store, complaint.ticket)
    response = client.post(url(complaint, "/replies"), json={"text": text}, headers=token_of(store, world.pupr_officer_id))
    assert response.status_code == 422
    assert snap(store, complaint.ticket) == before


def test_an_officer_reroutes_through_the_api(client, store, world):
    complaint = filed(store)
    response = client.post(url(complaint, "/reroute"), json={"agency": "DLH-3404", "note": "urusan sampah"},
                           headers=token_of(store, world.pupr_officer_id))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["agency"] == {"code": "DLH-3404", "name": DLH_NAME}
    last = body["history"][-1]
    assert (last["kind"], last["actor_officer_id"]) == ("rerouted", world.pupr_officer_id)
    with session_scope(store) as session:
        [notification] = outbound(session, DLH_OFFICER_URN)
        assert format_ticket(complaint.ticket) in notification.text and DESCRIPTION in notification.text
        assert DLH_NAME in outbound_text(session, CITIZEN_URN)
    # now the old agency no longer sees it
    assert client.get(url(complaint), headers=token_of(store, world.pupr_officer_id)).status_code == 404
    assert client.get(url(complaint), headers=token_of(store, world.dlh_officer_id)).status_code == 200


@pytest.mark.parametrize("agency, status", [("TIDAK-ADA", 422), ("PUPR-3404", 409)])
def test_a_refused_reroute_changes_nothing(client, store, world, agency, status):
    complaint = filed(store)
    before = snap(store, complaint.ticket)
    response = client.post(url(complaint, "/reroute"), json={"agency": agency}, headers=token_of(store, world.pupr_officer_id))
    assert response.status_code == status
    assert snap(store, complaint.ticket) == before


# ---------------------------------------------------------------- authorisation


@pytest.mark.parametrize(
    "method, action, body",
    [
        ("get", "", None),
        ("post", "/status", {"status": "diteruskan"}),
        ("post", "/status", {"status": "ditolak", "note": "bukan wewenang"}),
        ("post", "/replies", {"text": "Halo dari DLH"}),
        ("post", "/reroute", {"agency": "DLH-3404"}),
        ("post", "/reroute", {"agency": "NASIONAL"}),
    ],
)
def test_another_agencys_complaint_does_not_exist_for_an_officer(client, store, world, method, action, body):
    complaint = filed(store)
    before = snap(store, complaint.ticket)
    headers = token_of(store, world.dlh_officer_id)
    response = getattr(client, method)(url(complaint, action), headers=headers, **({"json": body} if body else {}))
    assert response.status_code == 404
    assert DESCRIPTION not in response.text and CITIZEN_DIGITS not in response.text
    assert snap(store, complaint.ticket) == before


def test_an_admin_acts_on_every_agencys_complaints(client, store, world):
    complaint = filed(store)
    headers = token_of(store, world.national_admin_id)
    response = client.post(url(complaint, "/status"), json={"status": "diteruskan"}, headers=headers)
    assert response.status_code == 200
    assert response.json()["history"][-1]["actor_officer_id"] == world.national_admin_id
    assert client.post(url(complaint, "/replies"), json={"text": "Sudah diteruskan"}, headers=headers).status_code == 200
    with session_scope(store) as session:
        assert [(e.kind, e.actor_officer_id) for e in events(session, complaint.id)][1:] == [
            ("status", world.national_admin_id), ("reply", world.national_admin_id),
        ]


# ---------------------------------------------------------------- privacy


def test_an_anonymous_reporter_is_in_no_response(client, store, world):
    complaint = filed(store, anonymous=True)
    headers = token_of(store, world.pupr_officer_id)
    responses = [
        client.get(url(complaint), headers=headers),
        client.post(url(complaint, "/replies"), json={"text": "Kami cek besok"}, headers=headers),
        client.post(url(complaint, "/status"), json={"status": "diteruskan"}, headers=headers),
        client.get("/api/v1/complaints", headers=headers),
        client.post(url(complaint, "/reroute"), json={"agency": "DLH-3404"}, headers=headers),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert CITIZEN_DIGITS not in response.text and "sim-sms:" not in response.text
    assert responses[0].json()["reporter"] is None and responses[0].json()["anonymous"] is True
    with session_scope(store) as session:
        assert CITIZEN_DIGITS not in outbound_text(session, DLH_OFFICER_URN)


# ---------------------------------------------------------------- agencies and routing rules


def test_agencies_and_rules_are_read_by_officers_and_changed_by_admins_only(client, store, world):
    officer = token_of(store, world.pupr_officer_id)
    supervisor = token_of(store, world.pupr_supervisor_id)
    admin = token_of(store, world.national_admin_id)
    codes = [a["code"] for a in client.get("/api/v1/agencies", headers=officer).json()]
    assert {"PUPR-3404", "DLH-3404", "NASIONAL"} <= set(codes)
    new = {"code": "DINKES-3404", "name": "Dinas Kesehatan Kabupaten Sleman", "region_code": "34.04"}
    for headers in (officer, supervisor):
        assert client.post("/api/v1/agencies", json=new, headers=headers).status_code == 403
    rule = {"category": "kesehatan", "region_code": "34.04", "agency": "PUPR-3404"}
    for headers in (officer, supervisor):
        assert client.put("/api/v1/routing-rules", json=rule, headers=headers).status_code == 403
    with session_scope(store) as session:
        assert agency_store.get_agency_by_code(session, "DINKES-3404") is None
        assert len(agency_store.routing_rules(session)) == 2

    assert client.post("/api/v1/agencies", json=new, headers=admin).status_code == 201
    assert client.post("/api/v1/agencies", json=new, headers=admin).status_code == 409
    rule["agency"] = "DINKES-3404"
    assert client.put("/api/v1/routing-rules", json=rule, headers=admin).status_code == 200
    assert client.put("/api/v1/routing-rules", json={**rule, "agency": "TIDAK-ADA"}, headers=admin).status_code == 422
    assert rule in client.get("/api/v1/routing-rules", headers=officer).json()
    complaint = filed(store, category="kesehatan", description="Puskesmas tutup saat jam layanan")
    with session_scope(store) as session:
        assert agency_store.get_agency_by_code(session, "DINKES-3404").id == complaint.agency_id


# ---------------------------------------------------------------- officers: revocation (admins only)


def test_only_admins_manage_officers(client, store, world):
    target = world.pupr_officer_id
    for officer_id in (world.pupr_officer_id, world.pupr_supervisor_id):
        headers = token_of(store, officer_id)
        assert client.get("/api/v1/officers", headers=headers).status_code == 403
        assert client.post(f"/api/v1/officers/{target}/deactivate", headers=headers).status_code == 403
        assert client.post(f"/api/v1/officers/{target}/tokens/revoke", json={}, headers=headers).status_code == 403
    assert client.get("/api/v1/officers").status_code == 401
    with session_scope(store) as session:
        assert session.get(Officer, target).active


def test_admins_list_officers_with_redacted_addresses_and_no_secrets(client, store, world):
    headers = token_of(store, world.national_admin_id)
    with session_scope(store) as session:
        officer_store.set_officer_pin(session, world.pupr_officer_id, pins.hash_pin("640172"))
    listed = {o["id"]: o for o in client.get("/api/v1/officers", headers=headers).json()}
    officer = listed[world.pupr_officer_id]
    assert (officer["agency"], officer["role"], officer["active"], officer["pin_set"]) == ("PUPR-3404", "officer", True, True)
    assert len(officer["addresses"]) == 2
    assert listed[world.pupr_inactive_id]["active"] is False
    body = str(listed)
    assert "6281300000001" not in body and "pin_hash" not in body and "scrypt" not in body
    [token] = listed[world.national_admin_id]["tokens"]
    assert token["prefix"] == headers["Authorization"].split()[1][:10]


def test_an_admin_deactivates_an_officer_and_their_token_stops_working(client, store, world):
    admin = token_of(store, world.national_admin_id)
    officer = token_of(store, world.pupr_officer_id)
    assert client.get("/api/v1/complaints", headers=officer).status_code == 200
    response = client.post(f"/api/v1/officers/{world.pupr_officer_id}/deactivate", headers=admin)
    assert response.status_code == 200 and response.json()["active"] is False
    assert client.get("/api/v1/complaints", headers=officer).status_code == 401
    with session_scope(store) as session:
        contact = contact_store.get_or_create_urn(session, PUPR_OFFICER_URN)
        assert officer_store.officer_of_urn(session, contact.id) is None
    assert client.post(f"/api/v1/officers/{world.pupr_officer_id}/reactivate", headers=admin).json()["active"] is True
    assert client.get("/api/v1/complaints", headers=officer).status_code == 401  # its token was revoked
    assert client.post(f"/api/v1/officers/{world.national_admin_id}/deactivate", headers=admin).status_code == 409
    assert client.post("/api/v1/officers/999/deactivate", headers=admin).status_code == 404
    assert client.post(f"/api/v1/officers/{2**63}/deactivate", headers=admin).status_code == 422


def test_an_admin_removes_an_officers_address(client, store, world):
    admin = token_of(store, world.national_admin_id)
    listed = {o["id"]: o for o in client.get("/api/v1/officers", headers=admin).json()}
    second = next(a for a in listed[world.pupr_officer_id]["addresses"] if a["address"].startswith("sim-whatsapp"))
    response = client.delete(f"/api/v1/officers/{world.pupr_officer_id}/addresses/{second['id']}", headers=admin)
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["addresses"]] != [] and second not in response.json()["addresses"]
    with session_scope(store) as session:
        assert not officer_store.officer_urn_taken(session, PUPR_OFFICER_URN_2)
        assert officer_store.officer_urn_taken(session, PUPR_OFFICER_URN)
    again = client.delete(f"/api/v1/officers/{world.pupr_officer_id}/addresses/{second['id']}", headers=admin)
    assert again.status_code == 404


def test_an_admin_revokes_one_token_by_its_prefix_or_all(client, store, world):
    admin = token_of(store, world.national_admin_id)
    first, second = token_of(store, world.pupr_officer_id), token_of(store, world.pupr_officer_id)
    prefix = first["Authorization"].split()[1][:10]
    revoke = f"/api/v1/officers/{world.pupr_officer_id}/tokens/revoke"
    assert client.post(revoke, json={"prefix": prefix}, headers=admin).json() == {"revoked": 1}
    assert client.get("/api/v1/complaints", headers=first).status_code == 401
    assert client.get("/api/v1/complaints", headers=second).status_code == 200
    assert client.post(revoke, json={"prefix": prefix}, headers=admin).status_code == 404
    assert client.post(revoke, json={}, headers=admin).json() == {"revoked": 1}
    assert client.get("/api/v1/complaints", headers=second).status_code == 401


# ---------------------------------------------------------------- public and private (issue #26)


def test_an_api_reply_is_private_and_a_status_note_public_masked(client, store, world):
    complaint = filed(store)
    headers = token_of(store, world.pupr_officer_id)
    private = "Petugas kami akan menemui Bu S. di Gang M. 7 besok pagi"
    assert client.post(url(complaint, "/replies"), json={"text": private}, headers=headers).status_code == 200
    note = "Di luar kewenangan, diteruskan ke BBPJN; info 081299887766"
    body = client.post(url(complaint, "/status"), json={"status": "ditolak", "note": note}, headers=headers).json()

    reply_event, status_event = body["history"][-2:]
    assert (reply_event["kind"], reply_event["note"], reply_event["public_note"]) == ("reply", private, None)
    assert status_event["note"] == note
    assert status_event["public_note"].startswith("Di luar kewenangan, diteruskan ke BBPJN")
    assert "081299887766" not in status_event["public_note"]
    page = client.get(f"/t/{complaint.ticket}").text
    assert "Gang M. 7" not in page and "Di luar kewenangan, diteruskan ke BBPJN" in page and "081299887766" not in page


def test_the_api_says_which_text_is_public(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "PUBLIC" in schemas["StatusChange"]["properties"]["note"]["description"]
    assert "private" in schemas["Reply"]["properties"]["text"]["description"]
