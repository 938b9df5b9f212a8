"""Public reads (the public page, keyless Open311 reads) have their own bounded share of the store (issue #26).

A burst of public reads (nginx lets 20 through per address) must never hold the connections the
webhooks need: at most PUBLIC_READ_POOL_SIZE public reads use the store at once, and one that
cannot get a slot in time is answered 503 with Retry-After, not queued until it times out.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from bot import app as app_module
from bot import public_page
from bot.app import create_app
from bot.config import Settings
from storage.db import session_scope
from storage.tickets import format_ticket, new_ticket
from tests.fakes.rasa import FakeRasa

SHARE = 2
TICKET = format_ticket(new_ticket())  # well formed, unknown: still one read of the store


@pytest.fixture
def rasa():
    fake = FakeRasa().start()
    yield fake
    fake.stop()


def app_and_client(database_url: str, rasa_url: str, monkeypatch):
    monkeypatch.setattr(app_module, "PUBLIC_READ_WAIT_SECONDS", 0.3, raising=False)
    settings = Settings(DATABASE_URL=database_url, RASA_URL=rasa_url, RASA_TOKEN="t", SIMULATOR_ENABLED=True,
                        PUBLIC_READ_POOL_SIZE=SHARE)
    app = create_app(settings)
    return app, TestClient(app)


@pytest.mark.parametrize("empty_database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_burst_of_public_reads_holds_only_its_share_and_a_citizens_message_goes_through_at_once(
    database_url, rasa, monkeypatch
):
    release, inside = threading.Event(), []

    def slow_page(session, digits, language):
        session.execute(text("SELECT 1"))  # holds a pooled connection, as the slow public query did
        inside.append(digits)
        release.wait(15)
        return None

    monkeypatch.setattr(public_page, "build_page", slow_page)
    app, client = app_and_client(database_url, rasa.url, monkeypatch)
    burst = 8
    with client, ThreadPoolExecutor(burst) as pool:
        try:
            reads = [pool.submit(client.get, f"/t/{TICKET}") for _ in range(burst)]
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and sum(read.done() for read in reads) < burst - SHARE:
                time.sleep(0.05)
            turned_away = [read.result() for read in reads if read.done()]
            assert len(inside) == SHARE, "public reads beyond their share reached the store"
            assert len(turned_away) == burst - SHARE, "public reads beyond the share queued instead of a 503"
            assert {(r.status_code, r.headers.get("retry-after")) for r in turned_away} == {(503, "1")}

            started = time.monotonic()
            answer = client.post("/simulator/messages", json={"channel": "sms", "sender": "081234567890", "text": "halo"})
            assert answer.status_code == 200 and answer.json()["replies"] == ["balasan: halo"]
            with session_scope(app.state.engine) as session:  # a plain store transaction of the app
                session.execute(text("SELECT 1"))
            assert time.monotonic() - started < 2, "the citizen's message waited behind public reads"
        finally:
            release.set()
        assert [read.result().status_code for read in reads if read.result() not in turned_away] == [404] * SHARE


def test_every_keyless_public_read_takes_the_share_and_a_keyed_one_does_not(sqlite_url, rasa, monkeypatch):
    app, client = app_and_client(sqlite_url, rasa.url, monkeypatch)
    with client:
        held = ExitStack()
        for _ in range(SHARE):  # the whole share busy
            held.enter_context(app.state.public_reads.session())
        for path in (f"/t/{TICKET}", "/open311/v2/requests.json", "/open311/v2/requests.xml?status=open",
                     "/open311/v2/requests/1234-5678.json", "/open311/v2/servicerequestupdates.json"):
            started = time.monotonic()
            response = client.get(path)
            assert response.status_code == 503 and response.headers["retry-after"] == "1", path
            assert time.monotonic() - started < 2, path
            if path.startswith("/open311/") and ".xml" in path:  # in the spec's error format
                assert ElementTree.fromstring(response.content).findtext("error/code") == "503", response.text
            elif path.startswith("/open311/"):
                assert response.json() == [{"code": 503, "description": "busy: try again shortly"}], path
        # what needs no store, and a key holder's read (on the app's pool: a wrong key is refused, not queued)
        assert client.get("/open311/v2/services.json").status_code == 200
        assert client.get("/open311/v2/requests.json?api_key=not-a-key").status_code == 403
        with session_scope(app.state.engine) as session:
            session.execute(text("SELECT 1"))
        held.close()
        assert client.get(f"/t/{TICKET}").status_code == 404  # the share is free again
