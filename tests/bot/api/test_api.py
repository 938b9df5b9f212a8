"""The officers' REST API: bearer tokens, agency scope, anonymity, tickets."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from bot import filing
from bot.app import create_app
from bot.config import Settings
from bot.deadlines import VERIFY_WORKING_DAYS
from bot.workdays import add_working_days
from storage import agencies as agency_store
from storage import complaints as complaint_store
from storage import officers as officer_store
from storage.db import session_scope
from storage.models import Category, Complaint, OfficerRole
from storage.tickets import format_ticket


def officer_token(engine, *, agency_code: str, role: OfficerRole) -> str:
    with session_scope(engine) as session:
        agency = agency_store.get_agency_by_code(session, agency_code) or agency_store.create_agency(
            session, code=agency_code, name=f"Dinas {agency_code}"
        )
        officer = officer_store.create_officer(session, name="Petugas", agency_id=agency.id, role=role)
        return officer_store.issue_token(session, officer.id)


FILED_ON = datetime.now(ZoneInfo("Asia/Jakarta")).date()  # Sleman's day


def file(engine, urn="sim-sms:+6281234567890", anonymous=False, **overrides) -> Complaint:
    new = complaint_store.NewComplaint(
        urn=urn,
        channel="sms",
        description="Lampu jalan mati sejak 2 minggu",
        category=overrides.pop("category", Category.infrastruktur),
        province_code="34",
        region_code=overrides.pop("region_code", "34.04"),
        district_code="34.04.06",
        address="Mlati, Sleman",
        anonymous=anonymous,
    )
    with session_scope(engine) as session:
        # filed today: with a fixed past date its deadline passes one day, and the app's clock,
        # running in the test app, races the test to record a breach
        return filing.file_complaint(session, new, today=FILED_ON)


@pytest.fixture
def client(sqlite_url):
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL="http://127.0.0.1:9", RASA_TOKEN="t")
    with TestClient(create_app(settings)) as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_without_a_valid_token_nothing_is_shown(client, store):
    complaint = file(store)
    assert client.get(f"/api/v1/complaints/{complaint.ticket}").status_code == 401
    assert client.get("/api/v1/complaints", headers=auth("adn_nope")).status_code == 401
    response = client.get(f"/api/v1/complaints/{complaint.ticket}", headers={"Authorization": "Basic eDp5"})
    assert response.status_code in (401, 403)


def test_an_officer_reads_a_complaint_of_the_agency_with_history_and_deadlines(client, store):
    complaint = file(store)
    token = officer_token(store, agency_code="NASIONAL", role=OfficerRole.officer)
    response = client.get(f"/api/v1/complaints/{format_ticket(complaint.ticket)}", headers=auth(token))
    assert response.status_code == 200
    body = response.json()
    assert body["ticket"] == complaint.ticket and body["ticket_display"] == format_ticket(complaint.ticket)
    assert (body["status"], body["category"], body["region_code"], body["district_code"]) == (
        "diterima", "infrastruktur", "34.04", "34.04.06",
    )
    assert body["agency"]["code"] == "NASIONAL"
    assert body["deadlines"]["verify_due"] == add_working_days(FILED_ON, VERIFY_WORKING_DAYS).isoformat()
    assert [e["kind"] for e in body["history"]] == ["filed"]
    assert body["reporter"] == {"urn": "sim-sms:+6281234567890"}


def test_an_anonymous_reporter_is_never_shown(client, store):
    complaint = file(store, anonymous=True)
    token = officer_token(store, agency_code="NASIONAL", role=OfficerRole.admin)
    response = client.get(f"/api/v1/complaints/{complaint.ticket}", headers=auth(token))
    assert response.json()["reporter"] is None
    assert "6281234567890" not in response.text
    listing = client.get("/api/v1/complaints", headers=auth(token))
    assert "6281234567890" not in listing.text


def test_an_officer_of_another_agency_cannot_see_it(client, store):
    complaint = file(store)
    token = officer_token(store, agency_code="DLH-BADUNG", role=OfficerRole.officer)
    assert client.get(f"/api/v1/complaints/{complaint.ticket}", headers=auth(token)).status_code == 404
    listing = client.get("/api/v1/complaints", headers=auth(token)).json()
    assert listing["total"] == 0 and listing["items"] == []
    listing = client.get("/api/v1/complaints", params={"agency": "NASIONAL"}, headers=auth(token)).json()
    assert listing["total"] == 0


def test_an_admin_sees_every_agency(client, store):
    complaint = file(store)
    token = officer_token(store, agency_code="INSPEKTORAT", role=OfficerRole.admin)
    assert client.get(f"/api/v1/complaints/{complaint.ticket}", headers=auth(token)).status_code == 200


def test_a_mistyped_ticket_is_invalid_not_missing(client, store):
    complaint = file(store)
    token = officer_token(store, agency_code="NASIONAL", role=OfficerRole.admin)
    typo = complaint.ticket[:-1] + str((int(complaint.ticket[-1]) + 1) % 10)
    assert client.get(f"/api/v1/complaints/{typo}", headers=auth(token)).status_code == 422
    assert client.get("/api/v1/complaints/1234", headers=auth(token)).status_code == 422
    assert client.get("/api/v1/complaints/12345671", headers=auth(token)).status_code == 404


def test_listing_filters_and_pages(client, store):
    for _ in range(3):
        file(store)
    file(store, category=Category.lingkungan, region_code="51.03")
    token = officer_token(store, agency_code="NASIONAL", role=OfficerRole.officer)
    page = client.get("/api/v1/complaints", params={"page_size": 2, "page": 2}, headers=auth(token)).json()
    assert (page["total"], len(page["items"]), page["page"]) == (4, 2, 2)
    environment = client.get("/api/v1/complaints", params={"category": "lingkungan"}, headers=auth(token)).json()
    assert [i["region_code"] for i in environment["items"]] == ["51.03"]
    by_region = client.get("/api/v1/complaints", params={"region_code": "34.04"}, headers=auth(token)).json()
    assert by_region["total"] == 3
    by_status = client.get("/api/v1/complaints", params={"status": "selesai"}, headers=auth(token)).json()
    assert by_status["total"] == 0
    for bad in ({"status": "hilang"}, {"category": "cuaca"}, {"region_code": "3404"}, {"page": 0}, {"page_size": 1000}):
        assert client.get("/api/v1/complaints", params=bad, headers=auth(token)).status_code == 422


def test_a_long_list_is_counted_only_so_far(client, store, monkeypatch):
    """Counting stops at LIST_COUNT_LIMIT (or the end of the page asked for): `total` is then "this many or more"."""
    monkeypatch.setattr(complaint_store, "LIST_COUNT_LIMIT", 3)
    for _ in range(6):
        file(store)
    token = officer_token(store, agency_code="NASIONAL", role=OfficerRole.officer)

    def listing(**params):
        body = client.get("/api/v1/complaints", params=params, headers=auth(token)).json()
        return body["total"], body["total_capped"], len(body["items"])

    assert listing(page_size=2) == (3, True, 2)  # 6 match; counted up to 3
    assert listing(page_size=2, page=2) == (4, True, 2)  # the end of the page asked for is further
    assert listing(page_size=2, page=3) == (6, False, 2)  # the last page knows the exact total
    assert listing(page_size=4, page=2) == (6, False, 2)
    assert listing(page_size=10) == (6, False, 6)


def test_openapi_is_served(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/complaints/{ticket}" in paths and "/simulator/messages" in paths
