"""A Rasa engine that dies mid-stack is started again, and the messages kept meanwhile are answered.

Its own stack (the session stack's engine is shared by the other e2e tests, so it is not killed):
`aduan run` with the real engine and model, the simulator as the only channel.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

import httpx
import pytest

from bot.cli import ROOT
from tests.e2e.conftest import Stack, _wait_until_ready
from tests.fakes.server import free_port

RESTART_TIMEOUT = 300  # backoff 1 s, then the model load (~30-60 s on a busy machine)
ANSWER_TIMEOUT = 420  # the kept message's retry backs off 2 s, 4 s, ... while the engine is down
BUSY_NOTICE = "sedang sibuk"

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_stack(model, tmp_path) -> Stack:
    app_port, rasa_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'aduan.db'}",
        "APP_PORT": str(app_port),
        "RASA_PORT": str(rasa_port),
        "RASA_TOKEN": secrets.token_urlsafe(16),
        "ACTIONS_TOKEN": secrets.token_urlsafe(16),
        "RASA_TRACKER_DB": str(tmp_path / "tracker.db"),
        "LOG_LEVEL": "INFO",
    }
    for name in ("RASA_URL", "PUBLIC_BASE_URL", "ACTION_ENDPOINT_URL"):
        env.pop(name, None)
    log = tmp_path / "stack.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "app" / "bin" / "aduan"), "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{app_port}"
    try:
        _wait_until_ready(base_url, process, log)
        yield Stack(base_url=base_url, env=env, log=log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        sys.stdout.write(f"\nengine-restart stack log: {log}\n")


def _engine(stack: Stack) -> dict:
    rasa = httpx.get(f"{stack.base_url}/health", timeout=5).json()["rasa"]
    return {"reachable": rasa["state"] == "ok", **rasa["process"]}


def _delivered(stack: Stack, sender: str) -> list[str]:
    response = httpx.get(f"{stack.base_url}/simulator/messages", params={"channel": "sms", "sender": sender}, timeout=10)
    return [m["text"] for m in response.json()["messages"]]


def _running(stack: Stack, timeout: float) -> dict:
    """The engine once Rasa answers the app and its supervisor has seen it answer too: the
    supervisor polls Rasa's status once a second, so it says "running" up to a second or two after
    the app's own health check first reaches Rasa."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        engine = _engine(stack)
        if engine["reachable"] and engine["state"] == "running":
            return engine
        time.sleep(0.5)
    return engine


def test_a_killed_engine_is_restarted_and_the_message_kept_meanwhile_is_answered(own_stack):
    citizen = "081299887766"
    before = _running(own_stack, timeout=30)
    assert before["state"] == "running" and before["restarts"] == 0, before

    os.kill(before["pid"], signal.SIGKILL)  # what the OOM killer does
    deadline = time.monotonic() + 30
    while _engine(own_stack)["reachable"] and time.monotonic() < deadline:
        time.sleep(0.2)

    replies = own_stack.say(citizen, "selamat pagi")
    assert len(replies) == 1 and BUSY_NOTICE in replies[0], replies

    engine = _running(own_stack, timeout=RESTART_TIMEOUT)
    assert engine["restarts"] == 1 and engine["pid"] != before["pid"], engine
    assert engine["last_exit"]["signal"] == "SIGKILL"

    deadline = time.monotonic() + ANSWER_TIMEOUT
    while time.monotonic() < deadline:
        delivered = _delivered(own_stack, citizen)
        if len(delivered) > 1:
            break
        time.sleep(2)
    assert BUSY_NOTICE in delivered[0]
    assert any("LAPOR" in text for text in delivered[1:]), delivered  # the greeting, from the new engine
    log = own_stack.log.read_text()
    assert "the Rasa engine died (killed by SIGKILL)" in log
    assert "the Rasa engine is back (restart 1)" in log
