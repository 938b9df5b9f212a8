"""Pushes lose nothing: a status change reaches the citizen, once, through a provider outage, with
Rasa down, and across a SIGKILL of the app between the change and the send. The dialogue is
told (trigger_intent) once Rasa is back.

The app runs for real (in-process, or as a uvicorn process for the kill), against a fake Rasa and
a fake Twilio REST API on loopback spoken to by the real `twilio` client.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from bot import filing
from bot.app import create_app
from bot.cli import ROOT
from bot.config import Settings
from storage import agencies as agency_store
from storage import complaints as complaint_store
from storage import officers as officer_store
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import Category, DialoguePush, Message, OfficerRole
from tests.channels_support import wait_for
from tests.fakes.rasa import FakeRasa
from tests.fakes.server import free_port
from tests.fakes.twilio_api import FakeTwilio

CITIZEN = "+6281355550001"
SMS_FROM = "+6281100001708"


def prepare_store(url: str) -> tuple[str, str]:
    """A complaint of a citizen on SMS at PUPR Sleman, and a token of one of its officers: (ticket, token)."""
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            agency = agency_store.create_agency(session, code="PUPR-3404", name="Dinas PUPR Kabupaten Sleman", region_code="34.04")
            agency_store.set_routing_rule(session, agency_id=agency.id, category="infrastruktur", region_code="34.04")
            officer = officer_store.create_officer(session, name="Petugas", agency_id=agency.id, role=OfficerRole.officer)
            token = officer_store.issue_token(session, officer.id)
            complaint = filing.file_complaint(
                session,
                complaint_store.NewComplaint(
                    urn=f"sms:{CITIZEN}", channel="sms", description="Jalan berlubang di depan SD",
                    category=Category.infrastruktur, province_code="34", region_code="34.04", district_code="34.04.06",
                ),
                today=date(2026, 11, 27),
            )
            return complaint.ticket, token
    finally:
        engine.dispose()


def settings_env(url: str, rasa: FakeRasa, twilio: FakeTwilio) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "RASA_URL": rasa.url,
        "RASA_TOKEN": rasa.token,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_SMS_FROM": SMS_FROM,
        "TWILIO_API_URL": twilio.url,
        "PUBLIC_BASE_URL": "http://127.0.0.1:9",
    }


def set_status(base: Callable[..., httpx.Response], ticket: str, token: str, status: str, note: str | None = None):
    response = base(
        "POST", f"/api/v1/complaints/{ticket}/status", json={"status": status, "note": note},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def rasa():
    fake = FakeRasa().start()
    yield fake
    fake.stop()


@pytest.fixture
def twilio():
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


def pushes(url: str) -> list[DialoguePush]:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            return list(session.exec(select(DialoguePush)).all())
    finally:
        engine.dispose()


def test_with_rasa_down_the_push_arrives_and_the_dialogue_is_told_when_rasa_is_back(sqlite_url, rasa, twilio):
    ticket, token = prepare_store(sqlite_url)
    rasa.failing = True
    with TestClient(create_app(Settings(**settings_env(sqlite_url, rasa, twilio)))) as client:
        set_status(client.request, ticket, token, "diteruskan")
        [push] = wait_for(lambda: twilio.bodies_to(CITIZEN), what="the push at Twilio")
        assert ticket[:4] in push and "Dinas PUPR Kabupaten Sleman" in push and "DITERUSKAN" in push
        wait_for(lambda: pushes(sqlite_url)[0].attempts >= 1, what="a failed trigger_intent")
        assert pushes(sqlite_url)[0].state == "pending" and rasa.triggered == []

        rasa.failing = False
        wait_for(lambda: rasa.triggered, timeout=40, what="trigger_intent after Rasa is back")
        time.sleep(3)  # the retry loop runs every 2 s: a second call would show by now
    assert rasa.triggered == [
        {"sender": f"sms:{CITIZEN}", "name": "EXTERNAL_status_changed", "entities": {"ticket": ticket}}
    ]
    assert [p.state for p in pushes(sqlite_url)] == ["done"]
    assert len(twilio.bodies_to(CITIZEN)) == 1


def test_a_push_rasa_refuses_is_given_up_not_retried_and_the_citizen_still_has_it(sqlite_url, rasa, twilio):
    ticket, token = prepare_store(sqlite_url)
    rasa.refusing = True  # e.g. a model trained without the EXTERNAL_ intents
    with TestClient(create_app(Settings(**settings_env(sqlite_url, rasa, twilio)))) as client:
        set_status(client.request, ticket, token, "diteruskan")
        wait_for(lambda: twilio.bodies_to(CITIZEN), what="the push at Twilio")
        wait_for(lambda: pushes(sqlite_url)[0].state == "failed", what="the push given up")
    [push] = pushes(sqlite_url)
    assert push.attempts == 0 and "400" in push.last_error


def test_a_provider_failing_for_a_while_delivers_the_push_later_once(sqlite_url, rasa, twilio):
    ticket, token = prepare_store(sqlite_url)
    twilio.errors = [(503, 20503), (500, 20500)]  # down for the first two attempts (5 s, then 10 s apart)
    with TestClient(create_app(Settings(**settings_env(sqlite_url, rasa, twilio)))) as client:
        set_status(client.request, ticket, token, "diproses")
        wait_for(lambda: twilio.bodies_to(CITIZEN), timeout=40, what="the push after the outage")
        time.sleep(2)
    assert twilio.requests == 3
    [push] = twilio.bodies_to(CITIZEN)
    assert "DIPROSES" in push
    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:
        [sent] = session.exec(select(Message).where(Message.direction == "out", Message.text == push)).all()
        assert (sent.status, sent.attempts) == ("accepted", 3) and sent.external_id.startswith("SM")
    engine.dispose()


def _start_app(env: dict[str, str], port: int, log) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bot.app:create_app", "--factory", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
    )
    wait_for(lambda: _healthy(port, process), timeout=60, what="the app to start")
    return process


def _healthy(port: int, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"the app exited with {process.returncode}")
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_app_killed_between_the_change_and_the_send_delivers_after_restart_once(sqlite_url, rasa, twilio, tmp_path):
    ticket, token = prepare_store(sqlite_url)
    env, port = settings_env(sqlite_url, rasa, twilio), free_port()
    twilio.errors = [(503, 20503)] * 1000  # nothing gets through before the kill
    rasa.failing = True
    with open(tmp_path / "app.log", "w") as log:
        app = _start_app(env, port, log)
        try:
            def call(method, path, **kwargs):
                return httpx.request(method, f"http://127.0.0.1:{port}{path}", timeout=10, **kwargs)

            set_status(call, ticket, token, "diproses")
            set_status(call, ticket, token, "selesai", "Jalan sudah ditambal")
        finally:
            app.send_signal(signal.SIGKILL)
            app.wait()
        assert twilio.bodies_to(CITIZEN) == [] and rasa.triggered == []

        twilio.errors.clear()
        rasa.failing = False
        app = _start_app(env, port, log)
        try:
            wait_for(lambda: len(twilio.bodies_to(CITIZEN)) == 2, timeout=60, what="the pushes after the restart")
            wait_for(lambda: len(rasa.triggered) == 2, timeout=30, what="the dialogue told after the restart")
            time.sleep(3)
        finally:
            app.send_signal(signal.SIGTERM)
            app.wait(timeout=20)
    working, resolved = twilio.bodies_to(CITIZEN)  # once each, in the order of the changes
    assert "DIPROSES" in working
    assert "SELESAI" in resolved and "Jalan sudah ditambal" in resolved and "YA" in resolved
    assert [t["name"] for t in rasa.triggered] == ["EXTERNAL_status_changed", "EXTERNAL_resolution_check"]
