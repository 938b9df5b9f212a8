"""The app's own doors: the action endpoint's secret, actions off the event loop, readiness for load balancers."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from bot import metrics
from bot.actions import status as status_actions
from bot.app import InsecureConfiguration, create_app
from bot.config import Settings
from tests.fakes.rasa import FakeRasa

TOKEN = "a-long-enough-action-token"


@pytest.fixture
def rasa():
    fake = FakeRasa().start()
    yield fake
    fake.stop()


def action_call(sender: str = "sms:+6281234567890") -> dict:
    tracker = {
        "sender_id": sender, "slots": {}, "latest_message": {"text": "laporan saya", "intent": {}, "entities": []},
        "events": [], "paused": False, "followup_action": None, "active_loop": {}, "latest_action_name": None,
    }
    return {"next_action": "action_list_complaints", "sender_id": sender, "tracker": tracker, "domain": {}, "version": "3.6.21"}


@pytest.mark.parametrize("token", ["", "short"])
def test_the_app_refuses_to_start_without_a_real_action_token(sqlite_url, monkeypatch, token):
    monkeypatch.delenv("ACTIONS_TOKEN", raising=False)
    with pytest.raises(InsecureConfiguration, match="ACTIONS_TOKEN"):
        create_app(Settings(DATABASE_URL=sqlite_url, ACTIONS_TOKEN=token))


@pytest.mark.parametrize("query", ["", "?token=", "?token=wrong", "?token=%C3%A9t%C3%A9", f"?token={TOKEN}x"])
def test_action_calls_without_the_right_token_are_refused(sqlite_url, rasa, query):
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL=rasa.url, RASA_TOKEN="t", ACTIONS_TOKEN=TOKEN)
    with TestClient(create_app(settings)) as client:
        response = client.post(f"/webhook{query}", json=action_call())
    assert response.status_code == 403


def test_actions_run_off_the_event_loop_so_one_long_text_stalls_nobody(sqlite_url, rasa, monkeypatch):
    loops = []
    real = status_actions.texts.complaint_list

    def recording(*args, **kwargs):
        loops.append(asyncio.get_running_loop())
        return real(*args, **kwargs)

    monkeypatch.setattr(status_actions.texts, "complaint_list", recording)
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL=rasa.url, RASA_TOKEN="t", ACTIONS_TOKEN=TOKEN)
    with TestClient(create_app(settings)) as client:
        response = client.post(f"/webhook?token={TOKEN}", json=action_call())
        app_loop = client.portal.call(asyncio.get_running_loop)
    assert response.status_code == 200, response.text
    assert response.json()["responses"], "the action answered"
    assert loops and loops[0] is not app_loop


def test_an_instance_whose_engine_is_down_is_still_ready_to_take_messages_in(sqlite_url):
    # the message is stored and answered once an engine is back; refusing the webhook would lose it
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL="http://127.0.0.1:9", RASA_TOKEN="t", ACTIONS_TOKEN=TOKEN)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200  # the detailed answer is always there
        response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["store"] == "ok" and response.json()["rasa"].startswith("unreachable")


def test_readiness_is_503_while_the_store_does_not_answer(tmp_path):
    missing = f"sqlite:///{tmp_path}"  # a directory: SQLite cannot open it
    settings = Settings(DATABASE_URL=missing, RASA_URL="http://127.0.0.1:9", RASA_TOKEN="t", ACTIONS_TOKEN=TOKEN)
    with TestClient(create_app(settings)) as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["ready"] is False and response.json()["store"].startswith("error")


def test_readiness_is_200_when_the_store_and_the_engine_answer(sqlite_url, rasa):
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL=rasa.url, RASA_TOKEN="t", ACTIONS_TOKEN=TOKEN)
    with TestClient(create_app(settings)) as client:
        response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "store": "ok", "rasa": "ok"}


def test_health_shows_the_failure_counters(sqlite_url, rasa):
    metrics.reset()
    metrics.increment("filing_failures")
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL=rasa.url, RASA_TOKEN="t", ACTIONS_TOKEN=TOKEN)
    with TestClient(create_app(settings)) as client:
        body = client.get("/health").json()
    metrics.reset()
    assert body["counters"] == {"filing_failures": 1}


def test_the_shutdown_does_not_wait_forever_for_a_task_that_ignores_its_cancel(monkeypatch, caplog):
    from bot import gateway as gateway_module
    from bot.rasa_client import RasaClient
    from channels.registry import AdapterRegistry

    monkeypatch.setattr(gateway_module, "STOP_TIMEOUT_SECONDS", 0.2)

    released = False

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if released:
                    raise
                # what a swallowed cancel looks like

    async def start_and_stop() -> None:
        nonlocal released
        gateway = gateway_module.Gateway(None, RasaClient("http://127.0.0.1:9", "t"), AdapterRegistry([]), max_attempts=1)
        task = asyncio.create_task(stubborn(), name="stubborn")
        gateway._tasks = [task]
        await asyncio.sleep(0)
        await asyncio.wait_for(gateway.stop(), timeout=5)
        assert not task.done()
        released = True
        task.cancel()

    asyncio.run(start_and_stop())
    assert "task stubborn did not stop" in caplog.text


def test_the_holiday_calendar_is_loaded_at_start_up_not_during_the_first_filing(sqlite_url):
    # its first use imports every country's module of `holidays` (0.1-0.2 s with the GIL held): done
    # during a citizen's filing, it stalled the event loop for everyone (docs/benchmarks.md section 5)
    from datetime import date

    from bot import workdays

    workdays._holidays_of.cache_clear()
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL="http://127.0.0.1:9", RASA_TOKEN="t", ACTIONS_TOKEN=TOKEN)
    with TestClient(create_app(settings)):
        loaded = workdays._holidays_of.cache_info().currsize
    assert loaded >= 2 and date(date.today().year, 8, 17) in workdays._holidays_of(date.today().year)


def _counting_checks(monkeypatch) -> tuple[list, list]:
    """(store pings, Rasa status rounds) made from now on; the real ones still run."""
    from bot import app as app_module
    from bot.rasa_client import RasaClient

    pings, rounds = [], []
    real_ping, real_statuses = app_module._ping_store, RasaClient.statuses

    def ping(engine) -> None:
        pings.append(1)
        real_ping(engine)

    async def statuses(self):
        rounds.append(1)
        return await real_statuses(self)

    monkeypatch.setattr(app_module, "_ping_store", ping)
    monkeypatch.setattr(RasaClient, "statuses", statuses)
    return pings, rounds


def test_a_flood_of_health_checks_asks_neither_the_store_nor_the_engines(sqlite_url, rasa, monkeypatch):
    # /health/ready is public: each hit used to take a store connection and call every Rasa server (issue #26)
    pings, rounds = _counting_checks(monkeypatch)
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL=rasa.url, RASA_TOKEN="t", ACTIONS_TOKEN=TOKEN,
                        HEALTH_REFRESH_SECONDS=60)
    with TestClient(create_app(settings)) as client:
        before = len(pings), len(rounds)
        answers = [client.get("/health/ready") for _ in range(50)] + [client.get("/health")]
        after = len(pings), len(rounds)
    assert all(answer.status_code == 200 for answer in answers)
    assert answers[0].json() == {"ready": True, "store": "ok", "rasa": "ok"}
    assert answers[-1].json()["store"] == "ok" and answers[-1].json()["rasa"]["state"] == "ok"
    assert after == before, "health checks asked the store or the engines themselves"


def test_readiness_follows_the_store_within_a_refresh(sqlite_url, rasa, monkeypatch):
    import threading
    import time

    from bot import app as app_module

    down, real = threading.Event(), app_module._ping_store

    def ping(engine) -> None:
        if down.is_set():
            raise ConnectionRefusedError("the store is down")
        real(engine)

    def ready_within(client, status: int, seconds: float = 3.0):
        deadline = time.monotonic() + seconds
        while (response := client.get("/health/ready")).status_code != status and time.monotonic() < deadline:
            time.sleep(0.05)
        return response

    monkeypatch.setattr(app_module, "_ping_store", ping)
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL=rasa.url, RASA_TOKEN="t", ACTIONS_TOKEN=TOKEN,
                        HEALTH_REFRESH_SECONDS=0.1)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health/ready").status_code == 200
        down.set()
        response = ready_within(client, 503)
        assert response.status_code == 503 and response.json()["store"] == "error: ConnectionRefusedError"
        down.clear()
        assert ready_within(client, 200).status_code == 200


def test_a_store_that_hangs_makes_readiness_503_not_a_stale_ok(sqlite_url, rasa, monkeypatch):
    import threading
    import time

    from bot import app as app_module

    hung, released, real = threading.Event(), threading.Event(), app_module._ping_store

    def ping(engine) -> None:
        if hung.is_set():
            released.wait(4)  # a store that takes connections and never answers
        real(engine)

    monkeypatch.setattr(app_module, "_ping_store", ping)
    monkeypatch.setattr(app_module, "HEALTH_CHECK_TIMEOUT_SECONDS", 0.3, raising=False)
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL=rasa.url, RASA_TOKEN="t", ACTIONS_TOKEN=TOKEN,
                        HEALTH_REFRESH_SECONDS=0.1)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health/ready").status_code == 200
        hung.set()
        started = time.monotonic()
        deadline = started + 2
        while (response := client.get("/health/ready")).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        waited = time.monotonic() - started
        released.set()
    assert response.status_code == 503 and response.json()["store"] == "error: TimeoutError"
    assert waited < 2, "a hit waited for the hung store"
