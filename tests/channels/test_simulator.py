"""The simulator channel over the real pipeline (store, turn runner, outbox, dispatcher), with a fake Rasa."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from bot.app import create_app
from bot.config import Settings
from channels import gsm7
from storage.db import make_engine, session_scope
from storage.models import Message
from tests.fakes.rasa import FakeRasa


@pytest.fixture
def rasa():
    fake = FakeRasa().start()
    yield fake
    fake.stop()


@pytest.fixture
def client(sqlite_url, rasa):
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL=rasa.url, RASA_TOKEN="t")
    with TestClient(create_app(settings)) as client:
        yield client


def say(client, text, sender="081234567890", channel="sms"):
    response = client.post("/simulator/messages", json={"channel": channel, "sender": sender, "text": text})
    assert response.status_code == 200, response.text
    return response.json()["replies"]


def delivered(client, sender="081234567890", channel="sms"):
    response = client.get("/simulator/messages", params={"channel": channel, "sender": sender})
    assert response.status_code == 200
    return [m["text"] for m in response.json()["messages"]]


def test_a_turn_answers_with_the_replies_of_this_turn_in_order(client, rasa):
    assert say(client, "halo") == ["balasan: halo"]
    assert say(client, "dua") == ["satu", "dua"]
    assert delivered(client) == ["balasan: halo", "satu", "dua"]
    assert rasa.turns[0]["sender"] == "sim-sms:+6281234567890"
    assert rasa.turns[0]["metadata"]["channel"] == "sms"


def test_every_way_of_writing_a_number_is_one_conversation(client):
    say(client, "a", sender="081234567890")
    say(client, "b", sender="+62 812-3456-7890")
    say(client, "c", sender="6281234567890")
    assert delivered(client, sender="0812 3456 7890") == ["balasan: a", "balasan: b", "balasan: c"]


def test_sms_replies_are_gsm7_and_fit_one_segment_each(client):
    replies = say(client, "panjang")
    assert len(replies) > 1
    for reply in replies:
        assert gsm7.to_gsm7(reply) == reply
        assert gsm7.septets(reply) <= gsm7.SINGLE_SEGMENT


def test_telegram_replies_are_left_rich(client):
    [reply] = say(client, "panjang", sender="123456", channel="telegram")
    assert "😀" in reply and "“" in reply


def test_channels_are_separate_conversations(client):
    say(client, "lewat sms")
    say(client, "lewat wa", channel="whatsapp")
    assert delivered(client) == ["balasan: lewat sms"]
    assert delivered(client, channel="whatsapp") == ["balasan: lewat wa"]


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "fax", "sender": "081234567890", "text": "halo"},
        {"channel": "sms", "sender": "bukan nomor", "text": "halo"},
        {"channel": "telegram", "sender": "@budi", "text": "halo"},
        {"channel": "sms", "sender": "081234567890", "text": ""},
        {"channel": "sms", "sender": "081234567890"},
        {"channel": "sms", "sender": "081234567890", "text": "x" * 5000},
    ],
)
def test_bad_requests_are_refused_and_store_nothing(client, body, sqlite_url):
    response = client.post("/simulator/messages", json=body)
    assert response.status_code == 422
    assert response.json()["detail"]
    with session_scope(make_engine(sqlite_url)) as session:
        assert session.exec(select(func.count()).select_from(Message)).one() == 0


def test_while_rasa_is_down_the_citizen_is_told_once_and_nothing_is_lost(client, rasa):
    rasa.failing = True
    first = say(client, "tolong jalan rusak")
    second = say(client, "halo?")
    assert len(first) == 1 and "tersimpan" in first[0]
    assert second == []  # waits behind the first message; no second notice
    rasa.failing = False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(delivered(client)) < 3:
        time.sleep(0.2)
    assert delivered(client) == [first[0], "balasan: tolong jalan rusak", "balasan: halo?"]
    assert [t["message"] for t in rasa.turns] == ["tolong jalan rusak", "halo?"]


def test_health_reports_store_rasa_and_channels(client):
    body = client.get("/health").json()
    assert body["store"] == "ok"
    assert body["rasa"]["state"] == "ok"
    assert body["channels"]["simulator"] == "on"
    assert body["channels"]["sms"].startswith("off")


def test_health_says_when_rasa_is_unreachable(sqlite_url):
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL="http://127.0.0.1:9", RASA_TOKEN="t")
    with TestClient(create_app(settings)) as client:
        body = client.get("/health")
    assert body.status_code == 200
    assert body.json()["rasa"]["state"].startswith("unreachable")


def test_the_action_endpoint_requires_its_token(sqlite_url, rasa):
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL=rasa.url, ACTIONS_TOKEN="a-secret-of-sixteen-or-more")
    with TestClient(create_app(settings)) as client:
        call = {"next_action": "action_list_complaints", "tracker": {}, "domain": {}}
        assert client.post("/webhook", json=call).status_code == 403
        assert client.post("/webhook?token=wrong", json=call).status_code == 403


def test_the_language_goes_with_every_turn(client, rasa):
    say(client, "I want to report a broken street light near my house")
    say(client, "1")  # a digit keeps the language
    say(client, "jalan di depan rumah saya rusak")  # and Indonesian switches back
    assert [t["metadata"]["language"] for t in rasa.turns] == ["en", "en", "id"]


def test_bahasa_and_language_switch_without_a_dialogue_turn(client, rasa):
    assert say(client, "LANGUAGE") == ["OK, we will reply in English. Kirim BAHASA untuk Bahasa Indonesia."]
    assert say(client, "bahasa") == ["Baik, kami akan membalas dalam Bahasa Indonesia. Send LANGUAGE for English."]
    assert rasa.turns == []
    say(client, "ok")
    assert rasa.turns[0]["metadata"]["language"] == "id"


# ---------------------------------------------------------------- on for a local run, off when public


@pytest.mark.parametrize(
    "env, enabled, status",
    [
        ({}, True, "on"),
        ({"PUBLIC_BASE_URL": "https://aduan.example.go.id"}, False, "off (PUBLIC_BASE_URL is set"),
        ({"PUBLIC_BASE_URL": "https://aduan.example.go.id", "SIMULATOR_ENABLED": ""}, False, "off (PUBLIC_BASE_URL"),
        ({"PUBLIC_BASE_URL": "https://aduan.example.go.id", "SIMULATOR_ENABLED": "true"}, True, "on (SIMULATOR_ENABLED=true on a public"),
        ({"SIMULATOR_ENABLED": "false"}, False, "off (SIMULATOR_ENABLED=false)"),
        ({"SIMULATOR_ENABLED": "true"}, True, "on"),
    ],
)
def test_the_simulator_is_on_for_a_local_run_and_off_on_a_public_deployment_unless_asked_for(env, enabled, status):
    settings = Settings(_env_file=None, **env)
    assert settings.simulator_enabled is enabled
    assert settings.channel_status()["simulator"].startswith(status)


def public_settings(sqlite_url, rasa, **overrides) -> Settings:
    return Settings(
        _env_file=None, DATABASE_URL=sqlite_url, RASA_URL=rasa.url, RASA_TOKEN="t",
        PUBLIC_BASE_URL="https://aduan.example.go.id", **overrides,
    )


def test_a_public_deployment_has_no_simulator_routes(sqlite_url, rasa):
    with TestClient(create_app(public_settings(sqlite_url, rasa))) as client:
        response = client.post("/simulator/messages", json={"channel": "sms", "sender": "081234567890", "text": "halo"})
        assert response.status_code == 404
        assert client.get("/simulator/messages", params={"channel": "sms", "sender": "081234567890"}).status_code == 404
        assert client.get("/health").json()["channels"]["simulator"].startswith("off (PUBLIC_BASE_URL is set")
    assert rasa.turns == []


def test_an_explicit_simulator_on_a_public_deployment_works_and_is_warned_about_at_start_up(sqlite_url, rasa, caplog):
    with caplog.at_level("WARNING"):
        with TestClient(create_app(public_settings(sqlite_url, rasa, SIMULATOR_ENABLED="true"))) as client:
            assert say(client, "halo") == ["balasan: halo"]
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "SIMULATOR_ENABLED=true" in r.getMessage()]
    assert len(warnings) == 1 and "PUBLIC_BASE_URL" in warnings[0].getMessage()


def test_a_push_to_a_simulated_address_while_the_simulator_is_off_is_marked_failed_for_admins_to_see(sqlite_url, rasa):
    from storage import agencies as agency_store
    from storage import contacts as contact_store
    from storage import officers as officer_store
    from storage import outbox as outbox_store
    from storage.models import OfficerRole

    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:
        contact = contact_store.get_or_create_urn(session, "sim-sms:+6281234567890")
        [push] = outbox_store.queue_outbound(
            session, urn_id=contact.id, channel="sms", provider="simulator", texts=["Status laporan: DIPROSES"]
        )
        push_id = push.id
        admin = officer_store.create_officer(
            session, name="Admin", agency_id=agency_store.national_queue(session).id, role=OfficerRole.admin
        )
        token = officer_store.issue_token(session, admin.id)
    with TestClient(create_app(public_settings(sqlite_url, rasa))) as client:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with session_scope(engine) as session:
                if session.get(Message, push_id).status == "failed":
                    break
            time.sleep(0.05)
        failed = client.get("/api/v1/deliveries/failed", headers={"Authorization": f"Bearer {token}"}).json()
    engine.dispose()
    [row] = failed
    assert row["message_id"] == push_id and row["attempts"] == 1
    assert "no channel configured for sim-sms (the simulator is off)" in row["error"]
