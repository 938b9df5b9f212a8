"""The real stack as processes: `aduan run` (which starts the Rasa engine and the app), once per test session.

The model is trained once per run, and reused across runs while the training data is unchanged.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.cli import ROOT, train
from bot.config import Settings
from tests.fakes.server import free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

STARTUP_TIMEOUT = 240


@dataclass
class Stack:
    base_url: str
    env: dict[str, str]
    log: Path

    def say(self, sender: str, text: str, channel: str = "sms") -> list[str]:
        response = httpx.post(
            f"{self.base_url}/simulator/messages",
            json={"channel": channel, "sender": sender, "text": text},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()["replies"]

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [str(ROOT / ".venv" / "app" / "bin" / "aduan"), *args],
            env=self.env, cwd=ROOT, capture_output=True, text=True, check=True,
        )
        return result.stdout.strip()


@pytest.fixture(scope="session")
def model() -> Path:
    return train(Settings())


@pytest.fixture(scope="session")
def fake_twilio() -> FakeTwilio:
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def fake_telegram() -> FakeTelegram:
    fake = FakeTelegram().start()
    yield fake
    fake.stop()


TELEGRAM_SECRET = "e2e-telegram-secret"
TWILIO_SMS_FROM = "+6281100001708"
TWILIO_WHATSAPP_FROM = "whatsapp:+6281100001709"


@pytest.fixture(scope="session")
def stack(model, tmp_path_factory, fake_twilio, fake_telegram) -> Stack:
    workdir = tmp_path_factory.mktemp("stack")
    app_port, rasa_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'aduan.db'}",
        "APP_PORT": str(app_port),
        "RASA_PORT": str(rasa_port),
        "RASA_TOKEN": secrets.token_urlsafe(16),
        "ACTIONS_TOKEN": secrets.token_urlsafe(16),
        "RASA_TRACKER_DB": str(workdir / "tracker.db"),
        "LOG_LEVEL": "INFO",
        # real channels, against fake providers on loopback
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{app_port}",
        "SIMULATOR_ENABLED": "true",  # a public URL turns the simulator off unless asked for
        "READING_WORKERS": "1",  # the real stack reads in its worker process (unit tests read in-thread)
        "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
        "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TWILIO_SMS_FROM": TWILIO_SMS_FROM,
        "TWILIO_WHATSAPP_FROM": TWILIO_WHATSAPP_FROM,
        "TWILIO_API_URL": fake_twilio.url,
        "TELEGRAM_BOT_TOKEN": fake_telegram.token,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_URL": fake_telegram.url,
        "TELEGRAM_MODE": "webhook",
    }
    env.pop("RASA_URL", None)
    log = workdir / "stack.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "app" / "bin" / "aduan"), "run"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{app_port}"
    try:
        _wait_until_ready(base_url, process, log)
        yield Stack(base_url=base_url, env=env, log=log)
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C does: the app stops, then Rasa
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        sys.stdout.write(f"\nstack log: {log}\n")


def _wait_until_ready(base_url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`aduan run` exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            health = httpx.get(f"{base_url}/health", timeout=3).json()
            if health["rasa"]["state"] == "ok":
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(1)
    pytest.fail(f"the stack was not ready after {STARTUP_TIMEOUT} s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def admin_token(stack) -> str:
    import re

    officer = stack.cli("officer", "add", "--name", "Admin Uji", "--agency", "NASIONAL", "--role", "admin")
    officer_id = re.search(r"officer (\d+)", officer).group(1)
    return stack.cli("officer", "token", "--officer", officer_id)
