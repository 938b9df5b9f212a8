"""A fuzz pass over the app's HTTP API from its own OpenAPI schema (schemathesis): whatever a client
sends, within the schema or not, the answer is never a 5xx.

Every operation the schema lists is called (the REST API with an admin's bearer token, the
simulator, health, the webhooks), a bounded and deterministic number of times (``derandomize``),
against one app with a fake Rasa, on SQLite and on PostgreSQL. Half the cases that name a ticket name a real
one, so the handlers behind the 404 run too.
"""

from __future__ import annotations

import itertools
import os
from datetime import date

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from bot import filing
from bot.app import create_app
from bot.config import Settings
from storage import agencies as agency_store
from storage import complaints as complaint_store
from storage import officers as officer_store
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import Category, OfficerRole
from tests.conftest import fresh_postgres_database
from tests.fakes.rasa import FakeRasa

# generated per operation and store, besides the ~50 boundary cases of schemathesis' coverage phase:
# the whole pass takes about a minute on 2 cores; FUZZ_EXAMPLES=200 for a deeper run by hand
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "20"))


class Target:
    def __init__(self, client: TestClient, token: str, ticket: str, admin_id: int, other_officer_id: int) -> None:
        self.client, self.token, self.ticket = client, token, ticket
        self.admin_id, self.other_officer_id = admin_id, other_officer_id
        self._alternate = itertools.cycle([True, False])

    def prepare(self, case) -> None:
        """Aim half the ticket cases at a real complaint; never let a case lock the fuzzing admin out."""
        parameters = case.path_parameters or {}
        if "ticket" in parameters and next(self._alternate):
            parameters["ticket"] = self.ticket
        if parameters.get("officer_id") == self.admin_id:
            parameters["officer_id"] = self.other_officer_id


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target(request, tmp_path_factory):
    """One app per store, shared by every operation's cases; PostgreSQL refuses what SQLite lets through
    (a NUL in text, integers beyond 32 bits)."""
    url, drop = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'aduan.db'}", (lambda: None)
    if request.param == "postgresql":
        url, drop = fresh_postgres_database()
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        agency = agency_store.create_agency(session, code="PUPR-3404", name="Dinas PUPR Kabupaten Sleman", region_code="34.04")
        agency_store.set_routing_rule(session, agency_id=agency.id, category="infrastruktur", region_code="34.04")
        admin = officer_store.create_officer(
            session, name="Admin", agency_id=agency_store.national_queue(session).id, role=OfficerRole.admin
        )
        other = officer_store.create_officer(session, name="Petugas", agency_id=agency.id, role=OfficerRole.officer)
        token = officer_store.issue_token(session, admin.id)
        complaint = filing.file_complaint(
            session,
            complaint_store.NewComplaint(
                urn="sim-sms:+6281234567890", channel="sms", description="Jalan berlubang di depan SD",
                category=Category.infrastruktur, province_code="34", region_code="34.04", district_code="34.04.07",
                address="Mlati, Sleman",
            ),
            today=date(2026, 11, 27),
        )
        ticket, admin_id, other_id = complaint.ticket, admin.id, other.id
    engine.dispose()
    rasa = FakeRasa().start()
    settings_ = Settings(_env_file=None, DATABASE_URL=url, RASA_URL=rasa.url, RASA_TOKEN="t")
    try:
        with TestClient(create_app(settings_), raise_server_exceptions=False) as client:
            yield Target(client, token, ticket, admin_id, other_id)
    finally:
        rasa.stop()
        drop()


def _schema():
    """The app's OpenAPI schema, read at collection time (building the app touches no store)."""
    app = create_app(Settings(_env_file=None, DATABASE_URL="sqlite://", RASA_URL="http://127.0.0.1:9", RASA_TOKEN="t"))
    return schemathesis.openapi.from_dict(app.openapi())


schema = _schema()


def _request_kwargs(case, token: str) -> dict:
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers={"Authorization": f"Bearer {token}"})
    request = {key: kwargs[key] for key in ("method", "url", "headers", "params", "cookies") if kwargs.get(key)}
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        request["content"] = kwargs["data"]
    return request


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_gets_a_server_error(case, target):
    target.prepare(case)
    response = target.client.request(**_request_kwargs(case, target.token))
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
