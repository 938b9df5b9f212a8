"""`aduan run --apps N`'s relay of Rasa's action calls: to a live app instance, and to the next one
when a call was cut off mid-way, unless the action must not run twice (issue #12)."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.action_relay import ActionRelay
from tests.fakes.server import BackgroundServer, free_port


@pytest.fixture
def live_app():
    calls: list[dict] = []

    async def webhook(request: Request) -> JSONResponse:
        calls.append(await request.json())
        return JSONResponse({"events": [], "responses": [{"text": "ok"}]})

    server = BackgroundServer(Starlette(routes=[Route("/webhook", webhook, methods=["POST"])])).start()
    yield server.url, calls
    server.stop()


@pytest.fixture
def dying_app():
    """Takes the call, reads it, and drops the connection: an instance killed mid-call."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.recv(65536)
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def call(relay: ActionRelay, action: str) -> tuple[int, bytes]:
    status, body, _ = relay.forward("/webhook?token=t", json.dumps({"next_action": action}).encode(), "application/json")
    return status, body


def test_a_call_to_a_stopped_instance_goes_to_the_next(live_app):
    url, calls = live_app
    relay = ActionRelay([f"http://127.0.0.1:{free_port()}", url])
    try:
        assert call(relay, "action_thread_answer")[0] == 200  # it never got there: safe for any action
    finally:
        relay.stop()
    assert [c["next_action"] for c in calls] == ["action_thread_answer"]


@pytest.mark.parametrize("action", ["validate_complaint_form", "action_file_complaint", "action_check_status"])
def test_a_call_cut_off_mid_way_goes_to_the_next_instance_when_the_action_may_run_twice(dying_app, live_app, action):
    url, calls = live_app
    relay = ActionRelay([dying_app, url])
    try:
        assert call(relay, action)[0] == 200
    finally:
        relay.stop()
    assert len(calls) == 1


def test_a_thread_answer_cut_off_mid_way_is_not_relayed_to_the_officers_twice(dying_app, live_app):
    url, calls = live_app
    relay = ActionRelay([dying_app, url])
    try:
        status, body = call(relay, "action_thread_answer")
    finally:
        relay.stop()
    assert status == 502 and b"did not answer" in body
    assert calls == []
